/*
 * image.c — see image.h. Pure functions over JSON documents.
 */
#include "jsonio.h"
#include "image.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

int image_version_cmp(const char *a, const char *b)
{
	struct seam_version va, vb;

	if (!a || !b || version_parse(a, &va, NULL) < 0 ||
	    version_parse(b, &vb, NULL) < 0)
		return (a && b) ? strcmp(a, b) : (a ? 1 : (b ? -1 : 0));
	return version_cmp(&va, &vb);
}

bool image_version_in(const char *v, const json_t *list)
{
	json_t *x;
	size_t i;

	if (!v)
		return false;
	json_array_foreach((json_t *)list, i,
			   x) if (json_is_string(x) &&
				  image_version_cmp(v, json_string_value(x)) ==
				      0) return true;
	return false;
}

static int image_check_version(const char *what, const char *v,
			       struct seam_err *e)
{
	struct seam_err ve = {0};
	struct seam_version sv;

	if (version_parse(v, &sv, &ve) < 0)
		return err_set(e, EINVAL, "%s: %s", what, ve.msg);
	return 0;
}

static const json_t *image_find_base(const json_t *view, const char *v)
{
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(view, "base_images"), i,
			   b) if (image_version_cmp(jsonio_str(b, "version"), v) ==
				  0) return b;
	return NULL;
}

static const json_t *image_find_addon(const json_t *view, const char *name,
				      const char *v)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(view, "addons"), i,
			   a) if (!strcmp(jsonio_str(a, "name"), name) &&
				  (!v || image_version_cmp(jsonio_str(a, "version"),
							   v) == 0)) return a;
	return NULL;
}

static const json_t *image_find_component(const json_t *view, const char *name,
					  const char *v)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(view, "components"), i,
			   c) if (!strcmp(jsonio_str(c, "name"), name) &&
				  (!v || image_version_cmp(jsonio_str(c, "version"),
							   v) == 0)) return c;
	return NULL;
}

/* Strict field check of a small object: only `allowed` keys. */
static int image_only_fields(const char *what, const json_t *o,
			     const char *const *allowed, struct seam_err *e)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(o))
		return err_set(e, EINVAL, "%s must be an object", what);
	json_object_foreach((json_t *)o, k, v)
	{
		for (i = 0; allowed[i] && strcmp(allowed[i], k); i++)
			;
		if (!allowed[i])
			return err_set(e, EINVAL, "%s: unknown field '%s'",
				       what, k);
	}
	return 0;
}

static int image_validate_base(const json_t *def, const json_t *view,
			       json_t *out, const json_t **base,
			       struct seam_err *e)
{
	const json_t *b = json_object_get(def, "base");
	int rc;

	if (!json_is_string(b))
		return err_set(e, EINVAL,
			       "image: field 'base' (the base image version) "
			       "is required and must be a string");
	if ((rc = image_check_version("image: field 'base'",
				      json_string_value(b), e)) < 0)
		return rc;
	*base = image_find_base(view, json_string_value(b));
	if (!*base)
		return err_set(e, EINVAL,
			       "image: unknown base image version %s (not in "
			       "the depot)",
			       json_string_value(b));
	json_object_set_new(out, "base", json_string(jsonio_str(*base, "version")));
	return 0;
}

static int image_validate_addon(const json_t *def, const json_t *view,
				const json_t *base, json_t *out,
				struct seam_err *e)
{
	static const char *const fields[] = {"name", "version", NULL};
	const json_t *a = json_object_get(def, "addon"), *row;
	const char *name, *ver;
	int rc;

	if (!a || json_is_null(a)) {
		json_object_set_new(out, "addon", json_null());
		return 0;
	}
	if ((rc = image_only_fields("image: field 'addon'", a, fields, e)) < 0)
		return rc;
	name = jsonio_str(a, "name");
	ver = jsonio_str(a, "version");
	if (!name || !ver)
		return err_set(e, EINVAL,
			       "image: field 'addon' needs 'name' and "
			       "'version' strings");
	if ((rc = image_check_version("image: add-on version", ver, e)) < 0)
		return rc;
	row = image_find_addon(view, name, ver);
	if (!row)
		return err_set(e, EINVAL,
			       "image: unknown add-on '%s' %s (not in the "
			       "depot)",
			       name, ver);
	if (!image_version_in(jsonio_str(base, "version"),
			      json_object_get(row, "base_versions")))
		return err_set(e, EINVAL,
			       "image: add-on '%s' %s is not for base image "
			       "%s",
			       name, jsonio_str(row, "version"),
			       jsonio_str(base, "version"));
	json_object_set_new(out, "addon",
			    json_pack("{s:s,s:s}", "name", name, "version",
				      jsonio_str(row, "version")));
	return 0;
}

