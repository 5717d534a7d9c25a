/*
 * depot.c — the center's depot: bundles in, payloads by digest out.
 *
 * Import (DESIGN §3): the uploaded zip is written to STATE/depot/tmp,
 * verified whole by bundle_open() against the center's trust store and the
 * lowest accepted level (setting min_acceptance), checked against what the
 * depot already holds (a release is never replaced by different bytes),
 * and only then are its payloads extracted — each written aside, fsync'ed
 * and renamed to STATE/depot/payloads/<sha256> — and its releases recorded
 * in one store transaction. A refused bundle leaves the depot as it was. A
 * crash between extraction and the transaction leaves payload files no
 * release names; depot_init() removes those at the next start, as it
 * empties tmp/.
 *
 * Imports and deletions hold depot_lock, so a check and its write see the
 * same depot.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonio.h"
#include "bundle.h"
#include "center.h"
#include "fsutil.h"
#include "log.h"
#include "version.h"

void depot_payload_path(struct center *c, const char *digest, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s/payloads/%s", c->depot_dir, digest);
}

bool depot_is_digest(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

/* Remove payload files no release names (a crash mid-import). */
static void depot_sweep(struct center *c)
{
	json_t *known = store_depot_payload_digests(c->st), *d;
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *de;
	DIR *dp;
	size_t i;
	bool keep;

	snprintf(dir, sizeof(dir), "%s/payloads", c->depot_dir);
	dp = opendir(dir);
	while (dp && (de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		keep = false;
		json_array_foreach(
		    known, i, d) if (!strcmp(jsonio_str(d, "digest"), de->d_name))
		    keep = true;
		if (keep)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		log_info("depot: removing unreferenced payload %s", path);
		unlink(path);
	}
	if (dp)
		closedir(dp);
	json_decref(known);
}

int depot_init(struct center *c, struct seam_err *e)
{
	char path[PATH_MAX];
	const char *levels[] = {"certified", "partner", "community"};
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "%s/payloads", c->depot_dir);
	if ((rc = fs_mkdir_p(path, 0700, e)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/tmp", c->depot_dir);
	fs_remove_tree(path);
	if ((rc = fs_mkdir_p(path, 0700, e)) < 0)
		return rc;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", c->trust_dir, levels[i]);
		if ((rc = fs_mkdir_p(path, 0700, e)) < 0)
			return rc;
	}
	depot_sweep(c);
	return 0;
}

/* "000000001.000000000.000000000.000000100": sorts like the versions. */
static void depot_vkey(const struct seam_version *v, char *buf, size_t len)
{
	snprintf(buf, len, "%09u.%09u.%09u.%09u", v->v_field[0], v->v_field[1],
		 v->v_field[2], v->v_field[3]);
}

static json_t *depot_versions(const struct seam_version *v, size_t n,
			      bool present)
{
	char buf[VERSION_TEXT_MAX];
	json_t *a;
	size_t i;

	if (!present)
		return json_null();
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(VERSION_STR(&v[i], buf)));
	return a;
}

static json_t *depot_refs(const struct bundle_ref *r, size_t n)
{
	char buf[VERSION_TEXT_MAX];
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(
		    o, r[i].r_name,
		    json_string(VERSION_STR(&r[i].r_version, buf)));
	return o;
}

static json_t *depot_component_json(const struct bundle_component *bc)
{
	char v[VERSION_TEXT_MAX], k[64];
	json_t *scripts = json_array(), *j;
	size_t i;

	for (i = 0; i < bc->c_nscripts; i++)
		json_array_append_new(scripts, json_string(bc->c_scripts[i]));
	depot_vkey(&bc->c_version, k, sizeof(k));
	j = json_pack(
	    "{s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:b}", "name", bc->c_name,
	    "version", VERSION_STR(&bc->c_version, v), "vkey", k, "acceptance",
	    bundle_level_name(bc->c_level), "digest", bc->c_digest, "size",
	    (json_int_t)bc->c_size, "scripts", scripts, "live_patch_from",
	    depot_versions(bc->c_live_patch_from, bc->c_nlive_patch_from,
			   bc->c_live_patchable),
	    "fsr_required", bc->c_fsr_required);
	if (bc->c_description)
		json_object_set_new(j, "description",
				    json_string(bc->c_description));
	return j;
}

