/*
 * api.c — seam-hostd's REST API: the routing table and its handlers.
 *
 * Every handler is short: take the lock, check the maintenance rule that
 * applies, call the module that does the work, reply. Validation of bodies
 * happens before (httpd.c against each route's field table, then the
 * module's own checks), so a handler never sees a malformed request.
 * docs/hostd-api.yaml describes every endpoint.
 */
#include "hostd.h"

#include <errno.h>
#include <string.h>

#include "compstore.h"
#include "inventory.h"
#include "vmstore.h"

static const struct jsonio_field api_maint_fields[] = {
    {"mode", JSONIO_STRING, true},
    {NULL, 0, false},
};

static const struct jsonio_field api_power_off_fields[] = {
    {"force", JSONIO_BOOL, false},
    {NULL, 0, false},
};

static const struct jsonio_field api_activate_fields[] = {
    {"revision", JSONIO_STRING, true},
    {NULL, 0, false},
};

/* Both forms of a stage request; stage.c checks which is used, and how. */
static const struct jsonio_field api_stage_fields[] = {
    {"image", JSONIO_OBJECT, false},
    {"depot", JSONIO_OBJECT, false},
    {"bundle_path", JSONIO_STRING, false},
    {"base", JSONIO_STRING, false},
    {NULL, 0, false},
};

static const struct jsonio_field api_apply_fields[] = {
    {"image", JSONIO_STRING, true},
    {"mode", JSONIO_STRING, true},
    {"fsr_concurrency", JSONIO_INTEGER, false},
    {"script_timeout_ms", JSONIO_INTEGER, false},
    {NULL, 0, false},
};

static const struct jsonio_field api_incoming_fields[] = {
    {"mem", JSONIO_STRING_OR_INTEGER, false},
    {"vcpus", JSONIO_INTEGER, false},
    {"cmdline", JSONIO_STRING, false},
    {"kernel", JSONIO_STRING, false},
    {"fault_tolerance", JSONIO_BOOL, false},
    {"passthrough", JSONIO_BOOL, false},
    {"pod", JSONIO_BOOL, false},
    {"address", JSONIO_STRING, false},
    {NULL, 0, false},
};

static const struct jsonio_field api_migrate_fields[] = {
    {"to_host", JSONIO_STRING, true},
    {"port", JSONIO_INTEGER, true},
    {"token", JSONIO_STRING, true},
    {NULL, 0, false},
};

static const struct jsonio_field api_no_fields[] = {
    {NULL, 0, false},
};

int hostd_auth(void *ctx, struct httpd_req *req)
{
	struct hostd *h = ctx;
	const char *token = httpd_req_bearer(req);

	if (!token) {
		httpd_reply_error(req, 401, "unauthorized",
				  "missing 'Authorization: Bearer' host "
				  "secret");
		return -1;
	}
	if (!httpd_secret_equal(token, h->secret)) {
		httpd_reply_error(req, 401, "unauthorized",
				  "wrong host secret");
		return -1;
	}
	return 0;
}

/* A refusal by maintenance mode: 409 with its own code. */
static void api_reply_maint(struct httpd_req *req, const struct seam_err *e)
{
	httpd_reply_error(req, 409, "maintenance_mode", "%s", e->msg);
}

static json_t *api_host_summary(struct hostd *h)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I}", "id", h->host_id, "version",
			 h->version, "thumbprint", h->tls->thumbprint,
			 "maintenance_mode", maint_mode_name(h->maint),
			 "event_cursor", (json_int_t)evlog_last(h->events));
}

static void api_host_get(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);

	pthread_mutex_lock(&h->lock);
	httpd_reply_json(req, 200, api_host_summary(h));
	pthread_mutex_unlock(&h->lock);
}

