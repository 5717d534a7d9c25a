/*
 * test_compstore.c — the component store (src/hostd/compstore.c):
 * revisions side by side, install as a no-op the second time, atomic
 * switch of `active` with `previous` kept for rollback, refusal to remove
 * what is active, and version ordering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compstore.h"
#include "fsutil.h"

struct fx {
	char dir[64];
	char root[PATH_MAX];
	char src[PATH_MAX];
};

static void write_file(const char *path, const char *text)
{
	assert_int_equal(fs_write_atomic(path, text, strlen(text), 0755, NULL),
			 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[PATH_MAX];

	strcpy(f->dir, "/tmp/seam-test-comp-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	fs_path(f->root, sizeof(f->root), "%s/components", f->dir);
	fs_path(f->src, sizeof(f->src), "%s/src", f->dir);
	assert_int_equal(compstore_init(f->root, NULL), 0);
	assert_int_equal(fs_mkdir_p(f->src, 0755, NULL), 0);
	fs_path(p, sizeof(p), "%s/seam-vmx", f->src);
	write_file(p, "#!/bin/sh\necho v1\n");
	fs_path(p, sizeof(p), "%s/scripts", f->src);
	assert_int_equal(mkdir(p, 0755), 0);
	fs_path(p, sizeof(p), "%s/scripts/03_vmx-scan", f->src);
	write_file(p, "#!/bin/sh\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fs_remove_tree(f->dir);
	free(f);
	return 0;
}

static void test_install_switch_rollback(void **state)
{
	struct fx *f = *state;
	struct seam_err e = {0};
	char rev[64], p[PATH_MAX];
	struct stat st;

	assert_int_equal(compstore_active(f->root, "vmx", rev, sizeof(rev)),
			 -ENOENT);
	assert_int_equal(
	    compstore_install_dir(f->root, "vmx", "1.0.0.0", f->src, &e), 0);
	/* Twice: a no-op. */
	assert_int_equal(
	    compstore_install_dir(f->root, "vmx", "1.0.0.0", f->src, &e), 0);
	assert_int_equal(
	    compstore_install_dir(f->root, "vmx", "1.0.0.0100", f->src, &e), 0);
	fs_path(p, sizeof(p), "%s/vmx/1.0.0.0100/scripts/03_vmx-scan", f->root);
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_mode & S_IXUSR);

	assert_int_equal(compstore_activate(f->root, "vmx", "1.0.0.0", &e), 0);
	assert_int_equal(compstore_active(f->root, "vmx", rev, sizeof(rev)), 0);
	assert_string_equal(rev, "1.0.0.0");
	assert_int_equal(compstore_previous(f->root, "vmx", rev, sizeof(rev)),
			 -ENOENT);

	assert_int_equal(compstore_activate(f->root, "vmx", "1.0.0.0100", &e),
			 0);
	assert_int_equal(compstore_active(f->root, "vmx", rev, sizeof(rev)), 0);
	assert_string_equal(rev, "1.0.0.0100");
	assert_int_equal(compstore_previous(f->root, "vmx", rev, sizeof(rev)),
			 0);
	assert_string_equal(rev, "1.0.0.0");
	/* `active` is a symlink, resolving to the revision directory. */
	fs_path(p, sizeof(p), "%s/vmx/active/seam-vmx", f->root);
	assert_int_equal(stat(p, &st), 0);

	assert_int_equal(compstore_rollback(f->root, "vmx", &e), 0);
	assert_int_equal(compstore_active(f->root, "vmx", rev, sizeof(rev)), 0);
	assert_string_equal(rev, "1.0.0.0");
	assert_int_equal(compstore_previous(f->root, "vmx", rev, sizeof(rev)),
			 0);
	assert_string_equal(rev, "1.0.0.0100");

	/* No leftovers of the switch. */
	fs_path(p, sizeof(p), "%s/vmx", f->root);
	json_t *l = compstore_list(f->root);
	assert_int_equal(json_array_size(l), 1);
	json_t *c = json_array_get(l, 0);
	assert_string_equal(json_string_value(json_object_get(c, "active")),
			    "1.0.0.0");
	assert_int_equal(json_array_size(json_object_get(c, "revisions")), 2);
	/* Staged: installed and newer than the active revision. */
	assert_int_equal(json_array_size(json_object_get(c, "staged")), 1);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(c, "staged"), 0)),
	    "1.0.0.0100");
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(c, "revisions"), 1)),
			    "1.0.0.0100");
	json_decref(l);
}