/* The bundle as rows for the store (see store_depot_import). */
static json_t *depot_release(const struct bundle *b, const char *digest)
{
	const struct bundle_manifest *m = &b->b_manifest;
	json_t *rel, *arr, *manifest;
	char v[VERSION_TEXT_MAX], k[64];
	size_t i;

	manifest = json_loadb(b->b_manifest_bytes, b->b_manifest_len, 0, NULL);
	rel = json_pack("{s:{s:s?,s:s,s:s,s:s?,s:o}}", "bundle", "name",
			m->m_name, "digest", digest, "level",
			bundle_level_name(b->b_level), "signer",
			b->b_signer.s_signed ? b->b_signer.s_key_id : NULL,
			"manifest", manifest ? manifest : json_null());
	arr = json_array();
	for (i = 0; i < m->m_ncomponents; i++)
		json_array_append_new(
		    arr, depot_component_json(&m->m_components[i]));
	json_object_set_new(rel, "components", arr);
	arr = json_array();
	for (i = 0; i < m->m_nbase_images; i++) {
		const struct bundle_base_image *bi = &m->m_base_images[i];
		json_t *j;

		depot_vkey(&bi->bi_version, k, sizeof(k));
		j = json_pack("{s:s,s:s,s:o,s:o}", "version",
			      VERSION_STR(&bi->bi_version, v), "vkey", k,
			      "components",
			      depot_refs(bi->bi_components, bi->bi_ncomponents),
			      "live_patch_from",
			      depot_versions(bi->bi_live_patch_from,
					     bi->bi_nlive_patch_from,
					     bi->bi_live_patchable));
		if (bi->bi_version.v_has_build)
			json_object_set_new(
			    j, "build", json_integer(bi->bi_version.v_build));
		if (bi->bi_description)
			json_object_set_new(j, "description",
					    json_string(bi->bi_description));
		json_array_append_new(arr, j);
	}
	json_object_set_new(rel, "base_images", arr);
	arr = json_array();
	for (i = 0; i < m->m_naddons; i++) {
		const struct bundle_addon *a = &m->m_addons[i];
		json_t *j;

		depot_vkey(&a->a_version, k, sizeof(k));
		j = json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", a->a_name,
			      "version", VERSION_STR(&a->a_version, v), "vkey",
			      k, "base_versions",
			      depot_versions(a->a_base_versions,
					     a->a_nbase_versions, true),
			      "components",
			      depot_refs(a->a_components, a->a_ncomponents));
		if (a->a_description)
			json_object_set_new(j, "description",
					    json_string(a->a_description));
		json_array_append_new(arr, j);
	}
	json_object_set_new(rel, "addons", arr);
	return rel;
}

static enum bundle_level depot_min_level(struct center *c)
{
	json_t *s = center_settings(c, 0);
	enum bundle_level l = BUNDLE_LEVEL_PARTNER;

	bundle_level_parse(jsonio_str(s, "min_acceptance"), &l, NULL);
	json_decref(s);
	return l;
}

/* Extract the payloads the depot lacks; *added lists them (for undo). */
static int depot_extract(struct center *c, const struct bundle *b,
			 json_t *added, struct seam_err *e)
{
	const struct bundle_manifest *m = &b->b_manifest;
	char path[PATH_MAX];
	size_t i;
	int rc;

	for (i = 0; i < m->m_ncomponents; i++) {
		const char *dig = m->m_components[i].c_digest;

		depot_payload_path(c, dig, path, sizeof(path));
		if (fs_exists(path))
			continue;
		if ((rc = bundle_extract_payload(b, dig, path, e)) < 0)
			return rc;
		json_array_append_new(added, json_string(dig));
	}
	return 0;
}

static void depot_undo(struct center *c, const json_t *added)
{
	char path[PATH_MAX];
	json_t *d;
	size_t i;

	json_array_foreach((json_t *)added, i, d)
	{
		depot_payload_path(c, json_string_value(d), path, sizeof(path));
		unlink(path);
	}
}

int depot_import_file(struct center *c, const char *path, int64_t task_id,
		      json_t **summary, struct seam_err *e)
{
	struct bundle_policy pol = {0};
	struct bundle *b;
	char digest[BUNDLE_DIGEST_HEX];
	json_t *rel = NULL, *added = json_array();
	uint64_t size;
	int rc;

	*summary = NULL;
	pol.bp_trust_dir = c->trust_dir;
	pol.bp_min_level = depot_min_level(c);
	if ((rc = bundle_hash_file(path, CENTER_MAX_UPLOAD, digest, &size, e)) <
	    0)
		goto out;
	b = bundle_open(path, &pol, e);
	if (!b) {
		rc = -EINVAL;
		e->code = EINVAL;
		goto out;
	}
	rel = depot_release(b, digest);
	pthread_mutex_lock(&c->depot_lock);
	rc = store_depot_check(c->st, rel, e);
	if (rc >= 0)
		rc = depot_extract(c, b, added, e);
	if (rc >= 0)
		rc = store_depot_import(c->st, rel, summary, e);
	if (rc < 0)
		depot_undo(c, added);
	pthread_mutex_unlock(&c->depot_lock);
	if (rc >= 0) {
		json_object_set_new(
		    *summary, "bundle",
		    json_pack("{s:s?,s:s,s:s,s:s?,s:I}", "name",
			      b->b_manifest.m_name, "sha256", digest, "level",
			      bundle_level_name(b->b_level), "signer",
			      b->b_signer.s_signed ? b->b_signer.s_key_id
						   : NULL,
			      "size", (json_int_t)size));
		center_event(
		    c, "depot.imported", 0, 0, NULL, task_id, NULL,
		    "bundle %s imported (%s, %zu component(s))",
		    b->b_manifest.m_name ? b->b_manifest.m_name : digest,
		    bundle_level_name(b->b_level), b->b_manifest.m_ncomponents);
	}
	bundle_free(b);
out:
	json_decref(rel);
	json_decref(added);
	return rc;
}

