/*
 * test_ctl_config.c — seamctl's config file: the default path, a round
 * trip, mode 0600 in a 0700 directory, no temporary left behind, a file
 * others can read refused, a missing file saying "not logged in", bad
 * contents refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"

static int setup(void **state)
{
	char *dir = strdup("/tmp/test_ctl_config.XXXXXX");

	if (!mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	fs_remove_tree(*state);
	free(*state);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void test_default_path(void **state)
{
	char buf[512];

	setenv("SEAMCTL_CONFIG", "/etc/x.json", 1);
	assert_int_equal(ctl_config_default_path(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/etc/x.json");
	unsetenv("SEAMCTL_CONFIG");
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	ctl_config_default_path(buf, sizeof(buf));
	assert_string_equal(buf, "/xdg/seam/seamctl.json");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/ann", 1);
	ctl_config_default_path(buf, sizeof(buf));
	assert_string_equal(buf, "/home/ann/.config/seam/seamctl.json");
	assert_int_equal(ctl_config_default_path(buf, 8), -ENAMETOOLONG);
}

static void test_round_trip(void **state)
{
	struct ctl_config a = {0}, b;
	struct seam_err e = {0};
	char path[600], dir[512];
	struct stat st;
	struct dirent *d;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s/new/seam", (char *)*state);
	snprintf(path, sizeof(path), "%s/seamctl.json", dir);
	snprintf(a.server, sizeof(a.server), "https://127.0.0.1:8443");
	snprintf(a.token, sizeof(a.token), "tok\"en\\with quotes");
	snprintf(a.thumbprint, sizeof(a.thumbprint), "%064d", 7);
	assert_int_equal(ctl_config_save(path, &a, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(ctl_config_load(path, &b, &e), 0);
	assert_string_equal(b.server, a.server);
	assert_string_equal(b.token, a.token);
	assert_string_equal(b.thumbprint, a.thumbprint);
	/* Saved again (replaced by rename): nothing else in the directory. */
	snprintf(a.server, sizeof(a.server), "https://10.0.0.1:1");
	assert_int_equal(ctl_config_save(path, &a, &e), 0);
	assert_int_equal(ctl_config_load(path, &b, &e), 0);
	assert_string_equal(b.server, "https://10.0.0.1:1");
	dh = opendir(dir);
	while ((d = readdir(dh)))
		if (d->d_name[0] != '.')
			assert_string_equal(d->d_name, "seamctl.json");
	closedir(dh);
}

static void test_refusals(void **state)
{
	struct ctl_config c;
	struct seam_err e = {0};
	char path[512];

	snprintf(path, sizeof(path), "%s/missing.json", (char *)*state);
	assert_int_equal(ctl_config_load(path, &c, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "not logged in"));

	snprintf(path, sizeof(path), "%s/open.json", (char *)*state);
	write_file(path, "{\"server\":\"https://x:1\"}", 0644);
	assert_int_equal(ctl_config_load(path, &c, &e), -EPERM);
	assert_non_null(strstr(e.msg, "chmod 600"));

	write_file(path, "[1,2]", 0600);
	assert_true(ctl_config_load(path, &c, &e) < 0);

	write_file(path, "{\"server\": 5}", 0600);
	assert_int_equal(ctl_config_load(path, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "server"));

	write_file(path, "not json", 0600);
	assert_true(ctl_config_load(path, &c, &e) < 0);

	/* Missing fields are empty, extra fields ignored. */
	write_file(path, "{\"server\":\"https://x:1\",\"other\":1}", 0600);
	assert_int_equal(ctl_config_load(path, &c, &e), 0);
	assert_string_equal(c.server, "https://x:1");
	assert_string_equal(c.token, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_path),
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
