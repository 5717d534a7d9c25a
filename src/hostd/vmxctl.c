/*
 * vmxctl.c — one request, one reply on a VM's control socket.
 *
 * The socket is non-blocking and every wait is a poll() against one
 * deadline, so a VM that hangs (or an FSR that takes its full timeout on
 * the vmx side) cannot hang the caller beyond timeout_ms. The same holds
 * for the client process of vmxctl_client: killed at the deadline.
 */
#include "vmxctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmx_proto.h"

static long vmxctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int vmxctl_connect(const char *sock, struct seam_err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return err_set(e, ENAMETOOLONG,
			       "control socket path %s too long", sock);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = err_sys(e, "connect to VM control socket %s", sock);

		close(fd);
		return rc;
	}
	return fd;
}

static int vmxctl_wait(int fd, short ev, long deadline, struct seam_err *e)
{
	struct pollfd p = {.fd = fd, .events = ev};
	long left = deadline - vmxctl_now_ms();
	int n;

	if (left <= 0)
		return err_set(e, ETIMEDOUT, "no reply from the VM in time");
	n = poll(&p, 1, (int)left);
	if (n < 0)
		return errno == EINTR ? 0 : err_sys(e, "poll");
	if (n == 0)
		return err_set(e, ETIMEDOUT, "no reply from the VM in time");
	return 0;
}

static int vmxctl_send(int fd, const char *line, size_t len, long deadline,
		       struct seam_err *e)
{
	size_t off = 0;
	ssize_t n;
	int rc;

	while (off < len) {
		rc = vmxctl_wait(fd, POLLOUT, deadline, e);
		if (rc < 0)
			return rc;
		n = send(fd, line + off, len - off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return err_sys(e, "send to VM");
		if (n > 0)
			off += (size_t)n;
	}
	return 0;
}

static int vmxctl_recv_line(int fd, char *buf, size_t cap, long deadline,
			    struct seam_err *e)
{
	size_t len = 0;
	ssize_t n;
	int rc;

	while (len + 1 < cap) {
		rc = vmxctl_wait(fd, POLLIN, deadline, e);
		if (rc < 0)
			return rc;
		n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (n == 0)
			return err_set(e, ECONNRESET,
				       "the VM closed the control connection");
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return err_sys(e, "recv from VM");
		if (n < 0)
			continue;
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len))
			return 0;
	}
	return err_set(e, EPROTO, "reply line from the VM too long");
}

int vmxctl_request(const char *sock, const json_t *req, long timeout_ms,
		   json_t **reply, struct seam_err *e)
{
	long deadline = vmxctl_now_ms() + timeout_ms;
	char buf[VMX_PROTO_LINE_MAX * 4];
	json_error_t je;
	char *line;
	int fd, rc;

	*reply = NULL;
	line = json_dumps(req, JSON_COMPACT);
	if (!line)
		return err_set(e, ENOMEM, "json_dumps");
	fd = vmxctl_connect(sock, e);
	if (fd < 0) {
		free(line);
		return fd;
	}
	rc = vmxctl_send(fd, line, strlen(line), deadline, e);
	if (rc == 0)
		rc = vmxctl_send(fd, "\n", 1, deadline, e);
	free(line);
	if (rc == 0)
		rc = vmxctl_recv_line(fd, buf, sizeof(buf), deadline, e);
	close(fd);
	if (rc < 0)
		return rc;
	*strchr(buf, '\n') = '\0';
	*reply = json_loads(buf, 0, &je);
	if (!*reply || !json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		return err_set(e, EPROTO,
			       "VM replied with something not JSON: %.200s",
			       buf);
	}
	return 0;
}

int vmxctl_version(const char *sock, long timeout_ms, char *buf, size_t len,
		   struct seam_err *e)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *reply = NULL;
	const char *v;
	int rc;

	rc = vmxctl_request(sock, req, timeout_ms, &reply, e);
	json_decref(req);
	if (rc < 0)
		return rc;
	v = json_string_value(json_object_get(reply, "version"));
	if (!json_is_true(json_object_get(reply, "ok")) || !v) {
		rc = err_set(e, EPROTO, "VM status reply has no version");
	} else {
		snprintf(buf, len, "%s", v);
	}
	json_decref(reply);
	return rc;
}

#define VMXCTL_CLIENT_ARGS 8
#define VMXCTL_CLIENT_POLL_US 10000

/* In the child: stdout to the pipe, signals unblocked, exec. */
static void vmxctl_client_exec(const char *vmx, const char *sock,
			       const char *const args[], int out)
{
	const char *argv[VMXCTL_CLIENT_ARGS + 4] = {vmx, "ctl", sock};
	sigset_t none;
	size_t i;

	for (i = 0; args[i] && i < VMXCTL_CLIENT_ARGS; i++)
		argv[3 + i] = args[i];
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(out, 1);
	execv(vmx, (char *const *)argv);
	_exit(127);
}

/* Read fd to EOF or the deadline, into buf (NUL-terminated). */
static void vmxctl_read_all(int fd, char *buf, size_t cap, long deadline)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	size_t len = 0;
	long left;
	ssize_t n;

	buf[0] = '\0';
	while (len + 1 < cap) {
		left = deadline - vmxctl_now_ms();
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
}

int vmxctl_client(const char *vmx, const char *sock, const char *const args[],
		  long timeout_ms, json_t **reply, int *status,
		  struct seam_err *e)
{
	long deadline = vmxctl_now_ms() + timeout_ms;
	char buf[8192];
	json_error_t je;
	int p[2], st = 0;
	pid_t pid, w;

	if (reply)
		*reply = NULL;
	*status = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, "pipe");
	pid = fork();
	if (pid == 0)
		vmxctl_client_exec(vmx, sock, args, p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return err_sys(e, "fork");
	}
	vmxctl_read_all(p[0], buf, sizeof(buf), deadline);
	close(p[0]);
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 &&
	       vmxctl_now_ms() < deadline)
		usleep(VMXCTL_CLIENT_POLL_US);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	} else if (w > 0 && WIFEXITED(st)) {
		*status = WEXITSTATUS(st);
	}
	if (!reply)
		return 0;
	*reply = json_loads(buf, JSON_DISABLE_EOF_CHECK, &je);
	if (*reply && !json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
	}
	return 0;
}
