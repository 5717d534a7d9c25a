/*
 * httpd.c — see httpd.h.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers, once per chunk of body, once more at the end. The first
 * call only allocates our request (and refuses at once a Content-Length over
 * the bound); the chunks are gathered up to the bound and discarded past it;
 * the last call runs the pipeline: auth -> route -> size -> JSON -> fields ->
 * handler. Every refusal on the way is a 4xx with the uniform error body; a
 * 500 only comes from a handler's own failure, never from input.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HTTPD_CONNECTION_TIMEOUT 300 /* seconds idle */
/*
 * A body over the bound is read and dropped so the client gets its 413 on
 * an orderly connection; past this many times the bound, it is refused at
 * once (the connection closes while the client may still be sending).
 */
#define HTTPD_DRAIN_FACTOR 64

struct httpd {
	struct MHD_Daemon *mhd;
	const struct httpd_route *routes;
	size_t nroutes;
	size_t max_body;
	httpd_auth_fn auth;
	void *ctx;
	char *cert_pem;
	char *key_pem;
	char *upload_dir;
	atomic_int busy; /* connections with a request under way, or yet to
			  * send their first one (see httpd_conn) */
};

/*
 * Each connection's state, in MHD's socket context. A connection is busy
 * from its start until its request completes, and again from its next
 * request on; a re-exec waits for the busy ones and closes the idle
 * keep-alive ones at once (httpd_stop_keep_socket).
 */
struct httpd_conn {
	bool busy;
};

struct httpd_req {
	struct httpd *h;
	struct MHD_Connection *conn;
	char method[16];
	char *path;
	const struct httpd_route *route;
	size_t limit;	 /* body bound for this route */
	char *body;	 /* in memory (JSON and raw bodies) */
	size_t body_len; /* bytes received, in memory or in the file */
	int body_fd;	 /* HTTPD_ROUTE_BODY_FILE: the upload, else -1 */
	char *body_path;
	bool too_large;
	bool refused; /* a reply is prepared: drop the body, then send it */
	bool done;
	struct httpd_params params;
	json_t *json;
	void *user;
	void (*user_free)(void *);
	struct MHD_Response *resp;
	unsigned status;
};

/* ---- listening socket ---- */

static int httpd_split_addr(const char *in, char *host, size_t hostlen,
			    char *port, size_t portlen)
{
	const char *colon;

	if (in[0] == '[') {
		const char *end = strchr(in, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		snprintf(host, hostlen, "%.*s", (int)(end - in - 1), in + 1);
		snprintf(port, portlen, "%s", end + 2);
		return 0;
	}
	colon = strrchr(in, ':');
	if (!colon)
		return -EINVAL;
	snprintf(host, hostlen, "%.*s", (int)(colon - in), in);
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
}

int httpd_socket_port(int fd, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return -EAFNOSUPPORT;
	return 0;
}

int httpd_listen(const char *addr_port, int *fd, uint16_t *port,
		 struct seam_err *e)
{
	struct addrinfo hints = {0}, *ai = NULL;
	char host[256], serv[16];
	int s, one = 1, rc;

	*fd = -1;
	if (httpd_split_addr(addr_port, host, sizeof(host), serv,
			     sizeof(serv)) < 0)
		return err_set(e, EINVAL,
			       "listen address '%s' is not ADDR:PORT",
			       addr_port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, serv, &hints, &ai);
	if (rc != 0)
		return err_set(e, EINVAL, "listen address '%s': %s", addr_port,
			       gai_strerror(rc));
	s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		freeaddrinfo(ai);
		return err_sys(e, "socket for %s", addr_port);
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, 128) < 0) {
		rc = err_sys(e, "listen on %s", addr_port);
		freeaddrinfo(ai);
		close(s);
		return rc;
	}
	freeaddrinfo(ai);
	if (port && httpd_socket_port(s, port) < 0) {
		close(s);
		return err_sys(e, "getsockname on %s", addr_port);
	}
	*fd = s;
	return 0;
}

