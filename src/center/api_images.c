/*
 * api_images.c — cluster images (desired state) and compliance.
 *
 * Every change of a cluster's images is validated whole before it is
 * stored: the definition against the depot (image_validate) and the new set
 * of images against the cluster's hosts (image_assign: every host matched
 * by exactly one image). Storing an image turns every host of the cluster
 * `unknown` until the next compliance check (store_image_put).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "image.h"

const struct jsonio_field api_image_fields[] = {
    {"name", JSONIO_STRING, false},  {"base", JSONIO_STRING, true},
    {"addon", JSONIO_ANY, false},    {"components", JSONIO_OBJECT, false},
    {"selector", JSONIO_ANY, false}, {NULL, 0, false},
};
const struct jsonio_field api_images_put_fields[] = {
    {"images", JSONIO_ARRAY, true},
    {NULL, 0, false},
};
const struct jsonio_field api_image_import_fields[] = {
    {"image", JSONIO_OBJECT, true},
    {"name", JSONIO_STRING, false},
    {"selector", JSONIO_ANY, false},
    {NULL, 0, false},
};

static int64_t jid(const json_t *o)
{
	return json_integer_value(json_object_get(o, "id"));
}

static bool api_image_name_ok(const char *s)
{
	size_t i;

	if (!s || !s[0] || strlen(s) > 64)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* {name, attributes} of every host of the cluster. */
static json_t *api_cluster_hosts(struct center *c, int64_t cid)
{
	json_t *hosts = store_host_list_full(c->st, cid, false), *h;
	json_t *out = json_array();
	size_t i;

	json_array_foreach(hosts, i, h) json_array_append_new(
	    out,
	    json_pack(
		"{s:O,s:O}", "name", json_object_get(h, "name"), "attributes",
		json_object_get(json_object_get(h, "inventory"), "host")
		    ? json_object_get(json_object_get(h, "inventory"), "host")
		    : json_null()));
	json_decref(hosts);
	return out;
}

/* The cluster's lowest accepted level (setting min_acceptance). */
static int api_image_acceptance(struct httpd_req *req, const json_t *norm,
				const json_t *view)
{
	struct center *c = api_center(req);
	json_t *cl = store_cluster_get(c->st, httpd_req_param(req, "cluster"));
	json_t *settings, *eff = NULL;
	struct seam_err e = {0};
	int rc = 0;

	settings = center_settings(c, jid(cl));
	if (image_effective(norm, view, &eff, &e) < 0 ||
	    image_check_acceptance(eff, api_str(settings, "min_acceptance"),
				   &e) < 0) {
		httpd_reply_error(req, 400, "bad_request", "%s", e.msg);
		rc = -1;
	}
	json_decref(eff);
	json_decref(settings);
	json_decref(cl);
	return rc;
}

/*
 * Build a stored image from a request (definition fields + selector),
 * validated against the depot. NULL after a reply.
 */
static json_t *api_image_build(struct httpd_req *req, const json_t *body,
			       const json_t *defsrc, const char *name)
{
	struct center *c = api_center(req);
	json_t *def = json_object(), *norm = NULL, *view, *im;
	const json_t *sel = json_object_get(body, "selector");
	char dig[IMAGE_DIGEST_HEX];
	struct seam_err e = {0};
	const char *k;
	json_t *v;

	if (!api_image_name_ok(name)) {
		httpd_reply_error(req, 400, "bad_request",
				  "image name '%s': 1-64 of A-Z a-z 0-9 . _ -",
				  name ? name : "");
		json_decref(def);
		return NULL;
	}
	json_object_foreach((json_t *)defsrc, k,
			    v) if (strcmp(k, "selector") && strcmp(k, "name"))
	    json_object_set(def, k, v);
	view = store_depot_view(c->st);
	if (image_validate(def, view, &norm, &e) < 0 ||
	    image_selector_validate(sel, &e) < 0) {
		httpd_reply_error(req, 400, "bad_request", "%s", e.msg);
		json_decref(view);
		json_decref(def);
		json_decref(norm);
		return NULL;
	}
	if (api_image_acceptance(req, norm, view) < 0) {
		json_decref(view);
		json_decref(def);
		json_decref(norm);
		return NULL;
	}
	json_decref(view);
	json_decref(def);
	image_digest(norm, dig);
	im = json_pack(
	    "{s:s,s:o,s:O,s:s}", "name", name, "definition", norm, "selector",
	    sel && !json_is_null(sel) ? sel : json_null(), "digest", dig);
	return im;
}

