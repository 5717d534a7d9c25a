/*
 * api_inventory.c — clusters, hosts (adding one pins its certificate) and
 * VMs (listed from the hosts' inventories, changed through their hosts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "drs.h"
#include "image.h"
#include "log.h"
#include "settings.h"

extern const struct jsonio_field api_settings_fields[];

const struct jsonio_field api_cluster_fields[] = {
    {"name", JSONIO_STRING, true},
    {"settings", JSONIO_OBJECT, false},
    {NULL, 0, false},
};
const struct jsonio_field api_cluster_patch_fields[] = {
    {"name", JSONIO_STRING, false},
    {"settings", JSONIO_OBJECT, false},
    {NULL, 0, false},
};
const struct jsonio_field api_host_add_fields[] = {
    {"address", JSONIO_STRING, true},
    {"token", JSONIO_STRING, true},
    {"cluster", JSONIO_STRING_OR_INTEGER, true},
    {"name", JSONIO_STRING, false},
    {"thumbprint", JSONIO_STRING, false},
    {NULL, 0, false},
};
const struct jsonio_field api_host_reconnect_fields[] = {
    {"address", JSONIO_STRING, false},
    {"token", JSONIO_STRING, false},
    {"thumbprint", JSONIO_STRING, false},
    {NULL, 0, false},
};
const struct jsonio_field api_host_patch_fields[] = {
    {"name", JSONIO_STRING, false},
    {"cluster", JSONIO_STRING_OR_INTEGER, false},
    {NULL, 0, false},
};
const struct jsonio_field api_host_maint_fields[] = {
    {"mode", JSONIO_STRING, true},
    {NULL, 0, false},
};
const struct jsonio_field api_vm_create_fields[] = {
    {"name", JSONIO_STRING, true},
    {"mem", JSONIO_STRING_OR_INTEGER, true},
    {"vcpus", JSONIO_INTEGER, true},
    {"cmdline", JSONIO_STRING, false},
    {"kernel", JSONIO_STRING, false},
    {"fault_tolerance", JSONIO_BOOL, false},
    {"passthrough", JSONIO_BOOL, false},
    {"pod", JSONIO_BOOL, false},
    {"host", JSONIO_STRING_OR_INTEGER, false},
    {"cluster", JSONIO_STRING_OR_INTEGER, false},
    {NULL, 0, false},
};
const struct jsonio_field api_vm_power_off_fields[] = {
    {"force", JSONIO_BOOL, false},
    {NULL, 0, false},
};

static int64_t jid(const json_t *o)
{
	return json_integer_value(json_object_get(o, "id"));
}

/* A JSON string-or-integer reference as text. */
static const char *api_ref(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return json_string_value(v);
}

