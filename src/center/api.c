/*
 * api.c — routing, authentication and roles; users, settings, tasks and
 * events. See api.h.
 *
 * Authentication runs before routing (httpd.h), so an unknown path without
 * a valid token is a 401, never a 404 that would reveal the API. The auth
 * hook resolves the bearer token — a user token by its SHA-256, or a host
 * credential for depot payloads — checks the role the request needs
 * (auth_required_role), and records the caller for the handler in a
 * thread-local (libmicrohttpd runs a request's hook and handler on the
 * same thread, one connection per thread).
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "settings.h"
#include "web.h"

static _Thread_local struct center_caller api_caller;

const struct center_caller *center_caller(void)
{
	return &api_caller;
}

struct center *api_center(struct httpd_req *req)
{
	return httpd_req_ctx(req);
}

const char *api_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

json_t *api_cluster(struct httpd_req *req)
{
	const char *ref = httpd_req_param(req, "cluster");
	json_t *c = store_cluster_get(api_center(req)->st, ref);

	if (!c)
		httpd_reply_error(req, 404, "not_found", "no cluster '%s'",
				  ref);
	return c;
}

json_t *api_host(struct httpd_req *req)
{
	const char *ref = httpd_req_param(req, "host");
	json_t *h = store_host_get(api_center(req)->st, ref, false);

	if (!h)
		httpd_reply_error(req, 404, "not_found", "no host '%s'", ref);
	return h;
}

int api_query_ref(struct httpd_req *req, const char *arg, bool host,
		  int64_t *id)
{
	const char *ref = httpd_req_query(req, arg);
	json_t *row;

	*id = 0;
	if (!ref)
		return 0;
	row = host ? store_host_get(api_center(req)->st, ref, false)
		   : store_cluster_get(api_center(req)->st, ref);
	if (!row) {
		httpd_reply_error(req, 404, "not_found", "no %s '%s'",
				  host ? "host" : "cluster", ref);
		return -1;
	}
	*id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	return 0;
}

void api_reply_task(struct httpd_req *req, int64_t task_id)
{
	json_t *t = store_task_get(api_center(req)->st, task_id);

	httpd_reply_json(req, 202,
			 json_pack("{s:o}", "task", t ? t : json_null()));
}

/* ---- authentication ---- */

static int api_auth(void *ctx, struct httpd_req *req)
{
	struct center *c = ctx;
	const char *tok = httpd_req_bearer(req);
	const char *method = httpd_req_method(req), *path = httpd_req_path(req);
	char hash[AUTH_HASH_HEX];
	enum auth_role need;
	json_t *u;
	int64_t hid;

	memset(&api_caller, 0, sizeof(api_caller));
	if (!tok || !tok[0] || strlen(tok) > 512) {
		httpd_reply_error(req, 401, "unauthorized",
				  "missing bearer token (Authorization: "
				  "Bearer TOKEN)");
		return -1;
	}
	hid = auth_host_token_check(c->secret, tok);
	if (hid > 0) {
		if (!auth_host_path(method, path)) {
			httpd_reply_error(req, 403, "forbidden",
					  "a host credential only reads depot "
					  "payloads");
			return -1;
		}
		api_caller.host_id = hid;
		snprintf(api_caller.user, sizeof(api_caller.user), "host:%lld",
			 (long long)hid);
		return 0;
	}
	auth_token_hash(tok, hash);
	u = store_token_lookup(c->st, hash);
	if (!u) {
		httpd_reply_error(req, 401, "unauthorized", "invalid token");
		return -1;
	}
	api_caller.role = auth_role_parse(api_str(u, "role"));
	snprintf(api_caller.user, sizeof(api_caller.user), "%s",
		 api_str(u, "user"));
	json_decref(u);
	need = auth_required_role(method, path);
	if (!auth_role_allows(api_caller.role, need)) {
		httpd_reply_error(req, 403, "forbidden",
				  "user '%s' (%s) may not %s %s: it needs "
				  "the %s role",
				  api_caller.user,
				  auth_role_name(api_caller.role), method, path,
				  auth_role_name(need));
		return -1;
	}
	return 0;
}

