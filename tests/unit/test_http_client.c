/*
 * test_http_client.c — the HTTPS pair end to end, in one process: an httpd
 * (src/lib/httpd.c) on 127.0.0.1:0 with a fresh self-signed identity, and the
 * pinned client (src/lib/http_client.c) talking to it. Pinning by the right
 * thumbprint works; a wrong thumbprint is refused before any request is
 * sent (the handler counts what reaches it); bearer tokens, JSON bodies,
 * strict fields, 404/405/413 and a download checked by SHA-256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <gnutls/crypto.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "http_client.h"
#include "httpd.h"
#include "tls.h"

#define TOKEN "s3cret-token"

static atomic_int hits;
static const char blob[] = "payload bytes for the download test\n";

struct fx {
	char dir[64];
	struct tls_identity *id;
	struct httpd *h;
	char url[64];
};

static void h_echo(struct httpd_req *req)
{
	json_t *in = httpd_req_json(req);

	atomic_fetch_add(&hits, 1);
	httpd_reply_json(req, 200,
			 json_pack("{s:O,s:s}", "got", in, "id",
				   httpd_req_param(req, "id")));
}

static void h_blob(struct httpd_req *req)
{
	atomic_fetch_add(&hits, 1);
	httpd_reply_json(req, 200, json_string(blob)); /* "..." + quotes */
}

static const struct jsonio_field echo_fields[] = {
    {"n", JSONIO_INTEGER, true},
    {NULL, 0, false},
};

static void h_raw(struct httpd_req *req)
{
	size_t len;
	const char *b = httpd_req_body(req, &len);

	httpd_reply_json(req, 200,
			 json_pack("{s:s%,s:s}", "raw", b, len, "user",
				   (char *)httpd_req_user(req)));
}

static void h_upload(struct httpd_req *req)
{
	size_t len;
	const char *path = httpd_req_body_file(req, &len);
	char hex[TLS_THUMBPRINT_SIZE], *data;
	size_t n;

	assert_non_null(path);
	assert_int_equal(fs_read_file(path, 1 << 20, &data, &n, NULL), 0);
	assert_int_equal(n, len);
	tls_thumbprint_der(data, n, hex); /* = sha256 */
	free(data);
	httpd_reply_json(req, 200,
			 json_pack("{s:s,s:I,s:s}", "sha256", hex, "size",
				   (json_int_t)len, "path", path));
}

static const struct httpd_route routes[] = {
    {.method = "POST",
     .pattern = "/echo/{id}",
     .handler = h_echo,
     .fields = echo_fields},
    {.method = "GET", .pattern = "/blob", .handler = h_blob},
    {.method = "POST",
     .pattern = "/raw",
     .handler = h_raw,
     .flags = HTTPD_ROUTE_BODY_RAW,
     .max_body = 64},
    {.method = "PUT",
     .pattern = "/upload",
     .handler = h_upload,
     .flags = HTTPD_ROUTE_BODY_FILE,
     .max_body = 1 << 20},
};

static int auth(void *ctx, struct httpd_req *req)
{
	const char *t = httpd_req_bearer(req);

	if (!t || !httpd_secret_equal(t, TOKEN))
		return -1;
	httpd_req_set_user(req, strdup("alice"), free);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct httpd_config cfg = {0};
	char sub[PATH_MAX];
	uint16_t port;
	int fd;

	strcpy(f->dir, "/tmp/seam-test-http-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(sub, sizeof(sub), "%s/tls", f->dir);
	assert_int_equal(tls_identity_load_or_create(sub, "t", &f->id, NULL),
			 0);
	assert_int_equal(httpd_listen("127.0.0.1:0", &fd, &port, NULL), 0);
	assert_true(port > 0);
	cfg = (struct httpd_config){
	    .routes = routes,
	    .nroutes = sizeof(routes) / sizeof(routes[0]),
	    .upload_dir = f->dir,
	    .cert_pem = f->id->cert_pem,
	    .key_pem = f->id->key_pem,
	    .listen_fd = fd,
	    .max_body = 1024,
	    .auth = auth,
	};
	assert_int_equal(httpd_start(&cfg, &f->h, NULL), 0);
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%u", port);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	httpd_stop(f->h);
	tls_identity_free(f->id);
	fs_remove_tree(f->dir);
	free(f);
	return 0;
}

static struct http_client *client(struct fx *f, const char *tp,
				  const char *token)
{
	struct http_client_opts o = {
	    .base_url = f->url,
	    .thumbprint = tp,
	    .token = token,
	    .timeout_ms = 10000,
	};
	struct http_client *c = NULL;

	assert_int_equal(http_client_new(&o, &c, NULL), 0);
	return c;
}

static void test_pinned_json(void **state)
{
	struct fx *f = *state;
	struct seam_err e = {0};
	char tp[TLS_THUMBPRINT_SIZE], fmt[TLS_THUMBPRINT_FMT_SIZE];
	struct http_client *c;
	json_t *body, *reply;
	long status;

	assert_int_equal(http_client_peer_thumbprint(f->url, 5000, tp, &e), 0);
	assert_string_equal(tp, f->id->thumbprint);
	/* The display form pins just as well. */
	tls_thumbprint_format(f->id->thumbprint, fmt, sizeof(fmt));
	c = client(f, fmt, TOKEN);
	body = json_pack("{s:i}", "n", 7);
	assert_int_equal(http_client_request(c, "POST", "/echo/abc", body,
					     &status, &reply, &e),
			 0);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(reply, "id")),
			    "abc");
	json_decref(reply);
	json_decref(body);

	body = json_pack("{s:i,s:i}", "n", 7, "m", 1);
	assert_int_equal(http_client_request(c, "POST", "/echo/abc", body,
					     &status, &reply, &e),
			 0);
	assert_int_equal(status, 400);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(reply, "error"), "message")),
			    "unknown field 'm'");
	json_decref(reply);
	json_decref(body);

	assert_int_equal(http_client_request(c, "GET", "/echo/abc", NULL,
					     &status, &reply, &e),
			 0);
	assert_int_equal(status, 405);
	json_decref(reply);
	assert_int_equal(http_client_request(c, "GET", "/nothing", NULL,
					     &status, &reply, &e),
			 0);
	assert_int_equal(status, 404);
	json_decref(reply);
	http_client_free(c);
}

