/*
 * test_maint.c — the maintenance-mode rules of issue 5 item 5
 * (src/hostd/maint.c): the whole (mode x operation) table, entering `full`
 * with and without running VMs, messages that name the mode, persistence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "maint.h"

static void test_op_table(void **state)
{
	static const struct {
		enum maint_mode mode;
		enum maint_op op;
		int allowed;
	} t[] = {
	    {MAINT_NONE, MAINT_OP_VM_CREATE, 1},
	    {MAINT_NONE, MAINT_OP_VM_POWER_ON, 1},
	    {MAINT_NONE, MAINT_OP_MIGRATE_IN, 1},
	    {MAINT_NONE, MAINT_OP_MIGRATE_OUT, 1},
	    {MAINT_PARTIAL, MAINT_OP_VM_CREATE, 0},
	    {MAINT_PARTIAL, MAINT_OP_VM_POWER_ON, 0},
	    {MAINT_PARTIAL, MAINT_OP_MIGRATE_IN, 0},
	    {MAINT_PARTIAL, MAINT_OP_MIGRATE_OUT, 0},
	    {MAINT_FULL, MAINT_OP_VM_CREATE, 0},
	    {MAINT_FULL, MAINT_OP_VM_POWER_ON, 0},
	    {MAINT_FULL, MAINT_OP_MIGRATE_IN, 0},
	    {MAINT_FULL, MAINT_OP_MIGRATE_OUT, 1},
	};
	struct seam_err e;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err_clear(&e);
		int rc = maint_check_op(t[i].mode, t[i].op, &e);

		if (t[i].allowed) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -EBUSY);
			assert_non_null(
			    strstr(e.msg, maint_mode_name(t[i].mode)));
			assert_non_null(strstr(e.msg, "maintenance mode"));
		}
	}
}

static void test_enter_full(void **state)
{
	struct seam_err e = {0};

	assert_int_equal(maint_check_enter(MAINT_NONE, MAINT_FULL, 0, "", &e),
			 0);
	assert_int_equal(
	    maint_check_enter(MAINT_NONE, MAINT_FULL, 2, "vm1, vm2", &e),
	    -EBUSY);
	assert_non_null(strstr(e.msg, "full maintenance mode"));
	assert_non_null(strstr(e.msg, "vm1, vm2"));
	assert_int_equal(
	    maint_check_enter(MAINT_PARTIAL, MAINT_FULL, 1, "a", &e), -EBUSY);
	/* Partial is entered with VMs running: that is its point. */
	assert_int_equal(
	    maint_check_enter(MAINT_NONE, MAINT_PARTIAL, 3, "x", &e), 0);
	assert_int_equal(maint_check_enter(MAINT_FULL, MAINT_NONE, 0, "", &e),
			 0);
}

static void test_parse_and_persist(void **state)
{
	char dir[] = "/tmp/seam-test-maint-XXXXXX";
	struct seam_err e = {0};
	enum maint_mode m;

	assert_int_equal(maint_mode_parse("partial", &m, &e), 0);
	assert_int_equal(m, MAINT_PARTIAL);
	assert_int_equal(maint_mode_parse("Partial", &m, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'Partial'"));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(maint_load(dir, &m, &e), 0);
	assert_int_equal(m, MAINT_NONE);
	assert_int_equal(maint_save(dir, MAINT_FULL, &e), 0);
	assert_int_equal(maint_load(dir, &m, &e), 0);
	assert_int_equal(m, MAINT_FULL);
	fs_remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_op_table),
	    cmocka_unit_test(test_enter_full),
	    cmocka_unit_test(test_parse_and_persist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