/* ---- me, users, tokens ---- */

static API_HANDLER(api_me)
{
	httpd_reply_json(req, 200,
			 json_pack("{s:s,s:s}", "user", api_caller.user, "role",
				   auth_role_name(api_caller.role)));
}

static bool api_name_ok(const char *s)
{
	size_t i;

	if (!s || !s[0] || strlen(s) > 64)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.') ||
		    (i == 0 && s[i] == '.'))
			return false;
	return true;
}

static API_HANDLER(api_users_list)
{
	httpd_reply_json(
	    req, 200,
	    json_pack("{s:o}", "users", store_user_list(api_center(req)->st)));
}

static API_HANDLER(api_users_create)
{
	struct center *c = api_center(req);
	json_t *body = httpd_req_json(req), *user = NULL;
	const char *name = api_str(body, "name"), *role = api_str(body, "role");
	char tok[AUTH_TOKEN_SIZE], hash[AUTH_HASH_HEX];
	struct seam_err e = {0};

	if (!api_name_ok(name)) {
		httpd_reply_error(req, 400, "bad_request",
				  "user name '%s': 1-64 of a-z 0-9 . _ -",
				  name);
		return;
	}
	if (auth_role_parse(role) == AUTH_ROLE_NONE) {
		httpd_reply_error(req, 400, "bad_request",
				  "role '%s': one of admin, operator, viewer",
				  role);
		return;
	}
	auth_token_new(tok);
	auth_token_hash(tok, hash);
	if (store_user_create(c->st, name, role, "initial", hash, &user, &e) <
	    0) {
		httpd_reply_err(req, &e);
		return;
	}
	center_event(c, "user.created", 0, 0, NULL, 0, NULL,
		     "user '%s' (%s) created by '%s'", name, role,
		     api_caller.user);
	httpd_reply_json(req, 201,
			 json_pack("{s:o,s:s}", "user", user, "token", tok));
}

static API_HANDLER(api_user_get)
{
	json_t *u =
	    store_user_get(api_center(req)->st, httpd_req_param(req, "name"));

	if (!u) {
		httpd_reply_error(req, 404, "not_found", "no user '%s'",
				  httpd_req_param(req, "name"));
		return;
	}
	json_object_set_new(u, "tokens",
			    store_token_list(api_center(req)->st,
					     httpd_req_param(req, "name")));
	httpd_reply_json(req, 200, u);
}

