/*
 * api_depot.c — the depot over HTTP: bundle upload (the zip is the request
 * body), releases, payloads by digest (for hosts), and the trust store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "api.h"
#include "log.h"

const struct jsonio_field api_trust_fields[] = {
    {"level", JSONIO_STRING, true},
    {"name", JSONIO_STRING, true},
    {"key", JSONIO_STRING, true},
    {NULL, 0, false},
};

static void api_depot_tag(json_t *rows)
{
	json_t *r;
	size_t i;

	json_array_foreach(rows, i, r)
	{
		json_t *tags = json_array();
		const json_t *lpf = json_object_get(r, "live_patch_from");

		if (json_is_array(lpf) && json_array_size(lpf) > 0)
			json_array_append_new(tags,
					      json_string("live_patchable"));
		if (json_is_integer(json_object_get(r, "fsr_required"))) {
			bool f = json_integer_value(
				     json_object_get(r, "fsr_required")) != 0;

			json_object_set_new(r, "fsr_required", json_boolean(f));
			if (f)
				json_array_append_new(
				    tags, json_string("fsr_required"));
		}
		json_object_set_new(
		    r, "live_patchable",
		    json_boolean(
			json_array_size(tags) > 0 &&
			!strcmp(json_string_value(json_array_get(tags, 0)),
				"live_patchable")));
		json_object_set_new(r, "tags", tags);
	}
}

static void api_depot_list(struct httpd_req *req, const char *kind,
			   const char *key)
{
	json_t *rows = store_depot_list(api_center(req)->st, kind);

	api_depot_tag(rows);
	httpd_reply_json(req, 200, json_pack("{s:o}", key, rows));
}

static void api_depot_one(struct httpd_req *req, json_t *row, const char *what)
{
	json_t *arr;

	if (!row) {
		httpd_reply_error(req, 404, "not_found",
				  "no %s %s%s%s in the "
				  "depot",
				  what,
				  httpd_req_param(req, "name")
				      ? httpd_req_param(req, "name")
				      : "",
				  httpd_req_param(req, "name") ? " " : "",
				  httpd_req_param(req, "version"));
		return;
	}
	arr = json_array();
	json_array_append_new(arr, row);
	api_depot_tag(arr);
	httpd_reply_json(req, 200, json_incref(json_array_get(arr, 0)));
	json_decref(arr);
}

API_HANDLER(api_depot_upload)
{
	struct center *c = api_center(req);
	struct seam_err e = {0};
	struct afile f;
	json_t *summary = NULL;
	char path[PATH_MAX];
	const char *body;
	size_t len;
	int64_t task;
	int rc;

	body = httpd_req_body(req, &len);
	if (len == 0) {
		httpd_reply_error(req, 400, "bad_request",
				  "empty body: POST the bundle (zip) as the "
				  "request body");
		return;
	}
	snprintf(path, sizeof(path), "%s/tmp/upload-%ld-%lx.zip", c->depot_dir,
		 (long)getpid(), (unsigned long)pthread_self());
	task = center_task_begin(c, "depot.import", "depot", 0, "depot", NULL);
	rc = afile_open(&f, path, 0600, &e);
	if (rc == 0)
		rc = afile_write(&f, body, len, &e);
	if (rc == 0)
		rc = afile_commit(&f, &e);
	else
		afile_abort(&f);
	if (rc == 0)
		rc = depot_import_file(c, path, task, &summary, &e);
	unlink(path);
	center_task_end(c, task, rc, summary, &e);
	if (rc < 0) {
		unsigned st = e.code == EEXIST			  ? 409
			      : e.code == EFBIG			  ? 413
			      : e.code == ENOMEM || e.code == EIO ? 500
								  : 400;

		center_event(c, "depot.import_refused", 0, 0, NULL, task, NULL,
			     "bundle refused: %s", e.msg);
		httpd_reply_error(req, st, httpd_code_of_status(st),
				  "bundle refused: %s", e.msg);
		return;
	}
	json_object_set_new(summary, "task_id", json_integer(task));
	httpd_reply_json(req, 201, summary);
}

API_HANDLER(api_depot_bundles)
{
	httpd_reply_json(
	    req, 200,
	    json_pack("{s:o}", "bundles",
		      store_depot_list(api_center(req)->st, "bundles")));
}

API_HANDLER(api_depot_bases)
{
	api_depot_list(req, "base_images", "base_images");
}

API_HANDLER(api_depot_addons)
{
	api_depot_list(req, "addons", "addons");
}

API_HANDLER(api_depot_components)
{
	api_depot_list(req, "components", "components");
}

API_HANDLER(api_depot_base_get)
{
	api_depot_one(req,
		      store_depot_base_get(api_center(req)->st,
					   httpd_req_param(req, "version")),
		      "base image");
}

API_HANDLER(api_depot_addon_get)
{
	api_depot_one(req,
		      store_depot_addon_get(api_center(req)->st,
					    httpd_req_param(req, "name"),
					    httpd_req_param(req, "version")),
		      "add-on");
}

API_HANDLER(api_depot_component_get)
{
	api_depot_one(req,
		      store_depot_component_get(
			  api_center(req)->st, httpd_req_param(req, "name"),
			  httpd_req_param(req, "version")),
		      "component");
}

static void api_depot_del(struct httpd_req *req, const char *kind)
{
	struct seam_err e = {0};

	if (depot_delete(api_center(req), kind, httpd_req_param(req, "name"),
			 httpd_req_param(req, "version"), &e) < 0)
		httpd_reply_err(req, &e);
	else
		httpd_reply_empty(req, 204);
}

API_HANDLER(api_depot_base_delete)
{
	api_depot_del(req, "base_images");
}

API_HANDLER(api_depot_addon_delete)
{
	api_depot_del(req, "addons");
}

API_HANDLER(api_depot_component_delete)
{
	api_depot_del(req, "components");
}

struct api_file {
	int fd;
};

static ssize_t api_file_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_file *f = cls;
	ssize_t n = pread(f->fd, buf, max, (off_t)pos);

	if (n < 0)
		return HTTPD_STREAM_ERROR;
	return n == 0 ? HTTPD_STREAM_END : n;
}

static void api_file_free(void *cls)
{
	struct api_file *f = cls;

	close(f->fd);
	free(f);
}

API_HANDLER(api_depot_payload)
{
	struct center *c = api_center(req);
	const char *dig = httpd_req_param(req, "digest");
	struct api_file *f;
	char path[PATH_MAX];

	if (!depot_is_digest(dig) || !store_depot_payload_known(c->st, dig)) {
		httpd_reply_error(req, 404, "not_found",
				  "no payload '%s' in the depot", dig);
		return;
	}
	depot_payload_path(c, dig, path, sizeof(path));
	f = calloc(1, sizeof(*f));
	if (!f) {
		httpd_reply_error(req, 503, "unavailable", "no memory");
		return;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		free(f);
		httpd_reply_error(req, 500, "internal",
				  "payload %s is recorded but its file is "
				  "missing",
				  dig);
		return;
	}
	httpd_reply_stream(req, 200, "application/octet-stream", api_file_read,
			   f, api_file_free);
}

API_HANDLER(api_trust_list)
{
	httpd_reply_json(
	    req, 200,
	    json_pack("{s:o}", "keys", depot_trust_list(api_center(req))));
}

API_HANDLER(api_trust_add)
{
	json_t *b = httpd_req_json(req);
	struct seam_err e = {0};

	if (depot_trust_add(api_center(req), api_str(b, "level"),
			    api_str(b, "name"), api_str(b, "key"), &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	httpd_reply_json(
	    req, 201,
	    json_pack("{s:o}", "keys", depot_trust_list(api_center(req))));
}

API_HANDLER(api_trust_delete)
{
	struct seam_err e = {0};

	if (depot_trust_delete(api_center(req), httpd_req_param(req, "level"),
			       httpd_req_param(req, "name"), &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	httpd_reply_empty(req, 204);
}
