/*
 * afile.c — see afile.h. The temporary name is mkstemp()-unique and starts
 * with '.', so a directory listing never shows it as a real entry.
 */
#include "afile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int afile_open(struct afile *f, const char *path, mode_t mode,
	       struct seam_err *e)
{
	char dir[PATH_MAX], base[PATH_MAX];
	int n;

	f->af_fd = -1;
	f->af_tmp[0] = '\0';
	if (snprintf(f->af_path, sizeof(f->af_path), "%s", path) >=
	    (int)sizeof(f->af_path))
		return err_set(e, ENAMETOOLONG, "%s: path too long", path);
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	n = snprintf(f->af_tmp, sizeof(f->af_tmp), "%s/.%s.XXXXXX",
		     dirname(dir), basename(base));
	if (n < 0 || n >= (int)sizeof(f->af_tmp))
		return err_set(e, ENAMETOOLONG, "%s: path too long", path);
	f->af_fd = mkostemp(f->af_tmp, O_CLOEXEC);
	if (f->af_fd < 0) {
		f->af_tmp[0] = '\0';
		return err_sys(e,
			       "%s: cannot create a temporary file beside "
			       "it",
			       path);
	}
	if (fchmod(f->af_fd, mode) < 0) {
		int rc = err_sys(e, "%s: chmod", f->af_tmp);
		afile_abort(f);
		return rc;
	}
	return 0;
}

int afile_write(struct afile *f, const void *buf, size_t len,
		struct seam_err *e)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(f->af_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "%s: write", f->af_path);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int afile_sync_dir(const char *path, struct seam_err *e)
{
	char dir[PATH_MAX];
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "%s: open directory", dir);
	if (fsync(fd) < 0)
		rc = err_sys(e, "%s: fsync directory", dir);
	close(fd);
	return rc;
}

int afile_commit(struct afile *f, struct seam_err *e)
{
	int rc;

	if (fsync(f->af_fd) < 0) {
		rc = err_sys(e, "%s: fsync", f->af_path);
		afile_abort(f);
		return rc;
	}
	if (close(f->af_fd) < 0) {
		f->af_fd = -1;
		rc = err_sys(e, "%s: close", f->af_path);
		afile_abort(f);
		return rc;
	}
	f->af_fd = -1;
	if (rename(f->af_tmp, f->af_path) < 0) {
		rc = err_sys(e, "%s: rename into place", f->af_path);
		afile_abort(f);
		return rc;
	}
	f->af_tmp[0] = '\0';
	return afile_sync_dir(f->af_path, e);
}

void afile_abort(struct afile *f)
{
	if (f->af_fd >= 0) {
		close(f->af_fd);
		f->af_fd = -1;
	}
	if (f->af_tmp[0]) {
		unlink(f->af_tmp);
		f->af_tmp[0] = '\0';
	}
}
