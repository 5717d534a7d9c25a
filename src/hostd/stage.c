/*
 * stage.c — staging a target image: its components' new revisions put in
 * the component store beside the running ones, nothing switched.
 *
 * A target image is described the same way whatever its source (the
 * STATE/staged/VERSION.json record apply reads later):
 *
 *   {"version": "1.0.0.0100", "live_patch_from": ["1.0.0.0"],
 *    "components": [{"name": "vmx", "version": "1.0.0.0100",
 *                    "sha256": "<64 hex>", "size": 123,
 *                    "scripts": ["03_vmx-scan", "03_vmx-apply"],
 *                    "live_patch_from": ["1.0.0.0"], "fsr_required": true},
 *                   ...]}
 *
 * Sources: a depot (what seam-center sends: the image above plus
 * {"url", "token", "thumbprint"}; each payload is GET URL/payloads/SHA256
 * over HTTPS pinned by the thumbprint, SHA-256 and size checked while it is
 * written aside), or a bundle file on the host (`bundle_path` + `base`,
 * verified whole against the host's trust store; the image is taken from
 * the bundle's manifest).
 *
 * All or nothing: every component that is not in the store yet is fetched
 * and unpacked into its own .stage directory first; only when all of them
 * are complete are they renamed into place (compstore_stage_commit) and the
 * record written. A bad payload aborts every .stage directory: nothing is
 * left behind. A revision already in the store is kept when its recorded
 * digest matches (staging twice is a no-op) and refused when it does not.
 * Each staged revision gets release.json (the component's entry above) so
 * the store says what it holds.
 */
#include "hostd.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "compstore.h"
#include "fsutil.h"
#include "http_client.h"
#include "jsonio.h"
#include "log.h"
#include "payload.h"
#include "version.h"

#define STAGE_MAX_COMPONENTS 64

static const struct jsonio_field stage_comp_fields[] = {
    {"name", JSONIO_STRING, true},
    {"version", JSONIO_STRING, true},
    {"sha256", JSONIO_STRING, true},
    {"size", JSONIO_INTEGER, true},
    {"scripts", JSONIO_ARRAY, false},
    {"live_patch_from", JSONIO_ARRAY, false},
    {"fsr_required", JSONIO_BOOL, false},
    {NULL, 0, false},
};

static const struct jsonio_field stage_image_fields[] = {
    {"version", JSONIO_STRING, true},
    {"live_patch_from", JSONIO_ARRAY, false},
    {"components", JSONIO_ARRAY, true},
    {NULL, 0, false},
};

static const struct jsonio_field stage_depot_fields[] = {
    {"url", JSONIO_STRING, true},
    {"token", JSONIO_STRING, false},
    {"thumbprint", JSONIO_STRING, true},
    {NULL, 0, false},
};

static int stage_check_versions(const char *what, json_t *arr,
				struct seam_err *e)
{
	struct seam_version v;
	struct seam_err ve = {0};
	json_t *x;
	size_t i;

	json_array_foreach(arr, i, x)
	{
		if (!json_is_string(x))
			return err_set(e, EINVAL, "%s[%zu]: not a string", what,
				       i);
		if (version_parse(json_string_value(x), &v, &ve) < 0)
			return err_set(e, EINVAL, "%s[%zu]: %s", what, i,
				       ve.msg);
	}
	return 0;
}

static bool stage_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
	return i == 64;
}

static int stage_check_script(const char *comp, size_t i, json_t *s,
			      struct seam_err *e)
{
	const char *n = json_string_value(s);

	if (!n || !*n || n[0] == '.' || strchr(n, '/') || strlen(n) > 128)
		return err_set(e, EINVAL,
			       "components[%zu] ('%s'): scripts: bad script "
			       "name",
			       i, comp);
	return 0;
}

