/*
 * compstore.c — see compstore.h.
 */
#include "compstore.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

int compstore_name_check(const char *what, const char *s, struct seam_err *e)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= COMP_NAME_MAX || s[0] == '.')
		goto bad;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			goto bad;
	return 0;
bad:
	return err_set(e, EINVAL,
		       "%s '%.64s' must be 1 to %d of A-Z a-z 0-9 . _ - and "
		       "not start with '.'",
		       what, s, COMP_NAME_MAX - 1);
}

int compstore_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		char *ea, *eb;
		unsigned long long x = strtoull(a, &ea, 10);
		unsigned long long y = strtoull(b, &eb, 10);

		if (ea == a || eb == b)
			return strcmp(a, b);
		if (x != y)
			return x < y ? -1 : 1;
		a = *ea == '.' ? ea + 1 : ea;
		b = *eb == '.' ? eb + 1 : eb;
		if ((*ea && *ea != '.') || (*eb && *eb != '.'))
			return strcmp(a, b);
	}
	return 0;
}

void compstore_path(const char *root, const char *name, const char *rev,
		    char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s", root, name, rev);
}

int compstore_init(const char *root, struct seam_err *e)
{
	return fs_mkdir_p(root, 0755, e);
}

static int compstore_check(const char *name, const char *rev,
			   struct seam_err *e)
{
	int rc = compstore_name_check("component name", name, e);

	if (rc == 0 && rev)
		rc = compstore_name_check("revision", rev, e);
	return rc;
}

int compstore_has(const char *root, const char *name, const char *rev)
{
	char path[PATH_MAX];
	struct stat st;

	if (compstore_check(name, rev, NULL) < 0)
		return 0;
	compstore_path(root, name, rev, path, sizeof(path));
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int compstore_stage_begin(const char *root, const char *name, const char *rev,
			  char *tmpdir, size_t len, struct seam_err *e)
{
	char dir[PATH_MAX];
	int rc;

	rc = compstore_check(name, rev, e);
	if (rc < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	rc = fs_mkdir_p(dir, 0755, e);
	if (rc < 0)
		return rc;
	snprintf(tmpdir, len, "%s/.stage-%s-XXXXXX", dir, rev);
	if (!mkdtemp(tmpdir))
		return err_sys(e, "create staging directory in %s", dir);
	chmod(tmpdir, 0755);
	return 0;
}

/* fsync every file and directory of a tree (after writing it). */
static void compstore_sync_tree(const char *path)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode))
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path))) {
		while ((de = readdir(d))) {
			char sub[PATH_MAX];

			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			compstore_sync_tree(sub);
		}
		closedir(d);
	}
	fs_fsync_path(path);
}

int compstore_stage_commit(const char *root, const char *name, const char *rev,
			   const char *tmpdir, struct seam_err *e)
{
	char path[PATH_MAX];

	compstore_path(root, name, rev, path, sizeof(path));
	if (compstore_has(root, name, rev)) {
		compstore_stage_abort(tmpdir); /* staging twice: a no-op */
		return 0;
	}
	compstore_sync_tree(tmpdir);
	if (rename(tmpdir, path) < 0) {
		int rc = err_sys(e, "install %s", path);

		compstore_stage_abort(tmpdir);
		return rc;
	}
	fs_fsync_parent(path);
	return 0;
}

void compstore_stage_abort(const char *tmpdir)
{
	fs_remove_tree(tmpdir);
}

/* Copy the entries of src into the existing directory dst. */
static int compstore_copy_into(const char *src, const char *dst,
			       struct seam_err *e)
{
	struct dirent *de;
	DIR *d = opendir(src);
	int rc = 0;

	if (!d)
		return err_sys(e, "open %s", src);
	while (rc == 0 && (de = readdir(d))) {
		char s[PATH_MAX], t[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fs_path(s, sizeof(s), "%s/%s", src, de->d_name) < 0 ||
		    fs_path(t, sizeof(t), "%s/%s", dst, de->d_name) < 0)
			rc = err_set(e, ENAMETOOLONG, "path too long in %s",
				     src);
		else
			rc = fs_copy_tree(s, t, e);
	}
	closedir(d);
	return rc;
}

int compstore_install_dir(const char *root, const char *name, const char *rev,
			  const char *srcdir, struct seam_err *e)
{
	char tmp[PATH_MAX];
	int rc;

	rc = compstore_check(name, rev, e);
	if (rc < 0)
		return rc;
	if (compstore_has(root, name, rev))
		return 0;
	rc = compstore_stage_begin(root, name, rev, tmp, sizeof(tmp), e);
	if (rc < 0)
		return rc;
	rc = compstore_copy_into(srcdir, tmp, e);
	if (rc < 0) {
		compstore_stage_abort(tmp);
		return rc;
	}
	return compstore_stage_commit(root, name, rev, tmp, e);
}

