/*
 * jsonio.h — JSON in and out of Seam's daemons, strictly.
 *
 * Every object a client sends is checked against a table of the fields it may
 * hold: an unknown field, a missing required one or one of the wrong type is
 * refused with a message that names it. That is what lets a typo ("vcpu"
 * instead of "vcpus") fail loudly instead of silently taking a default.
 * The same module loads and saves JSON state files (atomically, see
 * fsutil.h). jansson does the parsing; this only adds the rules.
 */
#ifndef SEAM_JSONIO_H
#define SEAM_JSONIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

enum jsonio_type {
	JSONIO_STRING,
	JSONIO_INTEGER,
	JSONIO_NUMBER, /* integer or real */
	JSONIO_BOOL,
	JSONIO_OBJECT,
	JSONIO_ARRAY,
	JSONIO_ANY,
	JSONIO_STRING_OR_INTEGER,
};

struct jsonio_field {
	const char *name; /* NULL ends a table */
	enum jsonio_type type;
	bool required;
};

/* Parse buf as one JSON object; the message names the line/column. */
int jsonio_parse_object(const char *buf, size_t len, json_t **out,
			struct seam_err *e);
/* Check obj against fields: unknown, missing and mistyped fields. */
int jsonio_check_fields(const json_t *obj, const struct jsonio_field *fields,
			struct seam_err *e);
const char *jsonio_type_name(enum jsonio_type t);

/* The string at key k of object o, or NULL (absent, not a string, o NULL). */
static inline const char *jsonio_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Load a JSON object from a file (bounded), or save one atomically. */
int jsonio_load_file(const char *path, json_t **out, struct seam_err *e);
int jsonio_save_file(const char *path, const json_t *obj, mode_t mode,
		     struct seam_err *e);

#endif