/* Validate one component of an image description. */
static int stage_check_comp(json_t *c, size_t i, struct seam_err *e)
{
	struct seam_err fe = {0};
	struct seam_version v;
	const char *name, *ver, *sha;
	char what[128];
	json_t *s;
	size_t k;

	if (!json_is_object(c))
		return err_set(e, EINVAL, "components[%zu]: not an object", i);
	if (jsonio_check_fields(c, stage_comp_fields, &fe) < 0)
		return err_set(e, EINVAL, "components[%zu]: %s", i, fe.msg);
	name = json_string_value(json_object_get(c, "name"));
	ver = json_string_value(json_object_get(c, "version"));
	sha = json_string_value(json_object_get(c, "sha256"));
	if (compstore_name_check("component name", name, &fe) < 0 ||
	    version_parse(ver, &v, &fe) < 0)
		return err_set(e, EINVAL, "components[%zu]: %s", i, fe.msg);
	if (!stage_hex64(sha))
		return err_set(e, EINVAL,
			       "components[%zu] ('%s'): sha256 '%.80s' is not "
			       "64 lowercase hex digits",
			       i, name, sha);
	if (json_integer_value(json_object_get(c, "size")) <= 0)
		return err_set(e, EINVAL,
			       "components[%zu] ('%s'): size must be > 0", i,
			       name);
	json_array_foreach(json_object_get(c, "scripts"), k, s)
	{
		if (stage_check_script(name, i, s, e) < 0)
			return -EINVAL;
	}
	snprintf(what, sizeof(what), "components[%zu] ('%s'): live_patch_from",
		 i, name);
	return stage_check_versions(what, json_object_get(c, "live_patch_from"),
				    e);
}

int hostd_stage_check_image(const json_t *img, struct seam_err *e)
{
	struct seam_err fe = {0};
	struct seam_version v;
	json_t *comps, *c, *d;
	size_t i, j;

	if (!json_is_object(img))
		return err_set(e, EINVAL, "image: not an object");
	if (jsonio_check_fields(img, stage_image_fields, &fe) < 0)
		return err_set(e, EINVAL, "image: %s", fe.msg);
	if (version_parse(json_string_value(json_object_get(img, "version")),
			  &v, &fe) < 0)
		return err_set(e, EINVAL, "image: version: %s", fe.msg);
	if (stage_check_versions("image: live_patch_from",
				 json_object_get(img, "live_patch_from"),
				 e) < 0)
		return -EINVAL;
	comps = json_object_get(img, "components");
	if (json_array_size(comps) == 0 ||
	    json_array_size(comps) > STAGE_MAX_COMPONENTS)
		return err_set(e, EINVAL,
			       "image: components: 1 to %d components",
			       STAGE_MAX_COMPONENTS);
	json_array_foreach(comps, i, c)
	{
		if (stage_check_comp(c, i, e) < 0)
			return -EINVAL;
		for (j = 0; j < i; j++) {
			d = json_array_get(comps, j);
			if (json_equal(json_object_get(c, "name"),
				       json_object_get(d, "name")))
				return err_set(e, EINVAL,
					       "image: component '%s' named "
					       "twice",
					       json_string_value(
						   json_object_get(c, "name")));
		}
	}
	return 0;
}

