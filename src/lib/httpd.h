/*
 * httpd.h — the HTTPS server layer of Seam's daemons (hostd, center).
 *
 * A daemon hands this layer a routing table and gets back a server that
 * does everything that must be the same on every endpoint: TLS with the
 * daemon's identity (tls.h), authentication on every request (decided on
 * the headers, before any byte of the body is kept), 404 and 405,
 * bounded request bodies (413), strict JSON parsing (400 naming the problem:
 * malformed JSON, an unknown, missing or mistyped field), JSON replies and a
 * uniform error body {"error":{"code":"...","message":"..."}}. A handler only
 * sees a request that passed all of that, with its body parsed and its path
 * parameters ({id} in the pattern) extracted.
 *
 * Under it is libmicrohttpd with one thread per connection: a handler may
 * block (a long poll waits on a condition variable, an event stream's reader
 * waits for the next event) without stalling other clients. Connections are
 * bounded (HTTPD_MAX_CONNECTIONS) so that blocking stays cheap.
 *
 * The listening socket is created apart from the server (httpd_listen()) so
 * that a daemon can pass it across execve() and keep accepting while it
 * replaces its own binary.
 */
#ifndef SEAM_HTTPD_H
#define SEAM_HTTPD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "jsonio.h"

#define HTTPD_MAX_PARAMS 8
#define HTTPD_PARAM_NAME 32
#define HTTPD_PARAM_VALUE 256
#define HTTPD_DEFAULT_MAX_BODY (1u << 20)
#define HTTPD_MAX_CONNECTIONS 256

struct httpd;
struct httpd_req;

typedef void (*httpd_handler_fn)(struct httpd_req *req);
/* Return 0 to let the request through; otherwise reply and return -1. */
typedef int (*httpd_auth_fn)(void *ctx, struct httpd_req *req);

enum httpd_route_flags {
	HTTPD_ROUTE_PUBLIC = 1 << 0, /* no authentication (use sparingly) */
	/* The body is not JSON: kept as bytes (httpd_req_body)... */
	HTTPD_ROUTE_BODY_RAW = 1 << 1,
	/* ...or streamed to a file in upload_dir (httpd_req_body_file). */
	HTTPD_ROUTE_BODY_FILE = 1 << 2,
};

struct httpd_route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/api/v1/vms/{name}/power-on" */
	httpd_handler_fn handler;
	/*
	 * Fields the JSON body may hold; NULL = no field at all (an empty body
	 * or "{}"). An empty body is checked as "{}", so required fields are
	 * reported missing by name.
	 */
	const struct jsonio_field *fields;
	unsigned flags;
	size_t max_body; /* 0 = the server's bound */
};

struct httpd_config {
	const struct httpd_route *routes;
	size_t nroutes;
	const char *cert_pem;
	const char *key_pem;
	int listen_fd;	 /* from httpd_listen(); owned by the server once it
			  * has started (still the caller's if start fails) */
	size_t max_body; /* 0 = HTTPD_DEFAULT_MAX_BODY */
	httpd_auth_fn auth;
	void *ctx; /* handed to auth and, through the request, to handlers */
	const char *upload_dir; /* for HTTPD_ROUTE_BODY_FILE; NULL = /tmp */
};

/* Path parameters; also the unit of the pattern matcher. */
struct httpd_params {
	int n;
	char name[HTTPD_MAX_PARAMS][HTTPD_PARAM_NAME];
	char value[HTTPD_MAX_PARAMS][HTTPD_PARAM_VALUE];
};

/*
 * Listen on "ADDR:PORT" ("127.0.0.1:0", "[::1]:8443", ":8443"); port 0 picks
 * one. *port gets the bound port. The fd is CLOEXEC.
 */
int httpd_listen(const char *addr_port, int *fd, uint16_t *port,
		 struct seam_err *e);
/* The local port of a listening socket (for an inherited fd). */
int httpd_socket_port(int fd, uint16_t *port);

int httpd_start(const struct httpd_config *cfg, struct httpd **out,
		struct seam_err *e);
