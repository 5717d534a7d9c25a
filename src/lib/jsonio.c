/*
 * jsonio.c — see jsonio.h.
 *
 * Duplicate keys are refused at parse time (JSON_REJECT_DUPLICATES): two
 * values for one field is ambiguous input, and ambiguity is refused.
 */
#include "jsonio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

#define JSONIO_MAX_FILE (16u << 20)

int jsonio_parse_object(const char *buf, size_t len, json_t **out,
			struct seam_err *e)
{
	json_error_t je;
	json_t *j;

	*out = NULL;
	if (len == 0)
		return err_set(e, EINVAL, "malformed JSON: empty body");
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return err_set(e, EINVAL,
			       "malformed JSON at line %d column %d: %s",
			       je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(e, EINVAL,
			       "malformed JSON: the body must be an object");
	}
	*out = j;
	return 0;
}

const char *jsonio_type_name(enum jsonio_type t)
{
	switch (t) {
	case JSONIO_STRING:
		return "a string";
	case JSONIO_INTEGER:
		return "an integer";
	case JSONIO_NUMBER:
		return "a number";
	case JSONIO_BOOL:
		return "a boolean";
	case JSONIO_OBJECT:
		return "an object";
	case JSONIO_ARRAY:
		return "an array";
	case JSONIO_STRING_OR_INTEGER:
		return "a string or an integer";
	case JSONIO_ANY:
		break;
	}
	return "any value";
}

static bool jsonio_type_ok(const json_t *v, enum jsonio_type t)
{
	switch (t) {
	case JSONIO_STRING:
		return json_is_string(v);
	case JSONIO_INTEGER:
		return json_is_integer(v);
	case JSONIO_NUMBER:
		return json_is_number(v);
	case JSONIO_BOOL:
		return json_is_boolean(v);
	case JSONIO_OBJECT:
		return json_is_object(v);
	case JSONIO_ARRAY:
		return json_is_array(v);
	case JSONIO_STRING_OR_INTEGER:
		return json_is_string(v) || json_is_integer(v);
	case JSONIO_ANY:
		break;
	}
	return true;
}

static const struct jsonio_field *
jsonio_field_find(const struct jsonio_field *fields, const char *name)
{
	for (; fields && fields->name; fields++)
		if (!strcmp(fields->name, name))
			return fields;
	return NULL;
}

int jsonio_check_fields(const json_t *obj, const struct jsonio_field *fields,
			struct seam_err *e)
{
	const struct jsonio_field *f;
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return err_set(e, EINVAL, "the body must be a JSON object");
	json_object_foreach((json_t *)obj, key, v)
	{
		f = jsonio_field_find(fields, key);
		if (!f)
			return err_set(e, EINVAL, "unknown field '%s'", key);
		if (!jsonio_type_ok(v, f->type))
			return err_set(e, EINVAL, "field '%s' must be %s", key,
				       jsonio_type_name(f->type));
	}
	for (f = fields; f && f->name; f++)
		if (f->required && !json_object_get(obj, f->name))
			return err_set(e, EINVAL, "missing field '%s'",
				       f->name);
	return 0;
}

int jsonio_load_file(const char *path, json_t **out, struct seam_err *e)
{
	struct seam_err pe = {0};
	char *buf;
	size_t len;
	int rc;

	rc = fs_read_file(path, JSONIO_MAX_FILE, &buf, &len, e);
	if (rc < 0)
		return rc;
	rc = jsonio_parse_object(buf, len, out, &pe);
	free(buf);
	if (rc < 0)
		return err_set(e, EINVAL, "%s: %s", path, pe.msg);
	return 0;
}

int jsonio_save_file(const char *path, const json_t *obj, mode_t mode,
		     struct seam_err *e)
{
	char *s = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
	int rc;

	if (!s)
		return err_set(e, ENOMEM, "cannot serialise %s", path);
	rc = fs_write_atomic(path, s, strlen(s), mode, e);
	free(s);
	return rc;
}