static bool api_cluster_name_ok(const char *s)
{
	size_t i;

	if (!s || !s[0] || strlen(s) > 64 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* ---- clusters ---- */

API_HANDLER(api_clusters_list)
{
	httpd_reply_json(req, 200,
			 json_pack("{s:o}", "clusters",
				   store_cluster_list(api_center(req)->st)));
}

API_HANDLER(api_clusters_create)
{
	struct center *c = api_center(req);
	json_t *body = httpd_req_json(req), *out = NULL;
	const char *name = api_str(body, "name");
	struct seam_err e = {0};

	if (!api_cluster_name_ok(name)) {
		httpd_reply_error(req, 400, "bad_request",
				  "cluster name '%s': 1-64 of A-Z a-z 0-9 . _ "
				  "-, not starting with a digit",
				  name);
		return;
	}
	if (json_object_get(body, "settings") &&
	    settings_validate(json_object_get(body, "settings"), &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	if (store_cluster_create(c->st, name, json_object_get(body, "settings"),
				 &out, &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	center_event(c, "cluster.created", jid(out), 0, NULL, 0, NULL,
		     "cluster '%s' created by '%s'", name,
		     center_caller()->user);
	httpd_reply_json(req, 201, out);
}

API_HANDLER(api_cluster_get)
{
	json_t *cl = api_cluster(req);

	if (cl)
		httpd_reply_json(req, 200, cl);
}

API_HANDLER(api_cluster_patch)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req), *body = httpd_req_json(req);
	const char *name = api_str(body, "name");
	const json_t *settings = json_object_get(body, "settings");
	struct seam_err e = {0};
	char ref[32];

	if (!cl)
		return;
	if (name && !api_cluster_name_ok(name)) {
		httpd_reply_error(req, 400, "bad_request",
				  "cluster name '%s': 1-64 of A-Z a-z 0-9 . _ "
				  "-, not starting with a digit",
				  name);
	} else if (settings && settings_validate(settings, &e) < 0) {
		httpd_reply_err(req, &e);
	} else if (store_cluster_update(c->st, jid(cl), name, settings, &e) <
		   0) {
		httpd_reply_err(req, &e);
	} else {
		if (name && strcmp(name, api_str(cl, "name")))
			center_event(c, "cluster.renamed", jid(cl), 0, NULL, 0,
				     NULL, "cluster '%s' renamed to '%s'",
				     api_str(cl, "name"), name);
		snprintf(ref, sizeof(ref), "%lld", (long long)jid(cl));
		httpd_reply_json(req, 200, store_cluster_get(c->st, ref));
	}
	json_decref(cl);
}

API_HANDLER(api_cluster_delete)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req);
	struct seam_err e = {0};

	if (!cl)
		return;
	if (store_cluster_delete(c->st, jid(cl), &e) < 0) {
		httpd_reply_err(req, &e);
	} else {
		center_event(c, "cluster.deleted", 0, 0, NULL, 0, NULL,
			     "cluster '%s' deleted", api_str(cl, "name"));
		httpd_reply_empty(req, 204);
	}
	json_decref(cl);
}

API_HANDLER(api_cluster_settings_get)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req);

	if (!cl)
		return;
	httpd_reply_json(req, 200,
			 json_pack("{s:O,s:o}", "settings",
				   json_object_get(cl, "settings"), "effective",
				   center_settings(c, jid(cl))));
	json_decref(cl);
}

API_HANDLER(api_cluster_settings_put)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req), *body = httpd_req_json(req);
	struct seam_err e = {0};

	if (!cl)
		return;
	if (settings_validate(body, &e) < 0 ||
	    store_cluster_update(c->st, jid(cl), NULL, body, &e) < 0) {
		httpd_reply_err(req, &e);
	} else {
		center_event(c, "cluster.settings_changed", jid(cl), 0, NULL, 0,
			     body, "settings of cluster '%s' changed",
			     api_str(cl, "name"));
		httpd_reply_json(req, 200,
				 json_pack("{s:O,s:o}", "settings", body,
					   "effective",
					   center_settings(c, jid(cl))));
	}
	json_decref(cl);
}

/* ---- hosts ---- */

API_HANDLER(api_hosts_list)
{
	int64_t cid;

	if (api_query_ref(req, "cluster", false, &cid) < 0)
		return;
	httpd_reply_json(req, 200,
			 json_pack("{s:o}", "hosts",
				   store_host_list(api_center(req)->st, cid)));
}

static bool api_address_ok(const char *a)
{
	const char *colon = a ? strrchr(a, ':') : NULL;
	char *end;
	long port;
	size_t i;

	if (!colon || colon == a || strlen(a) > 255)
		return false;
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return false;
	for (i = 0; a + i < colon; i++)
		if (a[i] == '/' || a[i] == '@' || a[i] == ' ' || a[i] == '?' ||
		    a[i] == '#')
			return false;
	return true;
}

