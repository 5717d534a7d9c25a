/*
 * test_ctl_progress.c — the text of seamctl's progress: bars, task lines
 * for terminals and for logs, byte sizes, cutting to the terminal width.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "progress.h"
#include "table.h"

static void test_bar(void **state)
{
	char b[64];

	assert_string_equal(ctl_progress_bar(b, sizeof(b), 10, 0),
			    "[----------]");
	assert_string_equal(ctl_progress_bar(b, sizeof(b), 10, 40),
			    "[####------]");
	assert_string_equal(ctl_progress_bar(b, sizeof(b), 10, 100),
			    "[##########]");
	assert_string_equal(ctl_progress_bar(b, sizeof(b), 10, 250),
			    "[##########]");
	assert_string_equal(ctl_progress_bar(b, sizeof(b), 4, -5), "[----]");
	/* A buffer too small for the width: the bar shrinks, no overflow. */
	assert_string_equal(ctl_progress_bar(b, 8, 20, 50), "[#####]");
}

static void test_plain_line(void **state)
{
	char b[128];

	assert_string_equal(
	    ctl_progress_line(b, sizeof(b), 12, 40, "staging host h2"),
	    "task 12: 40% staging host h2");
	assert_string_equal(ctl_progress_line(b, sizeof(b), 3, 100, NULL),
			    "task 3: 100%");
	assert_string_equal(ctl_progress_line(b, sizeof(b), 3, 5, ""),
			    "task 3: 5%");
}

static void test_terminal_line(void **state)
{
	char b[256];

	ctl_progress_task_bar(b, sizeof(b), 80, 12, 40, "staging host h2");
	assert_string_equal(b, "task 12 [##########----------------]  40%  "
			       "staging host h2");
	/* Cut to the terminal: at most cols-1 characters. */
	ctl_progress_task_bar(b, sizeof(b), 30, 7, 100,
			      "a step with a very long description");
	assert_int_equal(ctl_text_width(b), 29);
	assert_int_equal(strncmp(b, "task 7 [##########] 100%", 24), 0);
	/* UTF-8 is cut on a character boundary. */
	ctl_progress_task_bar(b, sizeof(b), 32, 1, 0, "éééééééééé");
	assert_int_equal(ctl_text_width(b), 31);
}

static void test_bytes(void **state)
{
	char b[64];

	assert_string_equal(ctl_fmt_bytes(b, sizeof(b), 0), "0 B");
	assert_string_equal(ctl_fmt_bytes(b, sizeof(b), 1023), "1023 B");
	assert_string_equal(ctl_fmt_bytes(b, sizeof(b), 1536), "1.5 KiB");
	assert_string_equal(ctl_fmt_bytes(b, sizeof(b), 12u << 20), "12.0 MiB");
	assert_string_equal(ctl_fmt_bytes(b, sizeof(b), 5ull << 30), "5.0 GiB");
	assert_string_equal(
	    ctl_progress_bytes_line(b, sizeof(b), "upload x", 1536, 6144),
	    "upload x: 25% 1.5 KiB / 6.0 KiB");
	ctl_progress_bytes_bar(b, sizeof(b), 60, "upload", 6144, 6144);
	assert_string_equal(b, "upload [####################] 100%  6.0 KiB "
			       "/ 6.0 KiB");
	ctl_progress_bytes_bar(b, sizeof(b), 60, "upload", 100, 0);
	assert_string_equal(b, "upload 100 B");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bar),
	    cmocka_unit_test(test_plain_line),
	    cmocka_unit_test(test_terminal_line),
	    cmocka_unit_test(test_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
