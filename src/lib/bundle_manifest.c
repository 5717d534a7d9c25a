/*
 * bundle_manifest.c — parse and validate a bundle manifest (format 1).
 *
 * The manifest is the one piece of a bundle people write, and the one piece
 * a signature vouches for, so it is read strictly: duplicate keys, unknown
 * fields, wrong types, malformed versions, unknown acceptance levels, bad
 * names and dangling references are all refused, each with the path of the
 * offending field ("components[1] ('vmx'): field 'version': ..."). A field
 * this version does not know could be a restriction it would then ignore;
 * new fields come with a new "format" number instead.
 */
#include "bundle.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHERE_MAX 128

/* Refuse any key of `obj` not listed in `allowed` (NULL-terminated). */
static int manifest_check_keys(json_t *obj, const char *const *allowed,
			       const char *where, struct seam_err *e)
{
	const char *key;
	json_t *val;
	size_t i;

	json_object_foreach(obj, key, val)
	{
		for (i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (!allowed[i])
			return err_set(e, EINVAL,
				       "manifest: %s: unknown field '%.64s'",
				       where, key);
	}
	return 0;
}

static int manifest_get_string(json_t *obj, const char *key, bool required,
			       const char *where, const char **out,
			       struct seam_err *e)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v) {
		if (required)
			return err_set(e, EINVAL,
				       "manifest: %s: field '%s' missing",
				       where, key);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(e, EINVAL,
			       "manifest: %s: field '%s' must be a string",
			       where, key);
	*out = json_string_value(v);
	return 0;
}

static int manifest_dup_string(json_t *obj, const char *key, const char *where,
			       char **out, struct seam_err *e)
{
	const char *s;
	int rc = manifest_get_string(obj, key, false, where, &s, e);

	*out = NULL;
	if (rc < 0 || !s)
		return rc;
	*out = strdup(s);
	return *out ? 0 : err_set(e, ENOMEM, "manifest: out of memory");
}

static int manifest_parse_version_text(const char *text, const char *where,
				       const char *field,
				       struct seam_version *v,
				       struct seam_err *e)
{
	struct seam_err ve;

	if (version_parse(text, v, &ve) < 0)
		return err_set(e, EINVAL, "manifest: %s: field '%s': %s", where,
			       field, ve.msg);
	return 0;
}

/* "version" (required) and "build" (optional integer). */
static int manifest_get_version(json_t *obj, const char *where,
				struct seam_version *v, struct seam_err *e)
{
	const char *text;
	json_t *build;
	int rc;

	rc = manifest_get_string(obj, "version", true, where, &text, e);
	if (rc < 0)
		return rc;
	rc = manifest_parse_version_text(text, where, "version", v, e);
	if (rc < 0)
		return rc;
	build = json_object_get(obj, "build");
	if (!build)
		return 0;
	if (!json_is_integer(build) || json_integer_value(build) < 0 ||
	    json_integer_value(build) > 999999999)
		return err_set(e, EINVAL,
			       "manifest: %s: field 'build' must be an "
			       "integer from 0 to 999999999",
			       where);
	if (v->v_has_build && v->v_build != (uint32_t)json_integer_value(build))
		return err_set(e, EINVAL,
			       "manifest: %s: field 'build' disagrees with "
			       "the build in 'version' \"%s\"",
			       where, text);
	v->v_has_build = true;
	v->v_build = (uint32_t)json_integer_value(build);
	return 0;
}

/* An optional array of version strings; `present` says if it was there. */
static int manifest_get_versions(json_t *obj, const char *key,
				 const char *where, bool *present,
				 struct seam_version **out, size_t *n,
				 struct seam_err *e)
{
	json_t *arr = json_object_get(obj, key), *item;
	char field[64];
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if (present)
		*present = arr != NULL;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err_set(e, EINVAL,
			       "manifest: %s: field '%s' must be an array of "
			       "version strings",
			       where, key);
	if (json_array_size(arr) == 0)
		return 0;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (!*out)
		return err_set(e, ENOMEM, "manifest: out of memory");
	json_array_foreach(arr, i, item)
	{
		snprintf(field, sizeof(field), "%s[%zu]", key, i);
		if (!json_is_string(item))
			return err_set(e, EINVAL,
				       "manifest: %s: field '%s' must be a "
				       "version string",
				       where, field);
		rc = manifest_parse_version_text(json_string_value(item), where,
						 field, &(*out)[i], e);
		if (rc < 0)
			return rc;
		*n = i + 1;
	}
	return 0;
}