/* ---- routing ---- */

static const char *httpd_segment(const char *p, size_t *len)
{
	const char *end;

	while (*p == '/')
		p++;
	end = strchr(p, '/');
	*len = end ? (size_t)(end - p) : strlen(p);
	return p;
}

int httpd_pattern_match(const char *pattern, const char *path,
			struct httpd_params *p)
{
	const char *ps = pattern, *qs = path;
	size_t pl, ql;

	p->n = 0;
	if (*pattern != '/' || *path != '/')
		return 0;
	for (;;) {
		/* Empty segments ("//") and a trailing "/" do not match. */
		if (qs[0] == '/' &&
		    (qs[1] == '/' || (qs[1] == '\0' && qs != path)))
			return 0;
		ps = httpd_segment(ps, &pl);
		qs = httpd_segment(qs, &ql);
		if (pl == 0 || ql == 0)
			return pl == 0 && ql == 0;
		if (ps[0] == '{' && ps[pl - 1] == '}') {
			if (p->n >= HTTPD_MAX_PARAMS ||
			    ql >= HTTPD_PARAM_VALUE ||
			    pl - 2 >= HTTPD_PARAM_NAME)
				return 0;
			snprintf(p->name[p->n], HTTPD_PARAM_NAME, "%.*s",
				 (int)(pl - 2), ps + 1);
			snprintf(p->value[p->n], HTTPD_PARAM_VALUE, "%.*s",
				 (int)ql, qs);
			p->n++;
		} else if (pl != ql || memcmp(ps, qs, pl) != 0) {
			return 0;
		}
		ps += pl;
		qs += ql;
	}
}

const struct httpd_route *
httpd_route_find(const struct httpd_route *routes, size_t n, const char *method,
		 const char *path, struct httpd_params *p, unsigned *status,
		 char *allow, size_t allowlen)
{
	struct httpd_params tmp;
	size_t i, used = 0;

	*status = 404;
	if (allowlen)
		allow[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!httpd_pattern_match(routes[i].pattern, path, &tmp))
			continue;
		if (!strcmp(routes[i].method, method)) {
			*p = tmp;
			*status = 200;
			return &routes[i];
		}
		*status = 405;
		if (allowlen > used)
			used += (size_t)snprintf(allow + used, allowlen - used,
						 "%s%s", used ? ", " : "",
						 routes[i].method);
	}
	return NULL;
}

/* ---- request accessors ---- */

void *httpd_req_ctx(const struct httpd_req *req)
{
	return req->h->ctx;
}

const char *httpd_req_method(const struct httpd_req *req)
{
	return req->method;
}

const char *httpd_req_path(const struct httpd_req *req)
{
	return req->path;
}

const char *httpd_req_param(const struct httpd_req *req, const char *name)
{
	int i;

	for (i = 0; i < req->params.n; i++)
		if (!strcmp(req->params.name[i], name))
			return req->params.value[i];
	return NULL;
}

const char *httpd_req_query(const struct httpd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

const char *httpd_req_header(const struct httpd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

json_t *httpd_req_json(const struct httpd_req *req)
{
	return req->json;
}

const void *httpd_req_body(const struct httpd_req *req, size_t *len)
{
	*len = req->body_len;
	return req->body ? req->body : "";
}

const char *httpd_req_body_file(const struct httpd_req *req, size_t *len)
{
	if (len)
		*len = req->body_len;
	return req->body_path;
}

char *httpd_req_take_body_file(struct httpd_req *req)
{
	char *p = req->body_path;

	if (req->body_fd >= 0)
		close(req->body_fd);
	req->body_fd = -1;
	req->body_path = NULL;
	return p;
}

void httpd_req_set_user(struct httpd_req *req, void *user,
			void (*user_free)(void *))
{
	if (req->user_free)
		req->user_free(req->user);
	req->user = user;
	req->user_free = user_free;
}

void *httpd_req_user(const struct httpd_req *req)
{
	return req->user;
}

const char *httpd_req_bearer(const struct httpd_req *req)
{
	const char *v = httpd_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!v || strncasecmp(v, "Bearer ", 7) != 0)
		return NULL;
	v += 7;
	while (*v == ' ')
		v++;
	return *v ? v : NULL;
}

bool httpd_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return d == 0;
}

