/*
 * image.c — the host's installed image: base image, add-on, components.
 *
 * `seam-hostd init --bundle FILE --base VERSION` installs a base image: the
 * bundle is opened and verified whole (bundle.h: archive, signature against
 * the trust store, every digest and size) before anything is written; then,
 * for each component the base image names, its payload is extracted beside
 * the store, re-hashed, and unpacked into a new revision directory
 * (compstore_stage_begin/_commit: complete or absent), and only when every
 * component is in place are the revisions made active and STATE/image.json
 * written. A refused bundle or payload leaves the store as it was; revisions
 * already present are kept (installing twice is a no-op).
 *
 * Trust store: --trust, else $SEAM_TRUST_DIR, else bundles/trust beside the
 * executable (a build tree after `make bundles`), else /etc/seam/trust — the
 * same order as `seam-bundle verify`.
 */
#include "hostd.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "compstore.h"
#include "fsutil.h"
#include "jsonio.h"
#include "payload.h"
#include "version.h"

#define IMAGE_SYSTEM_TRUST_DIR "/etc/seam/trust"

static void image_default_trust(char *buf, size_t len)
{
	char exe[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (getenv("SEAM_TRUST_DIR")) {
		snprintf(buf, len, "%s", getenv("SEAM_TRUST_DIR"));
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if (fs_path(buf, len, "%s/bundles/trust", dirname(exe)) == 0 &&
		    stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
			return;
	}
	snprintf(buf, len, "%s", IMAGE_SYSTEM_TRUST_DIR);
}

/* A version as a revision name: as written, without a build number. */
static void image_rev(const struct seam_version *v, char *buf, size_t len)
{
	struct seam_version plain = *v;

	plain.v_has_build = false;
	if (version_format(&plain, buf, len) < 0)
		snprintf(buf, len, "?");
}

/* Extract, re-hash and unpack one component into a new revision. */
static int image_stage(struct hostd *h, const struct bundle *b,
		       const struct bundle_component *c, const char *rev,
		       struct seam_err *e)
{
	char tmp[PATH_MAX], blob[PATH_MAX];
	int rc;

	if (compstore_has(h->comp_root, c->c_name, rev))
		return 0;
	rc = compstore_stage_begin(h->comp_root, c->c_name, rev, tmp,
				   sizeof(tmp), e);
	if (rc < 0)
		return rc;
	if (fs_path(blob, sizeof(blob), "%s.payload", tmp) < 0) {
		compstore_stage_abort(tmp);
		return err_set(e, ENAMETOOLONG, "state path too long");
	}
	rc = bundle_extract_payload(b, c->c_digest, blob, e);
	if (rc == 0)
		rc = payload_unpack(blob, tmp, e);
	unlink(blob);
	if (rc < 0) {
		compstore_stage_abort(tmp);
		return rc;
	}
	return compstore_stage_commit(h->comp_root, c->c_name, rev, tmp, e);
}

static int image_write(struct hostd *h, const char *bundle_name,
		       const char *base, json_t *components, struct seam_err *e)
{
	char path[PATH_MAX];
	json_t *j;
	int rc;

	if (fs_path(path, sizeof(path), "%s/image.json", h->state) < 0)
		return err_set(e, ENAMETOOLONG, "state path too long");
	j = json_pack("{s:{s:s,s:s},s:n,s:O}", "base", "version", base,
		      "bundle", bundle_name, "addon", "components", components);
	rc = jsonio_save_file(path, j, 0644, e);
	json_decref(j);
	return rc;
}

/* Stage every component of bi, then activate them all. */
static int image_install_base(struct hostd *h, const struct bundle *b,
			      const struct bundle_base_image *bi,
			      json_t *components, struct seam_err *e)
{
	const struct bundle_component *c;
	char rev[VERSION_TEXT_MAX];
	size_t i;
	int rc;

	for (i = 0; i < bi->bi_ncomponents; i++) {
		c = bundle_find_component(b, bi->bi_components[i].r_name,
					  &bi->bi_components[i].r_version);
		if (!c)
			return err_set(e, ENOENT, "component '%s' missing",
				       bi->bi_components[i].r_name);
		image_rev(&c->c_version, rev, sizeof(rev));
		rc = image_stage(h, b, c, rev, e);
		if (rc < 0)
			return rc;
		json_object_set_new(components, c->c_name, json_string(rev));
	}
	for (i = 0; i < bi->bi_ncomponents; i++) {
		const char *name = bi->bi_components[i].r_name;

		rc = compstore_activate(
		    h->comp_root, name,
		    json_string_value(json_object_get(components, name)), e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int hostd_image_install(struct hostd *h, const struct hostd_image_opts *o,
			struct seam_err *e)
{
	struct bundle_policy policy = {0};
	const struct bundle_base_image *bi;
	struct seam_version want;
	char trust[PATH_MAX];
	json_t *components;
	struct bundle *b;
	int rc;

	if (version_parse(o->base, &want, e) < 0)
		return -EINVAL;
	if (o->trust_dir)
		snprintf(trust, sizeof(trust), "%s", o->trust_dir);
	else
		image_default_trust(trust, sizeof(trust));
	policy.bp_trust_dir = trust;
	policy.bp_min_level =
	    o->accept_community ? BUNDLE_LEVEL_COMMUNITY : BUNDLE_LEVEL_UNSET;
	b = bundle_open(o->bundle, &policy, e);
	if (!b)
		return e && e->code ? -e->code : -EINVAL;
	bi = bundle_find_base_image(b, &want);
	if (!bi) {
		bundle_free(b);
		return err_set(e, ENOENT, "bundle %s has no base image %s",
			       o->bundle, o->base);
	}
	components = json_object();
	rc = image_install_base(h, b, bi, components, e);
	if (rc == 0)
		rc = image_write(
		    h, b->b_manifest.m_name ? b->b_manifest.m_name : o->bundle,
		    o->base, components, e);
	if (rc == 0)
		evlog_emit(h->events, "image.installed", NULL,
			   "base image %s installed from %s", o->base,
			   o->bundle);
	json_decref(components);
	bundle_free(b);
	return rc;
}

void hostd_trust_dir(struct hostd *h, char *buf, size_t len)
{
	const char *cfg =
	    json_string_value(json_object_get(h->config, "trust_dir"));

	if (cfg)
		snprintf(buf, len, "%s", cfg);
	else
		image_default_trust(buf, len);
}

json_t *hostd_image_describe(struct hostd *h)
{
	char path[PATH_MAX];
	json_t *j;

	snprintf(path, sizeof(path), "%s/image.json", h->state);
	if (jsonio_load_file(path, &j, NULL) < 0)
		return json_pack("{s:n,s:n}", "base", "addon");
	return j;
}