/* Is `name` provided by the base image or the add-on? */
static bool image_provided(const json_t *base, const json_t *addon,
			   const char *name)
{
	return json_object_get(json_object_get(base, "components"), name) ||
	       (addon &&
		json_object_get(json_object_get(addon, "components"), name));
}

static int image_validate_components(const json_t *def, const json_t *view,
				     const json_t *base, const json_t *addon,
				     json_t *out, struct seam_err *e)
{
	static const char *const fields[] = {"add", "remove", NULL};
	const json_t *c = json_object_get(def, "components");
	const json_t *add, *rem, *row, *v;
	json_t *nadd = json_object(), *nrem = json_array();
	const char *k;
	size_t i;
	int rc = 0;

	json_object_set_new(
	    out, "components",
	    json_pack("{s:o,s:o}", "add", nadd, "remove", nrem));
	if (!c || json_is_null(c))
		return 0;
	if ((rc = image_only_fields("image: field 'components'", c, fields,
				    e)) < 0)
		return rc;
	add = json_object_get(c, "add");
	rem = json_object_get(c, "remove");
	if (add && !json_is_object(add))
		return err_set(e, EINVAL,
			       "image: components.add must be an object "
			       "{\"name\": \"version\"}");
	if (rem && !json_is_array(rem))
		return err_set(e, EINVAL,
			       "image: components.remove must be an array of "
			       "names");
	json_array_foreach((json_t *)rem, i, v)
	{
		if (!json_is_string(v))
			return err_set(e, EINVAL,
				       "image: components.remove[%zu] must be "
				       "a string",
				       i);
		if (add && json_object_get(add, json_string_value(v)))
			return err_set(e, EINVAL,
				       "image: conflicting components: '%s' is "
				       "both added and removed",
				       json_string_value(v));
		if (!image_provided(base, addon, json_string_value(v)))
			return err_set(e, EINVAL,
				       "image: cannot remove component '%s': "
				       "base image %s%s does not include it",
				       json_string_value(v),
				       jsonio_str(base, "version"),
				       addon ? " and its add-on" : "");
		json_array_append(nrem, (json_t *)v);
	}
	json_object_foreach((json_t *)add, k, v)
	{
		if (!json_is_string(v))
			return err_set(e, EINVAL,
				       "image: components.add['%s'] must be a "
				       "version string",
				       k);
		if ((rc = image_check_version("image: components.add",
					      json_string_value(v), e)) < 0)
			return rc;
		row = image_find_component(view, k, json_string_value(v));
		if (!row) {
			return err_set(e, EINVAL,
				       "image: unknown component '%s' %s (not "
				       "in the depot)",
				       k, json_string_value(v));
		}
		if (addon &&
		    json_object_get(json_object_get(addon, "components"), k) &&
		    image_version_cmp(
			json_string_value(json_object_get(
			    json_object_get(addon, "components"), k)),
			json_string_value(v)) != 0)
			return err_set(
			    e, EINVAL,
			    "image: conflicting components: '%s' %s "
			    "is added, but add-on '%s' provides %s",
			    k, json_string_value(v), jsonio_str(addon, "name"),
			    json_string_value(json_object_get(
				json_object_get(addon, "components"), k)));
		json_object_set_new(nadd, k, json_string(jsonio_str(row, "version")));
	}
	/* Sorted removal list: the definition is canonical. */
	return 0;
}

static int image_name_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

static void image_sort_names(json_t *arr)
{
	size_t n = json_array_size(arr), i;
	json_t **v;

	if (n < 2)
		return;
	v = calloc(n, sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), image_name_cmp);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

int image_validate(const json_t *def, const json_t *view, json_t **out,
		   struct seam_err *e)
{
	static const char *const fields[] = {"base", "addon", "components",
					     NULL};
	const json_t *base = NULL, *addon;
	json_t *o;
	int rc;

	*out = NULL;
	if ((rc = image_only_fields("image", def, fields, e)) < 0)
		return rc;
	o = json_object();
	rc = image_validate_base(def, view, o, &base, e);
	if (rc >= 0)
		rc = image_validate_addon(def, view, base, o, e);
	if (rc >= 0) {
		addon =
		    json_is_null(json_object_get(o, "addon"))
			? NULL
			: image_find_addon(
			      view, jsonio_str(json_object_get(o, "addon"), "name"),
			      jsonio_str(json_object_get(o, "addon"), "version"));
		rc = image_validate_components(def, view, base, addon, o, e);
	}
	if (rc < 0) {
		json_decref(o);
		return rc;
	}
	image_sort_names(
	    json_object_get(json_object_get(o, "components"), "remove"));
	*out = o;
	return 0;
}