int httpd_req_query_u64(const struct httpd_req *req, const char *name,
			uint64_t def, uint64_t max, uint64_t *out,
			struct seam_err *e)
{
	const char *v = httpd_req_query(req, name);
	unsigned long long x;
	char *end;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || x > max)
		return err_set(e, EINVAL,
			       "query argument '%s' must be an integer from 0 "
			       "to %llu",
			       name, (unsigned long long)max);
	*out = x;
	return 0;
}

/* ---- replies ---- */

unsigned httpd_status_of_errno(int code)
{
	switch (code) {
	case EINVAL:
	case ERANGE:
	case ENAMETOOLONG:
		return 400;
	case EACCES:
		return 401;
	case EPERM:
		return 403;
	case ENOENT:
		return 404;
	case EEXIST:
	case EBUSY:
	case EALREADY:
		return 409;
	case EFBIG:
	case E2BIG:
		return 413;
	case EAGAIN:
		return 503;
	case ETIMEDOUT:
		return 504;
	default:
		return 500;
	}
}

const char *httpd_code_of_status(unsigned status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 409:
		return "conflict";
	case 413:
		return "payload_too_large";
	case 503:
		return "unavailable";
	case 504:
		return "timeout";
	default:
		return status >= 500 ? "internal" : "error";
	}
}

static void httpd_set_response(struct httpd_req *req, unsigned status,
			       struct MHD_Response *resp)
{
	if (req->resp) {
		/* A second reply is a bug in a handler; keep the first. */
		log_warnx("%s %s: second reply dropped", req->method,
			  req->path);
		MHD_destroy_response(resp);
		return;
	}
	req->resp = resp;
	req->status = status;
}

void httpd_reply_json(struct httpd_req *req, unsigned status, json_t *body)
{
	struct MHD_Response *resp;
	char *s;

	s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (!s) {
		s = strdup("{\"error\":{\"code\":\"internal\","
			   "\"message\":\"cannot serialise reply\"}}");
		status = 500;
		if (!s)
			return;
	}
	resp = MHD_create_response_from_buffer(strlen(s), s,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	httpd_set_response(req, status, resp);
}

/* Length of the valid UTF-8 sequence at s, 0 when invalid. */
static size_t httpd_utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * Messages quote what the client sent (a path, a name); JSON strings must be
 * UTF-8, so anything else becomes '?' rather than an unserialisable reply.
 */
static void httpd_utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		size_t n = httpd_utf8_len(p);

		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static void httpd_reply_verror(struct httpd_req *req, unsigned status,
			       const char *code, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	httpd_utf8_sanitize(msg);
	httpd_reply_json(
	    req, status,
	    json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void httpd_reply_error(struct httpd_req *req, unsigned status, const char *code,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	httpd_reply_verror(req, status, code, fmt, ap);
	va_end(ap);
}

void httpd_reply_err(struct httpd_req *req, const struct seam_err *e)
{
	unsigned status = httpd_status_of_errno(e->code);

	httpd_reply_error(req, status, httpd_code_of_status(status), "%s",
			  e->msg[0] ? e->msg : "unknown error");
}

void httpd_reply_empty(struct httpd_req *req, unsigned status)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp)
		httpd_set_response(req, status, resp);
}

void httpd_reply_stream(struct httpd_req *req, unsigned status,
			const char *content_type, httpd_stream_fn fn, void *cls,
			void (*free_cls)(void *))
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, fn,
						 cls, free_cls);
	if (!resp) {
		if (free_cls)
			free_cls(cls);
		httpd_reply_error(req, 500, "internal",
				  "cannot create a stream");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-cache");
	httpd_set_response(req, status, resp);
}

/* ---- the pipeline ---- */