/* Confirm the thumbprint: 0 pinned, 1 replied "needs_confirmation". */
static int api_pin(struct httpd_req *req, const char *address,
		   const char *given, char pinned[TLS_THUMBPRINT_SIZE])
{
	char seen[TLS_THUMBPRINT_SIZE], fmt[TLS_THUMBPRINT_FMT_SIZE];
	struct seam_err e = {0};

	if (hostlink_probe(address, seen, &e) < 0) {
		httpd_reply_error(req, 502, "unavailable", "%s", e.msg);
		return -1;
	}
	tls_thumbprint_format(seen, fmt, sizeof(fmt));
	if (!given) {
		httpd_reply_json(
		    req, 200,
		    json_pack("{s:b,s:s,s:s,s:s,s:s}", "needs_confirmation", 1,
			      "address", address, "thumbprint", seen,
			      "thumbprint_sha256", fmt, "message",
			      "confirm the host's certificate: repeat the "
			      "request with this thumbprint"));
		return 1;
	}
	if (tls_thumbprint_parse(given, pinned, &e) < 0) {
		httpd_reply_error(req, 400, "bad_request", "thumbprint: %s",
				  e.msg);
		return -1;
	}
	if (strcmp(pinned, seen)) {
		httpd_reply_error(req, 409, "thumbprint_mismatch",
				  "thumbprint mismatch: the host at %s "
				  "presents a certificate with SHA-256 %s, not "
				  "the confirmed %s; nothing was changed",
				  address, fmt, given);
		return -1;
	}
	return 0;
}

/* GET /host with the candidate credentials; *summary owned. */
static int api_host_hello(struct httpd_req *req, json_t *cand, json_t **summary)
{
	struct seam_err e = {0};
	json_t *reply = NULL;
	long status = 0;

	*summary = NULL;
	if (hostlink_call(cand, "GET", "/api/v1/host", NULL, 10000, &status,
			  &reply, &e) < 0) {
		httpd_reply_error(req, 502, "unavailable", "%s", e.msg);
		return -1;
	}
	if (status == 401) {
		json_decref(reply);
		httpd_reply_error(req, 400, "bad_request",
				  "the host at %s refused the enrollment "
				  "token",
				  api_str(cand, "address"));
		return -1;
	}
	if (status != 200 || !json_is_object(reply)) {
		hostlink_reply_err(cand, status, reply, &e);
		json_decref(reply);
		httpd_reply_error(req, 502, "unavailable", "%s", e.msg);
		return -1;
	}
	*summary = reply;
	return 0;
}

static json_t *api_host_by_remote(struct center *c, const char *remote_id)
{
	json_t *all = store_host_list(c->st, 0), *h, *found = NULL;
	size_t i;

	json_array_foreach(all, i,
			   h) if (remote_id && api_str(h, "remote_id") &&
				  !strcmp(api_str(h, "remote_id"), remote_id))
	    found = json_incref(h);
	json_decref(all);
	return found;
}