static void api_inventory_get(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	json_t *inv;

	pthread_mutex_lock(&h->lock);
	inv = api_host_summary(h);
	json_object_set_new(inv, "host",
			    inventory_host_attributes(
				json_object_get(h->config, "attributes")));
	json_object_set_new(inv, "image", hostd_image_describe(h));
	json_object_set_new(inv, "components", compstore_list(h->comp_root));
	json_object_set_new(inv, "vms", hostd_vm_list(h));
	pthread_mutex_unlock(&h->lock);
	httpd_reply_json(req, 200, inv);
}

static void api_vms_list(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	json_t *vms;

	pthread_mutex_lock(&h->lock);
	vms = hostd_vm_list(h);
	pthread_mutex_unlock(&h->lock);
	httpd_reply_json(req, 200, json_pack("{s:o}", "vms", vms));
}

static void api_vms_create(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	const char *name =
	    json_string_value(json_object_get(httpd_req_json(req), "name"));
	struct seam_err e = {0};
	json_t *vm = NULL;

	pthread_mutex_lock(&h->lock);
	if (maint_check_op(h->maint, MAINT_OP_VM_CREATE, &e) < 0) {
		api_reply_maint(req, &e);
	} else if (hostd_vm_create(h, httpd_req_json(req), &e) < 0 ||
		   !(vm = hostd_vm_describe(h, name, &e))) {
		httpd_reply_err(req, &e);
	} else {
		httpd_reply_json(req, 201, vm);
	}
	pthread_mutex_unlock(&h->lock);
}

static void api_vm_get(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	struct seam_err e = {0};
	json_t *vm;

	pthread_mutex_lock(&h->lock);
	vm = hostd_vm_describe(h, httpd_req_param(req, "name"), &e);
	pthread_mutex_unlock(&h->lock);
	if (vm)
		httpd_reply_json(req, 200, vm);
	else
		httpd_reply_err(req, &e);
}

static void api_vm_delete(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	struct seam_err e = {0};

	pthread_mutex_lock(&h->lock);
	if (hostd_vm_delete(h, httpd_req_param(req, "name"), &e) < 0)
		httpd_reply_err(req, &e);
	else
		httpd_reply_empty(req, 204);
	pthread_mutex_unlock(&h->lock);
}

/* Reply with the VM as it is now, or the error. */
static void api_vm_reply(struct httpd_req *req, struct hostd *h, int rc,
			 struct seam_err *e)
{
	json_t *vm = NULL;

	if (rc == 0)
		vm = hostd_vm_describe(h, httpd_req_param(req, "name"), e);
	if (vm)
		httpd_reply_json(req, 200, vm);
	else
		httpd_reply_err(req, e);
}

static void api_vm_power_on(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	const char *name = httpd_req_param(req, "name");
	struct seam_err e = {0};
	int rc;

	pthread_mutex_lock(&h->lock);
	if (vmstore_load(h->state, name, &(struct vm_config){0}, &e) < 0)
		httpd_reply_err(req, &e);
	else if (maint_check_op(h->maint, MAINT_OP_VM_POWER_ON, &e) < 0)
		api_reply_maint(req, &e);
	else {
		rc = hostd_vm_power_on(h, name, &e);
		api_vm_reply(req, h, rc, &e);
	}
	pthread_mutex_unlock(&h->lock);
}

static void api_vm_power_off(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	bool force =
	    json_is_true(json_object_get(httpd_req_json(req), "force"));
	struct seam_err e = {0};
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = hostd_vm_power_off(h, httpd_req_param(req, "name"), force, &e);
	api_vm_reply(req, h, rc, &e);
	pthread_mutex_unlock(&h->lock);
}

static void api_vm_suspend(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	struct seam_err e = {0};
	int rc;

	pthread_mutex_lock(&h->lock);
	if (h->applying) {
		httpd_reply_error(req, 409, "conflict",
				  "an apply is under way on this host; suspend "
				  "the VM after it");
	} else {
		rc = hostd_vm_suspend(h, httpd_req_param(req, "name"), &e);
		api_vm_reply(req, h, rc, &e);
	}
	pthread_mutex_unlock(&h->lock);
}

static json_t *api_maint_json(struct hostd *h)
{
	return json_pack("{s:s}", "mode", maint_mode_name(h->maint));
}

