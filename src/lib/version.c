/*
 * version.c — see version.h. Strict parsing: no signs, no spaces, no empty
 * fields, exactly four fields, each 1..9 decimal digits, so every version
 * that reaches a manifest, a store or a comparison is well formed.
 */
#include "version.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parse one run of digits at *p; advance *p past it. */
static int version_parse_number(const char **p, uint32_t *out, uint8_t *width)
{
	const char *s = *p;
	uint32_t n = 0;
	size_t digits = 0;

	while (*s >= '0' && *s <= '9') {
		if (++digits > VERSION_FIELD_DIGITS)
			return -ERANGE;
		n = n * 10 + (uint32_t)(*s - '0');
		s++;
	}
	if (digits == 0)
		return -EINVAL;
	*out = n;
	if (width)
		*width = (uint8_t)digits;
	*p = s;
	return 0;
}

static const char *version_field_name(int i)
{
	static const char *const names[VERSION_FIELDS] = {"MAJOR", "MINOR",
							  "UPDATE", "PATCH"};
	return names[i];
}

int version_parse(const char *text, struct seam_version *v, struct seam_err *e)
{
	struct seam_version out = {0};
	const char *p = text;
	int i, rc;

	if (!text)
		return err_set(e, EINVAL, "version missing");
	for (i = 0; i < VERSION_FIELDS; i++) {
		rc = version_parse_number(&p, &out.v_field[i], &out.v_width[i]);
		if (rc == -ERANGE)
			return err_set(e, EINVAL,
				       "version \"%.40s\": %s field has more "
				       "than %d digits",
				       text, version_field_name(i),
				       VERSION_FIELD_DIGITS);
		if (rc < 0)
			return err_set(
			    e, EINVAL,
			    "version \"%.40s\": %s field is not a "
			    "decimal number (expected "
			    "MAJOR.MINOR.UPDATE.PATCH, e.g. 1.0.0.0100)",
			    text, version_field_name(i));
		if (i < VERSION_FIELDS - 1) {
			if (*p != '.')
				return err_set(
				    e, EINVAL,
				    "version \"%.40s\": expected '.' "
				    "after the %s field (four fields: "
				    "MAJOR.MINOR.UPDATE.PATCH)",
				    text, version_field_name(i));
			p++;
		}
	}
	if (*p == '-') {
		p++;
		if (version_parse_number(&p, &out.v_build, NULL) < 0)
			return err_set(e, EINVAL,
				       "version \"%.40s\": build number after "
				       "'-' is not a decimal number of at most "
				       "%d digits",
				       text, VERSION_FIELD_DIGITS);
		out.v_has_build = true;
	}
	if (*p != '\0')
		return err_set(e, EINVAL,
			       "version \"%.40s\": unexpected text \"%.20s\" "
			       "after the PATCH field",
			       text, p);
	*v = out;
	return 0;
}

int version_format(const struct seam_version *v, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%0*u.%0*u.%0*u.%0*u",
		     v->v_width[0] ? v->v_width[0] : 1, v->v_field[0],
		     v->v_width[1] ? v->v_width[1] : 1, v->v_field[1],
		     v->v_width[2] ? v->v_width[2] : 1, v->v_field[2],
		     v->v_width[3] ? v->v_width[3] : 1, v->v_field[3]);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	if (v->v_has_build) {
		int m = snprintf(buf + n, len - (size_t)n, "-%u", v->v_build);
		if (m < 0 || (size_t)m >= len - (size_t)n)
			return -ENOSPC;
	}
	return 0;
}

int version_cmp(const struct seam_version *a, const struct seam_version *b)
{
	int i;

	for (i = 0; i < VERSION_FIELDS; i++) {
		if (a->v_field[i] != b->v_field[i])
			return a->v_field[i] < b->v_field[i] ? -1 : 1;
	}
	return 0;
}

bool version_equal(const struct seam_version *a, const struct seam_version *b)
{
	return version_cmp(a, b) == 0;
}
