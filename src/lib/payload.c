/*
 * payload.c — see payload.h. Unpacking works relative to a directory file
 * descriptor with openat(O_NOFOLLOW | O_EXCL) and mkdirat(), so an entry can
 * neither escape the directory nor write through a link planted by an
 * earlier entry (links are refused anyway; this is the second fence).
 */
#include "payload.h"

#include "afile.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAYLOAD_BLOCK (64 * 1024)
#define PAYLOAD_MTIME 315532800

static mode_t payload_mode(const char *name)
{
	if (strncmp(name, "bin/", 4) == 0 || strncmp(name, "scripts/", 8) == 0)
		return 0755;
	return 0644;
}

static int payload_add(struct archive *a, const struct payload_file *f,
		       struct seam_err *e)
{
	struct archive_entry *entry;
	char block[PAYLOAD_BLOCK];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(f->pf_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "payload: %s", f->pf_path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, EINVAL, "payload: %s is not a regular file",
			       f->pf_path);
	}
	entry = archive_entry_new();
	archive_entry_set_pathname(entry, f->pf_name);
	archive_entry_set_filetype(entry, AE_IFREG);
	archive_entry_set_perm(entry, payload_mode(f->pf_name));
	archive_entry_set_size(entry, st.st_size);
	archive_entry_set_mtime(entry, PAYLOAD_MTIME, 0);
	archive_entry_set_uname(entry, "root");
	archive_entry_set_gname(entry, "root");
	if (archive_write_header(a, entry) != ARCHIVE_OK)
		rc = err_set(e, EIO, "payload: %s: %s", f->pf_name,
			     archive_error_string(a));
	archive_entry_free(entry);
	while (rc == 0 && (n = read(fd, block, sizeof(block))) != 0) {
		if (n < 0)
			rc = err_sys(e, "payload: read %s", f->pf_path);
		else if (archive_write_data(a, block, (size_t)n) != n)
			rc = err_set(e, EIO, "payload: %s: %s", f->pf_name,
				     archive_error_string(a));
	}
	close(fd);
	return rc;
}

int payload_build(const char *out, const struct payload_file *files,
		  size_t nfiles, struct seam_err *e)
{
	struct archive *a;
	struct afile f;
	size_t i;
	int rc;

	rc = afile_open(&f, out, 0644, e);
	if (rc < 0)
		return rc;
	a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK) {
		rc =
		    err_set(e, EIO, "payload %s: libarchive setup failed", out);
		goto fail;
	}
	/* No timestamp in the gzip header: same input, same bytes. */
	archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
	if (archive_write_open_fd(a, f.af_fd) != ARCHIVE_OK) {
		rc = err_set(e, EIO, "payload %s: %s", out,
			     archive_error_string(a));
		goto fail;
	}
	for (i = 0; i < nfiles; i++)
		if ((rc = payload_add(a, &files[i], e)) < 0)
			goto fail;
	if (archive_write_close(a) != ARCHIVE_OK) {
		rc = err_set(e, EIO, "payload %s: %s", out,
			     archive_error_string(a));
		goto fail;
	}
	archive_write_free(a);
	return afile_commit(&f, e);
fail:
	if (a)
		archive_write_free(a);
	afile_abort(&f);
	return rc;
}