static int compstore_link_read(const char *root, const char *name,
			       const char *link, char *rev, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	if (compstore_check(name, NULL, NULL) < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s/%s", root, name, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	snprintf(rev, len, "%s", target);
	return 0;
}

int compstore_active(const char *root, const char *name, char *rev, size_t len)
{
	return compstore_link_read(root, name, "active", rev, len);
}

int compstore_previous(const char *root, const char *name, char *rev,
		       size_t len)
{
	return compstore_link_read(root, name, "previous", rev, len);
}

/* NAME/link -> rev, atomically (symlink aside + rename + fsync dir). */
static int compstore_link_set(const char *root, const char *name,
			      const char *link, const char *rev,
			      struct seam_err *e)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/%s", root, name, link);
	snprintf(tmp, sizeof(tmp), "%s/%s/.%s.tmp.%d", root, name, link,
		 (int)getpid());
	unlink(tmp);
	if (symlink(rev, tmp) < 0)
		return err_sys(e, "symlink %s", tmp);
	if (rename(tmp, path) < 0) {
		int rc = err_sys(e, "switch %s", path);

		unlink(tmp);
		return rc;
	}
	fs_fsync_parent(path);
	return 0;
}

int compstore_activate(const char *root, const char *name, const char *rev,
		       struct seam_err *e)
{
	char cur[PATH_MAX];
	int rc;

	rc = compstore_check(name, rev, e);
	if (rc < 0)
		return rc;
	if (!compstore_has(root, name, rev))
		return err_set(e, ENOENT, "component '%s' has no revision '%s'",
			       name, rev);
	if (compstore_active(root, name, cur, sizeof(cur)) == 0) {
		if (!strcmp(cur, rev))
			return 0;
		rc = compstore_link_set(root, name, "previous", cur, e);
		if (rc < 0)
			return rc;
	}
	return compstore_link_set(root, name, "active", rev, e);
}

int compstore_rollback(const char *root, const char *name, struct seam_err *e)
{
	char cur[PATH_MAX], prev[PATH_MAX];
	int rc;

	rc = compstore_check(name, NULL, e);
	if (rc < 0)
		return rc;
	if (compstore_previous(root, name, prev, sizeof(prev)) < 0)
		return err_set(e, ENOENT,
			       "component '%s' has no previous revision to "
			       "roll back to",
			       name);
	if (!compstore_has(root, name, prev))
		return err_set(e, ENOENT,
			       "previous revision '%s' of '%s' is gone", prev,
			       name);
	if (compstore_active(root, name, cur, sizeof(cur)) < 0)
		return compstore_link_set(root, name, "active", prev, e);
	return compstore_activate(root, name, prev, e);
}

int compstore_remove(const char *root, const char *name, const char *rev,
		     struct seam_err *e)
{
	char path[PATH_MAX], link[PATH_MAX];
	int rc;

	rc = compstore_check(name, rev, e);
	if (rc < 0)
		return rc;
	if ((compstore_active(root, name, link, sizeof(link)) == 0 &&
	     !strcmp(link, rev)) ||
	    (compstore_previous(root, name, link, sizeof(link)) == 0 &&
	     !strcmp(link, rev)))
		return err_set(e, EBUSY,
			       "revision '%s' of '%s' is active or previous",
			       rev, name);
	compstore_path(root, name, rev, path, sizeof(path));
	snprintf(link, sizeof(link), "%s/%s/.remove-%s-%d", root, name, rev,
		 (int)getpid());
	if (rename(path, link) < 0)
		return err_sys(e, "remove %s", path);
	fs_fsync_parent(path);
	fs_remove_tree(link);
	return 0;
}

static int compstore_cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int compstore_cmp_rev(const void *a, const void *b)
{
	return compstore_version_cmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of dir that are directories with a valid name. */
static size_t compstore_scan(const char *dir, char ***out,
			     int (*cmp)(const void *, const void *))
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t n = 0;
	DIR *d = opendir(dir);

	*out = NULL;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;

		if (compstore_name_check("", de->d_name, NULL) < 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n] = strdup(de->d_name);
		if (v[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp);
	*out = v;
	return n;
}

static void compstore_free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static json_t *compstore_link_json(const char *root, const char *name,
				   const char *link)
{
	char rev[PATH_MAX];

	if (compstore_link_read(root, name, link, rev, sizeof(rev)) < 0)
		return json_null();
	return json_string(rev);
}

/*
 * One component: its revisions in version order, active, previous, and
 * staged = installed revisions newer than the active one (what an apply
 * would switch to).
 */
static json_t *compstore_describe(const char *root, const char *name)
{
	json_t *c = json_pack("{s:s}", "name", name), *revs = json_array();
	json_t *staged = json_array(), *active;
	char dir[PATH_MAX];
	char **v;
	size_t i, n;

	active = compstore_link_json(root, name, "active");
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	n = compstore_scan(dir, &v, compstore_cmp_rev);
	for (i = 0; i < n; i++) {
		json_array_append_new(revs, json_string(v[i]));
		if (!json_is_string(active) ||
		    compstore_version_cmp(v[i], json_string_value(active)) > 0)
			json_array_append_new(staged, json_string(v[i]));
	}
	compstore_free_names(v, n);
	json_object_set_new(c, "revisions", revs);
	json_object_set_new(c, "active", active);
	json_object_set_new(c, "previous",
			    compstore_link_json(root, name, "previous"));
	json_object_set_new(c, "staged", staged);
	return c;
}

json_t *compstore_list(const char *root)
{
	json_t *arr = json_array();
	char **v;
	size_t i, n;

	n = compstore_scan(root, &v, compstore_cmp_name);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, compstore_describe(root, v[i]));
	compstore_free_names(v, n);
	return arr;
}