/* The image a bundle's base image describes, in the record's form. */
static json_t *stage_versions_json(const struct seam_version *v, size_t n)
{
	char buf[VERSION_TEXT_MAX];
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct seam_version plain = v[i];

		plain.v_has_build = false;
		version_format(&plain, buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *stage_image_from_bundle(const struct bundle *b,
				       const struct bundle_base_image *bi,
				       struct seam_err *e)
{
	char ver[VERSION_TEXT_MAX];
	json_t *img, *comps = json_array();
	size_t i, k;

	for (i = 0; i < bi->bi_ncomponents; i++) {
		const struct bundle_component *c =
		    bundle_find_component(b, bi->bi_components[i].r_name,
					  &bi->bi_components[i].r_version);
		struct seam_version plain;
		json_t *scripts = json_array(), *jc;

		if (!c) {
			json_decref(comps);
			json_decref(scripts);
			err_set(e, ENOENT, "component '%s' missing from bundle",
				bi->bi_components[i].r_name);
			return NULL;
		}
		plain = c->c_version;
		plain.v_has_build = false;
		version_format(&plain, ver, sizeof(ver));
		for (k = 0; k < c->c_nscripts; k++)
			json_array_append_new(scripts,
					      json_string(c->c_scripts[k]));
		jc = json_pack("{s:s,s:s,s:s,s:I,s:o,s:b}", "name", c->c_name,
			       "version", ver, "sha256", c->c_digest, "size",
			       (json_int_t)c->c_size, "scripts", scripts,
			       "fsr_required", c->c_fsr_required);
		if (c->c_live_patchable)
			json_object_set_new(
			    jc, "live_patch_from",
			    stage_versions_json(c->c_live_patch_from,
						c->c_nlive_patch_from));
		json_array_append_new(comps, jc);
	}
	{
		struct seam_version plain = bi->bi_version;

		plain.v_has_build = false;
		version_format(&plain, ver, sizeof(ver));
	}
	img = json_pack("{s:s,s:o}", "version", ver, "components", comps);
	if (bi->bi_live_patchable)
		json_object_set_new(
		    img, "live_patch_from",
		    stage_versions_json(bi->bi_live_patch_from,
					bi->bi_nlive_patch_from));
	return img;
}

/* Where payloads come from: one of the two. */
struct stage_source {
	const struct bundle *bundle;
	struct http_client *client;
	char path_prefix[1024]; /* depot URL's path, "" or "/depot" */
};

static int stage_fetch(struct stage_source *src, json_t *c, const char *dest,
		       struct seam_err *e)
{
	const char *sha = json_string_value(json_object_get(c, "sha256"));
	json_int_t size = json_integer_value(json_object_get(c, "size"));
	const char *name = json_string_value(json_object_get(c, "name"));
	struct seam_err fe = {0};
	char path[1200];
	int rc;

	if (src->bundle) {
		rc = bundle_extract_payload(src->bundle, sha, dest, &fe);
	} else {
		snprintf(path, sizeof(path), "%s/payloads/%s", src->path_prefix,
			 sha);
		rc = http_client_download(src->client, path, dest, sha,
					  (int64_t)size, &fe);
	}
	if (rc < 0)
		return err_set(e, EINVAL, "payload %s of component '%s': %s",
			       sha, name, fe.msg);
	return 0;
}

/* Does the store hold name/version already? 1 yes, 0 no, <0 conflict. */
static int stage_present(struct hostd *h, json_t *c, struct seam_err *e)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *ver = json_string_value(json_object_get(c, "version"));
	const char *sha = json_string_value(json_object_get(c, "sha256"));
	char path[PATH_MAX];
	json_t *rel;
	const char *had;
	int rc = 1;

	if (!compstore_has(h->comp_root, name, ver))
		return 0;
	if (fs_path(path, sizeof(path), "%s/%s/%s/release.json", h->comp_root,
		    name, ver) < 0 ||
	    jsonio_load_file(path, &rel, NULL) < 0)
		return 1; /* installed by init from a verified bundle */
	had = json_string_value(json_object_get(rel, "sha256"));
	if (had && strcmp(had, sha))
		rc = err_set(e, EEXIST,
			     "component '%s' %s is already installed with "
			     "payload %s, not %s",
			     name, ver, had, sha);
	json_decref(rel);
	return rc;
}

struct stage_item {
	json_t *comp; /* borrowed */
	char tmp[PATH_MAX];
	bool staged;
};

static int stage_one(struct hostd *h, struct stage_source *src,
		     struct stage_item *it, struct seam_err *e)
{
	const char *name = json_string_value(json_object_get(it->comp, "name"));
	const char *ver =
	    json_string_value(json_object_get(it->comp, "version"));
	char blob[PATH_MAX + 16], rel[PATH_MAX + 16];
	int rc;

	rc = compstore_stage_begin(h->comp_root, name, ver, it->tmp,
				   sizeof(it->tmp), e);
	if (rc < 0)
		return rc;
	it->staged = true;
	snprintf(blob, sizeof(blob), "%s.payload", it->tmp);
	rc = stage_fetch(src, it->comp, blob, e);
	if (rc == 0)
		rc = payload_unpack(blob, it->tmp, e);
	unlink(blob);
	if (rc < 0)
		return rc;
	snprintf(rel, sizeof(rel), "%s/release.json", it->tmp);
	if (fs_exists(rel))
		return err_set(e, EINVAL,
			       "payload of '%s' holds release.json (reserved)",
			       name);
	return jsonio_save_file(rel, it->comp, 0644, e);
}

static int stage_record(struct hostd *h, const json_t *img, const char *source,
			struct seam_err *e)
{
	char dir[PATH_MAX], path[PATH_MAX + 80];
	json_t *rec = json_deep_copy(img);
	int rc;

	json_object_set_new(rec, "source", json_string(source));
	snprintf(dir, sizeof(dir), "%s/staged", h->state);
	rc = fs_mkdir_p(dir, 0700, e);
	snprintf(path, sizeof(path), "%s/%s.json", dir,
		 json_string_value(json_object_get(img, "version")));
	if (rc == 0)
		rc = jsonio_save_file(path, rec, 0600, e);
	json_decref(rec);
	return rc;
}

/* Stage every missing component of img; all or nothing. */
static int stage_image(struct hostd *h, struct stage_source *src,
		       const json_t *img, const char *source, json_t *report,
		       struct seam_err *e)
{
	json_t *comps = json_object_get(img, "components");
	struct stage_item items[STAGE_MAX_COMPONENTS] = {0};
	size_t n = json_array_size(comps), i;
	int rc = 0, present;

	for (i = 0; i < n && rc == 0; i++) {
		items[i].comp = json_array_get(comps, i);
		present = stage_present(h, items[i].comp, e);
		if (present < 0)
			rc = present;
		else if (!present)
			rc = stage_one(h, src, &items[i], e);
	}
	for (i = 0; i < n && rc < 0; i++)
		if (items[i].staged)
			compstore_stage_abort(items[i].tmp);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		json_t *c = items[i].comp;

		if (items[i].staged && rc == 0)
			rc = compstore_stage_commit(
			    h->comp_root,
			    json_string_value(json_object_get(c, "name")),
			    json_string_value(json_object_get(c, "version")),
			    items[i].tmp, e);
		else if (items[i].staged)
			compstore_stage_abort(items[i].tmp);
		json_array_append_new(
		    report, json_pack("{s:O,s:O,s:b}", "name",
				      json_object_get(c, "name"), "version",
				      json_object_get(c, "version"), "staged",
				      items[i].staged));
	}
	if (rc == 0)
		rc = stage_record(h, img, source, e);
	return rc;
}