static int payload_check_name(const char *name, struct seam_err *e)
{
	const char *p = name;

	if (!name || !*name)
		return err_set(e, EINVAL, "payload: entry with an empty name");
	if (name[0] == '/')
		return err_set(e, EINVAL,
			       "payload: entry '%.200s': absolute "
			       "path not allowed",
			       name);
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return err_set(e, EINVAL,
				       "payload: entry '%.200s': "
				       "'..' path component not allowed",
				       name);
		p += len;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* Walk `name` below dirfd creating directories; return the parent fd. */
static int payload_open_parent(int dirfd, char *name, const char **leaf,
			       struct seam_err *e)
{
	char *p = name, *slash;
	int fd = dup(dirfd), next;

	if (fd < 0)
		return err_sys(e, "payload: dup");
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		if (*p && strcmp(p, ".") != 0) {
			if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST) {
				close(fd);
				return err_sys(e, "payload: mkdir %s", p);
			}
			next = openat(fd, p,
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					  O_CLOEXEC);
			close(fd);
			if (next < 0)
				return err_sys(e, "payload: open dir %s", p);
			fd = next;
		}
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

static int payload_write_entry(struct archive *a, int dirfd,
			       struct archive_entry *entry, uint64_t *total,
			       struct seam_err *e)
{
	char name[4096], walk[4096 + 1], block[PAYLOAD_BLOCK];
	const char *leaf = NULL;
	int pfd, fd, rc = 0;
	mode_t mode;
	la_ssize_t n;

	snprintf(name, sizeof(name), "%s", archive_entry_pathname(entry));
	mode = archive_entry_filetype(entry) == AE_IFDIR ? 0755
	       : (archive_entry_perm(entry) & 0111)	 ? 0755
							 : 0644;
	snprintf(walk, sizeof(walk), "%s%s", name,
		 archive_entry_filetype(entry) == AE_IFDIR ? "/" : "");
	pfd = payload_open_parent(dirfd, walk, &leaf, e);
	if (pfd < 0)
		return pfd;
	if (!*leaf || archive_entry_filetype(entry) == AE_IFDIR) {
		close(pfd);
		return 0;
	}
	fd = openat(pfd, leaf,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = err_sys(e, "payload: create %s", name);
		close(pfd);
		return rc;
	}
	while ((n = archive_read_data(a, block, sizeof(block))) > 0) {
		*total += (uint64_t)n;
		if (*total > PAYLOAD_MAX_TOTAL) {
			rc = err_set(e, EFBIG,
				     "payload: oversized: more than "
				     "%llu bytes unpacked",
				     (unsigned long long)PAYLOAD_MAX_TOTAL);
			break;
		}
		if (write(fd, block, (size_t)n) != n) {
			rc = err_sys(e, "payload: write %s", name);
			break;
		}
	}
	if (rc == 0 && n < 0)
		rc = err_set(e, EIO, "payload: %s: %s", name,
			     archive_error_string(a));
	if (rc == 0 && fsync(fd) < 0)
		rc = err_sys(e, "payload: fsync %s", name);
	close(fd);
	if (rc == 0 && fsync(pfd) < 0) /* the new name, too */
		rc = err_sys(e, "payload: fsync directory of %s", name);
	close(pfd);
	return rc;
}

static int payload_entry(struct archive *a, int dirfd,
			 struct archive_entry *entry, uint64_t *total,
			 struct seam_err *e)
{
	const char *name = archive_entry_pathname(entry);
	mode_t type = archive_entry_filetype(entry);
	int rc;

	rc = payload_check_name(name, e);
	if (rc < 0)
		return rc;
	if (archive_entry_hardlink(entry) || type == AE_IFLNK)
		return err_set(e, EINVAL,
			       "payload: entry '%.200s': links not "
			       "allowed",
			       name);
	if (type != AE_IFREG && type != AE_IFDIR)
		return err_set(e, EINVAL,
			       "payload: entry '%.200s': not a "
			       "regular file or directory",
			       name);
	return payload_write_entry(a, dirfd, entry, total, e);
}

/* Remove everything below dirfd (what a failed unpack made). */
static void payload_clear(int dirfd)
{
	struct dirent *de;
	int fd = dup(dirfd), sub;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			continue;
		sub = openat(dirfd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		payload_clear(sub);
		close(sub);
		unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static bool payload_dir_empty(int dirfd)
{
	struct dirent *de;
	bool empty = true;
	int fd = dup(dirfd);
	DIR *d;

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

int payload_unpack(const char *path, const char *dir, struct seam_err *e)
{
	struct archive_entry *entry;
	struct archive *a;
	uint64_t total = 0;
	unsigned count = 0;
	int dirfd, r, rc = 0;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_sys(e, "payload: %s", dir);
	if (!payload_dir_empty(dirfd)) {
		close(dirfd);
		return err_set(e, ENOTEMPTY,
			       "payload: unpack into %s: directory not empty",
			       dir);
	}
	a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_filename(a, path, PAYLOAD_BLOCK) != ARCHIVE_OK) {
		rc = err_set(e, EINVAL, "payload %s: %s", path,
			     archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		if (++count > PAYLOAD_MAX_ENTRIES) {
			rc = err_set(e, EFBIG,
				     "payload %s: oversized: more "
				     "than %u entries",
				     path, PAYLOAD_MAX_ENTRIES);
			goto out;
		}
		rc = payload_entry(a, dirfd, entry, &total, e);
		if (rc < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF)
		rc = err_set(e, EINVAL, "payload %s: truncated or corrupt: %s",
			     path, archive_error_string(a));
	else if (fsync(dirfd) < 0)
		rc = err_sys(e, "payload: fsync %s", dir);
out:
	archive_read_free(a);
	if (rc < 0)
		payload_clear(dirfd); /* a bad payload leaves nothing */
	close(dirfd);
	return rc;
}
