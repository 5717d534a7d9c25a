/*
 * test_ctl_args.c — seamctl's argument parsing: options from tables,
 * "--opt value" and "--opt=value", short flags, "--", errors naming the
 * option; settings words (key=value, typed, nested by dots).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "args.h"

static const struct ctl_opt global[] = {
    {"json", 0, NULL, "json"},
    {"config", 0, "FILE", "config"},
    {"help", 'h', NULL, "help"},
    {NULL, 0, NULL, NULL},
};
static const struct ctl_opt local[] = {
    {"cluster", 'c', "CLUSTER", "cluster"},
    {"component", 0, "N=V", "component"},
    {"force", 'f', NULL, "force"},
    {NULL, 0, NULL, NULL},
};

static int parse(int argc, char **argv, struct ctl_args *a, char *err)
{
	const struct ctl_opt *tabs[] = {global, local};

	return ctl_args_parse(tabs, 2, argc, argv, a, err, 256);
}

static void test_options_and_positionals(void **state)
{
	char *argv[] = {"c1",	"--json", "--cluster",
			"prod", "-f",	  "--config=/x/y.json",
			"k=v"};
	struct ctl_args a;
	char err[256];

	assert_int_equal(parse(7, argv, &a, err), 0);
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "c1");
	assert_string_equal(a.pos[1], "k=v");
	assert_true(ctl_arg_has(&a, "json"));
	assert_true(ctl_arg_has(&a, "force"));
	assert_false(ctl_arg_has(&a, "help"));
	assert_string_equal(ctl_arg(&a, "cluster"), "prod");
	assert_string_equal(ctl_arg(&a, "config"), "/x/y.json");
	assert_null(ctl_arg(&a, "component"));
}

static void test_repeated_and_double_dash(void **state)
{
	char *argv[] = {"--component", "a=1", "-c", "x",      "--component=b=2",
			"-c",	       "y",   "--", "--json", "-f"};
	struct ctl_args a;
	char err[256];

	assert_int_equal(parse(10, argv, &a, err), 0);
	assert_string_equal(ctl_arg_nth(&a, "component", 0), "a=1");
	assert_string_equal(ctl_arg_nth(&a, "component", 1), "b=2");
	assert_null(ctl_arg_nth(&a, "component", 2));
	assert_string_equal(ctl_arg(&a, "cluster"), "y"); /* last wins */
	assert_false(ctl_arg_has(&a, "json"));
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "--json");
	assert_string_equal(a.pos[1], "-f");
}

static void expect_error(int argc, char **argv, const char *needle)
{
	struct ctl_args a;
	char err[256];

	assert_int_equal(parse(argc, argv, &a, err), -1);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_errors(void **state)
{
	char *a1[] = {"--bogus"};
	char *a2[] = {"--cluster"};
	char *a3[] = {"--json=yes"};
	char *a4[] = {"-x"};
	char *a5[] = {"-cf"};
	char *a6[] = {"--bogus=1"};

	expect_error(1, a1, "unknown option '--bogus'");
	expect_error(1, a2, "'--cluster' needs a value (CLUSTER)");
	expect_error(1, a3, "'--json' takes no value");
	expect_error(1, a4, "unknown option '-x'");
	expect_error(1, a5, "unknown option '-cf'");
	expect_error(1, a6, "unknown option '--bogus'");
}

static void test_single_dash_is_positional(void **state)
{
	char *argv[] = {"-"};
	struct ctl_args a;
	char err[256];

	assert_int_equal(parse(1, argv, &a, err), 0);
	assert_int_equal(a.npos, 1);
}

static void test_kv_typed_and_nested(void **state)
{
	json_t *o = json_object();
	char err[256];

	assert_int_equal(ctl_args_kv("live_patch=enforce", o, err, 256), 0);
	assert_int_equal(
	    ctl_args_kv("parallel_remediation.enabled=true", o, err, 256), 0);
	assert_int_equal(
	    ctl_args_kv("parallel_remediation.max_hosts=2", o, err, 256), 0);
	assert_int_equal(ctl_args_kv("tolerated_failures=-1", o, err, 256), 0);
	assert_int_equal(ctl_args_kv("power_policy=", o, err, 256), 0);
	assert_int_equal(
	    ctl_args_kv("live_patch_ineligible=[\"tpm\"]", o, err, 256), 0);
	assert_int_equal(ctl_args_kv("version=1.0.0.0", o, err, 256), 0);
	assert_string_equal(json_string_value(json_object_get(o, "live_patch")),
			    "enforce");
	assert_true(json_is_true(json_object_get(
	    json_object_get(o, "parallel_remediation"), "enabled")));
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(o, "parallel_remediation"), "max_hosts")),
	    2);
	assert_int_equal(
	    json_integer_value(json_object_get(o, "tolerated_failures")), -1);
	assert_true(json_is_null(json_object_get(o, "power_policy")));
	assert_int_equal(
	    json_array_size(json_object_get(o, "live_patch_ineligible")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "version")),
			    "1.0.0.0");
	json_decref(o);
}

static void test_kv_errors(void **state)
{
	json_t *o = json_object();
	char err[256];

	assert_int_equal(ctl_args_kv("novalue", o, err, 256), -1);
	assert_non_null(strstr(err, "not key=value"));
	assert_int_equal(ctl_args_kv("=x", o, err, 256), -1);
	assert_int_equal(ctl_args_kv("a..b=1", o, err, 256), -1);
	assert_int_equal(ctl_args_kv("a.=1", o, err, 256), -1);
	assert_int_equal(ctl_args_kv("a={bad", o, err, 256), -1);
	assert_non_null(strstr(err, "not valid JSON"));
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_options_and_positionals),
	    cmocka_unit_test(test_repeated_and_double_dash),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_single_dash_is_positional),
	    cmocka_unit_test(test_kv_typed_and_nested),
	    cmocka_unit_test(test_kv_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