static API_HANDLER(api_user_delete)
{
	struct center *c = api_center(req);
	const char *name = httpd_req_param(req, "name");
	struct seam_err e = {0};

	if (store_user_delete(c->st, name, &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	center_event(c, "user.deleted", 0, 0, NULL, 0, NULL,
		     "user '%s' deleted by '%s'", name, api_caller.user);
	httpd_reply_empty(req, 204);
}

static API_HANDLER(api_tokens_list)
{
	const char *name = httpd_req_param(req, "name");
	json_t *u = store_user_get(api_center(req)->st, name);

	if (!u) {
		httpd_reply_error(req, 404, "not_found", "no user '%s'", name);
		return;
	}
	json_decref(u);
	httpd_reply_json(
	    req, 200,
	    json_pack("{s:o}", "tokens",
		      store_token_list(api_center(req)->st, name)));
}

static API_HANDLER(api_tokens_create)
{
	struct center *c = api_center(req);
	const char *user = httpd_req_param(req, "name");
	const char *tname = api_str(httpd_req_json(req), "name");
	char tok[AUTH_TOKEN_SIZE], hash[AUTH_HASH_HEX];
	struct seam_err e = {0};
	json_t *t = NULL;

	if (tname && (strlen(tname) == 0 || strlen(tname) > 128)) {
		httpd_reply_error(req, 400, "bad_request",
				  "token name: 1 to 128 characters");
		return;
	}
	auth_token_new(tok);
	auth_token_hash(tok, hash);
	if (store_token_add(c->st, user, tname ? tname : "token", hash, &t,
			    &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	json_object_set_new(t, "token", json_string(tok));
	center_event(c, "user.token_created", 0, 0, NULL, 0, NULL,
		     "token for user '%s' created by '%s'", user,
		     api_caller.user);
	httpd_reply_json(req, 201, t);
}

static API_HANDLER(api_token_delete)
{
	struct center *c = api_center(req);
	const char *id = httpd_req_param(req, "id");
	struct seam_err e = {0};
	char *end;
	long long n = strtoll(id, &end, 10);

	if (*end || n <= 0) {
		httpd_reply_error(req, 400, "bad_request",
				  "token id '%s' is not a number", id);
		return;
	}
	if (store_token_delete(c->st, httpd_req_param(req, "name"), n, &e) <
	    0) {
		httpd_reply_err(req, &e);
		return;
	}
	httpd_reply_empty(req, 204);
}

/* ---- settings ---- */

const struct jsonio_field api_settings_fields[] = {
    {"live_patch", JSONIO_STRING, false},
    {"drs_automation", JSONIO_STRING, false},
    {"parallel_remediation", JSONIO_OBJECT, false},
    {"failure_action", JSONIO_OBJECT, false},
    {"tolerated_failures", JSONIO_INTEGER, false},
    {"power_policy", JSONIO_STRING, false},
    {"live_patch_ineligible", JSONIO_ARRAY, false},
    {"min_acceptance", JSONIO_STRING, false},
    {"host_timeout_ms", JSONIO_INTEGER, false},
    {NULL, 0, false},
};

static API_HANDLER(api_settings_get)
{
	struct center *c = api_center(req);

	httpd_reply_json(req, 200,
			 json_pack("{s:o,s:o}", "settings",
				   store_settings_get(c->st), "effective",
				   center_settings(c, 0)));
}

static API_HANDLER(api_settings_put)
{
	struct center *c = api_center(req);
	json_t *body = httpd_req_json(req);
	struct seam_err e = {0};

	if (settings_validate(body, &e) < 0 ||
	    store_settings_put(c->st, body, &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	center_event(c, "settings.changed", 0, 0, NULL, 0, body,
		     "global settings changed by '%s'", api_caller.user);
	api_settings_get(req);
}

/* ---- tasks ---- */

static API_HANDLER(api_tasks_list)
{
	struct center *c = api_center(req);
	struct seam_err e = {0};
	uint64_t limit;

	if (httpd_req_query_u64(req, "limit", 100, 1000, &limit, &e) < 0 ||
	    (limit == 0 && err_set(&e, EINVAL, "limit must be 1 to 1000"))) {
		httpd_reply_err(req, &e);
		return;
	}
	httpd_reply_json(
	    req, 200,
	    json_pack("{s:o}", "tasks",
		      store_task_list(c->st, httpd_req_query(req, "status"),
				      httpd_req_query(req, "type"),
				      (int64_t)limit)));
}

static API_HANDLER(api_task_get)
{
	const char *id = httpd_req_param(req, "id");
	char *end;
	long long n = strtoll(id, &end, 10);
	json_t *t;

	t = (*end || n <= 0) ? NULL : store_task_get(api_center(req)->st, n);
	if (!t) {
		httpd_reply_error(req, 404, "not_found", "no task '%s'", id);
		return;
	}
	httpd_reply_json(req, 200, t);
}

/* ---- events ---- */

struct api_evq {
	struct store_event_filter f;
	char vm[HTTPD_PARAM_VALUE];
	char type[HTTPD_PARAM_VALUE];
};

static int api_event_filter(struct httpd_req *req, struct api_evq *q)
{
	struct seam_err e = {0};
	uint64_t after, limit, task;
	const char *s, *last = httpd_req_header(req, "Last-Event-ID");

	memset(q, 0, sizeof(*q));
	if (httpd_req_query_u64(req, "after", 0, INT64_MAX, &after, &e) < 0 ||
	    httpd_req_query_u64(req, "limit", 100, 1000, &limit, &e) < 0 ||
	    httpd_req_query_u64(req, "task", 0, INT64_MAX, &task, &e) < 0) {
		httpd_reply_err(req, &e);
		return -1;
	}
	if (limit == 0) {
		httpd_reply_error(req, 400, "bad_request",
				  "limit must be 1 to 1000");
		return -1;
	}
	if (last && !httpd_req_query(req, "after")) {
		char *end;
		long long n = strtoll(last, &end, 10);

		if (*end || n < 0) {
			httpd_reply_error(req, 400, "bad_request",
					  "Last-Event-ID '%s' is not a cursor",
					  last);
			return -1;
		}
		after = (uint64_t)n;
	}
	q->f.after = (int64_t)after;
	q->f.limit = (int64_t)limit;
	q->f.task_id = (int64_t)task;
	if (api_query_ref(req, "cluster", false, &q->f.cluster_id) < 0 ||
	    api_query_ref(req, "host", true, &q->f.host_id) < 0)
		return -1;
	if ((s = httpd_req_query(req, "vm"))) {
		snprintf(q->vm, sizeof(q->vm), "%s", s);
		q->f.vm = q->vm;
	}
	if ((s = httpd_req_query(req, "type"))) {
		snprintf(q->type, sizeof(q->type), "%s", s);
		q->f.type = q->type;
	}
	return 0;
}

/* Wait until an event after `after` exists, the deadline passes or stop. */
static void api_events_wait(struct center *c, int64_t after,
			    const struct timespec *deadline)
{
	pthread_mutex_lock(&c->ev_lock);
	while (!c->stopping && c->ev_last <= after)
		if (pthread_cond_timedwait(&c->ev_cond, &c->ev_lock,
					   deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&c->ev_lock);
}

/*
 * GET /events: a page after the cursor; with ?timeout=S (at most 60) a
 * long poll that answers as soon as a matching event exists.
 */
static API_HANDLER(api_events_list)
{
	struct center *c = api_center(req);
	struct seam_err e = {0};
	struct timespec deadline;
	struct api_evq q;
	json_t *evs, *lastev;
	uint64_t timeout;
	int64_t cursor, snap;

	if (api_event_filter(req, &q) < 0)
		return;
	if (httpd_req_query_u64(req, "timeout", 0, 60, &timeout, &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)timeout;
	for (;;) {
		pthread_mutex_lock(&c->ev_lock);
		snap = c->ev_last;
		pthread_mutex_unlock(&c->ev_lock);
		evs = store_event_query(c->st, &q.f);
		if (json_array_size(evs) > 0 || timeout == 0)
			break;
		json_decref(evs);
		/* Nothing up to snap matched: wait for what comes after. */
		if (snap > q.f.after)
			q.f.after = snap;
		api_events_wait(c, q.f.after, &deadline);
		{
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec &&
			     now.tv_nsec >= deadline.tv_nsec) ||
			    c->stopping) {
				evs = store_event_query(c->st, &q.f);
				break;
			}
		}
	}
	lastev = json_array_get(evs, json_array_size(evs) - 1);
	cursor = lastev ? json_integer_value(json_object_get(lastev, "cursor"))
			: q.f.after;
	httpd_reply_json(req, 200,
			 json_pack("{s:o,s:I,s:I}", "events", evs, "cursor",
				   (json_int_t)cursor, "last",
				   (json_int_t)store_event_last(c->st)));
}

#define SSE_KEEPALIVE_MS 15000

struct api_sse {
	struct center *c;
	struct api_evq q;
	char *buf;
	size_t len, off;
};

static void api_sse_free(void *p)
{
	struct api_sse *s = p;

	free(s->buf);
	free(s);
}

static void api_sse_append(struct api_sse *s, const char *txt)
{
	size_t n = strlen(txt);
	char *nb = realloc(s->buf, s->len + n + 1);

	if (!nb)
		return;
	memcpy(nb + s->len, txt, n + 1);
	s->buf = nb;
	s->len += n;
}

/* Fill s->buf with the next events, or wait for some. */
static int api_sse_fill(struct api_sse *s)
{
	struct center *c = s->c;
	struct timespec ts;
	json_t *evs, *ev;
	int64_t snap;
	size_t i;
	bool stop;

	pthread_mutex_lock(&c->ev_lock);
	snap = c->ev_last;
	stop = c->stopping;
	pthread_mutex_unlock(&c->ev_lock);
	if (stop)
		return -1;
	evs = store_event_query(c->st, &s->q.f);
	json_array_foreach(evs, i, ev)
	{
		char *data = json_dumps(ev, JSON_COMPACT);
		char head[256];

		snprintf(head, sizeof(head), "id: %lld\nevent: %s\ndata: ",
			 (long long)json_integer_value(
			     json_object_get(ev, "cursor")),
			 api_str(ev, "type"));
		api_sse_append(s, head);
		api_sse_append(s, data ? data : "{}");
		api_sse_append(s, "\n\n");
		free(data);
		s->q.f.after =
		    json_integer_value(json_object_get(ev, "cursor"));
	}
	if ((int64_t)json_array_size(evs) < s->q.f.limit && snap > s->q.f.after)
		s->q.f.after = snap; /* nothing else up to snap matched */
	if (json_array_size(evs) > 0) {
		json_decref(evs);
		return 0;
	}
	json_decref(evs);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SSE_KEEPALIVE_MS / 1000;
	pthread_mutex_lock(&c->ev_lock);
	while (!c->stopping && c->ev_last <= s->q.f.after) {
		if (pthread_cond_timedwait(&c->ev_cond, &c->ev_lock, &ts) ==
		    ETIMEDOUT) {
			api_sse_append(s, ": keepalive\n\n");
			break;
		}
	}
	stop = c->stopping;
	pthread_mutex_unlock(&c->ev_lock);
	return stop ? -1 : 0;
}

static ssize_t api_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_sse *s = cls;
	size_t n;

	while (s->off >= s->len) {
		s->off = s->len = 0;
		if (api_sse_fill(s) < 0)
			return HTTPD_STREAM_END;
	}
	n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static API_HANDLER(api_events_stream)
{
	struct api_sse *s = calloc(1, sizeof(*s));

	if (!s) {
		httpd_reply_error(req, 503, "unavailable", "no memory");
		return;
	}
	s->c = api_center(req);
	if (api_event_filter(req, &s->q) < 0) {
		free(s);
		return;
	}
	if (s->q.f.vm)
		s->q.f.vm = s->q.vm;
	if (s->q.f.type)
		s->q.f.type = s->q.type;
	api_sse_append(s, ": seam-center events\n\n");
	httpd_reply_stream(req, 200, "text/event-stream", api_sse_read, s,
			   api_sse_free);
}

/* ---- the routing table ---- */

extern const struct jsonio_field api_cluster_fields[];
extern const struct jsonio_field api_cluster_patch_fields[];
extern const struct jsonio_field api_host_add_fields[];
extern const struct jsonio_field api_host_reconnect_fields[];
extern const struct jsonio_field api_host_maint_fields[];
extern const struct jsonio_field api_host_patch_fields[];
extern const struct jsonio_field api_vm_create_fields[];
extern const struct jsonio_field api_vm_power_off_fields[];
extern const struct jsonio_field api_image_fields[];
extern const struct jsonio_field api_image_import_fields[];
extern const struct jsonio_field api_images_put_fields[];
extern const struct jsonio_field api_trust_fields[];

static const struct jsonio_field api_user_fields[] = {
    {"name", JSONIO_STRING, true},
    {"role", JSONIO_STRING, true},
    {NULL, 0, false},
};
static const struct jsonio_field api_token_fields[] = {
    {"name", JSONIO_STRING, false},
    {NULL, 0, false},
};

#define R(m, p, h, f)                                                          \
	{                                                                      \
		m, "/api/v1" p, h, f, 0, 0                                     \
	}
static const struct httpd_route api_routes[] = {
    WEB_ROUTES, /* web.c: the web client at / and /ui/ (public) */
    R("GET", "/me", api_me, NULL),
    R("GET", "/users", api_users_list, NULL),
    R("POST", "/users", api_users_create, api_user_fields),
    R("GET", "/users/{name}", api_user_get, NULL),
    R("DELETE", "/users/{name}", api_user_delete, NULL),
    R("GET", "/users/{name}/tokens", api_tokens_list, NULL),
    R("POST", "/users/{name}/tokens", api_tokens_create, api_token_fields),
    R("DELETE", "/users/{name}/tokens/{id}", api_token_delete, NULL),
    R("GET", "/settings", api_settings_get, NULL),
    R("PUT", "/settings", api_settings_put, api_settings_fields),

    R("GET", "/clusters", api_clusters_list, NULL),
    R("POST", "/clusters", api_clusters_create, api_cluster_fields),
    R("GET", "/clusters/{cluster}", api_cluster_get, NULL),
    R("PATCH", "/clusters/{cluster}", api_cluster_patch,
      api_cluster_patch_fields),
    R("DELETE", "/clusters/{cluster}", api_cluster_delete, NULL),
    R("GET", "/clusters/{cluster}/settings", api_cluster_settings_get, NULL),
    R("PUT", "/clusters/{cluster}/settings", api_cluster_settings_put,
      api_settings_fields),
    R("GET", "/clusters/{cluster}/image", api_image_get, NULL),
    R("PUT", "/clusters/{cluster}/image", api_image_put, api_image_fields),
    R("GET", "/clusters/{cluster}/images", api_images_list, NULL),
    R("POST", "/clusters/{cluster}/images", api_images_create,
      api_image_fields),
    R("PUT", "/clusters/{cluster}/images", api_images_replace,
      api_images_put_fields),
    R("POST", "/clusters/{cluster}/images/import", api_images_import,
      api_image_import_fields),
    R("POST", "/clusters/{cluster}/images/validate", api_images_validate,
      api_image_fields),
    R("GET", "/clusters/{cluster}/images/{name}", api_image_named_get, NULL),
    R("PUT", "/clusters/{cluster}/images/{name}", api_image_named_put,
      api_image_fields),
    R("DELETE", "/clusters/{cluster}/images/{name}", api_image_named_delete,
      NULL),
    R("GET", "/clusters/{cluster}/images/{name}/export", api_image_export,
      NULL),
    R("GET", "/clusters/{cluster}/compliance", api_compliance_list, NULL),
    R("POST", "/clusters/{cluster}/compliance", api_compliance_run, NULL),
    R("POST", "/clusters/{cluster}/precheck", api_lcm_precheck, NULL),
    R("POST", "/clusters/{cluster}/stage", api_lcm_stage, NULL),
    R("POST", "/clusters/{cluster}/remediate", api_lcm_remediate, NULL),
    R("POST", "/clusters/{cluster}/cancel", api_lcm_cancel, NULL),
    R("GET", "/clusters/{cluster}/remediations", api_lcm_remediations, NULL),
    R("GET", "/remediations/{id}", api_lcm_remediation_get, NULL),

    R("GET", "/hosts", api_hosts_list, NULL),
    R("POST", "/hosts", api_hosts_add, api_host_add_fields),
    R("GET", "/hosts/{host}", api_host_get, NULL),
    R("PATCH", "/hosts/{host}", api_host_patch, api_host_patch_fields),
    R("DELETE", "/hosts/{host}", api_host_delete, NULL),
    R("POST", "/hosts/{host}/reconnect", api_host_reconnect,
      api_host_reconnect_fields),
    R("PUT", "/hosts/{host}/maintenance", api_host_maintenance,
      api_host_maint_fields),
    R("GET", "/hosts/{host}/inventory", api_host_inventory, NULL),
    R("GET", "/hosts/{host}/depot-credential", api_host_credential, NULL),
    R("GET", "/hosts/{host}/compliance", api_host_compliance_get, NULL),
    R("POST", "/hosts/{host}/compliance", api_host_compliance_run, NULL),

    R("GET", "/vms", api_vms_list, NULL),
    R("POST", "/vms", api_vms_create, api_vm_create_fields),
    R("GET", "/vms/{name}", api_vm_get, NULL),
    R("DELETE", "/vms/{name}", api_vm_delete, NULL),
    R("POST", "/vms/{name}/power-on", api_vm_power_on, NULL),
    R("POST", "/vms/{name}/power-off", api_vm_power_off,
      api_vm_power_off_fields),
    R("POST", "/vms/{name}/suspend", api_vm_suspend, NULL),

    {"POST", "/api/v1/depot/bundles", api_depot_upload, NULL,
     HTTPD_ROUTE_BODY_FILE, CENTER_MAX_UPLOAD},
    R("GET", "/depot/bundles", api_depot_bundles, NULL),
    R("GET", "/depot/base-images", api_depot_bases, NULL),
    R("GET", "/depot/base-images/{version}", api_depot_base_get, NULL),
    R("DELETE", "/depot/base-images/{version}", api_depot_base_delete, NULL),
    R("GET", "/depot/addons", api_depot_addons, NULL),
    R("GET", "/depot/addons/{name}/{version}", api_depot_addon_get, NULL),
    R("DELETE", "/depot/addons/{name}/{version}", api_depot_addon_delete, NULL),
    R("GET", "/depot/components", api_depot_components, NULL),
    R("GET", "/depot/components/{name}/{version}", api_depot_component_get,
      NULL),
    R("DELETE", "/depot/components/{name}/{version}",
      api_depot_component_delete, NULL),
    R("GET", "/depot/payloads/{digest}", api_depot_payload, NULL),
    R("GET", "/depot/trust", api_trust_list, NULL),
    R("POST", "/depot/trust", api_trust_add, api_trust_fields),
    R("DELETE", "/depot/trust/{level}/{name}", api_trust_delete, NULL),

    R("GET", "/tasks", api_tasks_list, NULL),
    R("GET", "/tasks/{id}", api_task_get, NULL),
    R("GET", "/events", api_events_list, NULL),
    R("GET", "/events/stream", api_events_stream, NULL),
};

const struct httpd_route *api_route_table(size_t *n);
const struct httpd_route *api_route_table(size_t *n)
{
	*n = sizeof(api_routes) / sizeof(api_routes[0]);
	return api_routes;
}

int api_start(struct center *c, int listen_fd, struct seam_err *e)
{
	struct httpd_config cfg = {0};
	char upload_dir[PATH_MAX];

	/* Uploads land beside the depot, on the same file system. */
	snprintf(upload_dir, sizeof(upload_dir), "%s/tmp", c->depot_dir);
	cfg.routes = api_routes;
	cfg.nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
	cfg.cert_pem = c->tls->cert_pem;
	cfg.key_pem = c->tls->key_pem;
	cfg.listen_fd = listen_fd;
	cfg.upload_dir = upload_dir;
	cfg.auth = api_auth;
	cfg.ctx = c;
	return httpd_start(&cfg, &c->httpd, e);
}

void api_stop(struct center *c)
{
	httpd_stop(c->httpd);
	c->httpd = NULL;
}
