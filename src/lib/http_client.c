/*
 * http_client.c — see http_client.h for the pinning scheme.
 *
 * One curl easy handle per client, reset (not recreated) between requests so
 * the TLS connection is reused. Replies are bounded (HC_MAX_REPLY); a larger
 * reply is an error, not an allocation.
 */
#include "http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

#define HC_MAX_REPLY (16u << 20)
#define HC_PIN_SIZE 128

struct http_client {
	CURL *curl;
	char *base_url;
	char *token;
	char thumbprint[TLS_THUMBPRINT_SIZE];
	char pin[HC_PIN_SIZE]; /* "" until probed */
	long timeout_ms;
	long connect_timeout_ms;
};

struct hc_buf {
	char *p;
	size_t n;
	bool overflow;
};

struct hc_sink {
	int fd;
	gnutls_hash_hd_t md;
	uint64_t n;
	bool failed;
};

static pthread_once_t hc_once = PTHREAD_ONCE_INIT;

static void hc_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void hc_set_tls(CURL *h, long connect_ms, long total_ms)
{
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
}

/* The leaf certificate's PEM, by a handshake-only connection. */
static int hc_fetch_leaf_pem(const char *url, long timeout_ms, char **pem,
			     struct seam_err *e)
{
	struct curl_certinfo *ci = NULL;
	struct curl_slist *s;
	CURLcode cc;
	CURL *h;
	int rc = 0;

	*pem = NULL;
	pthread_once(&hc_once, hc_global_init);
	h = curl_easy_init();
	if (!h)
		return err_set(e, ENOMEM, "curl init");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
	hc_set_tls(h, timeout_ms, timeout_ms);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = err_set(e, EHOSTUNREACH, "TLS handshake with %s: %s", url,
			     curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
	    ci->num_of_certs < 1) {
		rc = err_set(e, EPROTO, "%s presented no certificate", url);
		goto out;
	}
	for (s = ci->certinfo[0]; s; s = s->next)
		if (!strncmp(s->data, "Cert:", 5))
			*pem = strdup(s->data + 5);
	if (!*pem)
		rc = err_set(e, EPROTO, "no certificate PEM from %s", url);
out:
	curl_easy_cleanup(h);
	return rc;
}

int http_client_peer_thumbprint(const char *base_url, long timeout_ms,
				char out[TLS_THUMBPRINT_SIZE],
				struct seam_err *e)
{
	char *pem;
	int rc;

	rc = hc_fetch_leaf_pem(base_url, timeout_ms ? timeout_ms : 5000, &pem,
			       e);
	if (rc < 0)
		return rc;
	rc = tls_thumbprint_pem(pem, strlen(pem), out, e);
	free(pem);
	return rc;
}

/* Step 1 of the pinning: thumbprint check, then derive the key pin. */
static int hc_probe(struct http_client *c, struct seam_err *e)
{
	char tp[TLS_THUMBPRINT_SIZE];
	char *pem;
	int rc;

	c->pin[0] = '\0';
	rc = hc_fetch_leaf_pem(c->base_url, c->connect_timeout_ms, &pem, e);
	if (rc < 0)
		return rc;
	rc = tls_thumbprint_pem(pem, strlen(pem), tp, e);
	if (rc == 0 && strcmp(tp, c->thumbprint) != 0)
		rc = err_set(e, EACCES,
			     "certificate of %s has thumbprint %s, not the "
			     "pinned %s",
			     c->base_url, tp, c->thumbprint);
	if (rc == 0)
		rc = tls_pubkey_pin_pem(pem, strlen(pem), c->pin,
					sizeof(c->pin), e);
	free(pem);
	return rc;
}

int http_client_new(const struct http_client_opts *o, struct http_client **out,
		    struct seam_err *e)
{
	struct http_client *c;
	int rc;

	*out = NULL;
	pthread_once(&hc_once, hc_global_init);
	if (!o->base_url || strncmp(o->base_url, "https://", 8) != 0)
		return err_set(e, EINVAL, "base URL '%s' is not https://",
			       o->base_url ? o->base_url : "");
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(e, ENOMEM, "no memory for HTTP client");
	rc = tls_thumbprint_parse(o->thumbprint ? o->thumbprint : "",
				  c->thumbprint, e);
	if (rc < 0) {
		free(c);
		return rc;
	}
	c->base_url = strdup(o->base_url);
	c->token = o->token ? strdup(o->token) : NULL;
	c->curl = curl_easy_init();
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
	c->connect_timeout_ms =
	    o->connect_timeout_ms ? o->connect_timeout_ms : 5000;
	if (!c->base_url || !c->curl || (o->token && !c->token)) {
		http_client_free(c);
		return err_set(e, ENOMEM, "no memory for HTTP client");
	}
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base_url);
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c);
}

static size_t hc_on_body(char *data, size_t size, size_t nmemb, void *cls)
{
	struct hc_buf *b = cls;
	size_t len = size * nmemb;
	char *np;

	if (b->n + len > HC_MAX_REPLY) {
		b->overflow = true;
		return 0;
	}
	np = realloc(b->p, b->n + len + 1);
	if (!np)
		return 0;
	memcpy(np + b->n, data, len);
	b->p = np;
	b->n += len;
	np[b->n] = '\0';
	return len;
}

static struct curl_slist *hc_headers(struct http_client *c, bool json)
{
	struct curl_slist *l = NULL;
	char auth[1024];

	if (json) {
		l = curl_slist_append(l, "Content-Type: application/json");
		l = curl_slist_append(l, "Accept: application/json");
	}
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 c->token);
		l = curl_slist_append(l, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	l = curl_slist_append(l, "Expect:");
	return l;
}

