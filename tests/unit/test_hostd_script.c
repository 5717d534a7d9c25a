/*
 * test_hostd_script.c — the scan/apply script contract as hostd runs it
 * (src/hostd/script.c): JSON lines parsed by type, unknown lines kept as
 * warnings, failure by error line, exit status, signal or timeout, only
 * the given environment, stdin from /dev/null, working directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "script.h"

static char dir[64];

static const char *script(const char *name, const char *body)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static char *env[] = {"PATH=/usr/bin:/bin", "SEAM_PHASE=scan", NULL};

static void test_lines(void **state)
{
	struct script_result r;
	struct seam_err e = {0};
	const char *p = script(
	    "ok",
	    "echo '{\"type\":\"message\",\"level\":\"info\",\"text\":"
	    "\"hi\"}'\n"
	    "echo '{\"type\":\"tag_vm\",\"vm\":\"vm1\",\"action\":\"fsr\","
	    "\"reason\":\"old\"}'\n"
	    "echo 'not json'\necho '{\"type\":\"colour\"}'\n"
	    "echo oops >&2\nprintf '{\"type\":\"message\",\"text\":\"x\"}'\n");

	(void)state;
	assert_int_equal(script_run(p, dir, env, 5000, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_array_size(r.messages), 2);
	assert_int_equal(json_array_size(r.tags), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(r.tags, 0), "vm")),
	    "vm1");
	assert_int_equal(json_array_size(r.warnings), 2);
	assert_string_equal(r.stderr_text, "oops\n");
	assert_false(script_failed(&r, "ok", &e));
	script_result_release(&r);
}

static void test_error_line_fails(void **state)
{
	struct script_result r;
	struct seam_err e = {0};
	const char *p = script(
	    "err",
	    "echo '{\"type\":\"error\",\"vm\":\"vm3\",\"text\":\"pod\"}'\n");

	(void)state;
	assert_int_equal(script_run(p, dir, env, 5000, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_true(script_failed(&r, "03_vmx-scan", &e));
	assert_non_null(strstr(e.msg, "03_vmx-scan failed: pod (VM vm3)"));
	script_result_release(&r);
}

static void test_exit_status_and_env(void **state)
{
	struct script_result r;
	struct seam_err e = {0};
	const char *p =
	    script("env", "[ \"$SEAM_PHASE\" = scan ] || exit 9\n"
			  "[ -z \"${HOME:-}\" ] || exit 8\n"
			  "[ \"$(pwd)\" = \"$1$(pwd)\" ] || exit 7\n"
			  "read x && exit 6\nexit 3\n");

	(void)state;
	assert_int_equal(script_run(p, dir, env, 5000, &r, &e), 0);
	assert_int_equal(r.status, 3);
	assert_true(script_failed(&r, "env", &e));
	assert_non_null(strstr(e.msg, "exited with status 3"));
	script_result_release(&r);
}

static void test_timeout_kills(void **state)
{
	struct script_result r;
	struct seam_err e = {0};
	const char *p = script("slow", "sleep 30 &\nsleep 30\n");

	(void)state;
	assert_int_equal(script_run(p, dir, env, 300, &r, &e), 0);
	assert_true(r.timed_out);
	assert_true(script_failed(&r, "slow", &e));
	assert_non_null(strstr(e.msg, "timed out"));
	script_result_release(&r);
}

static void test_missing_script(void **state)
{
	struct script_result r;
	struct seam_err e = {0};
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/nope", dir);
	assert_true(script_run(p, dir, env, 300, &r, &e) < 0);
	assert_non_null(strstr(e.msg, "nope"));
	script_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_error_line_fails),
	    cmocka_unit_test(test_exit_status_and_env),
	    cmocka_unit_test(test_timeout_kills),
	    cmocka_unit_test(test_missing_script),
	};
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/hostd-script-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
	return rc;
}
