/*
 * fsutil.c — see fsutil.h.
 *
 * fs_write_atomic() is afile.c's write-aside, fsync, rename in one call:
 * each writer gets its own mkstemp() temporary, so two writers (threads or
 * processes) of the same file never share one; the last rename wins, which
 * is what a state file wants.
 */
#include "fsutil.h"

#include "afile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = -errno;
	close(fd);
	return rc;
}

int fs_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return fs_fsync_path(".");
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fs_fsync_path(dir);
}

int fs_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
		    struct seam_err *e)
{
	struct afile f;
	int rc;

	rc = afile_open(&f, path, mode, e);
	if (rc < 0)
		return rc;
	rc = afile_write(&f, buf, len, e);
	if (rc < 0) {
		afile_abort(&f);
		return rc;
	}
	return afile_commit(&f, e);
}

int fs_mkdir_p(const char *path, mode_t mode, struct seam_err *e)
{
	char buf[PATH_MAX];
	size_t i, n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s", path);
	if (n >= sizeof(buf))
		return err_set(e, ENAMETOOLONG, "path too long: %s", path);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return err_sys(e, "mkdir %s", buf);
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

int fs_read_file(const char *path, size_t max, char **buf, size_t *len,
		 struct seam_err *e)
{
	struct stat st;
	char *p;
	size_t n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open %s", path);
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > max) {
		close(fd);
		if ((size_t)st.st_size > max)
			return err_set(e, EFBIG, "%s is larger than %zu bytes",
				       path, max);
		return err_sys(e, "stat %s", path);
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		close(fd);
		return err_set(e, ENOMEM, "no memory to read %s", path);
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, p + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	if (len)
		*len = n;
	return 0;
}

int fs_remove_tree(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (fs_remove_tree(sub) < 0)
			rc = -errno;
	}
	closedir(d);
	if (rmdir(path) < 0)
		rc = -errno;
	return rc;
}

static int fs_copy_file(const char *src, const char *dst, mode_t mode,
			struct seam_err *e)
{
	char buf[65536];
	int in, out, rc = 0;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_sys(e, "open %s", src);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	if (out < 0) {
		close(in);
		return err_sys(e, "create %s", dst);
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || fs_write_all(out, buf, (size_t)n) < 0) {
			rc = err_sys(e, "copy %s to %s", src, dst);
			break;
		}
	}
	if (rc == 0 && (fchmod(out, mode & 07777) < 0 || fsync(out) < 0))
		rc = err_sys(e, "sync %s", dst);
	close(in);
	close(out);
	return rc;
}

int fs_copy_tree(const char *src, const char *dst, struct seam_err *e)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (lstat(src, &st) < 0)
		return err_sys(e, "stat %s", src);
	if (S_ISREG(st.st_mode))
		return fs_copy_file(src, dst, st.st_mode, e);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(src, target, sizeof(target) - 1);

		if (n < 0)
			return err_sys(e, "readlink %s", src);
		target[n] = '\0';
		if (symlink(target, dst) < 0)
			return err_sys(e, "symlink %s", dst);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(e, EINVAL, "%s: not a file, link or directory",
			       src);
	if (mkdir(dst, st.st_mode & 07777) < 0)
		return err_sys(e, "mkdir %s", dst);
	d = opendir(src);
	if (!d)
		return err_sys(e, "opendir %s", src);
	while (rc == 0 && (de = readdir(d))) {
		char s[PATH_MAX], t[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, de->d_name);
		snprintf(t, sizeof(t), "%s/%s", dst, de->d_name);
		rc = fs_copy_tree(s, t, e);
	}
	closedir(d);
	if (rc == 0)
		fs_fsync_path(dst);
	return rc;
}

int fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int fs_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
