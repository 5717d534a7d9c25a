/*
 * test_guest.c — unit tests for the pure parts of seam-guest, built for the
 * host: command-line parsing (cmdline.c) and the tiny printf (fmt.c). The
 * rest of the guest runs only in a VM; tests/integration/test_guest_qemu.py
 * boots it under QEMU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmdline.h"
#include "fmt.h"

static int parse(const char *s, struct guest_opts *o, char *bad, size_t n)
{
	return cmdline_parse(s, o, bad, n);
}

static void test_cmdline_combined(void **state)
{
	struct guest_opts o;
	char bad[32];

	assert_int_equal(parse("heartbeat=10,verify=32 dirty=5  dirty_mb=64",
			       &o, bad, sizeof(bad)),
			 CMDLINE_OK);
	assert_int_equal(o.heartbeat_ms, 10);
	assert_int_equal(o.verify_mb, 32);
	assert_int_equal(o.dirty_mbps, 5);
	assert_int_equal(o.dirty_mb, 64);
	assert_int_equal(o.shutdown_ms, 0);
	assert_int_equal(o.panic_ms, 0);
	assert_int_equal(o.triple_fault_ms, 0);
	assert_int_equal(o.hz, 0);
	assert_int_equal(parse("heartbeat=10,hz=100", &o, bad, sizeof(bad)),
			 CMDLINE_OK);
	assert_int_equal(o.hz, 100);
}

static void test_cmdline_helpers_and_last_wins(void **state)
{
	struct guest_opts o;
	char bad[32];

	assert_int_equal(parse(",shutdown=5,,panic=6\ttriple_fault=7,fault=8,"
			       "heartbeat=1,heartbeat=2147483647",
			       &o, bad, sizeof(bad)),
			 CMDLINE_OK);
	assert_int_equal(o.shutdown_ms, 5);
	assert_int_equal(o.panic_ms, 6);
	assert_int_equal(o.triple_fault_ms, 7);
	assert_int_equal(o.fault_ms, 8);
	assert_int_equal(o.heartbeat_ms, 2147483647);
}

static void test_cmdline_empty(void **state)
{
	struct guest_opts o;
	char bad[8] = "x";

	assert_int_equal(parse("", &o, bad, sizeof(bad)), CMDLINE_OK);
	assert_int_equal(parse(" , ", &o, bad, sizeof(bad)), CMDLINE_OK);
	assert_int_equal(parse(NULL, &o, bad, sizeof(bad)), CMDLINE_OK);
	assert_int_equal(o.heartbeat_ms, 0);
	assert_string_equal(bad, "");
}

static void test_cmdline_unknown(void **state)
{
	struct guest_opts o;
	char bad[32];

	assert_int_equal(parse("heartbeat=10,bogus=1", &o, bad, sizeof(bad)),
			 CMDLINE_UNKNOWN);
	assert_string_equal(bad, "bogus=1");
	assert_int_equal(parse("heartbeat", &o, bad, sizeof(bad)),
			 CMDLINE_UNKNOWN);
	assert_string_equal(bad, "heartbeat");
	assert_int_equal(parse("heart=1", &o, bad, sizeof(bad)),
			 CMDLINE_UNKNOWN);
	assert_int_equal(parse("heartbeats=1", &o, bad, sizeof(bad)),
			 CMDLINE_UNKNOWN);
	assert_int_equal(parse("=1", &o, bad, sizeof(bad)), CMDLINE_UNKNOWN);
}

static void test_cmdline_bad_values(void **state)
{
	static const char *const cases[] = {
	    "heartbeat=",
	    "heartbeat=0",
	    "heartbeat=abc",
	    "verify=-1",
	    "verify=1x",
	    "dirty=2147483648",
	    "dirty=99999999999999999999",
	    "panic==1",
	};
	struct guest_opts o;
	char bad[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i], &o, bad, sizeof(bad)),
				 CMDLINE_BAD_VALUE);
		assert_string_equal(bad, cases[i]);
	}
}

static void test_cmdline_bad_word_truncated(void **state)
{
	struct guest_opts o;
	char bad[6];

	assert_int_equal(parse("a_very_long_word", &o, bad, sizeof(bad)),
			 CMDLINE_UNKNOWN);
	assert_string_equal(bad, "a_ver");
}

static void test_fmt_numbers(void **state)
{
	char b[64];

	assert_int_equal(fmt_buf(b, sizeof(b), "hb seq=%lu t_us=%lu vmx=%s",
				 1UL, 18446744073709551615UL, "none"),
			 strlen("hb seq=1 t_us=18446744073709551615 vmx=none"));
	assert_string_equal(b, "hb seq=1 t_us=18446744073709551615 vmx=none");
	fmt_buf(b, sizeof(b), "%d|%d|%i|%u|%x", 0, -42, 7, 4000000000u,
		0xbeefu);
	assert_string_equal(b, "0|-42|7|4000000000|beef");
	fmt_buf(b, sizeof(b), "%ld|%lld|%zu|%llx", -9223372036854775807L - 1,
		-1LL, (size_t)12, 0xFFFFFFFFFFFFFFFFULL);
	assert_string_equal(b, "-9223372036854775808|-1|12|ffffffffffffffff");
}

static void test_fmt_padding(void **state)
{
	char b[64];

	fmt_buf(b, sizeof(b), "0x%016lx|%5u|%05d|%3d|%3s|%c%%", 0x1234UL, 42u,
		-12, -5, "ab", 'z');
	assert_string_equal(b, "0x0000000000001234|   42|-0012| -5| ab|z%");
}

static void test_fmt_truncates(void **state)
{
	char b[8];

	memset(b, 'x', sizeof(b));
	assert_int_equal(fmt_buf(b, sizeof(b), "%s-%u", "abcdef", 123u), 7);
	assert_string_equal(b, "abcdef-");
	assert_int_equal(fmt_buf(b, 1, "abc"), 0);
	assert_string_equal(b, "");
	assert_int_equal(fmt_buf(b, 4, "%s", "abcdef"), 3);
	assert_string_equal(b, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmdline_combined),
	    cmocka_unit_test(test_cmdline_helpers_and_last_wins),
	    cmocka_unit_test(test_cmdline_empty),
	    cmocka_unit_test(test_cmdline_unknown),
	    cmocka_unit_test(test_cmdline_bad_values),
	    cmocka_unit_test(test_cmdline_bad_word_truncated),
	    cmocka_unit_test(test_fmt_numbers),
	    cmocka_unit_test(test_fmt_padding),
	    cmocka_unit_test(test_fmt_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
