/*
 * fsutil.h — the few file-system moves every daemon's state relies on.
 *
 * Seam never half-writes its state (DESIGN §6): a file is written aside, its
 * data fsync'ed, renamed over the old one, and the directory fsync'ed, so a
 * crash leaves either the old or the new contents and never a torn file.
 * fs_write_atomic() is that sequence; the rest are the helpers around it
 * (recursive mkdir, bounded reads, tree copy and removal).
 */
#ifndef SEAM_FSUTIL_H
#define SEAM_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Write buf to path atomically (aside + fsync + rename + fsync dir). */
int fs_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
		    struct seam_err *e);
/* fsync the directory that holds path (after a rename or unlink in it). */
int fs_fsync_parent(const char *path);
int fs_fsync_path(const char *path);
/* mkdir -p; existing directories are fine. */
int fs_mkdir_p(const char *path, mode_t mode, struct seam_err *e);
/*
 * Read a whole file, at most max bytes (-EFBIG past it). *buf is owned by the
 * caller and NUL-terminated.
 */
int fs_read_file(const char *path, size_t max, char **buf, size_t *len,
		 struct seam_err *e);
/* rm -rf; a missing path is fine. Does not follow symlinks. */
int fs_remove_tree(const char *path);
/* Copy a tree of regular files, directories and symlinks; fsync each file. */
int fs_copy_tree(const char *src, const char *dst, struct seam_err *e);
int fs_exists(const char *path);
/* snprintf for paths: -ENAMETOOLONG (and buf cut) when it does not fit. */
int fs_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
