/*
 * payload.h — component payloads: a gzip'ed tar of bin/ and scripts/.
 *
 * A component's payload (docs/bundles.md) holds its programs under bin/ and
 * its scan/apply scripts under scripts/. payload_build() makes one from files
 * on disk, reproducibly (fixed owner, times and modes: 0755 for bin/ and
 * scripts/, 0644 otherwise). payload_unpack() is the other half, for the
 * component store: it extracts into an empty directory and refuses anything
 * but regular files and directories under relative, `..`-free names, with a
 * bounded entry count and size, never following a link and never replacing
 * an existing file, and leaving nothing behind when it refuses.
 */
#ifndef SEAM_PAYLOAD_H
#define SEAM_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PAYLOAD_MAX_ENTRIES 4096u
#define PAYLOAD_MAX_TOTAL (1ull << 30) /* 1 GiB unpacked */

struct payload_file {
	const char *pf_name; /* name inside, e.g. "bin/seam-vmx" */
	const char *pf_path; /* file on disk */
};

int payload_build(const char *out, const struct payload_file *files,
		  size_t nfiles, struct seam_err *e);
/*
 * Extract into `dir`, which must exist and be empty. On failure everything
 * extracted so far is removed again: `dir` is left empty.
 */
int payload_unpack(const char *path, const char *dir, struct seam_err *e);

#endif