static void test_wrong_token_and_size(void **state)
{
	struct fx *f = *state;
	struct seam_err e = {0};
	struct http_client *c;
	json_t *body, *reply;
	long status;
	char big[2048];

	c = client(f, f->id->thumbprint, "wrong");
	assert_int_equal(
	    http_client_request(c, "GET", "/blob", NULL, &status, &reply, &e),
	    0);
	assert_int_equal(status, 401);
	json_decref(reply);
	http_client_free(c);

	c = client(f, f->id->thumbprint, TOKEN);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	body = json_pack("{s:i,s:s}", "n", 1, "pad", big);
	assert_int_equal(http_client_request(c, "POST", "/echo/a", body,
					     &status, &reply, &e),
			 0);
	assert_int_equal(status, 413);
	json_decref(reply);
	json_decref(body);
	http_client_free(c);
}

static void test_wrong_thumbprint(void **state)
{
	struct fx *f = *state;
	struct seam_err e = {0};
	struct http_client *c;
	json_t *reply = NULL;
	long status = 0;
	int before = atomic_load(&hits);

	c = client(f,
		   "00112233445566778899aabbccddeeff"
		   "00112233445566778899aabbccddeeff",
		   TOKEN);
	assert_int_equal(
	    http_client_request(c, "GET", "/blob", NULL, &status, &reply, &e),
	    -EACCES);
	assert_non_null(strstr(e.msg, "not the pinned"));
	assert_null(reply);
	assert_int_equal(atomic_load(&hits), before); /* nothing reached it */
	http_client_free(c);
}

static void test_download(void **state)
{
	struct fx *f = *state;
	struct seam_err e = {0};
	char dest[PATH_MAX], hex[TLS_THUMBPRINT_SIZE], *got;
	struct http_client *c = client(f, f->id->thumbprint, TOKEN);
	char expect[128];
	size_t len;

	/* The reply body is the JSON string: quotes and "\n" escaped. */
	snprintf(expect, sizeof(expect), "\"%.*s\\n\"", (int)strlen(blob) - 1,
		 blob);
	tls_thumbprint_der(expect, strlen(expect), hex);
	snprintf(dest, sizeof(dest), "%s/blob", f->dir);
	assert_int_equal(http_client_download(c, "/blob", dest, hex,
					      (int64_t)strlen(expect), &e),
			 0);
	assert_int_equal(fs_read_file(dest, 4096, &got, &len, &e), 0);
	assert_string_equal(got, expect);
	free(got);
	assert_int_equal(
	    http_client_download(c, "/blob", dest,
				 "00112233445566778899aabbccddeeff"
				 "00112233445566778899aabbccddeeff",
				 -1, &e),
	    -EBADMSG);
	assert_non_null(strstr(e.msg, "SHA-256"));
	assert_int_equal(http_client_download(c, "/blob", dest, hex, 3, &e),
			 -EBADMSG);
	assert_non_null(strstr(e.msg, "expected 3"));
	http_client_free(c);
}

/* Raw and file bodies, per-route bounds, the auth hook's user. */
static void test_body_modes(void **state)
{
	struct fx *f = *state;
	struct seam_err e = {0};
	struct http_client *c = client(f, f->id->thumbprint, TOKEN);
	json_t *body, *reply;
	const char *upload;
	long status;
	char pad[200];
	int i;

	/* A JSON client body is just bytes to a raw route. */
	body = json_pack("{s:i}", "x", 1);
	assert_int_equal(
	    http_client_request(c, "POST", "/raw", body, &status, &reply, &e),
	    0);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(reply, "raw")),
			    "{\"x\":1}");
	assert_string_equal(json_string_value(json_object_get(reply, "user")),
			    "alice");
	json_decref(reply);
	json_decref(body);
	/* Over the route's own bound (64), under the server's (1024). */
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	body = json_pack("{s:s}", "pad", pad);
	assert_int_equal(
	    http_client_request(c, "POST", "/raw", body, &status, &reply, &e),
	    0);
	assert_int_equal(status, 413);
	json_decref(reply);
	/* Streamed to a file in upload_dir, removed after the request. */
	assert_int_equal(
	    http_client_request(c, "PUT", "/upload", body, &status, &reply, &e),
	    0);
	assert_int_equal(status, 200);
	assert_int_equal(json_integer_value(json_object_get(reply, "size")),
			 strlen(pad) + 10);
	assert_memory_equal(json_string_value(json_object_get(reply, "path")),
			    f->dir, strlen(f->dir));
	/* Removed when the request ends, just after the reply was sent. */
	upload = json_string_value(json_object_get(reply, "path"));
	for (i = 0; i < 200 && fs_exists(upload); i++)
		usleep(10000);
	assert_false(fs_exists(upload));
	json_decref(reply);
	json_decref(body);
	http_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pinned_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_token_and_size, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_thumbprint, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_download, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_modes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