API_HANDLER(api_hosts_add)
{
	struct center *c = api_center(req);
	json_t *body = httpd_req_json(req), *cl, *cand, *hello = NULL;
	json_t *dup, *out = NULL, *inv = NULL;
	const char *address = api_str(body, "address");
	const char *name = api_str(body, "name");
	char pinned[TLS_THUMBPRINT_SIZE], ref[32];
	struct seam_err e = {0};
	long status = 0;

	cl = store_cluster_get(
	    c->st, api_ref(json_object_get(body, "cluster"), ref, sizeof(ref)));
	if (!cl) {
		httpd_reply_error(req, 400, "bad_request", "no cluster '%s'",
				  ref[0] ? ref : api_str(body, "cluster"));
		return;
	}
	if (!api_address_ok(address)) {
		httpd_reply_error(req, 400, "bad_request",
				  "address '%s' is not HOST:PORT", address);
		goto out;
	}
	if (name && !api_cluster_name_ok(name)) {
		httpd_reply_error(req, 400, "bad_request",
				  "host name '%s': 1-64 of A-Z a-z 0-9 . _ -, "
				  "not starting with a digit",
				  name);
		goto out;
	}
	if (strlen(api_str(body, "token")) == 0 ||
	    strlen(api_str(body, "token")) > 256) {
		httpd_reply_error(req, 400, "bad_request",
				  "field 'token': the host's enrollment token");
		goto out;
	}
	if (api_pin(req, address, api_str(body, "thumbprint"), pinned) != 0)
		goto out;
	cand = json_pack("{s:s,s:s,s:s,s:s}", "name", name ? name : address,
			 "address", address, "thumbprint", pinned, "secret",
			 api_str(body, "token"));
	if (api_host_hello(req, cand, &hello) < 0) {
		json_decref(cand);
		goto out;
	}
	dup = api_host_by_remote(c, api_str(hello, "id"));
	if (dup) {
		httpd_reply_error(req, 409, "conflict",
				  "this host (id %s) is already registered as "
				  "'%s'",
				  api_str(hello, "id"), api_str(dup, "name"));
		json_decref(dup);
		json_decref(cand);
		goto out;
	}
	if (hostlink_call(cand, "GET", "/api/v1/inventory", NULL, 10000,
			  &status, &inv, &e) == 0 &&
	    status != 200) {
		json_decref(inv);
		inv = NULL;
	}
	json_object_set_new(cand, "cluster_id", json_integer(jid(cl)));
	json_object_set(cand, "remote_id", json_object_get(hello, "id"));
	json_object_set(cand, "version", json_object_get(hello, "version"));
	json_object_set(cand, "event_cursor",
			json_object_get(hello, "event_cursor"));
	if (inv)
		json_object_set(cand, "inventory", inv);
	if (store_host_create(c->st, cand, &out, &e) < 0) {
		httpd_reply_err(req, &e);
	} else {
		center_event(c, "host.added", jid(cl), jid(out), NULL, 0, NULL,
			     "host '%s' (%s) added to cluster '%s', "
			     "certificate %s pinned",
			     api_str(out, "name"), address, api_str(cl, "name"),
			     pinned);
		httpd_reply_json(req, 201, out);
	}
	json_decref(cand);
out:
	json_decref(inv);
	json_decref(hello);
	json_decref(cl);
}

API_HANDLER(api_host_get)
{
	json_t *h = api_host(req);

	if (h)
		httpd_reply_json(req, 200, h);
}

API_HANDLER(api_host_inventory)
{
	json_t *h = api_host(req);

	if (!h)
		return;
	httpd_reply_json(
	    req, 200,
	    json_pack("{s:O,s:O,s:O,s:O}", "host", json_object_get(h, "name"),
		      "state", json_object_get(h, "state"), "inventory_time",
		      json_object_get(h, "inventory_time"), "inventory",
		      json_object_get(h, "inventory")));
	json_decref(h);
}

API_HANDLER(api_host_credential)
{
	struct center *c = api_center(req);
	char tok[AUTH_HOST_TOKEN_SIZE];
	json_t *h = api_host(req);

	if (!h)
		return;
	auth_host_token(c->secret, jid(h), tok);
	/* What a host needs to fetch payloads: credential and the pin. */
	httpd_reply_json(req, 200,
			 json_pack("{s:O,s:s,s:s,s:s}", "host",
				   json_object_get(h, "name"), "token", tok,
				   "payload_path", "/api/v1/depot/payloads/",
				   "center_thumbprint", c->tls->thumbprint));
	json_decref(h);
}

/* The target cluster's images must still give every host exactly one. */
static int api_host_fits(struct httpd_req *req, int64_t cid, const json_t *h)
{
	struct center *c = api_center(req);
	json_t *images = store_image_list(c->st, cid), *hosts, *one,
	       *map = NULL;
	json_t *full;
	struct seam_err e = {0};
	char ref[32];
	int rc = 0;

	if (json_array_size(images) == 0) {
		json_decref(images);
		return 0;
	}
	snprintf(ref, sizeof(ref), "%lld", (long long)jid(h));
	full = store_host_get(c->st, ref, false);
	one = json_pack(
	    "{s:O,s:O}", "name", json_object_get(h, "name"), "attributes",
	    json_object_get(json_object_get(full, "inventory"), "host")
		? json_object_get(json_object_get(full, "inventory"), "host")
		: json_null());
	hosts = json_array();
	json_array_append_new(hosts, one);
	if (image_assign(images, hosts, &map, &e) < 0) {
		httpd_reply_error(req, 400, "bad_request",
				  "cannot move the host: %s", e.msg);
		rc = -1;
	}
	json_decref(map);
	json_decref(hosts);
	json_decref(full);
	json_decref(images);
	return rc;
}