int depot_delete(struct center *c, const char *kind, const char *name,
		 const char *version, struct seam_err *e)
{
	char path[PATH_MAX];
	json_t *orphans = NULL, *d;
	size_t i;
	int rc;

	pthread_mutex_lock(&c->depot_lock);
	rc = store_depot_delete(c->st, kind, name, version, &orphans, e);
	json_array_foreach(orphans, i, d)
	{
		depot_payload_path(c, json_string_value(d), path, sizeof(path));
		if (unlink(path) == 0)
			fs_fsync_parent(path);
	}
	pthread_mutex_unlock(&c->depot_lock);
	json_decref(orphans);
	if (rc == 0)
		center_event(c, "depot.deleted", 0, 0, NULL, 0, NULL,
			     "%s %s%s%s deleted from the depot", kind,
			     name ? name : "", name ? " " : "", version);
	return rc;
}

/* ---- trust store ---- */

static bool depot_level_ok(const char *level)
{
	return level &&
	       (!strcmp(level, "certified") || !strcmp(level, "partner") ||
		!strcmp(level, "community"));
}

static bool depot_name_ok(const char *name)
{
	size_t i;

	if (!name || !name[0] || strlen(name) > 64 || name[0] == '.')
		return false;
	for (i = 0; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' ||
		      name[i] == '_' || name[i] == '.'))
			return false;
	return true;
}

json_t *depot_trust_list(struct center *c)
{
	const char *levels[] = {"certified", "partner", "community"};
	json_t *out = json_array();
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *de;
	size_t i, n;
	DIR *dp;

	for (i = 0; i < 3; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", c->trust_dir, levels[i]);
		dp = opendir(dir);
		while (dp && (de = readdir(dp))) {
			unsigned char key[BUNDLE_KEY_LEN];
			char id[BUNDLE_KEY_ID_HEX];

			n = strlen(de->d_name);
			if (n < 5 || strcmp(de->d_name + n - 4, ".pub"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (bundle_key_load_public(path, key, NULL) < 0)
				continue;
			bundle_key_id(key, id);
			json_array_append_new(
			    out, json_pack("{s:s,s:s#,s:s}", "level", levels[i],
					   "name", de->d_name, (int)(n - 4),
					   "key_id", id));
		}
		if (dp)
			closedir(dp);
	}
	return out;
}

int depot_trust_add(struct center *c, const char *level, const char *name,
		    const char *key, struct seam_err *e)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	unsigned char k[BUNDLE_KEY_LEN];
	char id[BUNDLE_KEY_ID_HEX], line[1024];
	struct seam_err ke = {0};
	int rc;

	if (!depot_level_ok(level))
		return err_set(e, EINVAL,
			       "unknown acceptance level '%s' (certified, "
			       "partner, community)",
			       level ? level : "");
	if (!depot_name_ok(name))
		return err_set(e, EINVAL,
			       "key name '%s': 1-64 of A-Z a-z 0-9 . _ -",
			       name ? name : "");
	snprintf(line, sizeof(line), "%s", key);
	line[strcspn(line, "\r\n")] = '\0';
	snprintf(path, sizeof(path), "%s/%s/%s.pub", c->trust_dir, level, name);
	snprintf(tmp, sizeof(tmp), "%s.check", path);
	/* Parse it with the library's own reader before trusting it. */
	if ((rc = fs_write_atomic(tmp, line, strlen(line), 0600, e)) < 0)
		return rc;
	strncat(line, "\n", sizeof(line) - strlen(line) - 1);
	rc = bundle_key_load_public(tmp, k, &ke);
	unlink(tmp);
	if (rc < 0)
		return err_set(e, EINVAL, "not a Seam public key: %s", ke.msg);
	if (fs_exists(path))
		return err_set(e, EEXIST, "key '%s' exists at level %s", name,
			       level);
	if ((rc = fs_write_atomic(path, line, strlen(line), 0644, e)) < 0)
		return rc;
	bundle_key_id(k, id);
	center_event(c, "depot.trust_added", 0, 0, NULL, 0, NULL,
		     "key %s ('%s') trusted at level %s", id, name, level);
	return 0;
}

int depot_trust_delete(struct center *c, const char *level, const char *name,
		       struct seam_err *e)
{
	char path[PATH_MAX];

	if (!depot_level_ok(level) || !depot_name_ok(name))
		return err_set(e, ENOENT, "no key '%s' at level '%s'",
			       name ? name : "", level ? level : "");
	snprintf(path, sizeof(path), "%s/%s/%s.pub", c->trust_dir, level, name);
	if (unlink(path) < 0)
		return err_set(e, ENOENT, "no key '%s' at level %s", name,
			       level);
	fs_fsync_parent(path);
	center_event(c, "depot.trust_removed", 0, 0, NULL, 0, NULL,
		     "key '%s' no longer trusted at level %s", name, level);
	return 0;
}
