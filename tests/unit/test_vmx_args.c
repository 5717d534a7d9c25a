/*
 * test_vmx_args.c — `seam-vmx run` options: sizes, ranges, required
 * options, unknown options, and the messages that name the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"

static void test_sizes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(args_parse_size("256M", &v, NULL), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(args_parse_size("4G", &v, NULL), 0);
	assert_int_equal(v, 4ULL << 30);
	assert_int_equal(args_parse_size("512k", &v, NULL), 0);
	assert_int_equal(v, 512ULL << 10);
	assert_int_equal(args_parse_size("1GiB", &v, NULL), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(args_parse_size("65536", &v, NULL), 0);
	assert_int_equal(v, 65536);
	assert_true(args_parse_size("abc", &v, NULL) < 0);
	assert_true(args_parse_size("", &v, NULL) < 0);
	assert_true(args_parse_size("-1M", &v, NULL) < 0);
	assert_true(args_parse_size("12Q", &v, NULL) < 0);
	assert_true(args_parse_size("1MM", &v, NULL) < 0);
	assert_true(args_parse_size("99999999999999999999", &v, NULL) < 0);
	assert_true(args_parse_size("99999999999T", &v, NULL) < 0);
}

static int parse(struct vmx_config *cfg, struct seam_err *e, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, e);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return args_parse_run(argc, argv, cfg, e);
}

#define BASE                                                                   \
	"--name", "t", "--kernel", "/k", "--serial-log", "/l", "--control", "/s"

static void test_run_ok(void **state)
{
	struct vmx_config cfg;
	struct seam_err e = {0};

	(void)state;
	assert_int_equal(parse(&cfg, &e, BASE, "--mem", "4G", "--vcpus", "2",
			       "--cmdline=heartbeat=10,verify=32", NULL),
			 0);
	assert_string_equal(cfg.name, "t");
	assert_string_equal(cfg.kernel, "/k");
	assert_string_equal(cfg.cmdline, "heartbeat=10,verify=32");
	assert_int_equal(cfg.mem_bytes, 4ULL << 30);
	assert_int_equal(cfg.vcpus, 2);
	assert_int_equal(parse(&cfg, &e, BASE, NULL), 0);
	assert_int_equal(cfg.mem_bytes, 256ULL << 20);
	assert_int_equal(cfg.vcpus, 1);
}

static void expect_error(const char *want, int r, struct seam_err *e)
{
	assert_true(r < 0);
	if (!strstr(e->msg, want))
		fail_msg("message '%s' lacks '%s'", e->msg, want);
}

static void test_run_errors(void **state)
{
	struct vmx_config cfg;
	struct seam_err e = {0};

	(void)state;
	expect_error("missing option --kernel",
		     parse(&cfg, &e, "--name", "t", "--serial-log", "/l",
			   "--control", "/s", NULL),
		     &e);
	expect_error("unknown option '--bogus'",
		     parse(&cfg, &e, BASE, "--bogus", "1", NULL), &e);
	expect_error("unknown option '--bogus'",
		     parse(&cfg, &e, BASE, "--bogus", NULL), &e);
	expect_error("--mem: '12x' is not a size",
		     parse(&cfg, &e, BASE, "--mem", "12x", NULL), &e);
	expect_error("--mem: 16M is too small",
		     parse(&cfg, &e, BASE, "--mem", "16M", NULL), &e);
	expect_error("--mem: 64G is too large",
		     parse(&cfg, &e, BASE, "--mem", "64G", NULL), &e);
	expect_error("not a multiple of 2M",
		     parse(&cfg, &e, BASE, "--mem", "33M", NULL), &e);
	expect_error("--vcpus", parse(&cfg, &e, BASE, "--vcpus", "0", NULL),
		     &e);
	expect_error("--vcpus", parse(&cfg, &e, BASE, "--vcpus", "9", NULL),
		     &e);
	expect_error("--vcpus", parse(&cfg, &e, BASE, "--vcpus", "2x", NULL),
		     &e);
	expect_error("needs a value", parse(&cfg, &e, BASE, "--mem", NULL), &e);
	expect_error("unexpected argument",
		     parse(&cfg, &e, BASE, "extra", NULL), &e);
	expect_error("--name", parse(&cfg, &e, BASE, "--name", "a/b", NULL),
		     &e);
}

static void test_long_values(void **state)
{
	struct vmx_config cfg;
	struct seam_err e = {0};
	char path[200], cl[SEAM_BOOT_CMDLINE_MAX + 10];

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	expect_error("--control: value too long",
		     parse(&cfg, &e, BASE, "--control", path, NULL), &e);
	memset(cl, 'c', sizeof(cl) - 1);
	cl[sizeof(cl) - 1] = '\0';
	expect_error("--cmdline: longer than",
		     parse(&cfg, &e, BASE, "--cmdline", cl, NULL), &e);
}

static int parse_src(struct vmx_source *src, struct seam_err *e, int argc,
		     char **argv)
{
	struct vmx_config cfg;

	return args_parse_run_source(argc, argv, &cfg, src, e);
}

/* --restore and --incoming: no kernel needed; their own rules. */
static void test_run_source(void **state)
{
	char *restore[] = {"--restore", "/snap"};
	char *incoming[] = {"--name",	 "t",  "--serial-log", "/l",
			    "--control", "/s", "--incoming",   "127.0.0.1:4444",
			    "--token",	 "abc"};
	char *no_token[] = {"--name",	 "t",  "--serial-log", "/l",
			    "--control", "/s", "--incoming",   "127.0.0.1:1"};
	char *no_port[] = {"--incoming", "127.0.0.1", "--token", "x"};
	char *both[] = {"--restore", "/snap",	"--incoming",
			"1.2.3.4:5", "--token", "x"};
	struct vmx_config cfg;
	struct vmx_source src;
	struct seam_err e = {0};

	(void)state;
	assert_int_equal(parse_src(&src, &e, 2, restore), 0);
	assert_string_equal(src.restore, "/snap");
	assert_int_equal(parse_src(&src, &e, 10, incoming), 0);
	assert_string_equal(src.incoming, "127.0.0.1:4444");
	assert_string_equal(src.token, "abc");
	expect_error("--incoming needs --token",
		     parse_src(&src, &e, 8, no_token), &e);
	expect_error("is not ADDR:PORT", parse_src(&src, &e, 4, no_port), &e);
	expect_error("--restore cannot go with", parse_src(&src, &e, 6, both),
		     &e);
	expect_error("missing option --name",
		     parse_src(&src, &e, 4, incoming + 6), &e);
	/* the plain parser knows none of them */
	expect_error("unknown option '--restore'",
		     args_parse_run(2, restore, &cfg, &e), &e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_run_ok),
	    cmocka_unit_test(test_run_errors),
	    cmocka_unit_test(test_long_values),
	    cmocka_unit_test(test_run_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