/* Stop accepting, finish in-flight requests, free. NULL is a no-op. */
void httpd_stop(struct httpd *h);
/*
 * The same, but the listening socket stays open and is returned (or -errno):
 * connections that arrive meanwhile wait in its backlog, for the process
 * that inherits it across execve() (still CLOEXEC: clear it to pass it on).
 * Requests in flight get up to grace_ms to finish; idle keep-alive
 * connections are closed at once (their clients reconnect).
 */
int httpd_stop_keep_socket(struct httpd *h, long grace_ms);

/* Routing, exposed for tests: 1 when path matches pattern, params filled. */
int httpd_pattern_match(const char *pattern, const char *path,
			struct httpd_params *p);
/*
 * Find the route for method + path. NULL with *status 404 (no such path) or
 * 405 (path known, method not; allow lists the methods that are).
 */
const struct httpd_route *
httpd_route_find(const struct httpd_route *routes, size_t n, const char *method,
		 const char *path, struct httpd_params *p, unsigned *status,
		 char *allow, size_t allowlen);

/* Request accessors; strings live as long as the request. */
void *httpd_req_ctx(const struct httpd_req *req);
const char *httpd_req_method(const struct httpd_req *req);
const char *httpd_req_path(const struct httpd_req *req);
const char *httpd_req_param(const struct httpd_req *req, const char *name);
const char *httpd_req_query(const struct httpd_req *req, const char *name);
const char *httpd_req_header(const struct httpd_req *req, const char *name);
/* The parsed body (an object, "{}" when empty); borrowed. */
json_t *httpd_req_json(const struct httpd_req *req);
/* HTTPD_ROUTE_BODY_RAW: the body's bytes (NUL-terminated). */
const void *httpd_req_body(const struct httpd_req *req, size_t *len);
/*
 * HTTPD_ROUTE_BODY_FILE: the fsync'ed upload (unlinked when the request
 * ends, unless taken: then the caller owns the path and the file).
 */
const char *httpd_req_body_file(const struct httpd_req *req, size_t *len);
char *httpd_req_take_body_file(struct httpd_req *req);
/*
 * What the auth hook learnt about the caller (a user, a role), for the
 * handlers; user_free runs when the request ends.
 */
void httpd_req_set_user(struct httpd_req *req, void *user,
			void (*user_free)(void *));
void *httpd_req_user(const struct httpd_req *req);
/* The token of "Authorization: Bearer TOKEN", or NULL. */
const char *httpd_req_bearer(const struct httpd_req *req);
/* Constant-time string comparison for secrets. */
bool httpd_secret_equal(const char *a, const char *b);
/* Parse a query argument as an unsigned integer; def when absent. */
int httpd_req_query_u64(const struct httpd_req *req, const char *name,
			uint64_t def, uint64_t max, uint64_t *out,
			struct seam_err *e);

/* Replies. Exactly one per request; the body is stolen. */
void httpd_reply_json(struct httpd_req *req, unsigned status, json_t *body);
void httpd_reply_error(struct httpd_req *req, unsigned status, const char *code,
		       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Map a seam_err (errno code + message) to a status and an error body. */
void httpd_reply_err(struct httpd_req *req, const struct seam_err *e);
void httpd_reply_empty(struct httpd_req *req, unsigned status);

/*
 * A streamed reply (server-sent events): fn is called from the connection's
 * thread, may block, and returns the bytes it put in buf, or
 * HTTPD_STREAM_END / HTTPD_STREAM_ERROR. free_cls runs when the connection
 * ends, whatever the reason.
 */
#define HTTPD_STREAM_END ((ssize_t)-1)
#define HTTPD_STREAM_ERROR ((ssize_t)-2)
typedef ssize_t (*httpd_stream_fn)(void *cls, uint64_t pos, char *buf,
				   size_t max);
void httpd_reply_stream(struct httpd_req *req, unsigned status,
			const char *content_type, httpd_stream_fn fn, void *cls,
			void (*free_cls)(void *));

/* The status an errno code maps to, and the error code string. */
unsigned httpd_status_of_errno(int code);
const char *httpd_code_of_status(unsigned status);

#endif
