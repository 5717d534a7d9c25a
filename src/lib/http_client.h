/*
 * http_client.h — JSON over HTTPS to a peer pinned by certificate thumbprint.
 *
 * Seam's daemons trust each other by the SHA-256 thumbprint of the peer's
 * self-signed certificate (DESIGN §6), not by a CA. libcurl built on GnuTLS
 * cannot hand us the peer certificate during the handshake, and checking it
 * after a request would be too late (the bearer token would already have been
 * sent). So a client pins in two steps:
 *
 *   1. probe: a connection that only does the TLS handshake (CONNECT_ONLY,
 *      CERTINFO) — no byte of HTTP is sent — fetches the leaf certificate;
 *      its thumbprint must equal the pinned one;
 *   2. from that certificate the client derives the public key pin
 *      ("sha256//..." of its SubjectPublicKeyInfo) and sets it as
 *      CURLOPT_PINNEDPUBLICKEY on every request, which curl checks inside
 *      the handshake, before any request byte leaves.
 *
 * A peer that changes its key therefore fails at step 2 and the client
 * probes again once; a different certificate fails at step 1. Chain
 * verification is off (CURLOPT_SSL_VERIFYPEER 0): the pin is the trust.
 *
 * A client object is used by one thread at a time.
 */
#ifndef SEAM_HTTP_CLIENT_H
#define SEAM_HTTP_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "tls.h"

struct http_client;

struct http_client_opts {
	const char *base_url; /* "https://127.0.0.1:8443" */
	const char
	    *thumbprint;   /* pinned, any form tls_thumbprint_parse takes */
	const char *token; /* bearer token, or NULL */
	long timeout_ms;   /* whole request; 0 = 30 s */
	long connect_timeout_ms; /* 0 = 5 s */
};

int http_client_new(const struct http_client_opts *o, struct http_client **out,
		    struct seam_err *e);
void http_client_free(struct http_client *c);

/*
 * method + path ("/api/v1/vms"); body may be NULL (borrowed). *status gets
 * the HTTP status; *reply the parsed JSON reply (owned; NULL when the reply
 * was empty or not JSON). A non-2xx status is not an error of this function.
 */
int http_client_request(struct http_client *c, const char *method,
			const char *path, const json_t *body, long *status,
			json_t **reply, struct seam_err *e);
/* Like request, with a per-call timeout (long polls). */
int http_client_request_timeout(struct http_client *c, const char *method,
				const char *path, const json_t *body,
				long timeout_ms, long *status, json_t **reply,
				struct seam_err *e);

/*
 * GET path into dest: written aside, SHA-256 and size checked (size < 0:
 * not checked), fsync'ed, renamed. Nothing is left behind on failure.
 */
int http_client_download(struct http_client *c, const char *path,
			 const char *dest, const char *sha256_hex, int64_t size,
			 struct seam_err *e);

/*
 * The thumbprint of whatever certificate base_url presents, for an operator
 * to confirm before pinning it. Sends no HTTP.
 */
int http_client_peer_thumbprint(const char *base_url, long timeout_ms,
				char out[TLS_THUMBPRINT_SIZE],
				struct seam_err *e);

#endif
