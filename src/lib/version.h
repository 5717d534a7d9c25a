/*
 * version.h — Seam release versions: MAJOR.MINOR.UPDATE.PATCH.
 *
 * A release is written with four decimal fields, `1.0.0.0` or `1.0.0.0100`,
 * and compared field by field as numbers (`0100` is 100, so `1.0.0.0100` is
 * newer than `1.0.0.99`). People write the patch field zero-padded, so the
 * parser remembers how wide each field was written and version_format()
 * gives back exactly the text it was given; comparisons ignore the widths.
 * A build number may travel beside the version, written `1.0.0.0100-4711`;
 * it identifies one build of a release and never takes part in ordering or
 * equality. Parse errors name the offending text.
 */
#ifndef SEAM_VERSION_H
#define SEAM_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VERSION_FIELDS 4
#define VERSION_FIELD_DIGITS 9 /* at most 999999999: fits uint32_t */
#define VERSION_TEXT_MAX 64    /* enough for any formatted version */

struct seam_version {
	uint32_t v_field[VERSION_FIELDS]; /* major, minor, update, patch */
	uint8_t v_width[VERSION_FIELDS];  /* digits as written (>= 1) */
	bool v_has_build;
	uint32_t v_build;
};

/* Parse "A.B.C.D" or "A.B.C.D-BUILD"; the whole string must match. */
int version_parse(const char *text, struct seam_version *v, struct seam_err *e);
/* Write the version as it was written (with "-BUILD" when it has one). */
int version_format(const struct seam_version *v, char *buf, size_t len);
/* <0, 0, >0 like strcmp; field by field as numbers, build ignored. */
int version_cmp(const struct seam_version *a, const struct seam_version *b);
bool version_equal(const struct seam_version *a, const struct seam_version *b);
/* Convenience: a static-buffer-free formatter for messages. */
#define VERSION_STR(v, buf)                                                    \
	(version_format((v), (buf), sizeof(buf)) == 0 ? (buf) : "?")

#endif
