/*
 * test_httpd_route.c — routing, path parameters and strict JSON
 * (src/lib/httpd.c, src/lib/jsonio.c): what decides 404 vs 405, which
 * parameters a handler sees, and the words of every 400.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "httpd.h"
#include "jsonio.h"

static void h_dummy(struct httpd_req *req)
{
}

static const struct httpd_route routes[] = {
    {.method = "GET", .pattern = "/api/v1/vms", .handler = h_dummy},
    {.method = "POST", .pattern = "/api/v1/vms", .handler = h_dummy},
    {.method = "GET", .pattern = "/api/v1/vms/{name}", .handler = h_dummy},
    {.method = "DELETE", .pattern = "/api/v1/vms/{name}", .handler = h_dummy},
    {.method = "POST",
     .pattern = "/api/v1/vms/{name}/power-on",
     .handler = h_dummy},
    {.method = "GET", .pattern = "/api/v1/a/{x}/b/{y}", .handler = h_dummy},
};

static void test_pattern_match(void **state)
{
	struct httpd_params p;

	assert_int_equal(httpd_pattern_match("/api/v1/vms", "/api/v1/vms", &p),
			 1);
	assert_int_equal(p.n, 0);
	assert_int_equal(
	    httpd_pattern_match("/api/v1/vms/{name}", "/api/v1/vms/vm-1", &p),
	    1);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.name[0], "name");
	assert_string_equal(p.value[0], "vm-1");
	assert_int_equal(
	    httpd_pattern_match("/api/v1/a/{x}/b/{y}", "/api/v1/a/1/b/2", &p),
	    1);
	assert_string_equal(p.value[0], "1");
	assert_string_equal(p.value[1], "2");
	/* Not matching: shorter, longer, trailing slash, empty segment. */
	assert_int_equal(
	    httpd_pattern_match("/api/v1/vms/{name}", "/api/v1/vms", &p), 0);
	assert_int_equal(
	    httpd_pattern_match("/api/v1/vms", "/api/v1/vms/x", &p), 0);
	assert_int_equal(httpd_pattern_match("/api/v1/vms", "/api/v1/vms/", &p),
			 0);
	assert_int_equal(
	    httpd_pattern_match("/api/v1/vms/{name}", "/api/v1/vms//", &p), 0);
	assert_int_equal(httpd_pattern_match("/api/v1/vms", "/api//v1/vms", &p),
			 0);
	assert_int_equal(httpd_pattern_match("/api/v1/vms", "/api/v1/vmsx", &p),
			 0);
	assert_int_equal(httpd_pattern_match("/api/v1/vms", "api/v1/vms", &p),
			 0);
}

static void test_param_too_long(void **state)
{
	struct httpd_params p;
	char path[600];

	strcpy(path, "/api/v1/vms/");
	memset(path + 12, 'a', 400);
	path[412] = '\0';
	assert_int_equal(httpd_pattern_match("/api/v1/vms/{name}", path, &p),
			 0);
}

static void test_route_find(void **state)
{
	const size_t n = sizeof(routes) / sizeof(routes[0]);
	struct httpd_params p;
	char allow[64];
	unsigned status;
	const struct httpd_route *r;

	r = httpd_route_find(routes, n, "DELETE", "/api/v1/vms/x", &p, &status,
			     allow, sizeof(allow));
	assert_ptr_equal(r, &routes[3]);
	assert_string_equal(p.value[0], "x");
	r = httpd_route_find(routes, n, "PUT", "/api/v1/vms", &p, &status,
			     allow, sizeof(allow));
	assert_null(r);
	assert_int_equal(status, 405);
	assert_string_equal(allow, "GET, POST");
	r = httpd_route_find(routes, n, "GET", "/api/v1/nothing", &p, &status,
			     allow, sizeof(allow));
	assert_null(r);
	assert_int_equal(status, 404);
}

static void test_json_parse_errors(void **state)
{
	struct seam_err e = {0};
	json_t *j = NULL;

	assert_int_equal(jsonio_parse_object("{\"a\":", 5, &j, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "malformed JSON at line 1"));
	assert_int_equal(jsonio_parse_object("[1]", 3, &j, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "must be an object"));
	assert_int_equal(jsonio_parse_object("", 0, &j, &e), -EINVAL);
	assert_int_equal(jsonio_parse_object("{\"a\":1,\"a\":2}", 13, &j, &e),
			 -EINVAL);
	assert_non_null(strstr(e.msg, "duplicate"));
	assert_int_equal(jsonio_parse_object("{\"a\":1}", 7, &j, &e), 0);
	json_decref(j);
}

static void test_json_fields(void **state)
{
	static const struct jsonio_field f[] = {
	    {"name", JSONIO_STRING, true},
	    {"vcpus", JSONIO_INTEGER, false},
	    {"mem", JSONIO_STRING_OR_INTEGER, false},
	    {NULL, 0, false},
	};
	struct seam_err e = {0};
	json_t *j;

	j = json_pack("{s:s,s:i}", "name", "a", "vcpu", 1);
	assert_int_equal(jsonio_check_fields(j, f, &e), -EINVAL);
	assert_string_equal(e.msg, "unknown field 'vcpu'");
	json_decref(j);
	j = json_pack("{s:i}", "vcpus", 1);
	assert_int_equal(jsonio_check_fields(j, f, &e), -EINVAL);
	assert_string_equal(e.msg, "missing field 'name'");
	json_decref(j);
	j = json_pack("{s:s,s:s}", "name", "a", "vcpus", "2");
	assert_int_equal(jsonio_check_fields(j, f, &e), -EINVAL);
	assert_string_equal(e.msg, "field 'vcpus' must be an integer");
	json_decref(j);
	j = json_pack("{s:s,s:s}", "name", "a", "mem", "2G");
	assert_int_equal(jsonio_check_fields(j, f, &e), 0);
	json_decref(j);
	/* NULL table: only "{}" passes. */
	j = json_pack("{s:i}", "x", 1);
	assert_int_equal(jsonio_check_fields(j, NULL, &e), -EINVAL);
	json_decref(j);
	j = json_object();
	assert_int_equal(jsonio_check_fields(j, NULL, &e), 0);
	json_decref(j);
}

static void test_status_mapping(void **state)
{
	assert_int_equal(httpd_status_of_errno(EINVAL), 400);
	assert_int_equal(httpd_status_of_errno(ENOENT), 404);
	assert_int_equal(httpd_status_of_errno(EEXIST), 409);
	assert_int_equal(httpd_status_of_errno(EFBIG), 413);
	assert_string_equal(httpd_code_of_status(405), "method_not_allowed");
	assert_true(httpd_secret_equal("abc", "abc"));
	assert_false(httpd_secret_equal("abc", "abd"));
	assert_false(httpd_secret_equal("abc", "abcd"));
	assert_false(httpd_secret_equal("", "a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pattern_match),
	    cmocka_unit_test(test_param_too_long),
	    cmocka_unit_test(test_route_find),
	    cmocka_unit_test(test_json_parse_errors),
	    cmocka_unit_test(test_json_fields),
	    cmocka_unit_test(test_status_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