/* PATCH /hosts/{host}: rename, or move to another cluster. */
API_HANDLER(api_host_patch)
{
	struct center *c = api_center(req);
	json_t *body = httpd_req_json(req), *h = api_host(req), *cl = NULL;
	const char *name = api_str(body, "name");
	struct seam_err e = {0};
	char ref[32];

	if (!h)
		return;
	if (name && !api_cluster_name_ok(name)) {
		httpd_reply_error(req, 400, "bad_request",
				  "host name '%s': 1-64 of A-Z a-z 0-9 . _ -, "
				  "not starting with a digit",
				  name);
		goto out;
	}
	if (json_object_get(body, "cluster")) {
		cl = store_cluster_get(c->st,
				       api_ref(json_object_get(body, "cluster"),
					       ref, sizeof(ref)));
		if (!cl) {
			httpd_reply_error(req, 400, "bad_request",
					  "no cluster '%s'", ref);
			goto out;
		}
		if (jid(cl) !=
			json_integer_value(json_object_get(h, "cluster_id")) &&
		    api_host_fits(req, jid(cl), h) < 0)
			goto out;
	}
	if (store_host_update(c->st, jid(h), name, cl ? jid(cl) : 0, &e) < 0) {
		httpd_reply_err(req, &e);
		goto out;
	}
	center_event(c, "host.updated", cl ? jid(cl) : 0, jid(h), NULL, 0, body,
		     "host '%s' updated%s%s%s%s", api_str(h, "name"),
		     name ? ": name " : "", name ? name : "",
		     cl ? ", cluster " : "", cl ? api_str(cl, "name") : "");
	snprintf(ref, sizeof(ref), "%lld", (long long)jid(h));
	httpd_reply_json(req, 200, store_host_get(c->st, ref, false));
out:
	json_decref(cl);
	json_decref(h);
}

/* PUT /hosts/{host}/maintenance: enter or leave a mode, through hostd. */
API_HANDLER(api_host_maintenance)
{
	struct center *c = api_center(req);
	const char *mode = api_str(httpd_req_json(req), "mode");
	struct seam_err e = {0};
	json_t *h = api_host(req), *full, *reply = NULL;
	long status = 0;
	char ref[32];

	if (!h)
		return;
	if (strcmp(mode, "none") && strcmp(mode, "partial") &&
	    strcmp(mode, "full")) {
		httpd_reply_error(req, 400, "bad_request",
				  "mode '%s': one of none, partial, full",
				  mode);
		json_decref(h);
		return;
	}
	snprintf(ref, sizeof(ref), "%lld", (long long)jid(h));
	full = store_host_get(c->st, ref, true);
	if (hostlink_call(full, "PUT", "/api/v1/maintenance",
			  httpd_req_json(req), 60000, &status, &reply,
			  &e) < 0) {
		httpd_reply_error(req, 502, "unavailable", "%s", e.msg);
	} else if (status != 200) {
		const json_t *err = json_object_get(reply, "error");

		httpd_reply_error(
		    req, status >= 400 && status < 500 ? (unsigned)status : 502,
		    api_str(err, "code") ? api_str(err, "code") : "unavailable",
		    "host '%s': %s", api_str(h, "name"),
		    api_str(err, "message") ? api_str(err, "message")
					    : "no message");
	} else {
		hostlink_refresh(c, full, NULL, &e);
		center_event(
		    c, "host.maintenance_set",
		    json_integer_value(json_object_get(h, "cluster_id")),
		    jid(h), NULL, 0, NULL, "host '%s': maintenance mode %s",
		    api_str(h, "name"), mode);
		httpd_reply_json(req, 200, store_host_get(c->st, ref, false));
	}
	json_decref(reply);
	json_decref(full);
	json_decref(h);
}