static int image_effective_add(json_t *comps, const json_t *view,
			       const json_t *map, const char *what,
			       struct seam_err *e)
{
	const json_t *row;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)map, k, v)
	{
		row = image_find_component(view, k, json_string_value(v));
		if (!row)
			return err_set(e, ENOENT,
				       "%s: component '%s' %s is not in the "
				       "depot",
				       what, k, json_string_value(v));
		json_object_set(comps, k, (json_t *)row);
	}
	return 0;
}

int image_effective(const json_t *def, const json_t *view, json_t **out,
		    struct seam_err *e)
{
	const json_t *base, *addon = NULL, *a = json_object_get(def, "addon");
	const json_t *c = json_object_get(def, "components");
	json_t *comps, *v;
	size_t i;
	int rc;

	*out = NULL;
	base = image_find_base(view, jsonio_str(def, "base"));
	if (!base)
		return err_set(e, ENOENT,
			       "image: base image %s is no longer in the depot",
			       jsonio_str(def, "base") ? jsonio_str(def, "base") : "?");
	if (json_is_object(a)) {
		addon =
		    image_find_addon(view, jsonio_str(a, "name"), jsonio_str(a, "version"));
		if (!addon)
			return err_set(e, ENOENT,
				       "image: add-on '%s' %s is no longer in "
				       "the depot",
				       jsonio_str(a, "name"), jsonio_str(a, "version"));
	}
	comps = json_object();
	rc = image_effective_add(
	    comps, view, json_object_get(base, "components"), "base image", e);
	if (rc >= 0 && addon)
		rc = image_effective_add(comps, view,
					 json_object_get(addon, "components"),
					 "add-on", e);
	json_array_foreach(json_object_get(c, "remove"), i, v)
	    json_object_del(comps, json_string_value(v));
	if (rc >= 0)
		rc = image_effective_add(comps, view, json_object_get(c, "add"),
					 "image", e);
	if (rc < 0) {
		json_decref(comps);
		return rc;
	}
	*out = json_pack("{s:O,s:O,s:o}", "base", base, "addon",
			 addon ? addon : json_null(), "components", comps);
	return 0;
}

void image_digest(const json_t *def, char out[IMAGE_DIGEST_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char *txt = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);

	crypto_hash_sha256(h, (const unsigned char *)(txt ? txt : ""),
			   txt ? strlen(txt) : 0);
	sodium_bin2hex(out, IMAGE_DIGEST_HEX, h, sizeof(h));
	free(txt);
}

int image_selector_validate(const json_t *sel, struct seam_err *e)
{
	static const char *const fields[] = {"hosts", "attributes", NULL};
	const json_t *hosts, *v;
	size_t i;
	int rc;

	if (!sel || json_is_null(sel))
		return 0;
	if ((rc = image_only_fields("selector", sel, fields, e)) < 0)
		return rc;
	hosts = json_object_get(sel, "hosts");
	if (hosts && !json_is_array(hosts))
		return err_set(e, EINVAL,
			       "selector: 'hosts' must be an array of host "
			       "names");
	json_array_foreach((json_t *)hosts, i, v) if (
	    !json_is_string(
		v)) return err_set(e, EINVAL,
				   "selector: hosts[%zu] must be a string", i);
	v = json_object_get(sel, "attributes");
	if (v && !json_is_object(v))
		return err_set(e, EINVAL,
			       "selector: 'attributes' must be an object "
			       "{\"attribute\": value}");
	return 0;
}

static bool image_selector_empty(const json_t *sel)
{
	return !sel || json_is_null(sel) ||
	       (!json_object_get(sel, "hosts") &&
		!json_object_get(sel, "attributes"));
}

static bool image_attr_match(const json_t *want, const json_t *have)
{
	const char *w = json_string_value(want);
	size_t n;

	if (!have)
		return false;
	if (w && json_is_string(have) && (n = strlen(w)) > 0 && w[n - 1] == '*')
		return !strncmp(w, json_string_value(have), n - 1);
	if (json_is_number(want) && json_is_number(have))
		return json_number_value(want) == json_number_value(have);
	return json_equal((json_t *)want, (json_t *)have);
}

