/*
 * test_vmx_proto.c — control protocol parsing and line framing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

static int parse(const char *s, struct vmx_request *req, struct seam_err *e)
{
	return proto_parse(s, strlen(s), req, e);
}

static void test_parse_ok(void **state)
{
	struct vmx_request req;
	struct seam_err e = {0};

	(void)state;
	assert_int_equal(parse("{\"cmd\":\"status\"}", &req, &e), 0);
	assert_int_equal(req.cmd, VMX_CMD_STATUS);
	assert_int_equal(parse(" {\"cmd\":\"pause\", \"x\":1} ", &req, &e), 0);
	assert_int_equal(req.cmd, VMX_CMD_PAUSE);
	assert_int_equal(parse("{\"cmd\":\"fsr\",\"binary\":\"/b/seam-vmx\"}",
			       &req, &e), 0);
	assert_int_equal(req.cmd, VMX_CMD_FSR);
	assert_string_equal(req.path, "/b/seam-vmx");
	assert_int_equal(parse("{\"cmd\":\"fsr\",\"binary\":\"/b\","
			       "\"fail_stage\":\"restore\"}", &req, &e), 0);
	assert_string_equal(req.fail_stage, "restore");
	assert_int_equal(parse("{\"cmd\":\"snapshot\",\"path\":\"/s\"}", &req,
			       &e), 0);
	assert_string_equal(req.path, "/s");
	for (int c = 0; c < VMX_CMD_COUNT; c++)
		assert_int_equal(proto_cmd_from_name(proto_cmd_name(c)), c);
}

static void expect(const char *line, const char *want)
{
	struct vmx_request req;
	struct seam_err e = {0};

	assert_true(parse(line, &req, &e) < 0);
	if (!strstr(e.msg, want))
		fail_msg("'%s': message '%s' lacks '%s'", line, e.msg, want);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect("garbage", "not JSON");
	expect("", "not JSON");
	expect("{\"cmd\":", "not JSON");
	expect("[1,2]", "not a JSON object");
	expect("\"status\"", "not JSON"); /* jansson: no bare values */
	expect("{}", "no \"cmd\"");
	expect("{\"cmd\":5}", "no \"cmd\"");
	expect("{\"cmd\":\"reboot\"}", "unknown command \"reboot\"");
	expect("{\"cmd\":\"fsr\"}", "missing \"binary\"");
	expect("{\"cmd\":\"fsr\",\"binary\":7}", "must be a string");
	expect("{\"cmd\":\"fsr\",\"binary\":\"\"}", "empty");
	expect("{\"cmd\":\"status\",\"cmd\":\"stop\"}", "not JSON");
}

static void feed(struct proto_buf *b, const char *s)
{
	size_t room;
	char *p = proto_buf_space(b, &room);

	assert_true(strlen(s) <= room);
	memcpy(p, s, strlen(s));
	proto_buf_commit(b, strlen(s));
}

static void test_framing(void **state)
{
	static struct proto_buf b;
	char *line;
	size_t len;

	(void)state;
	memset(&b, 0, sizeof(b));
	feed(&b, "{\"cmd\":\"sta");
	assert_int_equal(proto_buf_next(&b, &line, &len), PROTO_NEED_MORE);
	feed(&b, "tus\"}\n{\"cmd\":\"pause\"}\nxy");
	assert_int_equal(proto_buf_next(&b, &line, &len), PROTO_LINE);
	assert_string_equal(line, "{\"cmd\":\"status\"}");
	assert_int_equal(len, 16);
	assert_int_equal(proto_buf_next(&b, &line, &len), PROTO_LINE);
	assert_string_equal(line, "{\"cmd\":\"pause\"}");
	assert_int_equal(proto_buf_next(&b, &line, &len), PROTO_NEED_MORE);
	feed(&b, "z\n");
	assert_int_equal(proto_buf_next(&b, &line, &len), PROTO_LINE);
	assert_string_equal(line, "xyz");
}

static void test_too_long(void **state)
{
	static struct proto_buf b;
	static char big[VMX_PROTO_LINE_MAX + 1];
	char *line;
	size_t len, room;

	(void)state;
	memset(&b, 0, sizeof(b));
	memset(big, 'a', VMX_PROTO_LINE_MAX - 1);
	big[VMX_PROTO_LINE_MAX - 1] = '\n'; /* exactly the limit: fine */
	big[VMX_PROTO_LINE_MAX] = '\0';
	feed(&b, big);
	assert_int_equal(proto_buf_next(&b, &line, &len), PROTO_LINE);
	assert_int_equal(len, VMX_PROTO_LINE_MAX - 1);
	big[VMX_PROTO_LINE_MAX - 1] = 'a';
	feed(&b, big);
	assert_int_equal(proto_buf_next(&b, &line, &len), PROTO_TOO_LONG);
	proto_buf_space(&b, &room);
	assert_int_equal(room, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
