/*
 * test_version.c — MAJOR.MINOR.UPDATE.PATCH parsing, formatting, ordering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "version.h"

static struct seam_version parse_ok(const char *text)
{
	struct seam_version v;
	struct seam_err e = {0};

	if (version_parse(text, &v, &e) != 0)
		fail_msg("version_parse(\"%s\"): %s", text, e.msg);
	return v;
}

static void parse_bad(const char *text, const char *needle)
{
	struct seam_version v;
	struct seam_err e = {0};

	assert_int_equal(version_parse(text, &v, &e), -22);
	if (!strstr(e.msg, needle))
		fail_msg("version_parse(\"%s\"): message \"%s\" lacks \"%s\"",
			 text, e.msg, needle);
}

static void test_parse_fields(void **state)
{
	struct seam_version v = parse_ok("1.0.0.0100");

	assert_int_equal(v.v_field[0], 1);
	assert_int_equal(v.v_field[1], 0);
	assert_int_equal(v.v_field[2], 0);
	assert_int_equal(v.v_field[3], 100);
	assert_false(v.v_has_build);
	v = parse_ok("2.3.4.5-4711");
	assert_true(v.v_has_build);
	assert_int_equal(v.v_build, 4711);
	assert_int_equal(v.v_field[3], 5);
}

static void test_format_round_trip(void **state)
{
	static const char *const texts[] = {"1.0.0.0",
					    "1.0.0.0100",
					    "1.0.0.99",
					    "2.0.0.0",
					    "10.20.30.40",
					    "1.0.0.0100-12345",
					    "999999999.0.0.000000001"};
	char buf[VERSION_TEXT_MAX];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct seam_version v = parse_ok(texts[i]);
		assert_int_equal(version_format(&v, buf, sizeof(buf)), 0);
		assert_string_equal(buf, texts[i]);
	}
	{
		struct seam_version v = parse_ok("1.0.0.0100");
		assert_int_not_equal(version_format(&v, buf, 5), 0);
	}
}

static void test_compare_numeric(void **state)
{
	struct seam_version a = parse_ok("1.0.0.0100");
	struct seam_version b = parse_ok("1.0.0.99");
	struct seam_version c = parse_ok("1.0.0.100");
	struct seam_version d = parse_ok("1.0.0.0");
	struct seam_version e2 = parse_ok("2.0.0.0");
	struct seam_version f = parse_ok("1.0.0.0100-7");
	struct seam_version g = parse_ok("1.10.0.0");
	struct seam_version h = parse_ok("1.9.0.0");

	assert_true(version_cmp(&a, &b) > 0); /* 100 > 99 */
	assert_true(version_cmp(&b, &a) < 0);
	assert_int_equal(version_cmp(&a, &c), 0); /* 0100 == 100 */
	assert_true(version_equal(&a, &c));
	assert_true(version_cmp(&d, &a) < 0);
	assert_true(version_cmp(&e2, &a) > 0);
	assert_true(version_equal(&a, &f));   /* build ignored */
	assert_true(version_cmp(&g, &h) > 0); /* not string order */
}

static void test_parse_errors_name_text(void **state)
{
	parse_bad("1.0.0", "\"1.0.0\"");
	parse_bad("1.0.0", "expected '.' after the UPDATE field");
	parse_bad("1.0.x.0", "\"1.0.x.0\": UPDATE field is not a decimal");
	parse_bad("", "MAJOR field is not a decimal");
	parse_bad("1..0.0", "MINOR field is not a decimal");
	parse_bad("1.0.0.0.1", "unexpected text \".1\" after the PATCH");
	parse_bad("v1.0.0.0", "\"v1.0.0.0\": MAJOR");
	parse_bad("1.0.0.0 ", "unexpected text \" \"");
	parse_bad("-1.0.0.0", "MAJOR field is not a decimal");
	parse_bad("1.0.0.1234567890", "PATCH field has more than 9 digits");
	parse_bad("1.0.0.0-", "build number after '-'");
	parse_bad("1.0.0.0-x", "build number after '-'");
	parse_bad("1.0.0.+1", "PATCH field is not a decimal");
}

static void test_parse_null(void **state)
{
	struct seam_version v;
	struct seam_err e = {0};

	assert_int_equal(version_parse(NULL, &v, &e), -22);
	assert_non_null(strstr(e.msg, "missing"));
	/* A NULL error struct is allowed. */
	assert_int_equal(version_parse("x", &v, NULL), -22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_fields),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_compare_numeric),
	    cmocka_unit_test(test_parse_errors_name_text),
	    cmocka_unit_test(test_parse_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
