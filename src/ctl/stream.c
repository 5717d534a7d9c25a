/*
 * stream.c — see stream.h. One curl easy handle per transfer; the SSE parser
 * is line based (field "id", "event", "data"; a blank line ends an event;
 * a line starting ':' is a comment, the server's keepalive).
 */
#include "stream.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls.h"

#define STREAM_PIN_SIZE 128
#define STREAM_MAX_REPLY (4u << 20)

/* The leaf PEM of the server; then thumbprint check and key pin. */
static int stream_pin(struct ctl *c, char pin[STREAM_PIN_SIZE])
{
	struct curl_certinfo *ci = NULL;
	char want[TLS_THUMBPRINT_SIZE], got[TLS_THUMBPRINT_SIZE];
	struct seam_err e = {0};
	struct curl_slist *s;
	char *pem = NULL;
	CURLcode cc;
	CURL *h;
	int rc = CTL_OK;

	rc = ctl_client(c); /* loads the config, checks the URL */
	if (rc)
		return rc;
	if (tls_thumbprint_parse(c->cfg.thumbprint, want, &e) < 0)
		return ctl_fail(CTL_CONN, "%s", e.msg);
	h = curl_easy_init();
	if (!h)
		return ctl_fail(CTL_FAILED, "curl init failed");
	curl_easy_setopt(h, CURLOPT_URL, c->cfg.server);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 ctl_connect_timeout_ms());
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = ctl_fail(CTL_CONN, "TLS handshake with %s: %s",
			      c->cfg.server, curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci &&
	    ci->num_of_certs > 0)
		for (s = ci->certinfo[0]; s; s = s->next)
			if (!strncmp(s->data, "Cert:", 5))
				pem = strdup(s->data + 5);
	if (!pem) {
		rc = ctl_fail(CTL_CONN, "%s presented no certificate",
			      c->cfg.server);
		goto out;
	}
	if (tls_thumbprint_pem(pem, strlen(pem), got, &e) < 0 ||
	    tls_pubkey_pin_pem(pem, strlen(pem), pin, STREAM_PIN_SIZE, &e) <
		0) {
		rc = ctl_fail(CTL_CONN, "%s", e.msg);
		goto out;
	}
	if (strcmp(got, want))
		rc = ctl_fail(CTL_CONN,
			      "certificate of %s has thumbprint %s, not the "
			      "pinned %s",
			      c->cfg.server, got, want);
out:
	free(pem);
	curl_easy_cleanup(h);
	return rc;
}

static CURL *stream_handle(struct ctl *c, const char *path, const char *pin,
			   struct curl_slist **hdrs, char *url, size_t urln)
{
	char auth[700];
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	snprintf(url, urln, "%s%s", c->cfg.server, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->cfg.token);
	*hdrs = curl_slist_append(*hdrs, auth);
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	explicit_bzero(auth, sizeof(auth));
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, pin);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 ctl_connect_timeout_ms());
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	return h;
}

/* ---- upload ---- */

struct upload {
	FILE *f;
	ctl_upload_progress_fn fn;
	void *ctx;
	uint64_t size;
	char *reply;
	size_t n;
};

static size_t upload_read(char *buf, size_t size, size_t nmemb, void *cls)
{
	struct upload *u = cls;

	return fread(buf, 1, size * nmemb, u->f);
}

static size_t upload_write(char *data, size_t size, size_t nmemb, void *cls)
{
	struct upload *u = cls;
	size_t len = size * nmemb;
	char *np;

	if (u->n + len > STREAM_MAX_REPLY)
		return 0;
	np = realloc(u->reply, u->n + len + 1);
	if (!np)
		return 0;
	memcpy(np + u->n, data, len);
	np[u->n + len] = '\0';
	u->reply = np;
	u->n += len;
	return len;
}

static int upload_progress(void *cls, curl_off_t dltotal, curl_off_t dlnow,
			   curl_off_t ultotal, curl_off_t ulnow)
{
	struct upload *u = cls;

	if (u->fn)
		u->fn(u->ctx, (uint64_t)ulnow, u->size);
	return 0;
}

int ctl_upload(struct ctl *c, const char *path, const char *file,
	       const char *content_type, ctl_upload_progress_fn fn, void *ctx,
	       json_t **reply)
{
	struct upload u = {.fn = fn, .ctx = ctx};
	struct curl_slist *hdrs = NULL;
	char pin[STREAM_PIN_SIZE], url[2048], ct[128];
	const char *msg;
	json_error_t je;
	struct stat st;
	long status = 0;
	json_t *r = NULL;
	CURLcode cc;
	CURL *h;
	int rc;

	*reply = NULL;
	u.f = fopen(file, "rb");
	if (!u.f)
		return ctl_fail(CTL_FAILED, "cannot open %s: %s", file,
				strerror(errno));
	if (fstat(fileno(u.f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(u.f);
		return ctl_fail(CTL_FAILED, "%s is not a regular file", file);
	}
	u.size = (uint64_t)st.st_size;
	rc = stream_pin(c, pin);
	if (rc) {
		fclose(u.f);
		return rc;
	}
	snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
	hdrs = curl_slist_append(hdrs, ct);
	h = stream_handle(c, path, pin, &hdrs, url, sizeof(url));
	if (!h) {
		fclose(u.f);
		curl_slist_free_all(hdrs);
		return ctl_fail(CTL_FAILED, "curl init failed");
	}
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)st.st_size);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, upload_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &u);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, upload_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &u);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = ctl_fail(CTL_CONN, "POST %s: %s", url,
			      curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (u.n)
		r = json_loadb(u.reply, u.n, 0, &je);
	msg = ctl_jstr(json_object_get(r, "error"), "message");
	if (status >= 200 && status < 300) {
		*reply = r;
		r = NULL;
	} else if (status == 401 || status == 403) {
		rc = ctl_fail(CTL_AUTH, "%s (%ld)", msg ? msg : "refused",
			      status);
	} else if (status == 404 && msg && !strncmp(msg, "no endpoint", 11)) {
		rc =
		    ctl_fail(CTL_FAILED, "the server does not support %s (404)",
			     c->what ? c->what : "uploads");
	} else {
		rc = ctl_fail(CTL_FAILED, "%s (%ld)", msg ? msg : "refused",
			      status);
	}
out:
	json_decref(r);
	free(u.reply);
	fclose(u.f);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return rc;
}

