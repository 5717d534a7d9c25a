/*
 * ctl.c — the control client: one request, one reply, printed on stdout.
 *
 * Exit status: 0 when the reply says ok (and, for fsr, the result is "ok"),
 * 1 on an error reply (or a rolled-back FSR), 2 on bad usage, 3 when the
 * socket cannot be reached or the reply never comes. After `stop` it waits
 * for the VM to end: the connection closes when the worker exits, and the
 * socket path disappears when the keeper does.
 */
#include "ctl.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmx.h"
#include "vmx_proto.h"

#define CTL_TIMEOUT_MS 60000
#define CTL_STOP_WAIT_MS 10000

static int ctl_usage(void)
{
	fprintf(stderr,
		"usage: seam-vmx ctl SOCKET "
		"status|pause|resume|stop|regs\n"
		"       seam-vmx ctl SOCKET fsr --binary PATH "
		"[--fail-stage STAGE]\n"
		"       seam-vmx ctl SOCKET snapshot PATH\n"
		"       seam-vmx ctl SOCKET migrate --to ADDR:PORT "
		"--token TOKEN\n"
		"                [--max-downtime-ms N] [--timeout-s N]\n");
	return 2;
}

static json_t *ctl_build_fsr(int argc, char **argv)
{
	json_t *o = json_pack("{s:s}", "cmd", "fsr");

	for (int i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--binary") == 0) {
			char *abs = realpath(argv[i + 1], NULL);
			/* the VM resolves paths from its own directory */
			json_object_set_new(
			    o, "binary", json_string(abs ? abs : argv[i + 1]));
			free(abs);
		} else if (strcmp(argv[i], "--fail-stage") == 0)
			json_object_set_new(o, "fail_stage",
					    json_string(argv[i + 1]));
		else {
			json_decref(o);
			return NULL;
		}
	}
	if (argc % 2 || !json_object_get(o, "binary")) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A number option of migrate; 0 when it is not one. */
static json_int_t ctl_number(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return *end || end == s || v < 1 ? 0 : (json_int_t)v;
}

static json_t *ctl_build_migrate(int argc, char **argv)
{
	static const char *const opts[][2] = {
	    {"--to", "to"},
	    {"--token", "token"},
	    {"--max-downtime-ms", "max_downtime_ms"},
	    {"--timeout-s", "timeout_s"}};
	json_t *o = json_pack("{s:s}", "cmd", "migrate");

	for (int i = 0; i < argc; i += 2) {
		int k = 0;

		while (k < 4 && strcmp(argv[i], opts[k][0]) != 0)
			k++;
		if (k == 4 || i + 1 >= argc ||
		    (k >= 2 && !ctl_number(argv[i + 1])))
			goto bad;
		json_object_set_new(
		    o, opts[k][1],
		    k < 2 ? json_string(argv[i + 1])
			  : json_integer(ctl_number(argv[i + 1])));
	}
	if (json_object_get(o, "to") && json_object_get(o, "token"))
		return o;
bad:
	json_decref(o);
	return NULL;
}

/* The VM resolves a relative path from its own directory: send ours. */
static json_t *ctl_build_snapshot(const char *path)
{
	char cwd[PATH_MAX], abs[PATH_MAX * 2];

	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
	else
		snprintf(abs, sizeof(abs), "%s", path);
	return json_pack("{s:s, s:s}", "cmd", "snapshot", "path", abs);
}

static json_t *ctl_build(int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "fsr") == 0)
		return ctl_build_fsr(argc - 1, argv + 1);
	if (strcmp(cmd, "migrate") == 0)
		return ctl_build_migrate(argc - 1, argv + 1);
	if (strcmp(cmd, "snapshot") == 0)
		return argc == 2 ? ctl_build_snapshot(argv[1]) : NULL;
	if (argc != 1)
		return NULL;
	return json_pack("{s:s}", "cmd", cmd);
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "seam-vmx ctl: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "seam-vmx ctl: cannot connect to %s: %s\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int ctl_send(int fd, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0, off = 0;
	int r = 0;

	if (!s)
		return -1;
	s = realloc(s, n + 2);
	s[n++] = '\n';
	while (off < n && r == 0) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else if (!(w < 0 && errno == EINTR))
			r = -1;
	}
	free(s);
	return r;
}

/* How long a reply may take: a migration as long as its own timeout. */
static int ctl_timeout_ms(const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_int_t s = json_integer_value(json_object_get(req, "timeout_s"));

	if (strcmp(cmd, "migrate") == 0)
		return (int)((s ? s : 600) + 60) * 1000;
	if (strcmp(cmd, "snapshot") == 0)
		return 10 * CTL_TIMEOUT_MS;
	return CTL_TIMEOUT_MS;
}

/* Read one reply line into buf; returns its length or -1. */
static int ctl_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, timeout_ms) != 1)
			return -1;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		if (memchr(buf, '\n', len)) {
			*(char *)memchr(buf, '\n', len) = '\0';
			return (int)strlen(buf);
		}
	}
	return -1;
}

static void ctl_wait_gone(int fd, const char *path)
{
	char sink[256];
	struct stat st;

	for (int waited = 0; waited < CTL_STOP_WAIT_MS; waited += 10) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10) == 1 && read(fd, sink, sizeof(sink)) <= 0)
			break;
	}
	for (int waited = 0; waited < CTL_STOP_WAIT_MS; waited += 10) {
		if (lstat(path, &st) < 0)
			return;
		usleep(10000);
	}
}

static int ctl_result(const char *line, const char *cmd)
{
	json_t *o = json_loads(line, 0, NULL);
	json_t *ok = o ? json_object_get(o, "ok") : NULL;
	int r = json_is_true(ok) ? 0 : 1;

	if (r == 0 && strcmp(cmd, "fsr") == 0) {
		const char *res =
		    json_string_value(json_object_get(o, "result"));
		if (!res || strcmp(res, "ok") != 0)
			r = 1;
	}
	json_decref(o);
	return r;
}

int ctl_main(int argc, char **argv)
{
	static char line[VMX_PROTO_LINE_MAX * 4];
	json_t *req;
	int fd, r, timeout_ms;

	if (argc < 2)
		return ctl_usage();
	req = ctl_build(argc - 1, argv + 1);
	if (!req)
		return ctl_usage();
	fd = ctl_connect(argv[0]);
	if (fd < 0) {
		json_decref(req);
		return 3;
	}
	r = ctl_send(fd, req);
	timeout_ms = ctl_timeout_ms(req);
	json_decref(req);
	if (r < 0 || ctl_read_line(fd, line, sizeof(line), timeout_ms) < 0) {
		fprintf(stderr, "seam-vmx ctl: no reply from %s\n", argv[0]);
		close(fd);
		return 3;
	}
	printf("%s\n", line);
	fflush(stdout);
	r = ctl_result(line, argv[1]);
	if (r == 0 && strcmp(argv[1], "stop") == 0)
		ctl_wait_gone(fd, argv[0]);
	close(fd);
	return r;
}