static void httpd_conn_set_busy(struct httpd *h, struct MHD_Connection *conn,
				bool busy)
{
	const union MHD_ConnectionInfo *ci;
	struct httpd_conn *c;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = ci ? ci->socket_context : NULL;
	if (!c || c->busy == busy)
		return;
	c->busy = busy;
	atomic_fetch_add(&h->busy, busy ? 1 : -1);
}

static void httpd_on_connection(void *cls, struct MHD_Connection *conn,
				void **socket_context,
				enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	struct httpd_conn *c = *socket_context;

	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = calloc(1, sizeof(*c));
		if (c) { /* without memory it only counts as idle */
			c->busy = true;
			atomic_fetch_add(&h->busy, 1);
		}
		*socket_context = c;
		return;
	}
	if (c && c->busy)
		atomic_fetch_sub(&h->busy, 1);
	free(c);
	*socket_context = NULL;
}

static struct httpd_req *httpd_req_new(struct httpd *h,
				       struct MHD_Connection *conn,
				       const char *method, const char *url)
{
	struct httpd_req *req = calloc(1, sizeof(*req));

	if (!req)
		return NULL;
	req->h = h;
	req->conn = conn;
	req->body_fd = -1;
	snprintf(req->method, sizeof(req->method), "%s", method);
	req->path = strdup(url);
	if (!req->path) {
		free(req);
		return NULL;
	}
	httpd_conn_set_busy(h, conn, true);
	return req;
}

static void httpd_req_drop_file(struct httpd_req *req)
{
	if (req->body_fd >= 0)
		close(req->body_fd);
	req->body_fd = -1;
	if (req->body_path)
		unlink(req->body_path);
	free(req->body_path);
	req->body_path = NULL;
}

static void httpd_req_free(struct httpd_req *req)
{
	if (!req)
		return;
	if (req->resp)
		MHD_destroy_response(req->resp);
	if (req->user_free)
		req->user_free(req->user);
	httpd_req_drop_file(req);
	json_decref(req->json);
	free(req->body);
	free(req->path);
	free(req);
}

static void httpd_reply_too_large(struct httpd_req *req)
{
	httpd_reply_error(req, 413, "payload_too_large",
			  "request body larger than %zu bytes", req->limit);
}

static void httpd_body_overflow(struct httpd_req *req)
{
	req->too_large = true;
	free(req->body);
	req->body = NULL;
	httpd_req_drop_file(req);
	httpd_reply_too_large(req);
	req->refused = true;
}

static int httpd_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void httpd_req_append(struct httpd_req *req, const char *data,
			     size_t len)
{
	char *nb;

	if (req->refused)
		return;
	if (req->body_len + len > req->limit) {
		httpd_body_overflow(req);
		return;
	}
	if (req->body_fd >= 0) {
		if (httpd_write_all(req->body_fd, data, len) < 0) {
			httpd_req_drop_file(req);
			httpd_reply_error(req, 503, "unavailable",
					  "cannot store the upload");
			req->refused = true;
			return;
		}
		req->body_len += len;
		return;
	}
	nb = realloc(req->body, req->body_len + len + 1);
	if (!nb) {
		httpd_body_overflow(req);
		return;
	}
	memcpy(nb + req->body_len, data, len);
	req->body = nb;
	req->body_len += len;
	nb[req->body_len] = '\0';
}

/* Content-Length, or 0 when absent or unreadable. */
static unsigned long long httpd_content_length(struct httpd_req *req)
{
	const char *cl = httpd_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	if (!cl)
		return 0;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno || *end ? 0 : n;
}

static int httpd_open_upload(struct httpd_req *req)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/.upload-XXXXXX", req->h->upload_dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	req->body_path = strdup(path);
	if (!req->body_path) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	req->body_fd = fd;
	return 0;
}

/*
 * First call, headers only: authenticate, route, set the body's bound and
 * sink. Any refusal is prepared now and sent once the body has been
 * drained, so nothing of an unauthenticated body is ever stored.
 */