/* ---- server-sent events ---- */

struct sse {
	ctl_sse_fn fn;
	void *ctx;
	char line[1 << 16];
	size_t len;
	bool overflow;
	char id[32], type[96];
	char *data;
	size_t dlen;
	int stop;
	long status;
	CURL *h;
	char *err;
	size_t errn;
};

static void sse_dispatch(struct sse *s)
{
	json_error_t je;
	json_t *d;

	if (!s->data) {
		s->type[0] = '\0';
		return;
	}
	d = json_loads(s->data, 0, &je);
	if (d && !s->stop)
		s->stop = s->fn(s->ctx, s->id, s->type, d);
	json_decref(d);
	free(s->data);
	s->data = NULL;
	s->dlen = 0;
	s->type[0] = '\0';
}

static void sse_field(struct sse *s, const char *line)
{
	const char *v = strchr(line, ':');
	size_t klen = v ? (size_t)(v - line) : strlen(line);

	if (!line[0]) {
		sse_dispatch(s);
		return;
	}
	if (line[0] == ':')
		return;
	v = v ? v + 1 : "";
	if (*v == ' ')
		v++;
	if (klen == 2 && !strncmp(line, "id", 2)) {
		snprintf(s->id, sizeof(s->id), "%s", v);
	} else if (klen == 5 && !strncmp(line, "event", 5)) {
		snprintf(s->type, sizeof(s->type), "%s", v);
	} else if (klen == 4 && !strncmp(line, "data", 4)) {
		size_t n = strlen(v);
		char *nd = realloc(s->data, s->dlen + n + 2);

		if (!nd)
			return;
		if (s->dlen)
			nd[s->dlen++] = '\n';
		memcpy(nd + s->dlen, v, n + 1);
		s->data = nd;
		s->dlen += n;
	}
}

static size_t sse_write(char *data, size_t size, size_t nmemb, void *cls)
{
	struct sse *s = cls;
	size_t len = size * nmemb, i;

	if (!s->status)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status != 200) {
		char *ne = realloc(s->err, s->errn + len + 1);

		if (ne && s->errn + len < 65536) {
			memcpy(ne + s->errn, data, len);
			s->errn += len;
			ne[s->errn] = '\0';
			s->err = ne;
		} else if (ne) {
			s->err = ne;
		}
		return len;
	}
	for (i = 0; i < len; i++) {
		char ch = data[i];

		if (ch == '\r')
			continue;
		if (ch == '\n') {
			s->line[s->len] = '\0';
			if (!s->overflow)
				sse_field(s, s->line);
			s->len = 0;
			s->overflow = false;
			if (s->stop)
				return 0;
			continue;
		}
		if (s->len + 1 < sizeof(s->line))
			s->line[s->len++] = ch;
		else
			s->overflow = true;
	}
	return len;
}

int ctl_sse(struct ctl *c, const char *path, ctl_sse_fn fn, void *ctx)
{
	struct sse *s = calloc(1, sizeof(*s));
	struct curl_slist *hdrs = NULL;
	char pin[STREAM_PIN_SIZE], url[2048];
	const char *msg;
	json_error_t je;
	json_t *r;
	CURLcode cc;
	int rc;

	if (!s)
		return ctl_fail(CTL_FAILED, "no memory");
	s->fn = fn;
	s->ctx = ctx;
	rc = stream_pin(c, pin);
	if (rc) {
		free(s);
		return rc;
	}
	hdrs = curl_slist_append(hdrs, "Accept: text/event-stream");
	s->h = stream_handle(c, path, pin, &hdrs, url, sizeof(url));
	if (!s->h) {
		curl_slist_free_all(hdrs);
		free(s);
		return ctl_fail(CTL_FAILED, "curl init failed");
	}
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sse_write);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	cc = curl_easy_perform(s->h);
	if (!s->status)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status && s->status != 200) {
		r = s->err ? json_loads(s->err, 0, &je) : NULL;
		msg = ctl_jstr(json_object_get(r, "error"), "message");
		rc = ctl_fail(s->status == 401 || s->status == 403 ? CTL_AUTH
								   : CTL_FAILED,
			      "%s (%ld)", msg ? msg : "refused", s->status);
		json_decref(r);
	} else if (cc != CURLE_OK && !s->stop) {
		rc = ctl_fail(CTL_CONN, "event stream %s: %s", url,
			      curl_easy_strerror(cc));
	}
	curl_easy_cleanup(s->h);
	curl_slist_free_all(hdrs);
	free(s->data);
	free(s->err);
	free(s);
	return rc;
}