/* Common options of a pinned request; url must outlive the perform. */
static void hc_prepare(struct http_client *c, const char *url,
		       const char *method, long timeout_ms,
		       struct curl_slist *hdrs)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	hc_set_tls(h, c->connect_timeout_ms, timeout_ms);
	curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->pin);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
}

/* Ensure a pin, perform, and on a pin mismatch probe once and retry. */
static CURLcode hc_perform(struct http_client *c, struct seam_err *e, int *rc)
{
	CURLcode cc;

	*rc = 0;
	if (!c->pin[0] && (*rc = hc_probe(c, e)) < 0)
		return CURLE_SSL_PINNEDPUBKEYNOTMATCH;
	curl_easy_setopt(c->curl, CURLOPT_PINNEDPUBLICKEY, c->pin);
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		return cc;
	if ((*rc = hc_probe(c, e)) < 0)
		return cc;
	curl_easy_setopt(c->curl, CURLOPT_PINNEDPUBLICKEY, c->pin);
	return curl_easy_perform(c->curl);
}

int http_client_request_timeout(struct http_client *c, const char *method,
				const char *path, const json_t *body,
				long timeout_ms, long *status, json_t **reply,
				struct seam_err *e)
{
	struct hc_buf buf = {0};
	struct curl_slist *hdrs;
	char url[2048];
	char *payload = NULL;
	CURLcode cc;
	json_error_t je;
	int rc;

	*status = 0;
	if (reply)
		*reply = NULL;
	snprintf(url, sizeof(url), "%s%s", c->base_url, path);
	if (body && !(payload = json_dumps(body, JSON_COMPACT)))
		return err_set(e, ENOMEM, "cannot serialise request body");
	hdrs = hc_headers(c, true);
	hc_prepare(c, url, method, timeout_ms, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, hc_on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &buf);
	if (payload) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(payload));
	}
	cc = hc_perform(c, e, &rc);
	if (rc == 0 && cc != CURLE_OK)
		rc = err_set(e, buf.overflow ? EFBIG : EHOSTUNREACH,
			     "%s %s: %s", method, url,
			     buf.overflow ? "reply too large"
					  : curl_easy_strerror(cc));
	if (rc == 0) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
		if (reply && buf.n)
			*reply = json_loadb(buf.p, buf.n, 0, &je);
	}
	curl_slist_free_all(hdrs);
	free(payload);
	free(buf.p);
	return rc;
}

int http_client_request(struct http_client *c, const char *method,
			const char *path, const json_t *body, long *status,
			json_t **reply, struct seam_err *e)
{
	return http_client_request_timeout(c, method, path, body, c->timeout_ms,
					   status, reply, e);
}

static size_t hc_on_file(char *data, size_t size, size_t nmemb, void *cls)
{
	struct hc_sink *s = cls;
	size_t len = size * nmemb, off = 0;

	while (off < len) {
		ssize_t n = write(s->fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->failed = true;
			return 0;
		}
		off += (size_t)n;
	}
	gnutls_hash(s->md, data, len);
	s->n += len;
	return len;
}

static int hc_check_download(struct hc_sink *s, const char *url,
			     const char *sha256_hex, int64_t size,
			     struct seam_err *e)
{
	unsigned char md[32];
	char hex[TLS_THUMBPRINT_SIZE];
	int i;

	gnutls_hash_output(s->md, md);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (size >= 0 && s->n != (uint64_t)size)
		return err_set(e, EBADMSG, "%s: %llu bytes, expected %lld", url,
			       (unsigned long long)s->n, (long long)size);
	if (sha256_hex && strcasecmp(hex, sha256_hex) != 0)
		return err_set(e, EBADMSG, "%s: SHA-256 %s, expected %s", url,
			       hex, sha256_hex);
	return 0;
}

int http_client_download(struct http_client *c, const char *path,
			 const char *dest, const char *sha256_hex, int64_t size,
			 struct seam_err *e)
{
	struct hc_sink s = {.fd = -1};
	struct curl_slist *hdrs;
	char url[2048], tmp[PATH_MAX];
	long status = 0;
	CURLcode cc;
	int rc;

	snprintf(url, sizeof(url), "%s%s", c->base_url, path);
	snprintf(tmp, sizeof(tmp), "%s.part.%d", dest, (int)getpid());
	s.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s.fd < 0)
		return err_sys(e, "create %s", tmp);
	if (gnutls_hash_init(&s.md, GNUTLS_DIG_SHA256) < 0) {
		close(s.fd);
		unlink(tmp);
		return err_set(e, ENOMEM, "SHA-256 init");
	}
	hdrs = hc_headers(c, false);
	hc_prepare(c, url, "GET", 0, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, hc_on_file);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME,
			 c->timeout_ms / 1000 + 1);
	cc = hc_perform(c, e, &rc);
	if (rc == 0 && cc != CURLE_OK)
		rc = err_set(e, s.failed ? EIO : EHOSTUNREACH, "GET %s: %s",
			     url, curl_easy_strerror(cc));
	if (rc == 0) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status != 200)
			rc =
			    err_set(e, ENOENT, "GET %s: HTTP %ld", url, status);
	}
	if (rc == 0)
		rc = hc_check_download(&s, url, sha256_hex, size, e);
	gnutls_hash_deinit(s.md, NULL);
	if (rc == 0 && fsync(s.fd) < 0)
		rc = err_sys(e, "fsync %s", tmp);
	close(s.fd);
	if (rc == 0 && rename(tmp, dest) < 0)
		rc = err_sys(e, "rename %s to %s", tmp, dest);
	if (rc < 0)
		unlink(tmp);
	else
		fs_fsync_parent(dest);
	curl_slist_free_all(hdrs);
	return rc;
}