static void httpd_begin(struct httpd_req *req)
{
	struct httpd *h = req->h;
	char allow[128];
	unsigned status;

	req->route =
	    httpd_route_find(h->routes, h->nroutes, req->method, req->path,
			     &req->params, &status, allow, sizeof(allow));
	req->limit = req->route && req->route->max_body ? req->route->max_body
							: h->max_body;
	req->refused = true;
	if (!(req->route && (req->route->flags & HTTPD_ROUTE_PUBLIC)) &&
	    h->auth && h->auth(h->ctx, req) != 0) {
		if (!req->resp)
			httpd_reply_error(req, 401, "unauthorized",
					  "authentication required");
	} else if (!req->route && status == 405) {
		httpd_reply_error(req, 405, "method_not_allowed",
				  "%s is not allowed on %s (allowed: %s)",
				  req->method, req->path, allow);
		if (req->resp)
			MHD_add_response_header(req->resp,
						MHD_HTTP_HEADER_ALLOW, allow);
	} else if (!req->route) {
		httpd_reply_error(req, 404, "not_found", "no endpoint %s",
				  req->path);
	} else if (httpd_content_length(req) > req->limit) {
		req->too_large = true;
		httpd_reply_too_large(req);
	} else if ((req->route->flags & HTTPD_ROUTE_BODY_FILE) &&
		   httpd_open_upload(req) < 0) {
		httpd_reply_error(req, 503, "unavailable",
				  "cannot store an upload in %s",
				  h->upload_dir);
	} else {
		req->refused = false;
	}
}

static int httpd_parse_body(struct httpd_req *req)
{
	const struct httpd_route *route = req->route;
	struct seam_err e = {0};

	if (route->flags & (HTTPD_ROUTE_BODY_RAW | HTTPD_ROUTE_BODY_FILE))
		return 0;
	if (req->body_len == 0) {
		req->json = json_object();
	} else if (jsonio_parse_object(req->body, req->body_len, &req->json,
				       &e) < 0) {
		httpd_reply_error(req, 400, "bad_request", "%s", e.msg);
		return -1;
	}
	if (jsonio_check_fields(req->json, route->fields, &e) < 0) {
		httpd_reply_error(req, 400, "bad_request", "%s", e.msg);
		return -1;
	}
	return 0;
}

/* Last call, the body complete: parse it and run the handler. */
static void httpd_finish(struct httpd_req *req)
{
	if (req->refused)
		return; /* the reply is ready */
	if (req->body_fd >= 0 && fsync(req->body_fd) < 0) {
		httpd_reply_error(req, 503, "unavailable",
				  "cannot store the upload");
		return;
	}
	if (httpd_parse_body(req) < 0)
		return;
	req->route->handler(req);
	if (!req->resp)
		httpd_reply_error(req, 500, "internal",
				  "%s %s produced no reply", req->method,
				  req->path);
}

static enum MHD_Result httpd_send(struct httpd_req *req)
{
	enum MHD_Result r;

