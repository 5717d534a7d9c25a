/*
 * compstore.h — the component store: revisions side by side, one active.
 *
 * Layout, under STATE/components/:
 *
 *   NAME/REVISION/      one directory per installed revision (the revision
 *                       is the component's version, "1.0.0.0100")
 *   NAME/active      -> REVISION   what new VMs / the next start use
 *   NAME/previous    -> REVISION   what `rollback` returns to
 *   NAME/.stage-*       a revision being installed (never read)
 *
 * Installing writes into a .stage directory, fsyncs it and renames it to its
 * revision: a revision directory is complete or absent. Installing a revision
 * that exists is a no-op. Switching makes a new symlink aside and renames it
 * over `active` (rename is atomic), then fsyncs the directory; `previous`
 * is set first, so after a crash `active` is the old or the new revision and
 * `previous` lets either be rolled back. Running VMs refer to their revision
 * directory itself, never to `active`, so they keep theirs until FSR.
 *
 * The bundle library stages payloads through compstore_stage_begin() /
 * _commit() / _abort(); compstore_install_dir() copies a ready directory.
 */
#ifndef SEAM_HOSTD_COMPSTORE_H
#define SEAM_HOSTD_COMPSTORE_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

#define COMP_NAME_MAX 64

/* Names and revisions: 1-63 of [A-Za-z0-9._-], not starting with '.'. */
int compstore_name_check(const char *what, const char *s, struct seam_err *e);
/* Compare versions field by field as numbers ("1.0.0.10" > "1.0.0.9"). */
int compstore_version_cmp(const char *a, const char *b);

/* root is STATE/components. */
int compstore_init(const char *root, struct seam_err *e);
int compstore_stage_begin(const char *root, const char *name, const char *rev,
			  char *tmpdir, size_t len, struct seam_err *e);
/* fsync the tree and rename it into place; -EEXIST never: a no-op then. */
int compstore_stage_commit(const char *root, const char *name, const char *rev,
			   const char *tmpdir, struct seam_err *e);
void compstore_stage_abort(const char *tmpdir);
/* Copy srcdir in as NAME/REV (staged, then committed). */
int compstore_install_dir(const char *root, const char *name, const char *rev,
			  const char *srcdir, struct seam_err *e);

/* Make REV active (previous = the old active). */
int compstore_activate(const char *root, const char *name, const char *rev,
		       struct seam_err *e);
/* Swap active and previous. */
int compstore_rollback(const char *root, const char *name, struct seam_err *e);
/* The active / previous revision; -ENOENT when none. */
int compstore_active(const char *root, const char *name, char *rev, size_t len);
int compstore_previous(const char *root, const char *name, char *rev,
		       size_t len);
int compstore_has(const char *root, const char *name, const char *rev);
void compstore_path(const char *root, const char *name, const char *rev,
		    char *buf, size_t len);
/* Remove a revision that is neither active nor previous. */
int compstore_remove(const char *root, const char *name, const char *rev,
		     struct seam_err *e);
/*
 * [{"name","active","previous","revisions":[...]}], names and revisions
 * sorted (revisions by version).
 */
json_t *compstore_list(const char *root);

#endif
