/*
 * control.c — see control.h.
 *
 * Everything is non-blocking except the reply write, which waits at most
 * CONTROL_WRITE_MS for a slow reader and then drops that client: a stuck
 * client must never stall the VM's control plane for long. An oversized line
 * gets an error reply, then the connection is shut down (its framing is
 * lost); garbage that fits in a line only costs an error reply.
 */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsr.h"
#include "log.h"

#define CONTROL_WRITE_MS 1000

json_t *control_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static int control_write_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, CONTROL_WRITE_MS) == 1)
				continue;
		}
		return -EIO;
	}
	return 0;
}

int control_reply(struct control_conn *conn, json_t *reply)
{
	char *s = json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(6));
	char *line;
	size_t n;
	int r;

	if (!s)
		return -ENOMEM;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return -ENOMEM;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	r = control_write_all(conn->fd, line, n + 1);
	free(line);
	return r;
}

static void control_close(struct control *c, int i)
{
	close(c->conns[i]->fd);
	free(c->conns[i]);
	c->conns[i] = NULL;
}

int control_adopt(struct control *c, int fd)
{
	for (int i = 0; i < VMX_PROTO_CLIENTS_MAX; i++) {
		if (c->conns[i])
			continue;
		c->conns[i] = calloc(1, sizeof(*c->conns[i]));
		if (!c->conns[i])
			return -ENOMEM;
		c->conns[i]->fd = fd;
		return i;
	}
	return -EMFILE;
}

static void control_accept(struct control *c)
{
	struct control_conn tmp = {0};
	int fd = accept4(c->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (control_adopt(c, fd) < 0) {
		json_t *r = control_error("too many control connections "
					  "(at most %d)",
					  VMX_PROTO_CLIENTS_MAX);
		tmp.fd = fd;
		control_reply(&tmp, r);
		json_decref(r);
		close(fd);
	}
}

/* Reply to an oversized line, then end the connection politely. */
static void control_too_long(struct control *c, int i)
{
	json_t *r = control_error("request line longer than %d bytes",
				  VMX_PROTO_LINE_MAX);
	char sink[4096];

	control_reply(c->conns[i], r);
	json_decref(r);
	shutdown(c->conns[i]->fd, SHUT_WR);
	/*
	 * Drain what the client is still sending, briefly (at most ~100 ms of
	 * the control thread), so that closing with unread data does not
	 * reset the connection before the client has read the reply.
	 */
	for (int k = 0; k < 10; k++) {
		struct pollfd p = {.fd = c->conns[i]->fd, .events = POLLIN};
		if (poll(&p, 1, 10) != 1 ||
		    read(c->conns[i]->fd, sink, sizeof(sink)) <= 0)
			break;
	}
	control_close(c, i);
}

static void control_after(struct control *c, enum cmd_after after)
{
	switch (after) {
	case CMD_AFTER_END:
		vm_request_end(c->vm, VMX_EXIT_OK);
		break;
	case CMD_AFTER_EXIT:
		c->stopping = 1;
		fsr_finish(c->vm);
		break;
	case CMD_AFTER_SNAPSHOT:
		c->stopping = 1;
		vm_request_end(c->vm, VMX_EXIT_SNAPSHOT);
		break;
	case CMD_AFTER_MIGRATED:
		c->stopping = 1;
		vm_request_end(c->vm, VMX_EXIT_MIGRATED);
		break;
	case CMD_AFTER_NOTHING:
		break;
	}
}

static int control_handle_line(struct control *c, int i, char *line, size_t len)
{
	struct vmx_request req;
	struct seam_err e;
	enum cmd_after after = CMD_AFTER_NOTHING;
	json_t *reply;
	int r;

	if (len == 0)
		return 0;
	if (proto_parse(line, len, &req, &e) < 0)
		reply = control_error("%s", e.msg);
	else
		reply = cmd_dispatch(c, c->conns[i], &req, &after);
	r = reply ? control_reply(c->conns[i], reply) : 0;
	json_decref(reply);
	control_after(c, after);
	return r;
}

/* Handle every whole line buffered on connection i. */
static void control_lines(struct control *c, int i)
{
	struct control_conn *conn = c->conns[i];
	size_t len;
	char *line;

	for (;;) {
		enum proto_next next = proto_buf_next(&conn->in, &line, &len);
		if (next == PROTO_NEED_MORE)
			return;
		if (next == PROTO_TOO_LONG) {
			control_too_long(c, i);
			return;
		}
		if (control_handle_line(c, i, line, len) < 0) {
			control_close(c, i);
			return;
		}
		if (c->stopping || !c->conns[i])
			return;
	}
}

static void control_read(struct control *c, int i)
{
	struct control_conn *conn = c->conns[i];
	size_t room;
	char *space = proto_buf_space(&conn->in, &room);
	ssize_t n;

	/* A full buffer holds no newline: never read(…, 0), which looks like
	 * EOF and would drop the connection without the error reply. */
	if (room == 0) {
		control_too_long(c, i);
		return;
	}
	n = read(conn->fd, space, room);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		control_close(c, i);
		return;
	}
	if (n > 0)
		proto_buf_commit(&conn->in, (size_t)n);
	control_lines(c, i);
}