	if (!req->resp)
		return MHD_NO;
	if (req->status == 401)
		MHD_add_response_header(
		    req->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	r = MHD_queue_response(req->conn, req->status, req->resp);
	MHD_destroy_response(req->resp);
	req->resp = NULL;
	req->done = true;
	return r;
}

static enum MHD_Result httpd_on_request(void *cls, struct MHD_Connection *conn,
					const char *url, const char *method,
					const char *version,
					const char *upload_data,
					size_t *upload_data_size,
					void **con_cls)
{
	struct httpd *h = cls;
	struct httpd_req *req = *con_cls;

	if (!req) {
		req = httpd_req_new(h, conn, method, url);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		httpd_begin(req);
		/* Far too large to drain: answer now and close. */
		if (req->refused &&
		    httpd_content_length(req) / HTTPD_DRAIN_FACTOR > req->limit)
			return httpd_send(req);
		return MHD_YES;
	}
	if (req->done) {
		/* Answered early; swallow whatever body still arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		httpd_req_append(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	httpd_finish(req);
	log_debug("%s %s -> %u", req->method, req->path, req->status);
	return httpd_send(req);
}

static void httpd_on_completed(void *cls, struct MHD_Connection *conn,
			       void **con_cls,
			       enum MHD_RequestTerminationCode toe)
{
	httpd_req_free(*con_cls);
	*con_cls = NULL;
	httpd_conn_set_busy(cls, conn, false);
}

static void httpd_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("microhttpd: %s", msg);
}

int httpd_start(const struct httpd_config *cfg, struct httpd **out,
		struct seam_err *e)
{
	struct httpd *h;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
			 MHD_USE_ERROR_LOG | MHD_USE_AUTO | MHD_USE_ITC;

	*out = NULL;
	if (cfg->listen_fd < 0 || !cfg->cert_pem || !cfg->key_pem)
		return err_set(e, EINVAL,
			       "httpd: listen fd and TLS identity "
			       "are required");
	h = calloc(1, sizeof(*h));
	if (!h)
		return err_set(e, ENOMEM, "httpd: no memory");
	h->routes = cfg->routes;
	h->nroutes = cfg->nroutes;
	h->max_body = cfg->max_body ? cfg->max_body : HTTPD_DEFAULT_MAX_BODY;
	h->auth = cfg->auth;
	h->ctx = cfg->ctx;
	h->cert_pem = strdup(cfg->cert_pem);
	h->key_pem = strdup(cfg->key_pem);
	h->upload_dir = strdup(cfg->upload_dir ? cfg->upload_dir : "/tmp");
	if (!h->cert_pem || !h->key_pem || !h->upload_dir) {
		httpd_stop(h);
		return err_set(e, ENOMEM, "httpd: no memory");
	}
	h->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, httpd_on_request, h, MHD_OPTION_LISTEN_SOCKET,
	    (MHD_socket)cfg->listen_fd, MHD_OPTION_HTTPS_MEM_KEY, h->key_pem,
	    MHD_OPTION_HTTPS_MEM_CERT, h->cert_pem, MHD_OPTION_NOTIFY_COMPLETED,
	    httpd_on_completed, h, MHD_OPTION_NOTIFY_CONNECTION,
	    httpd_on_connection, h, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)HTTPD_CONNECTION_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)HTTPD_MAX_CONNECTIONS, MHD_OPTION_EXTERNAL_LOGGER,
	    httpd_mhd_log, h, MHD_OPTION_END);
	if (!h->mhd) {
		httpd_stop(h);
		return err_set(e, EIO,
			       "httpd: libmicrohttpd did not start "
			       "(TLS identity or socket refused)");
	}
	*out = h;
	return 0;
}

int httpd_stop_keep_socket(struct httpd *h, long grace_ms)
{
	const union MHD_DaemonInfo *info;
	struct timespec ts = {0, 10 * 1000000L};
	MHD_socket fd;
	long waited;

	if (!h || !h->mhd)
		return -EINVAL;
	fd = MHD_quiesce_daemon(h->mhd);
	/*
	 * Nothing is accepted from here on (connections wait in the backlog
	 * for the next process). Let the requests in flight finish; a
	 * keep-alive connection with no request is closed at once — its
	 * client reconnects — or the socket would go unserved for the whole
	 * grace period. A connection accepted an instant ago that has not
	 * sent its request yet counts as busy.
	 */
	for (waited = 0; waited < grace_ms; waited += 10) {
		info = MHD_get_daemon_info(h->mhd,
					   MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (!info || info->num_connections == 0)
			break;
		if (atomic_load(&h->busy) == 0)
			break;
		nanosleep(&ts, NULL);
	}
	httpd_stop(h);
	return fd == MHD_INVALID_SOCKET ? -EBADF : (int)fd;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h->cert_pem);
	free(h->upload_dir);
	if (h->key_pem) {
		explicit_bzero(h->key_pem, strlen(h->key_pem));
		free(h->key_pem);
	}
	free(h);
}