API_HANDLER(api_host_delete)
{
	struct center *c = api_center(req);
	json_t *h = api_host(req);
	struct seam_err e = {0};

	if (!h)
		return;
	if (store_host_delete(c->st, jid(h), &e) < 0) {
		httpd_reply_err(req, &e);
	} else {
		hostlink_pool_drop(jid(h));
		center_event(
		    c, "host.removed",
		    json_integer_value(json_object_get(h, "cluster_id")), 0,
		    NULL, 0, NULL, "host '%s' removed", api_str(h, "name"));
		httpd_reply_empty(req, 204);
	}
	json_decref(h);
}

API_HANDLER(api_host_reconnect)
{
	struct center *c = api_center(req);
	json_t *body = httpd_req_json(req), *h, *full, *cand, *hello = NULL;
	char pinned[TLS_THUMBPRINT_SIZE], seen[TLS_THUMBPRINT_SIZE];
	char address[256], ref[32];
	const char *given;
	struct seam_err e = {0};

	h = api_host(req);
	if (!h)
		return;
	snprintf(ref, sizeof(ref), "%lld", (long long)jid(h));
	full = store_host_get(c->st, ref, true);
	/* Copied: `full` is re-read below. */
	snprintf(address, sizeof(address), "%s",
		 api_str(body, "address") ? api_str(body, "address")
					  : api_str(full, "address"));
	given = api_str(body, "thumbprint");
	if (!api_address_ok(address)) {
		httpd_reply_error(req, 400, "bad_request",
				  "address '%s' is not HOST:PORT", address);
		goto out;
	}
	/* The pinned certificate is kept unless another is confirmed. */
	if (!given && hostlink_probe(address, seen, &e) == 0 &&
	    !strcmp(seen, api_str(full, "thumbprint")))
		given = api_str(full, "thumbprint");
	if (api_pin(req, address, given, pinned) != 0)
		goto out;
	cand = json_pack("{s:O,s:s,s:s,s:s}", "name",
			 json_object_get(full, "name"), "address", address,
			 "thumbprint", pinned, "secret",
			 api_str(body, "token") ? api_str(body, "token")
						: api_str(full, "secret"));
	if (api_host_hello(req, cand, &hello) == 0) {
		if (store_host_set_connection(c->st, jid(h), address, pinned,
					      api_str(cand, "secret"),
					      &e) < 0) {
			httpd_reply_err(req, &e);
		} else {
			json_decref(full);
			full = store_host_get(c->st, ref, true);
			hostlink_refresh(c, full, NULL, &e);
			center_event(c, "host.reconnected",
				     json_integer_value(
					 json_object_get(h, "cluster_id")),
				     jid(h), NULL, 0, NULL,
				     "host '%s' reconnected (%s, certificate "
				     "%s)",
				     api_str(h, "name"), address, pinned);
			httpd_reply_json(req, 200,
					 store_host_get(c->st, ref, false));
		}
	}
	json_decref(cand);
	json_decref(hello);
out:
	json_decref(full);
	json_decref(h);
}

/* ---- VMs ---- */

static json_t *api_vm_row(const json_t *host, const json_t *vm)
{
	json_t *r = json_deep_copy(vm);

	json_object_set(r, "host", json_object_get(host, "name"));
	json_object_set(r, "host_id", json_object_get(host, "id"));
	json_object_set(r, "cluster", json_object_get(host, "cluster"));
	json_object_set(r, "cluster_id", json_object_get(host, "cluster_id"));
	return r;
}

API_HANDLER(api_vms_list)
{
	struct center *c = api_center(req);
	json_t *hosts, *h, *vm, *out = json_array();
	int64_t cid, hid;
	size_t i, j;

	if (api_query_ref(req, "cluster", false, &cid) < 0 ||
	    api_query_ref(req, "host", true, &hid) < 0) {
		json_decref(out);
		return;
	}
	hosts = store_host_list_full(c->st, cid, false);
	json_array_foreach(hosts, i, h)
	{
		if (hid && jid(h) != hid)
			continue;
		json_array_foreach(
		    json_object_get(json_object_get(h, "inventory"), "vms"), j,
		    vm) json_array_append_new(out, api_vm_row(h, vm));
	}
	json_decref(hosts);
	httpd_reply_json(req, 200, json_pack("{s:o}", "vms", out));
}