static void api_maint_get(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);

	pthread_mutex_lock(&h->lock);
	httpd_reply_json(req, 200, api_maint_json(h));
	pthread_mutex_unlock(&h->lock);
}

static void api_maint_put(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	const char *mode =
	    json_string_value(json_object_get(httpd_req_json(req), "mode"));
	struct seam_err e = {0};
	enum maint_mode next, prev;
	char names[512];
	unsigned running;

	if (maint_mode_parse(mode, &next, &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (h->busy) {
		httpd_reply_error(req, 409, "conflict",
				  "an apply is under way; the maintenance mode "
				  "stays %s until it ends",
				  maint_mode_name(h->maint));
		pthread_mutex_unlock(&h->lock);
		return;
	}
	prev = h->maint;
	running = hostd_vm_running(h, names, sizeof(names));
	if (maint_check_enter(h->maint, next, running, names, &e) < 0) {
		api_reply_maint(req, &e);
	} else if (next != prev && maint_save(h->state, next, &e) < 0) {
		httpd_reply_err(req, &e);
	} else {
		h->maint = next;
		if (next != prev)
			evlog_emit(h->events, "host.maintenance", NULL,
				   "maintenance mode %s -> %s",
				   maint_mode_name(prev),
				   maint_mode_name(next));
		httpd_reply_json(req, 200, api_maint_json(h));
	}
	pthread_mutex_unlock(&h->lock);
}

static void api_components_list(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	json_t *c;

	pthread_mutex_lock(&h->lock);
	c = compstore_list(h->comp_root);
	pthread_mutex_unlock(&h->lock);
	httpd_reply_json(req, 200, json_pack("{s:o}", "components", c));
}

static void api_component_reply(struct httpd_req *req, struct hostd *h,
				const char *name, const char *what)
{
	char rev[256] = "";

	compstore_active(h->comp_root, name, rev, sizeof(rev));
	evlog_emit(h->events, what, NULL, "component %s: active revision %s",
		   name, rev);
	httpd_reply_json(req, 200,
			 json_pack("{s:s,s:s}", "name", name, "active", rev));
}

static void api_component_activate(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	const char *name = httpd_req_param(req, "name");
	const char *rev =
	    json_string_value(json_object_get(httpd_req_json(req), "revision"));
	struct seam_err e = {0};

	pthread_mutex_lock(&h->lock);
	if (compstore_activate(h->comp_root, name, rev, &e) < 0)
		httpd_reply_err(req, &e);
	else
		api_component_reply(req, h, name, "component.activated");
	pthread_mutex_unlock(&h->lock);
}

static void api_component_rollback(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	const char *name = httpd_req_param(req, "name");
	struct seam_err e = {0};

	pthread_mutex_lock(&h->lock);
	if (compstore_rollback(h->comp_root, name, &e) < 0)
		httpd_reply_err(req, &e);
	else
		api_component_reply(req, h, name, "component.rolled_back");
	pthread_mutex_unlock(&h->lock);
}

static void api_stage_post(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	struct seam_err e = {0};
	json_t *out = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->busy) {
		err_set(&e, EALREADY, "an apply is under way on this host");
		httpd_reply_err(req, &e);
	} else if (hostd_stage(h, httpd_req_json(req), &out, &e) < 0) {
		httpd_reply_err(req, &e);
	} else {
		httpd_reply_json(req, 200, out);
	}
	pthread_mutex_unlock(&h->lock);
}

static void api_stage_get(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	json_t *l;

	pthread_mutex_lock(&h->lock);
	l = hostd_staged_list(h);
	pthread_mutex_unlock(&h->lock);
	httpd_reply_json(req, 200, json_pack("{s:o}", "images", l));
}

static void api_apply_post(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	struct seam_err e = {0};
	json_t *out = NULL;
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = hostd_apply_start(h, httpd_req_json(req), &out, &e);
	pthread_mutex_unlock(&h->lock);
	if (rc == -EBUSY)
		api_reply_maint(req, &e);
	else if (rc < 0)
		httpd_reply_err(req, &e);
	else
		httpd_reply_json(req, 202, out);
}

static void api_apply_get(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	json_t *j;

	pthread_mutex_lock(&h->lock);
	j = hostd_apply_describe(h);
	json_object_set_new(j, "running", json_boolean(h->applying));
	pthread_mutex_unlock(&h->lock);
	httpd_reply_json(req, 200, j);
}

static void api_vm_incoming(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	struct seam_err e = {0};
	json_t *out = NULL;

	pthread_mutex_lock(&h->lock);
	if (maint_check_op(h->maint, MAINT_OP_MIGRATE_IN, &e) < 0)
		api_reply_maint(req, &e);
	else if (hostd_vm_incoming(h, httpd_req_param(req, "name"),
				   httpd_req_json(req), &out, &e) < 0)
		httpd_reply_err(req, &e);
	else
		httpd_reply_json(req, 200, out);
	pthread_mutex_unlock(&h->lock);
}

static void api_vm_migrate(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	const char *name = httpd_req_param(req, "name");
	struct seam_err e = {0};
	json_t *out = NULL;

	pthread_mutex_lock(&h->lock);
	if (vmstore_load(h->state, name, &(struct vm_config){0}, &e) < 0)
		httpd_reply_err(req, &e);
	else if (maint_check_op(h->maint, MAINT_OP_MIGRATE_OUT, &e) < 0)
		api_reply_maint(req, &e);
	else if (hostd_vm_migrate(h, name, httpd_req_json(req), &out, &e) < 0)
		httpd_reply_err(req, &e);
	else
		httpd_reply_json(req, 200, out);
	pthread_mutex_unlock(&h->lock);
}

#define API "/api/v1"
/* One row of the table: method, path under /api/v1, handler, body fields. */
#define ROUTE(m, p, fn, f)                                                     \
	{                                                                      \
		.method = (m), .pattern = API p, .handler = (fn),              \
		.fields = (f)                                                  \
	}

const struct httpd_route hostd_routes[] = {
    ROUTE("GET", "/host", api_host_get, NULL),
    ROUTE("GET", "/inventory", api_inventory_get, NULL),
    ROUTE("GET", "/vms", api_vms_list, NULL),
    ROUTE("POST", "/vms", api_vms_create, vm_config_fields),
    ROUTE("GET", "/vms/{name}", api_vm_get, NULL),
    ROUTE("DELETE", "/vms/{name}", api_vm_delete, NULL),
    ROUTE("POST", "/vms/{name}/power-on", api_vm_power_on, api_no_fields),
    ROUTE("POST", "/vms/{name}/power-off", api_vm_power_off,
	  api_power_off_fields),
    ROUTE("POST", "/vms/{name}/suspend", api_vm_suspend, api_no_fields),
    ROUTE("POST", "/vms/{name}/incoming", api_vm_incoming, api_incoming_fields),
    ROUTE("POST", "/vms/{name}/migrate", api_vm_migrate, api_migrate_fields),
    ROUTE("GET", "/maintenance", api_maint_get, NULL),
    ROUTE("PUT", "/maintenance", api_maint_put, api_maint_fields),
    ROUTE("GET", "/components", api_components_list, NULL),
    ROUTE("POST", "/components/{name}/activate", api_component_activate,
	  api_activate_fields),
    ROUTE("POST", "/components/{name}/rollback", api_component_rollback,
	  api_no_fields),
    ROUTE("POST", "/stage", api_stage_post, api_stage_fields),
    ROUTE("GET", "/stage", api_stage_get, NULL),
    ROUTE("POST", "/apply", api_apply_post, api_apply_fields),
    ROUTE("GET", "/apply", api_apply_get, NULL),
    ROUTE("GET", "/events", api_events_poll, NULL),
    ROUTE("GET", "/events/stream", api_events_stream, NULL),
};

const size_t hostd_nroutes = sizeof(hostd_routes) / sizeof(hostd_routes[0]);