static void test_refusals(void **state)
{
	struct fx *f = *state;
	struct seam_err e = {0};

	assert_int_equal(compstore_activate(f->root, "vmx", "9.9", &e),
			 -ENOENT);
	assert_non_null(strstr(e.msg, "no revision '9.9'"));
	assert_int_equal(
	    compstore_install_dir(f->root, "../x", "1", f->src, &e), -EINVAL);
	assert_int_equal(
	    compstore_install_dir(f->root, "vmx", ".hidden", f->src, &e),
	    -EINVAL);
	assert_int_equal(compstore_rollback(f->root, "vmx", &e), -ENOENT);
	assert_int_equal(compstore_install_dir(f->root, "vmx", "1", f->src, &e),
			 0);
	assert_int_equal(compstore_activate(f->root, "vmx", "1", &e), 0);
	assert_int_equal(compstore_remove(f->root, "vmx", "1", &e), -EBUSY);
	assert_int_equal(compstore_install_dir(f->root, "vmx", "2", f->src, &e),
			 0);
	assert_int_equal(compstore_remove(f->root, "vmx", "2", &e), 0);
	assert_false(compstore_has(f->root, "vmx", "2"));
	/* A failed install leaves nothing behind. */
	assert_true(
	    compstore_install_dir(f->root, "vmx", "3", "/nonexistent", &e) < 0);
	assert_false(compstore_has(f->root, "vmx", "3"));
}

static void test_stage_api(void **state)
{
	struct fx *f = *state;
	char tmp[PATH_MAX], p[PATH_MAX];
	struct seam_err e = {0};

	assert_int_equal(compstore_stage_begin(f->root, "hostd", "1.0.0.0", tmp,
					       sizeof(tmp), &e),
			 0);
	fs_path(p, sizeof(p), "%s/seam-hostd", tmp);
	write_file(p, "x");
	assert_false(compstore_has(f->root, "hostd", "1.0.0.0"));
	json_t *l = compstore_list(f->root); /* .stage-* is not a revision */
	json_t *c = json_array_get(l, 0);
	assert_int_equal(json_array_size(json_object_get(c, "revisions")), 0);
	json_decref(l);
	assert_int_equal(
	    compstore_stage_commit(f->root, "hostd", "1.0.0.0", tmp, &e), 0);
	assert_true(compstore_has(f->root, "hostd", "1.0.0.0"));
	/* Staging the same revision again is a no-op and cleans up. */
	assert_int_equal(compstore_stage_begin(f->root, "hostd", "1.0.0.0", tmp,
					       sizeof(tmp), &e),
			 0);
	assert_int_equal(
	    compstore_stage_commit(f->root, "hostd", "1.0.0.0", tmp, &e), 0);
	assert_false(fs_exists(tmp));
}

static void test_version_cmp(void **state)
{
	assert_true(compstore_version_cmp("1.0.0.0", "1.0.0.0100") < 0);
	assert_true(compstore_version_cmp("1.0.0.10", "1.0.0.9") > 0);
	assert_true(compstore_version_cmp("2.0.0.0", "1.9.9.9") > 0);
	assert_int_equal(compstore_version_cmp("1.0", "1.0"), 0);
	assert_true(compstore_version_cmp("1.0", "1.0.1") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_install_switch_rollback, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stage_api, setup, teardown),
	    cmocka_unit_test(test_version_cmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