/* The host rows (with secret) holding a VM of this name. */
static json_t *api_vm_hosts(struct center *c, const char *name, int64_t host_id)
{
	json_t *hosts = store_host_list_full(c->st, 0, true), *h, *vm;
	json_t *out = json_array();
	size_t i, j;

	json_array_foreach(hosts, i, h)
	{
		if (host_id && jid(h) != host_id)
			continue;
		json_array_foreach(
		    json_object_get(json_object_get(h, "inventory"), "vms"), j,
		    vm) if (!strcmp(api_str(vm, "name"), name))
		    json_array_append(out, h);
	}
	json_decref(hosts);
	return out;
}

/* The one host of VM {name}; NULL after a reply. */
static json_t *api_vm_host(struct httpd_req *req, const char **name)
{
	struct center *c = api_center(req);
	json_t *hs, *h;
	int64_t hid;

	*name = httpd_req_param(req, "name");
	if (api_query_ref(req, "host", true, &hid) < 0)
		return NULL;
	hs = api_vm_hosts(c, *name, hid);
	if (json_array_size(hs) == 0) {
		httpd_reply_error(req, 404, "not_found", "no VM '%s'", *name);
		json_decref(hs);
		return NULL;
	}
	if (json_array_size(hs) > 1) {
		httpd_reply_error(req, 409, "conflict",
				  "VM name '%s' is on %zu hosts: add "
				  "?host=NAME",
				  *name, json_array_size(hs));
		json_decref(hs);
		return NULL;
	}
	h = json_incref(json_array_get(hs, 0));
	json_decref(hs);
	return h;
}

API_HANDLER(api_vm_get)
{
	const char *name;
	json_t *h = api_vm_host(req, &name), *vm;
	size_t i;

	if (!h)
		return;
	json_array_foreach(
	    json_object_get(json_object_get(h, "inventory"), "vms"), i,
	    vm) if (!strcmp(api_str(vm, "name"), name))
	{
		httpd_reply_json(req, 200, api_vm_row(h, vm));
		break;
	}
	json_decref(h);
}

/* "512M", "2G", "65536K" or an integer of MiB; -1 when malformed. */
static int64_t api_mem_mib(const json_t *v)
{
	const char *s = json_string_value(v);
	char *end;
	long long n;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (!s)
		return -1;
	n = strtoll(s, &end, 10);
	if (end == s || n < 0)
		return -1;
	if (!*end || !strcmp(end, "M"))
		return n;
	if (!strcmp(end, "G"))
		return n * 1024;
	if (!strcmp(end, "K"))
		return n / 1024;
	return -1;
}

/* Forward a VM operation to its host, refresh, answer with the host's. */
static void api_vm_forward(struct httpd_req *req, json_t *h, const char *method,
			   const char *path, const json_t *body,
			   const char *evtype, const char *vm, unsigned ok)
{
	struct center *c = api_center(req);
	struct seam_err e = {0};
	json_t *reply = NULL;
	long status = 0;

	if (hostlink_call(h, method, path, body, 60000, &status, &reply, &e) <
	    0) {
		httpd_reply_error(req, 502, "unavailable", "%s", e.msg);
		return;
	}
	if (status < 200 || status > 299) {
		const json_t *err = json_object_get(reply, "error");

		httpd_reply_error(
		    req, status >= 400 && status < 500 ? (unsigned)status : 502,
		    api_str(err, "code") ? api_str(err, "code") : "unavailable",
		    "host '%s': %s", api_str(h, "name"),
		    api_str(err, "message") ? api_str(err, "message")
					    : "no message");
		json_decref(reply);
		return;
	}
	hostlink_refresh(c, h, NULL, &e);
	center_event(c, evtype,
		     json_integer_value(json_object_get(h, "cluster_id")),
		     jid(h), vm, 0, NULL, "VM '%s' on host '%s': %s", vm,
		     api_str(h, "name"), evtype);
	if (status == 204 || !reply) {
		json_decref(reply);
		httpd_reply_empty(req, status == 204 ? 204 : ok);
		return;
	}
	json_object_set(reply, "host", json_object_get(h, "name"));
	httpd_reply_json(req, ok ? ok : (unsigned)status, reply);
}