/* The cluster's images with `im` put in (or `drop` taken out). */
static json_t *api_images_with(struct center *c, int64_t cid, const json_t *im,
			       const char *drop)
{
	json_t *cur = store_image_list(c->st, cid), *out = json_array(), *x;
	const char *name =
	    im ? json_string_value(json_object_get(im, "name")) : drop;
	size_t i;

	json_array_foreach(cur, i, x) if (strcmp(api_str(x, "name"), name))
	    json_array_append(out, x);
	if (im)
		json_array_append(out, (json_t *)im);
	json_decref(cur);
	return out;
}

/* 0 when every host matches exactly one image; else replied 400. */
static int api_images_check_hosts(struct httpd_req *req, int64_t cid,
				  const json_t *images, json_t **assignment)
{
	struct center *c = api_center(req);
	json_t *hosts = api_cluster_hosts(c, cid), *map = NULL;
	struct seam_err e = {0};
	int rc = 0;

	if (json_array_size(images) > 0 &&
	    image_assign(images, hosts, &map, &e) < 0) {
		httpd_reply_error(req, 400, "bad_request", "%s", e.msg);
		rc = -1;
	}
	json_decref(hosts);
	if (assignment && rc == 0)
		*assignment = map ? map : json_object();
	else
		json_decref(map);
	return rc;
}

static void api_image_reply(struct httpd_req *req, unsigned status, int64_t cid,
			    const char *name, json_t *assignment)
{
	json_t *im = store_image_get(api_center(req)->st, cid, name);

	json_object_set_new(im, "hosts",
			    assignment ? assignment : json_object());
	httpd_reply_json(req, status, im);
}

API_HANDLER(api_image_get)
{
	json_t *cl = api_cluster(req), *ims;

	if (!cl)
		return;
	ims = store_image_list(api_center(req)->st, jid(cl));
	if (json_array_size(ims) == 1)
		httpd_reply_json(req, 200, json_incref(json_array_get(ims, 0)));
	else if (json_array_size(ims) == 0)
		httpd_reply_error(req, 404, "not_found",
				  "cluster '%s' has no image",
				  api_str(cl, "name"));
	else
		httpd_reply_error(req, 409, "conflict",
				  "cluster '%s' has %zu images: see "
				  "/clusters/%s/images",
				  api_str(cl, "name"), json_array_size(ims),
				  api_str(cl, "name"));
	json_decref(ims);
	json_decref(cl);
}

/* PUT /clusters/{c}/image: the cluster's one image (replaces all). */
API_HANDLER(api_image_put)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req), *body = httpd_req_json(req), *im, *set;
	json_t *map = NULL;
	const char *name =
	    api_str(body, "name") ? api_str(body, "name") : "default";
	struct seam_err e = {0};

	if (!cl)
		return;
	im = api_image_build(req, body, body, name);
	if (!im)
		goto out;
	set = json_array();
	json_array_append(set, im);
	if (api_images_check_hosts(req, jid(cl), set, &map) == 0) {
		if (store_image_replace_all(c->st, jid(cl), set, &e) < 0) {
			httpd_reply_err(req, &e);
			json_decref(map);
		} else {
			center_event(
			    c, "image.set", jid(cl), 0, NULL, 0,
			    json_object_get(im, "definition"),
			    "cluster '%s': image '%s' set (base %s, "
			    "sha256 %s); hosts are now unknown",
			    api_str(cl, "name"), name,
			    api_str(json_object_get(im, "definition"), "base"),
			    api_str(im, "digest"));
			api_image_reply(req, 200, jid(cl), name, map);
		}
	}
	json_decref(set);
	json_decref(im);
out:
	json_decref(cl);
}

API_HANDLER(api_images_list)
{
	json_t *cl = api_cluster(req);

	if (!cl)
		return;
	httpd_reply_json(
	    req, 200,
	    json_pack("{s:o}", "images",
		      store_image_list(api_center(req)->st, jid(cl))));
	json_decref(cl);
}