/* "https://host:port/prefix" -> base "https://host:port", prefix. */
static int stage_split_url(const char *url, char *base, size_t blen,
			   char *prefix, size_t plen, struct seam_err *e)
{
	const char *p, *slash;

	if (strncmp(url, "https://", 8))
		return err_set(e, EINVAL,
			       "depot: url '%.200s' is not an https:// URL",
			       url);
	p = url + 8;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	if (slash == p || (size_t)(slash - url) >= blen ||
	    strlen(slash) >= plen)
		return err_set(e, EINVAL, "depot: bad url '%.200s'", url);
	snprintf(base, blen, "%.*s", (int)(slash - url), url);
	snprintf(prefix, plen, "%s", slash);
	while (*prefix && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = '\0';
	return 0;
}

static int stage_from_depot(struct hostd *h, const json_t *req, json_t *report,
			    json_t **image, struct seam_err *e)
{
	const json_t *img = json_object_get(req, "image");
	const json_t *depot = json_object_get(req, "depot");
	struct stage_source src = {0};
	struct seam_err fe = {0};
	char base[512], tp[TLS_THUMBPRINT_SIZE];
	int rc;

	if (!img || !depot)
		return err_set(e, EINVAL,
			       "give either 'image' and 'depot', or "
			       "'bundle_path' and 'base'");
	if (hostd_stage_check_image(img, e) < 0)
		return -EINVAL;
	if (!json_is_object(depot) ||
	    jsonio_check_fields(depot, stage_depot_fields, &fe) < 0)
		return err_set(e, EINVAL, "depot: %s",
			       fe.msg[0] ? fe.msg : "not an object");
	rc = stage_split_url(json_string_value(json_object_get(depot, "url")),
			     base, sizeof(base), src.path_prefix,
			     sizeof(src.path_prefix), e);
	if (rc < 0)
		return rc;
	if (tls_thumbprint_parse(
		json_string_value(json_object_get(depot, "thumbprint")), tp,
		&fe) < 0)
		return err_set(e, EINVAL, "depot: thumbprint: %s", fe.msg);
	rc = http_client_new(
	    &(struct http_client_opts){
		.base_url = base,
		.thumbprint = tp,
		.token = json_string_value(json_object_get(depot, "token")),
		.timeout_ms = 300000,
		/* A loaded host or a far depot can take more than the
		 * client's 5 s default for the TLS handshake. */
		.connect_timeout_ms = 30000,
	    },
	    &src.client, e);
	if (rc < 0)
		return rc;
	rc = stage_image(h, &src, img, base, report, e);
	http_client_free(src.client);
	if (rc == 0)
		*image = json_deep_copy(img);
	return rc;
}

static int stage_from_bundle(struct hostd *h, const json_t *req, json_t *report,
			     json_t **image, struct seam_err *e)
{
	const char *path =
	    json_string_value(json_object_get(req, "bundle_path"));
	const char *base = json_string_value(json_object_get(req, "base"));
	struct bundle_policy policy = {0};
	struct stage_source src = {0};
	struct seam_version want;
	struct seam_err be = {0};
	char trust[PATH_MAX], source[PATH_MAX + 16];
	const struct bundle_base_image *bi;
	struct bundle *b;
	json_t *img;
	int rc;

	if (!base)
		return err_set(e, EINVAL,
			       "'bundle_path' needs 'base' (the base image "
			       "version to stage)");
	if (path[0] != '/')
		return err_set(e, EINVAL, "bundle_path must be absolute");
	if (version_parse(base, &want, &be) < 0)
		return err_set(e, EINVAL, "base: %s", be.msg);
	hostd_trust_dir(h, trust, sizeof(trust));
	policy.bp_trust_dir = trust;
	b = bundle_open(path, &policy, &be);
	if (!b)
		return err_set(e, be.code == ENOENT ? ENOENT : EINVAL,
			       "bundle %s: %s", path, be.msg);
	bi = bundle_find_base_image(b, &want);
	if (!bi) {
		bundle_free(b);
		return err_set(e, ENOENT, "bundle %s has no base image %s",
			       path, base);
	}
	img = stage_image_from_bundle(b, bi, e);
	src.bundle = b;
	snprintf(source, sizeof(source), "bundle %s", path);
	rc = img ? stage_image(h, &src, img, source, report, e) : -ENOENT;
	bundle_free(b);
	if (rc == 0)
		*image = img;
	else
		json_decref(img);
	return rc;
}

int hostd_stage(struct hostd *h, const json_t *req, json_t **out,
		struct seam_err *e)
{
	json_t *report = json_array(), *img = NULL;
	int rc;

	if (json_object_get(req, "bundle_path")) {
		if (json_object_get(req, "image") ||
		    json_object_get(req, "depot")) {
			json_decref(report);
			return err_set(e, EINVAL,
				       "give either 'image' and 'depot', or "
				       "'bundle_path' and 'base', not both");
		}
		rc = stage_from_bundle(h, req, report, &img, e);
	} else {
		if (json_object_get(req, "base")) {
			json_decref(report);
			return err_set(e, EINVAL,
				       "'base' goes with 'bundle_path'");
		}
		rc = stage_from_depot(h, req, report, &img, e);
	}
	if (rc < 0) {
		evlog_emit(h->events, "stage.failed", NULL, "stage failed: %s",
			   e ? e->msg : "");
		json_decref(report);
		return rc;
	}
	evlog_emit(h->events, "stage.done", NULL, "image %s staged",
		   json_string_value(json_object_get(img, "version")));
	*out = json_pack("{s:O,s:o}", "image", json_object_get(img, "version"),
			 "components", report);
	json_decref(img);
	return 0;
}

json_t *hostd_staged_load(struct hostd *h, const char *version,
			  struct seam_err *e)
{
	char path[PATH_MAX];
	struct seam_version v;
	json_t *j;

	if (version_parse(version, &v, e) < 0)
		return NULL;
	if (fs_path(path, sizeof(path), "%s/staged/%s.json", h->state,
		    version) < 0 ||
	    jsonio_load_file(path, &j, NULL) < 0) {
		err_set(e, ENOENT, "image %s is not staged (POST /stage first)",
			version);
		return NULL;
	}
	return j;
}

json_t *hostd_staged_list(struct hostd *h)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	json_t *arr = json_array(), *j;
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/staged", h->state);
	dp = opendir(dir);
	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || !strstr(d->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (jsonio_load_file(path, &j, NULL) == 0)
			json_array_append_new(arr, j);
	}
	if (dp)
		closedir(dp);
	return arr;
}
