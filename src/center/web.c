/*
 * web.c — static files of the web client (see web.h).
 *
 * The one rule that matters here is that a request can only ever read a
 * regular file inside the web directory. libmicrohttpd hands us the path
 * already percent-decoded, and the router splits it on '/', so every path
 * parameter is one decoded segment: a segment that is empty, starts with
 * a dot ("..", ".", hidden files) or holds a backslash or a '%' (a
 * doubly-encoded name) is refused with 404, before the file system is
 * touched. The file's real path must then still lie under the real web
 * directory (a symbolic link pointing out is refused the same way).
 *
 * A file is streamed with its content type from a small table of the
 * extensions the client uses; anything else is application/octet-stream.
 */
#include "web.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char web_root[PATH_MAX];

const char *web_dir(void)
{
	return web_root;
}

int web_init(const char *dir, struct seam_err *e)
{
	char exe[PATH_MAX], guess[PATH_MAX + 8];
	ssize_t n;
	char *slash;

	web_root[0] = '\0';
	if (dir) {
		if (!realpath(dir, web_root)) {
			web_root[0] = '\0';
			return err_set(e, errno, "--web-dir '%s': %s", dir,
				       strerror(errno));
		}
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	snprintf(guess, sizeof(guess), "%s/../web", exe);
	if (!realpath(guess, web_root)) {
		web_root[0] = '\0';
		log_info("no web client at %s (use --web-dir)", guess);
	}
	return 0;
}

static const char *web_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".json", "application/json"},
	    {".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static bool web_segment_ok(const char *s)
{
	return s[0] && s[0] != '.' && !strchr(s, '\\') && !strchr(s, '%') &&
	       !strchr(s, '/');
}

/* The relative path of the request ("index.html" for /), or -1. */
static int web_rel_path(struct httpd_req *req, char *out, size_t len)
{
	static const char *const names[] = {"p1", "p2", "p3", "p4"};
	size_t i, off = 0;
	const char *seg;

	if (!httpd_req_param(req, "p1")) {
		snprintf(out, len, "index.html");
		return 0;
	}
	out[0] = '\0';
	for (i = 0; i < 4 && (seg = httpd_req_param(req, names[i])); i++) {
		int w;

		if (!web_segment_ok(seg))
			return -1;
		w = snprintf(out + off, len - off, "%s%s", off ? "/" : "", seg);
		if (w < 0 || (size_t)w >= len - off)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

struct web_file {
	int fd;
};

static ssize_t web_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct web_file *f = cls;
	ssize_t n = pread(f->fd, buf, max, (off_t)pos);

	if (n < 0)
		return HTTPD_STREAM_ERROR;
	return n == 0 ? HTTPD_STREAM_END : n;
}

static void web_file_free(void *cls)
{
	struct web_file *f = cls;

	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* Open rel under the root: a regular file whose real path stays inside. */
static int web_open(const char *rel)
{
	char path[PATH_MAX * 2], real[PATH_MAX];
	size_t rl = strlen(web_root);
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", web_root, rel);
	if (!realpath(path, real) || strncmp(real, web_root, rl) != 0 ||
	    real[rl] != '/')
		return -1;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

void web_serve(struct httpd_req *req)
{
	char rel[PATH_MAX];
	struct web_file *f;
	int fd;

	if (!web_root[0]) {
		httpd_reply_error(req, 404, "not_found",
				  "this center serves no web client (start it "
				  "with --web-dir DIR)");
		return;
	}
	if (web_rel_path(req, rel, sizeof(rel)) < 0 ||
	    (fd = web_open(rel)) < 0) {
		httpd_reply_error(req, 404, "not_found", "no file %s",
				  httpd_req_path(req));
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		httpd_reply_error(req, 503, "unavailable", "no memory");
		return;
	}
	f->fd = fd;
	httpd_reply_stream(req, 200, web_type(rel), web_read, f, web_file_free);
}
