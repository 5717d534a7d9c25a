/*
 * keepsrc.c — the keeper's side of `run --restore` and `run --incoming`:
 * getting the stream that a VM comes from, and refusing a bad one before
 * anything is created.
 *
 * A snapshot file is checked whole before the keeper creates its socket,
 * serial log or guest RAM: the hello, every frame header (payloads are
 * seeked over), the state with every FSR validation, the END frame and
 * nothing after it. So a corrupt or truncated snapshot exits
 * VMX_EXIT_BAD_STREAM with the reason and leaves nothing behind. A refused
 * stream is reported as EBADMSG (the keeper's cue for that status); a file
 * that cannot be opened or an address that cannot be used keep their errno. The
 * worker then reads the same file again from the first frame, into guest RAM.
 *
 * A migration's stream is checked as far as it can be before guest RAM
 * exists: one connection is accepted, its hello validated and its token
 * compared — a wrong one is refused (REFUSE) before any other byte is read.
 * The rest is validated by the worker, frame by frame, as it arrives.
 */
#include "keepsrc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "migio.h"

static void keepsrc_copy_if_empty(char *dst, const char *src, size_t cap)
{
	if (!dst[0])
		snprintf(dst, cap, "%s", src);
}

/* The configuration is the snapshot's; name and paths may be overridden. */
static void keepsrc_book_from(struct vmx_book *book, const struct vmx_saved *s)
{
	struct vmx_config local = book->cfg;

	book->cfg = s->book.cfg;
	memcpy(book->cfg.name, local.name, sizeof(local.name));
	memcpy(book->cfg.serial_log, local.serial_log,
	       sizeof(local.serial_log));
	memcpy(book->cfg.control, local.control, sizeof(local.control));
	keepsrc_copy_if_empty(book->cfg.name, s->book.cfg.name,
			      sizeof(book->cfg.name));
	keepsrc_copy_if_empty(book->cfg.serial_log, s->book.cfg.serial_log,
			      sizeof(book->cfg.serial_log));
	keepsrc_copy_if_empty(book->cfg.control, s->book.cfg.control,
			      sizeof(book->cfg.control));
}

static int keepsrc_scan(int fd, struct vmx_book *book, struct seam_err *e)
{
	struct vmx_saved *s = calloc(1, sizeof(*s));
	struct mig_reader r = {.fd = fd, .ram_fd = -1};
	struct mig_hello h;
	char extra;
	int rc;

	if (!s)
		return err_set(e, ENOMEM, "out of memory");
	rc = mig_read_hello(&r, &h, e);
	if (rc == 0 && (h.flags & MIG_HELLO_LIVE))
		rc = err_set(e, EINVAL,
			     "a live migration stream, not a "
			     "snapshot");
	if (rc == 0)
		rc = mig_read_stream(&r, s, e);
	if (rc == 0 && s->book.cfg.vcpus != h.vcpus)
		rc = err_set(e, EINVAL,
			     "state section 'book': field 'vcpus' (%u) "
			     "differs from the header (%u)",
			     s->book.cfg.vcpus, h.vcpus);
	if (rc == 0 && read(fd, &extra, 1) != 0)
		rc = err_set(e, EINVAL, "trailing bytes after END at %llu",
			     (unsigned long long)r.bytes);
	if (rc == 0)
		keepsrc_book_from(book, s);
	free(s);
	return rc;
}

int keepsrc_open_snapshot(const char *path, struct vmx_book *book,
			  struct seam_err *e)
{
	struct seam_err inner;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return err_sys(e, "--restore: cannot open '%s'", path);
	rc = keepsrc_scan(fd, book, &inner);
	if (rc == 0 && lseek(fd, sizeof(struct mig_hello), SEEK_SET) < 0)
		rc = err_sys(&inner, "lseek");
	if (rc < 0) {
		close(fd);
		return err_set(e, EBADMSG,
			       "--restore: snapshot '%s' refused: %s", path,
			       inner.msg);
	}
	return fd;
}

static int keepsrc_parse_addr(const char *spec, struct sockaddr_in *sa,
			      struct seam_err *e)
{
	char host[128];
	const char *colon = strrchr(spec, ':');
	char *end;
	long port;

	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	port = strtol(colon + 1, &end, 10);
	*sa = (struct sockaddr_in){.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port)};
	if (*end || port < 1 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return err_set(e, EINVAL, "'%s' is not an IPv4 ADDR:PORT",
			       spec);
	return 0;
}

static int keepsrc_wait_s(void)
{
	const char *s = getenv(KEEPSRC_WAIT_ENV);
	int v = s ? atoi(s) : 0;

	return v > 0 ? v : KEEPSRC_WAIT_S;
}

/* One connection within the wait; a source that never comes is an end. */
static int keepsrc_wait_accept(int lfd, const char *spec, struct seam_err *e)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int r, fd;

	do
		r = poll(&p, 1, keepsrc_wait_s() * 1000);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return err_set(e, ETIMEDOUT,
			       "no source connected to %s within %d s", spec,
			       keepsrc_wait_s());
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? err_sys(e, "accept on %s", spec) : fd;
}

/* Listen on spec, accept one connection. */
static int keepsrc_accept(const char *spec, struct seam_err *e)
{
	struct sockaddr_in sa;
	int one = 1, lfd, fd, rc;

	rc = keepsrc_parse_addr(spec, &sa, e);
	if (rc < 0)
		return rc;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return err_sys(e, "socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0) {
		rc = err_sys(e, "cannot listen on %s", spec);
		close(lfd);
		return rc;
	}
	log_info("waiting for an incoming migration on %s", spec);
	fd = keepsrc_wait_accept(lfd, spec, e);
	rc = fd;
	close(lfd);
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		mig_io_set_timeouts(fd, mig_io_timeout_ms());
	}
	return rc;
}

static int keepsrc_hello(int fd, const char *token, struct vmx_book *book,
			 struct seam_err *e)
{
	struct mig_reader r = {.fd = fd, .ram_fd = -1};
	struct mig_hello h;
	int rc = mig_read_hello(&r, &h, e);

	if (rc == 0 && !(h.flags & MIG_HELLO_LIVE))
		rc = err_set(e, EINVAL, "not a live migration stream");
	if (rc == 0 && !mig_token_matches(&h, token))
		rc = err_set(e, EACCES, "wrong token");
	if (rc < 0) {
		mig_send_reply(fd, MIG_REPLY_REFUSE, e->msg);
		return rc;
	}
	book->cfg.mem_bytes = h.mem_bytes;
	book->cfg.vcpus = h.vcpus;
	if (mig_send_reply(fd, MIG_REPLY_ACCEPT, NULL) < 0)
		return err_set(e, EPIPE, "the source is gone");
	return 0;
}

int keepsrc_accept_incoming(const struct vmx_source *src, struct vmx_book *book,
			    struct seam_err *e)
{
	struct seam_err inner;
	int fd = keepsrc_accept(src->incoming, e), rc;

	if (fd < 0)
		return fd;
	rc = keepsrc_hello(fd, src->token, book, &inner);
	if (rc == -ETIMEDOUT || rc == -EPIPE) {
		close(fd);
		return err_set(e, ETIMEDOUT, "--incoming: %s", inner.msg);
	}
	if (rc < 0) {
		close(fd);
		return err_set(e, EBADMSG, "--incoming: stream refused: %s",
			       inner.msg);
	}
	return fd;
}
