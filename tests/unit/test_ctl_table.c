/*
 * test_ctl_table.c — seamctl's table renderer: widths in characters, right
 * alignment, no trailing blanks, one line per row, the empty message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

static char *render(struct ctl_table *t, const char *empty)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ctl_table_print(t, f, empty);
	fclose(f);
	return buf;
}

static void test_aligned_columns(void **state)
{
	static const char *const h[] = {"NAME", ">HOSTS", "STATE"};
	struct ctl_table *t = ctl_table_new(3, h);
	char *out;

	ctl_table_addv(t, "c1", "3", "connected");
	ctl_table_addv(t, "production", "12", "disconnected");
	assert_int_equal(ctl_table_rows(t), 2);
	out = render(t, NULL);
	assert_string_equal(out, "NAME        HOSTS  STATE\n"
				 "c1              3  connected\n"
				 "production     12  disconnected\n");
	free(out);
	ctl_table_free(t);
}

static void test_utf8_width_and_null_cells(void **state)
{
	static const char *const h[] = {"HOST", "NOTE"};
	struct ctl_table *t = ctl_table_new(2, h);
	char *out;

	ctl_table_addv(t, "hôte-é", "ok");
	ctl_table_addv(t, "h2", NULL);
	ctl_table_addv(t, "h3", "");
	out = render(t, NULL);
	assert_string_equal(out, "HOST    NOTE\n"
				 "hôte-é  ok\n"
				 "h2      -\n"
				 "h3      -\n");
	assert_int_equal(ctl_text_width("hôte-é"), 6);
	assert_int_equal(ctl_text_width(""), 0);
	free(out);
	ctl_table_free(t);
}

static void test_no_trailing_blanks_and_one_line_per_row(void **state)
{
	static const char *const h[] = {"A", "B"};
	struct ctl_table *t = ctl_table_new(2, h);
	char *out, *line, *save = NULL;
	int lines = 0;

	ctl_table_addv(t, "x", "two\nlines\tand tab");
	ctl_table_addv(t, "longer-name", "y");
	out = render(t, NULL);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		assert_true(line[strlen(line) - 1] != ' ');
		lines++;
	}
	assert_int_equal(lines, 3);
	free(out);
	ctl_table_free(t);
}

static void test_empty_table(void **state)
{
	static const char *const h[] = {"NAME"};
	struct ctl_table *t = ctl_table_new(1, h);
	char *out = render(t, "no clusters");

	assert_string_equal(out, "no clusters\n");
	free(out);
	out = render(t, NULL);
	assert_string_equal(out, "NAME\n");
	free(out);
	ctl_table_free(t);
	ctl_table_free(NULL);
}

static void test_many_rows(void **state)
{
	static const char *const h[] = {">N", "SQUARE"};
	struct ctl_table *t = ctl_table_new(2, h);
	char a[16], b[16], *out;
	int i;

	for (i = 0; i < 1000; i++) {
		snprintf(a, sizeof(a), "%d", i);
		snprintf(b, sizeof(b), "%d", i * i);
		assert_int_equal(ctl_table_addv(t, a, b), 0);
	}
	out = render(t, NULL);
	assert_non_null(strstr(out, "\n999  998001\n"));
	assert_non_null(strstr(out, "\n  7  49\n"));
	free(out);
	ctl_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aligned_columns),
	    cmocka_unit_test(test_utf8_width_and_null_cells),
	    cmocka_unit_test(test_no_trailing_blanks_and_one_line_per_row),
	    cmocka_unit_test(test_empty_table),
	    cmocka_unit_test(test_many_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
