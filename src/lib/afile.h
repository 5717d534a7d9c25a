/*
 * afile.h — write a file aside, then make it appear whole or not at all.
 *
 * Seam never leaves a half-written file under a name someone reads: bundles,
 * extracted payloads and keys are written to a temporary file in the target's
 * directory, fsync'ed, renamed over the target, and the directory fsync'ed.
 * An abandoned afile is unlinked, so a failure leaves nothing behind.
 */
#ifndef SEAM_AFILE_H
#define SEAM_AFILE_H

#include <limits.h>
#include <sys/types.h>

#include "err.h"

struct afile {
	int af_fd;		/* -1 once committed or aborted */
	char af_path[PATH_MAX]; /* final name */
	char af_tmp[PATH_MAX];	/* temporary name, same directory */
};

/* Create the temporary file for `path` with permissions `mode`. */
int afile_open(struct afile *f, const char *path, mode_t mode,
	       struct seam_err *e);
/* Write all of buf; a short write is an error. */
int afile_write(struct afile *f, const void *buf, size_t len,
		struct seam_err *e);
/* fsync, close, rename over the final name, fsync the directory. */
int afile_commit(struct afile *f, struct seam_err *e);
/* Close and unlink the temporary file; safe to call after commit. */
void afile_abort(struct afile *f);
/* fsync the directory that holds `path`. */
int afile_sync_dir(const char *path, struct seam_err *e);

#endif