static json_t *api_vm_target(struct httpd_req *req, const json_t *body,
			     int64_t mem)
{
	struct center *c = api_center(req);
	json_t *hosts, *chosen = NULL;
	const json_t *pick;
	struct seam_err e = {0};
	char ref[32];
	int64_t cid = 0;
	const char *r;

	if (json_object_get(body, "host")) {
		r = api_ref(json_object_get(body, "host"), ref, sizeof(ref));
		chosen = store_host_get(c->st, r, true);
		if (!chosen)
			httpd_reply_error(req, 400, "bad_request",
					  "no host '%s'", r);
		return chosen;
	}
	if (json_object_get(body, "cluster")) {
		json_t *cl;

		r = api_ref(json_object_get(body, "cluster"), ref, sizeof(ref));
		cl = store_cluster_get(c->st, r);
		if (!cl) {
			httpd_reply_error(req, 400, "bad_request",
					  "no cluster '%s'", r);
			return NULL;
		}
		cid = jid(cl);
		json_decref(cl);
	}
	hosts = store_host_list_full(c->st, cid, true);
	pick = drs_place(hosts, mem, &e);
	if (pick)
		chosen = json_incref((json_t *)pick);
	else
		httpd_reply_err(req, &e);
	json_decref(hosts);
	return chosen;
}

API_HANDLER(api_vms_create)
{
	struct center *c = api_center(req);
	json_t *body = httpd_req_json(req), *h, *fwd, *exist;
	const char *name = api_str(body, "name");
	int64_t mem = api_mem_mib(json_object_get(body, "mem"));

	if (mem < 0) {
		httpd_reply_error(req, 400, "bad_request",
				  "field 'mem': a size such as \"512M\", "
				  "\"2G\" or an integer of MiB");
		return;
	}
	exist = api_vm_hosts(c, name, 0);
	if (json_array_size(exist) > 0) {
		httpd_reply_error(req, 409, "conflict",
				  "a VM named '%s' exists on host '%s'", name,
				  api_str(json_array_get(exist, 0), "name"));
		json_decref(exist);
		return;
	}
	json_decref(exist);
	h = api_vm_target(req, body, mem);
	if (!h)
		return;
	fwd = json_deep_copy(body);
	json_object_del(fwd, "host");
	json_object_del(fwd, "cluster");
	api_vm_forward(req, h, "POST", "/api/v1/vms", fwd, "vm.created", name,
		       201);
	json_decref(fwd);
	json_decref(h);
}

static void api_vm_op(struct httpd_req *req, const char *method,
		      const char *suffix, const json_t *body,
		      const char *evtype, unsigned ok)
{
	const char *name;
	json_t *h = api_vm_host(req, &name);
	char path[512];

	if (!h)
		return;
	snprintf(path, sizeof(path), "/api/v1/vms/%s%s", name, suffix);
	api_vm_forward(req, h, method, path, body, evtype, name, ok);
	json_decref(h);
}

API_HANDLER(api_vm_delete)
{
	api_vm_op(req, "DELETE", "", NULL, "vm.deleted", 204);
}

API_HANDLER(api_vm_power_on)
{
	api_vm_op(req, "POST", "/power-on", NULL, "vm.powered_on", 200);
}

API_HANDLER(api_vm_power_off)
{
	api_vm_op(req, "POST", "/power-off", httpd_req_json(req),
		  "vm.powered_off", 200);
}

API_HANDLER(api_vm_suspend)
{
	api_vm_op(req, "POST", "/suspend", NULL, "vm.suspended", 200);
}