/* Store one image after checking the whole set; replies. */
static void api_image_store(struct httpd_req *req, json_t *cl, json_t *im,
			    unsigned status, const char *evtype)
{
	struct center *c = api_center(req);
	json_t *set = api_images_with(c, jid(cl), im, NULL), *map = NULL;
	struct seam_err e = {0};
	const char *name = api_str(im, "name");

	if (api_images_check_hosts(req, jid(cl), set, &map) == 0) {
		if (store_image_put(c->st, jid(cl), name,
				    json_object_get(im, "definition"),
				    json_object_get(im, "selector"),
				    api_str(im, "digest"), &e) < 0) {
			httpd_reply_err(req, &e);
			json_decref(map);
		} else {
			center_event(
			    c, evtype, jid(cl), 0, NULL, 0,
			    json_object_get(im, "definition"),
			    "cluster '%s': image '%s' stored (base "
			    "%s, sha256 %s); hosts are now unknown",
			    api_str(cl, "name"), name,
			    api_str(json_object_get(im, "definition"), "base"),
			    api_str(im, "digest"));
			api_image_reply(req, status, jid(cl), name, map);
		}
	}
	json_decref(set);
}

/* PUT /clusters/{c}/images: replace the whole set at once. */
API_HANDLER(api_images_replace)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req), *set = json_array(), *x, *im;
	json_t *map = NULL;
	struct seam_err e = {0};
	size_t i, j;

	if (!cl) {
		json_decref(set);
		return;
	}
	json_array_foreach(json_object_get(httpd_req_json(req), "images"), i, x)
	{
		if (!json_is_object(x) || !api_str(x, "name")) {
			httpd_reply_error(req, 400, "bad_request",
					  "images[%zu]: an object with a "
					  "'name'",
					  i);
			goto out;
		}
		if (jsonio_check_fields(x, api_image_fields, &e) < 0) {
			httpd_reply_error(req, 400, "bad_request",
					  "images[%zu]: %s", i, e.msg);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(api_str(json_array_get(set, j), "name"),
				    api_str(x, "name"))) {
				httpd_reply_error(req, 400, "bad_request",
						  "images[%zu]: name '%s' is "
						  "given twice",
						  i, api_str(x, "name"));
				goto out;
			}
		im = api_image_build(req, x, x, api_str(x, "name"));
		if (!im)
			goto out;
		json_array_append_new(set, im);
	}
	if (api_images_check_hosts(req, jid(cl), set, &map) < 0)
		goto out;
	if (store_image_replace_all(c->st, jid(cl), set, &e) < 0) {
		httpd_reply_err(req, &e);
		json_decref(map);
		goto out;
	}
	center_event(c, "image.set", jid(cl), 0, NULL, 0, NULL,
		     "cluster '%s': %zu image(s) set; hosts are now unknown",
		     api_str(cl, "name"), json_array_size(set));
	httpd_reply_json(req, 200,
			 json_pack("{s:o,s:o}", "images",
				   store_image_list(c->st, jid(cl)), "hosts",
				   map));
out:
	json_decref(set);
	json_decref(cl);
}

API_HANDLER(api_images_create)
{
	json_t *cl = api_cluster(req), *body = httpd_req_json(req), *im, *old;
	const char *name = api_str(body, "name");

	if (!cl)
		return;
	if (!name) {
		httpd_reply_error(req, 400, "bad_request",
				  "missing field 'name'");
		goto out;
	}
	old = store_image_get(api_center(req)->st, jid(cl), name);
	if (old) {
		json_decref(old);
		httpd_reply_error(req, 409, "conflict",
				  "cluster '%s' already has an image '%s'",
				  api_str(cl, "name"), name);
		goto out;
	}
	im = api_image_build(req, body, body, name);
	if (im)
		api_image_store(req, cl, im, 201, "image.created");
	json_decref(im);
out:
	json_decref(cl);
}

API_HANDLER(api_image_named_put)
{
	json_t *cl = api_cluster(req), *body = httpd_req_json(req), *im;
	const char *name = httpd_req_param(req, "name");

	if (!cl)
		return;
	if (api_str(body, "name") && strcmp(api_str(body, "name"), name)) {
		httpd_reply_error(req, 400, "bad_request",
				  "field 'name' ('%s') differs from the path "
				  "('%s')",
				  api_str(body, "name"), name);
		goto out;
	}
	im = api_image_build(req, body, body, name);
	if (im)
		api_image_store(req, cl, im, 200, "image.set");
	json_decref(im);
out:
	json_decref(cl);
}

API_HANDLER(api_images_validate)
{
	json_t *cl = api_cluster(req), *body = httpd_req_json(req), *im, *set;
	json_t *map = NULL;
	const char *name =
	    api_str(body, "name") ? api_str(body, "name") : "default";

	if (!cl)
		return;
	im = api_image_build(req, body, body, name);
	if (im) {
		set = api_images_with(api_center(req), jid(cl), im, NULL);
		if (api_images_check_hosts(req, jid(cl), set, &map) == 0) {
			json_object_set_new(im, "valid", json_true());
			json_object_set_new(im, "hosts", map);
			httpd_reply_json(req, 200, json_incref(im));
		}
		json_decref(set);
		json_decref(im);
	}
	json_decref(cl);
}