int control_export(struct control *c, struct control_conn *requester,
		   struct vmx_saved *s, int *fds, int max)
{
	int n = 0;

	s->requester = -1;
	for (int i = 0; i < VMX_PROTO_CLIENTS_MAX && n < max; i++) {
		struct control_conn *conn = c->conns[i];
		struct proto_buf *b;
		if (!conn)
			continue;
		b = &conn->in;
		if (conn == requester)
			s->requester = n;
		s->conn[n].len = (uint32_t)(b->len - b->consumed);
		memcpy(s->conn[n].data, b->data + b->consumed, s->conn[n].len);
		fds[n++] = conn->fd;
	}
	s->nconns = (uint32_t)n;
	return n;
}

int control_adopt_pending(struct control *c, int fd, const char *data,
			  size_t len)
{
	int i = control_adopt(c, fd);

	if (i < 0)
		return i;
	memcpy(c->conns[i]->in.data, data, len);
	c->conns[i]->in.len = len;
	return i;
}

static void *control_thread(void *arg)
{
	struct control *c = arg;
	struct pollfd p[VMX_PROTO_CLIENTS_MAX + 2];
	int idx[VMX_PROTO_CLIENTS_MAX];

	/* Lines that came with connections handed over by FSR. */
	for (int i = 0; i < VMX_PROTO_CLIENTS_MAX && !c->stopping; i++)
		if (c->conns[i] && c->conns[i]->in.len)
			control_lines(c, i);
	while (!c->stopping) {
		int n = 2;
		p[0] = (struct pollfd){.fd = c->wake_fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = c->listener, .events = POLLIN};
		for (int i = 0; i < VMX_PROTO_CLIENTS_MAX; i++) {
			if (!c->conns[i])
				continue;
			idx[n - 2] = i;
			p[n++] = (struct pollfd){.fd = c->conns[i]->fd,
						 .events = POLLIN};
		}
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		for (int k = 2; k < n && !c->stopping; k++)
			if (p[k].revents && c->conns[idx[k - 2]])
				control_read(c, idx[k - 2]);
		if (p[1].revents && !c->stopping)
			control_accept(c);
	}
	return NULL;
}

int control_start(struct control *c, struct vm *vm, int listener,
		  struct seam_err *e)
{
	int r;

	c->vm = vm;
	c->listener = listener;
	c->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (c->wake_fd < 0)
		return err_sys(e, "eventfd");
	r = pthread_create(&c->thread, NULL, control_thread, c);
	if (r)
		return err_set(e, r, "cannot start the control thread");
	c->started = 1;
	return 0;
}