bool image_selector_match(const json_t *sel, const char *host,
			  const json_t *attributes)
{
	const json_t *hosts, *attrs, *v;
	const char *k;
	size_t i;
	bool found;

	if (image_selector_empty(sel))
		return true;
	hosts = json_object_get(sel, "hosts");
	if (hosts) {
		found = false;
		json_array_foreach((json_t *)hosts, i,
				   v) if (host && !strcmp(json_string_value(v),
							  host)) found = true;
		if (!found)
			return false;
	}
	attrs = json_object_get(sel, "attributes");
	json_object_foreach(
	    (json_t *)attrs, k,
	    v) if (!image_attr_match(v, json_object_get(attributes,
							k))) return false;
	return true;
}

int image_assign(const json_t *images, const json_t *hosts, json_t **out,
		 struct seam_err *e)
{
	json_t *h, *im, *map;
	size_t i, j, nempty = 0;

	*out = NULL;
	json_array_foreach(
	    (json_t *)images, j,
	    im) if (image_selector_empty(json_object_get(im, "selector")))
	    nempty++;
	if (nempty && json_array_size(images) > 1)
		return err_set(e, EINVAL,
			       "the cluster has %zu images and %zu of them "
			       "select every host (no selector): each image "
			       "of a cluster with several needs a selector",
			       json_array_size(images), nempty);
	map = json_object();
	json_array_foreach((json_t *)hosts, i, h)
	{
		const char *name = jsonio_str(h, "name");
		const char *first = NULL;

		json_array_foreach((json_t *)images, j, im)
		{
			if (!image_selector_match(
				json_object_get(im, "selector"), name,
				json_object_get(h, "attributes")))
				continue;
			if (first) {
				json_decref(map);
				return err_set(e, EINVAL,
					       "host '%s' is matched by two "
					       "images: '%s' and '%s'",
					       name, first, jsonio_str(im, "name"));
			}
			first = jsonio_str(im, "name");
		}
		if (!first) {
			json_decref(map);
			return err_set(e, EINVAL,
				       "host '%s' is matched by no image",
				       name);
		}
		json_object_set_new(map, name, json_string(first));
	}
	*out = map;
	return 0;
}

json_t *image_export(const json_t *image)
{
	char dig[IMAGE_DIGEST_HEX];
	const json_t *def = json_object_get(image, "definition");

	image_digest(def, dig);
	return json_pack("{s:i,s:s,s:O,s:O,s:O,s:s}", "format", 1, "kind",
			 IMAGE_EXPORT_KIND, "name",
			 json_object_get(image, "name"), "definition", def,
			 "selector",
			 json_object_get(image, "selector")
			     ? json_object_get(image, "selector")
			     : json_null(),
			 "sha256", dig);
}

int image_import_check(const json_t *doc, struct seam_err *e)
{
	static const char *const fields[] = {
	    "format", "kind", "name", "definition", "selector", "sha256", NULL};
	char dig[IMAGE_DIGEST_HEX];
	const char *want;
	int rc;

	if ((rc = image_only_fields("image document", doc, fields, e)) < 0)
		return rc;
	if (json_integer_value(json_object_get(doc, "format")) != 1)
		return err_set(e, EINVAL,
			       "image document: unknown format (this center "
			       "reads format 1)");
	if (!jsonio_str(doc, "kind") || strcmp(jsonio_str(doc, "kind"), IMAGE_EXPORT_KIND))
		return err_set(e, EINVAL,
			       "image document: 'kind' must be \"%s\"",
			       IMAGE_EXPORT_KIND);
	if (!json_is_object(json_object_get(doc, "definition")))
		return err_set(e, EINVAL,
			       "image document: 'definition' must be an "
			       "object");
	want = jsonio_str(doc, "sha256");
	if (!want)
		return err_set(e, EINVAL,
			       "image document: 'sha256' is required");
	image_digest(json_object_get(doc, "definition"), dig);
	if (strcmp(dig, want))
		return err_set(e, EINVAL,
			       "image document: sha256 mismatch: the "
			       "definition hashes to %s, the document says %s",
			       dig, want);
	return 0;
}

static int image_level_rank(const char *l)
{
	if (!l)
		return 0;
	if (!strcmp(l, "community"))
		return 1;
	if (!strcmp(l, "partner"))
		return 2;
	if (!strcmp(l, "certified"))
		return 3;
	return 0;
}

int image_check_acceptance(const json_t *eff, const char *min_level,
			   struct seam_err *e)
{
	const char *k;
	json_t *c;

	json_object_foreach(json_object_get(eff, "components"), k, c)
	{
		const char *lvl = jsonio_str(c, "acceptance");

		if (image_level_rank(lvl) < image_level_rank(min_level))
			return err_set(e, EINVAL,
				       "image: component '%s' %s is %s, below "
				       "the cluster's lowest accepted level %s",
				       k, jsonio_str(c, "version"),
				       lvl ? lvl : "of no level", min_level);
	}
	return 0;
}