API_HANDLER(api_image_named_get)
{
	json_t *cl = api_cluster(req), *im;

	if (!cl)
		return;
	im = store_image_get(api_center(req)->st, jid(cl),
			     httpd_req_param(req, "name"));
	if (im)
		httpd_reply_json(req, 200, im);
	else
		httpd_reply_error(
		    req, 404, "not_found", "cluster '%s' has no image '%s'",
		    api_str(cl, "name"), httpd_req_param(req, "name"));
	json_decref(cl);
}

API_HANDLER(api_image_named_delete)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req), *set;
	const char *name = httpd_req_param(req, "name");
	struct seam_err e = {0};

	if (!cl)
		return;
	set = api_images_with(c, jid(cl), NULL, name);
	if (api_images_check_hosts(req, jid(cl), set, NULL) == 0) {
		if (store_image_delete(c->st, jid(cl), name, &e) < 0) {
			httpd_reply_err(req, &e);
		} else {
			center_event(c, "image.deleted", jid(cl), 0, NULL, 0,
				     NULL, "cluster '%s': image '%s' deleted",
				     api_str(cl, "name"), name);
			httpd_reply_empty(req, 204);
		}
	}
	json_decref(set);
	json_decref(cl);
}

API_HANDLER(api_image_export)
{
	json_t *cl = api_cluster(req), *im;

	if (!cl)
		return;
	im = store_image_get(api_center(req)->st, jid(cl),
			     httpd_req_param(req, "name"));
	if (im)
		httpd_reply_json(req, 200, image_export(im));
	else
		httpd_reply_error(
		    req, 404, "not_found", "cluster '%s' has no image '%s'",
		    api_str(cl, "name"), httpd_req_param(req, "name"));
	json_decref(im);
	json_decref(cl);
}

API_HANDLER(api_images_import)
{
	json_t *cl = api_cluster(req), *body = httpd_req_json(req), *im;
	const json_t *doc = json_object_get(body, "image");
	json_t *src;
	struct seam_err e = {0};
	const char *name;

	if (!cl)
		return;
	if (image_import_check(doc, &e) < 0) {
		httpd_reply_error(req, 400, "bad_request", "%s", e.msg);
		goto out;
	}
	name = api_str(body, "name") ? api_str(body, "name")
				     : api_str(doc, "name");
	/* The selector: the request's, else the document's. */
	src = json_pack("{s:O}", "selector",
			json_object_get(body, "selector")
			    ? json_object_get(body, "selector")
			    : (json_object_get(doc, "selector")
				   ? json_object_get(doc, "selector")
				   : json_null()));
	im =
	    api_image_build(req, src, json_object_get(doc, "definition"), name);
	json_decref(src);
	if (im)
		api_image_store(req, cl, im, 201, "image.imported");
	json_decref(im);
out:
	json_decref(cl);
}

/* ---- compliance ---- */

API_HANDLER(api_compliance_run)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req);
	struct seam_err e = {0};
	int64_t task;

	if (!cl)
		return;
	task = checks_spawn_compliance(c, jid(cl), api_str(cl, "name"), 0, &e);
	if (task < 0)
		httpd_reply_err(req, &e);
	else
		api_reply_task(req, task);
	json_decref(cl);
}

API_HANDLER(api_compliance_list)
{
	json_t *cl = api_cluster(req);

	if (!cl)
		return;
	httpd_reply_json(
	    req, 200,
	    json_pack("{s:O,s:o}", "cluster", json_object_get(cl, "name"),
		      "hosts",
		      store_compliance_list(api_center(req)->st, jid(cl))));
	json_decref(cl);
}

API_HANDLER(api_host_compliance_get)
{
	json_t *h = api_host(req), *r;

	if (!h)
		return;
	r = store_compliance_get(api_center(req)->st, jid(h));
	httpd_reply_json(req, 200, r ? r : json_object());
	json_decref(h);
}

API_HANDLER(api_host_compliance_run)
{
	struct center *c = api_center(req);
	json_t *h = api_host(req);
	struct seam_err e = {0};
	int64_t task;

	if (!h)
		return;
	task = checks_spawn_compliance(
	    c, json_integer_value(json_object_get(h, "cluster_id")),
	    api_str(h, "name"), jid(h), &e);
	if (task < 0)
		httpd_reply_err(req, &e);
	else
		api_reply_task(req, task);
	json_decref(h);
}