/* Names: 1..64 of [a-z0-9-], starting with a letter or digit. */
static bool manifest_name_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > BUNDLE_NAME_MAX || s[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

static int manifest_get_name(json_t *obj, const char *where, char **out,
			     struct seam_err *e)
{
	const char *s;
	int rc = manifest_get_string(obj, "name", true, where, &s, e);

	if (rc < 0)
		return rc;
	if (!manifest_name_ok(s))
		return err_set(e, EINVAL,
			       "manifest: %s: name \"%.80s\" is invalid (1 to "
			       "%d of a-z, 0-9 and '-', not starting with "
			       "'-')",
			       where, s, BUNDLE_NAME_MAX);
	*out = strdup(s);
	return *out ? 0 : err_set(e, ENOMEM, "manifest: out of memory");
}

static bool manifest_hex_ok(const char *s)
{
	size_t i;

	if (strlen(s) != BUNDLE_DIGEST_HEX - 1)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Script names: NN_<component>-scan or NN_<component>-apply. */
static bool manifest_script_ok(const char *s, const char *component)
{
	size_t clen = strlen(component), len = strlen(s);
	const char *rest;

	if (len < 4 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[2] != '_')
		return false;
	rest = s + 3;
	if (strncmp(rest, component, clen) != 0 || rest[clen] != '-')
		return false;
	rest += clen + 1;
	return strcmp(rest, "scan") == 0 || strcmp(rest, "apply") == 0;
}

static int manifest_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int manifest_get_scripts(json_t *obj, const char *where,
				struct bundle_component *c, struct seam_err *e)
{
	json_t *arr = json_object_get(obj, "scripts"), *item;
	size_t i, j;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return err_set(e, EINVAL,
			       "manifest: %s: field 'scripts' must be an array "
			       "of script names",
			       where);
	if (json_array_size(arr) == 0)
		return 0;
	c->c_scripts = calloc(json_array_size(arr), sizeof(char *));
	if (!c->c_scripts)
		return err_set(e, ENOMEM, "manifest: out of memory");
	json_array_foreach(arr, i, item)
	{
		const char *s = json_string_value(item);
		if (!s || !manifest_script_ok(s, c->c_name))
			return err_set(
			    e, EINVAL,
			    "manifest: %s: scripts[%zu] \"%.80s\" is "
			    "not a script name of the form "
			    "NN_%s-scan or NN_%s-apply",
			    where, i, s ? s : "(not a string)", c->c_name,
			    c->c_name);
		for (j = 0; j < c->c_nscripts; j++)
			if (strcmp(c->c_scripts[j], s) == 0)
				return err_set(e, EINVAL,
					       "manifest: %s: script \"%s\" "
					       "listed twice",
					       where, s);
		c->c_scripts[i] = strdup(s);
		if (!c->c_scripts[i])
			return err_set(e, ENOMEM, "manifest: out of memory");
		c->c_nscripts = i + 1;
	}
	qsort(c->c_scripts, c->c_nscripts, sizeof(char *), manifest_cmp_str);
	return 0;
}

static int manifest_get_payload(json_t *obj, const char *where,
				struct bundle_component *c, struct seam_err *e)
{
	static const char *const keys[] = {"sha256", "size", NULL};
	json_t *p = json_object_get(obj, "payload"), *size;
	char pwhere[WHERE_MAX + 16];
	const char *digest;
	int rc;

	if (!p)
		return err_set(e, EINVAL,
			       "manifest: %s: field 'payload' "
			       "missing",
			       where);
	if (!json_is_object(p))
		return err_set(e, EINVAL,
			       "manifest: %s: field 'payload' must "
			       "be an object {\"sha256\", \"size\"}",
			       where);
	snprintf(pwhere, sizeof(pwhere), "%s: payload", where);
	rc = manifest_check_keys(p, keys, pwhere, e);
	if (rc < 0)
		return rc;
	rc = manifest_get_string(p, "sha256", true, pwhere, &digest, e);
	if (rc < 0)
		return rc;
	if (!manifest_hex_ok(digest))
		return err_set(e, EINVAL,
			       "manifest: %s: sha256 \"%.80s\" is "
			       "not 64 lowercase hex digits",
			       pwhere, digest);
	memcpy(c->c_digest, digest, BUNDLE_DIGEST_HEX);
	size = json_object_get(p, "size");
	if (!size)
		return err_set(e, EINVAL, "manifest: %s: field 'size' missing",
			       pwhere);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return err_set(e, EINVAL,
			       "manifest: %s: field 'size' must be "
			       "a non-negative integer",
			       pwhere);
	c->c_size = (uint64_t)json_integer_value(size);
	return 0;
}

static int manifest_parse_component(json_t *obj, size_t idx,
				    struct bundle_component *c,
				    struct seam_err *e)
{
	static const char *const keys[] = {
	    "name",	   "version", "build",		 "acceptance",
	    "payload",	   "scripts", "live_patch_from", "fsr_required",
	    "description", NULL};
	char where[WHERE_MAX];
	const char *level;
	json_t *fsr;
	int rc;

	snprintf(where, sizeof(where), "components[%zu]", idx);
	if (!json_is_object(obj))
		return err_set(e, EINVAL, "manifest: %s must be an object",
			       where);
	rc = manifest_get_name(obj, where, &c->c_name, e);
	if (rc < 0)
		return rc;
	snprintf(where, sizeof(where), "components[%zu] ('%s')", idx,
		 c->c_name);
	if ((rc = manifest_check_keys(obj, keys, where, e)) < 0 ||
	    (rc = manifest_get_version(obj, where, &c->c_version, e)) < 0 ||
	    (rc = manifest_get_string(obj, "acceptance", true, where, &level,
				      e)) < 0)
		return rc;
	{
		struct seam_err le;
		if (bundle_level_parse(level, &c->c_level, &le) < 0)
			return err_set(e, EINVAL,
				       "manifest: %s: field "
				       "'acceptance': %s",
				       where, le.msg);
	}
	if ((rc = manifest_get_payload(obj, where, c, e)) < 0 ||
	    (rc = manifest_get_scripts(obj, where, c, e)) < 0 ||
	    (rc = manifest_get_versions(
		 obj, "live_patch_from", where, &c->c_live_patchable,
		 &c->c_live_patch_from, &c->c_nlive_patch_from, e)) < 0 ||
	    (rc = manifest_dup_string(obj, "description", where,
				      &c->c_description, e)) < 0)
		return rc;
	fsr = json_object_get(obj, "fsr_required");
	if (fsr && !json_is_boolean(fsr))
		return err_set(e, EINVAL,
			       "manifest: %s: field 'fsr_required' "
			       "must be true or false",
			       where);
	c->c_fsr_required = fsr && json_is_true(fsr);
	if (c->c_fsr_required && !c->c_live_patchable)
		return err_set(e, EINVAL,
			       "manifest: %s: 'fsr_required' is "
			       "only meaningful with 'live_patch_from'",
			       where);
	return 0;
}

/* {"name": "version", ...} into refs. */
static int manifest_get_refs(json_t *obj, const char *key, const char *where,
			     bool required, struct bundle_ref **out, size_t *n,
			     struct seam_err *e)
{
	json_t *map = json_object_get(obj, key), *val;
	char field[BUNDLE_NAME_MAX + 32];
	const char *name;
	int rc;

	*out = NULL;
	*n = 0;
	if (!map) {
		if (required)
			return err_set(e, EINVAL,
				       "manifest: %s: field '%s' "
				       "missing",
				       where, key);
		return 0;
	}
	if (!json_is_object(map))
		return err_set(e, EINVAL,
			       "manifest: %s: field '%s' must be an "
			       "object {\"component\": \"version\"}",
			       where, key);
	if (json_object_size(map) == 0)
		return 0;
	*out = calloc(json_object_size(map), sizeof(**out));
	if (!*out)
		return err_set(e, ENOMEM, "manifest: out of memory");
	json_object_foreach(map, name, val)
	{
		struct bundle_ref *r = &(*out)[*n];
		if (!manifest_name_ok(name))
			return err_set(e, EINVAL,
				       "manifest: %s: %s: component "
				       "name \"%.80s\" is invalid",
				       where, key, name);
		snprintf(field, sizeof(field), "%s.%s", key, name);
		if (!json_is_string(val))
			return err_set(e, EINVAL,
				       "manifest: %s: field '%s' "
				       "must be a version string",
				       where, field);
		rc = manifest_parse_version_text(json_string_value(val), where,
						 field, &r->r_version, e);
		if (rc < 0)
			return rc;
		r->r_name = strdup(name);
		if (!r->r_name)
			return err_set(e, ENOMEM, "manifest: out of memory");
		(*n)++;
	}
	return 0;
}

static int manifest_parse_base(json_t *obj, size_t idx,
			       struct bundle_base_image *bi, struct seam_err *e)
{
	static const char *const keys[] = {"version",	  "build",
					   "components",  "live_patch_from",
					   "description", NULL};
	char where[WHERE_MAX], vbuf[VERSION_TEXT_MAX];
	int rc;

	snprintf(where, sizeof(where), "base_images[%zu]", idx);
	if (!json_is_object(obj))
		return err_set(e, EINVAL, "manifest: %s must be an object",
			       where);
	if ((rc = manifest_get_version(obj, where, &bi->bi_version, e)) < 0)
		return rc;
	snprintf(where, sizeof(where), "base_images[%zu] (%s)", idx,
		 VERSION_STR(&bi->bi_version, vbuf));
	if ((rc = manifest_check_keys(obj, keys, where, e)) < 0 ||
	    (rc = manifest_get_refs(obj, "components", where, true,
				    &bi->bi_components, &bi->bi_ncomponents,
				    e)) < 0 ||
	    (rc = manifest_get_versions(
		 obj, "live_patch_from", where, &bi->bi_live_patchable,
		 &bi->bi_live_patch_from, &bi->bi_nlive_patch_from, e)) < 0 ||
	    (rc = manifest_dup_string(obj, "description", where,
				      &bi->bi_description, e)) < 0)
		return rc;
	if (bi->bi_ncomponents == 0)
		return err_set(e, EINVAL, "manifest: %s: lists no components",
			       where);
	return 0;
}

static int manifest_parse_addon(json_t *obj, size_t idx, struct bundle_addon *a,
				struct seam_err *e)
{
	static const char *const keys[] = {
	    "name",	  "version",	 "build", "base_versions",
	    "components", "description", NULL};
	char where[WHERE_MAX];
	bool present;
	int rc;

	snprintf(where, sizeof(where), "addons[%zu]", idx);
	if (!json_is_object(obj))
		return err_set(e, EINVAL, "manifest: %s must be an object",
			       where);
	if ((rc = manifest_get_name(obj, where, &a->a_name, e)) < 0)
		return rc;
	snprintf(where, sizeof(where), "addons[%zu] ('%s')", idx, a->a_name);
	if ((rc = manifest_check_keys(obj, keys, where, e)) < 0 ||
	    (rc = manifest_get_version(obj, where, &a->a_version, e)) < 0 ||
	    (rc = manifest_get_versions(obj, "base_versions", where, &present,
					&a->a_base_versions,
					&a->a_nbase_versions, e)) < 0 ||
	    (rc = manifest_get_refs(obj, "components", where, true,
				    &a->a_components, &a->a_ncomponents, e)) <
		0 ||
	    (rc = manifest_dup_string(obj, "description", where,
				      &a->a_description, e)) < 0)
		return rc;
	if (a->a_nbase_versions == 0)
		return err_set(e, EINVAL,
			       "manifest: %s: field 'base_versions' "
			       "must list at least one base image version",
			       where);
	return 0;
}

static int manifest_parse_array(json_t *root, const char *key, bool required,
				size_t elem, void **out, size_t *n,
				int (*parse)(json_t *, size_t, void *,
					     struct seam_err *),
				struct seam_err *e)
{
	json_t *arr = json_object_get(root, key), *item;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if (!arr) {
		if (required)
			return err_set(e, EINVAL,
				       "manifest: field '%s' missing", key);
		return 0;
	}
	if (!json_is_array(arr))
		return err_set(e, EINVAL,
			       "manifest: field '%s' must be an "
			       "array",
			       key);
	if (json_array_size(arr) == 0)
		return 0;
	*out = calloc(json_array_size(arr), elem);
	if (!*out)
		return err_set(e, ENOMEM, "manifest: out of memory");
	json_array_foreach(arr, i, item)
	{
		*n = i + 1;
		rc = parse(item, i, (char *)*out + i * elem, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int manifest_parse_component_cb(json_t *j, size_t i, void *p,
				       struct seam_err *e)
{
	return manifest_parse_component(j, i, p, e);
}

static int manifest_parse_base_cb(json_t *j, size_t i, void *p,
				  struct seam_err *e)
{
	return manifest_parse_base(j, i, p, e);
}

static int manifest_parse_addon_cb(json_t *j, size_t i, void *p,
				   struct seam_err *e)
{
	return manifest_parse_addon(j, i, p, e);
}

static const struct bundle_component *
manifest_find(const struct bundle_manifest *m, const char *name,
	      const struct seam_version *v)
{
	size_t i;

	for (i = 0; i < m->m_ncomponents; i++)
		if (strcmp(m->m_components[i].c_name, name) == 0 &&
		    version_equal(&m->m_components[i].c_version, v))
			return &m->m_components[i];
	return NULL;
}

static int manifest_check_refs(const struct bundle_manifest *m,
			       const char *what, const struct seam_version *v,
			       const struct bundle_ref *refs, size_t n,
			       struct seam_err *e)
{
	char vbuf[VERSION_TEXT_MAX], rbuf[VERSION_TEXT_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		if (!manifest_find(m, refs[i].r_name, &refs[i].r_version))
			return err_set(e, EINVAL,
				       "manifest: %s %s: component "
				       "'%s' %s is not in this bundle's "
				       "components",
				       what, VERSION_STR(v, vbuf),
				       refs[i].r_name,
				       VERSION_STR(&refs[i].r_version, rbuf));
	return 0;
}

/* Cross-field rules: unique releases, resolvable references. */
static int manifest_check(const struct bundle_manifest *m, struct seam_err *e)
{
	char vbuf[VERSION_TEXT_MAX];
	size_t i, j;
	int rc;

	for (i = 0; i < m->m_ncomponents; i++)
		for (j = 0; j < i; j++)
			if (strcmp(m->m_components[i].c_name,
				   m->m_components[j].c_name) == 0 &&
			    version_equal(&m->m_components[i].c_version,
					  &m->m_components[j].c_version))
				return err_set(
				    e, EINVAL,
				    "manifest: "
				    "components[%zu]: component "
				    "'%s' %s listed twice",
				    i, m->m_components[i].c_name,
				    VERSION_STR(&m->m_components[i].c_version,
						vbuf));
	for (i = 0; i < m->m_nbase_images; i++) {
		const struct bundle_base_image *bi = &m->m_base_images[i];
		for (j = 0; j < i; j++)
			if (version_equal(&bi->bi_version,
					  &m->m_base_images[j].bi_version))
				return err_set(
				    e, EINVAL,
				    "manifest: base image "
				    "%s listed twice",
				    VERSION_STR(&bi->bi_version, vbuf));
		rc = manifest_check_refs(m, "base image", &bi->bi_version,
					 bi->bi_components, bi->bi_ncomponents,
					 e);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < m->m_naddons; i++) {
		const struct bundle_addon *a = &m->m_addons[i];
		char what[BUNDLE_NAME_MAX + 16];

		snprintf(what, sizeof(what), "add-on '%s'", a->a_name);
		rc = manifest_check_refs(m, what, &a->a_version,
					 a->a_components, a->a_ncomponents, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int bundle_manifest_parse(const char *bytes, size_t len,
			  struct bundle_manifest *m, struct seam_err *e)
{
	static const char *const keys[] = {
	    "format", "name",	    "description", "base_images",
	    "addons", "components", NULL};
	json_error_t jerr;
	json_t *root, *format;
	int rc;

	memset(m, 0, sizeof(*m));
	root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(e, EINVAL,
			       "manifest.json is not valid JSON: "
			       "line %d column %d: %s",
			       jerr.line, jerr.column, jerr.text);
	rc = -EINVAL;
	if (!json_is_object(root)) {
		err_set(e, EINVAL,
			"manifest.json: top level must be a JSON "
			"object");
		goto out;
	}
	format = json_object_get(root, "format");
	if (!format || !json_is_integer(format)) {
		err_set(e, EINVAL,
			"manifest: field 'format' missing or not an "
			"integer (this reader knows format %d)",
			BUNDLE_FORMAT);
		goto out;
	}
	if (json_integer_value(format) != BUNDLE_FORMAT) {
		err_set(e, EINVAL,
			"manifest: unknown manifest format %lld "
			"(this reader knows format %d)",
			(long long)json_integer_value(format), BUNDLE_FORMAT);
		goto out;
	}
	m->m_format = BUNDLE_FORMAT;
	if ((rc = manifest_check_keys(root, keys, "top level", e)) < 0 ||
	    (rc = manifest_dup_string(root, "name", "top level", &m->m_name,
				      e)) < 0 ||
	    (rc = manifest_dup_string(root, "description", "top level",
				      &m->m_description, e)) < 0 ||
	    (rc = manifest_parse_array(
		 root, "components", true, sizeof(struct bundle_component),
		 (void **)&m->m_components, &m->m_ncomponents,
		 manifest_parse_component_cb, e)) < 0 ||
	    (rc = manifest_parse_array(
		 root, "base_images", false, sizeof(struct bundle_base_image),
		 (void **)&m->m_base_images, &m->m_nbase_images,
		 manifest_parse_base_cb, e)) < 0 ||
	    (rc = manifest_parse_array(root, "addons", false,
				       sizeof(struct bundle_addon),
				       (void **)&m->m_addons, &m->m_naddons,
				       manifest_parse_addon_cb, e)) < 0)
		goto out;
	if (m->m_ncomponents == 0) {
		rc = err_set(e, EINVAL, "manifest: lists no components");
		goto out;
	}
	rc = manifest_check(m, e);
out:
	json_decref(root);
	if (rc < 0)
		bundle_manifest_release(m);
	return rc;
}

static void manifest_free_refs(struct bundle_ref *r, size_t n)
{
	size_t i;

	for (i = 0; r && i < n; i++)
		free(r[i].r_name);
	free(r);
}

static void manifest_free_component(struct bundle_component *c)
{
	size_t i;

	free(c->c_name);
	for (i = 0; c->c_scripts && i < c->c_nscripts; i++)
		free(c->c_scripts[i]);
	free(c->c_scripts);
	free(c->c_live_patch_from);
	free(c->c_description);
}

void bundle_manifest_release(struct bundle_manifest *m)
{
	size_t i;

	if (!m)
		return;
	/* Arrays may be partly filled after an error: free what is there. */
	for (i = 0; m->m_components && i < m->m_ncomponents; i++)
		manifest_free_component(&m->m_components[i]);
	free(m->m_components);
	for (i = 0; m->m_base_images && i < m->m_nbase_images; i++) {
		manifest_free_refs(m->m_base_images[i].bi_components,
				   m->m_base_images[i].bi_ncomponents);
		free(m->m_base_images[i].bi_live_patch_from);
		free(m->m_base_images[i].bi_description);
	}
	free(m->m_base_images);
	for (i = 0; m->m_addons && i < m->m_naddons; i++) {
		free(m->m_addons[i].a_name);
		free(m->m_addons[i].a_base_versions);
		manifest_free_refs(m->m_addons[i].a_components,
				   m->m_addons[i].a_ncomponents);
		free(m->m_addons[i].a_description);
	}
	free(m->m_addons);
	free(m->m_name);
	free(m->m_description);
	memset(m, 0, sizeof(*m));
}
