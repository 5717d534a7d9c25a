/*
 * cmd_lifecycle.c — compliance, pre-check, stage, remediate, cancel, tasks
 * and the event log.
 *
 * The lifecycle operations are tasks: seamctl starts one and follows it to
 * its end with a progress bar (or plain lines), then prints what it found.
 * Their routes are POST /api/v1/clusters/{cluster}/{precheck,stage,
 * remediate,cancel} (docs/seamctl.md); a center without them answers 404
 * "no endpoint", which the user reads as "the server does not support
 * pre-check (404)".
 *
 * Task results differ by operation and grow with the server, so they are
 * shown generically: each array of objects in the result becomes a table
 * (checks, hosts, actions), each scalar a "name: value" line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "stream.h"
#include "table.h"

#define EMPTY_OPTS                                                             \
	{                                                                      \
		NULL, 0, NULL, NULL                                            \
	}
#define END_CMD                                                                \
	{                                                                      \
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL           \
	}

/* "non_compliant" -> "non-compliant", "partial_maintenance_mode" ->
 * "partial maintenance mode": states as words. */
static const char *lc_word(const char *s, char *b, size_t n)
{
	size_t i;

	if (!s)
		return "-";
	if (!strcmp(s, "non_compliant"))
		return "non-compliant";
	snprintf(b, n, "%s", s);
	for (i = 0; b[i]; i++)
		if (b[i] == '_')
			b[i] = ' ';
	return b;
}

/* ---- generic result tables ---- */

/* Columns whose values are states, shown as words. */
static bool lc_state_key(const char *k)
{
	static const char *const keys[] = {"status",	  "state", "impact",
					   "maintenance", "mode",  NULL};
	int i;

	for (i = 0; keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

static bool lc_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static void lc_array_table(const char *title, const json_t *arr)
{
	const char *heads[16], *cells[16];
	char upper[16][48], bufs[16][256];
	struct ctl_table *t;
	json_t *x, *v;
	const char *k;
	size_t i;
	int n = 0, j;

	json_array_foreach(arr, i, x)
	{
		json_object_foreach(x, k, v)
		{
			bool seen = false;

			if (!lc_scalar(v) && !(json_is_array(v)))
				continue;
			for (j = 0; j < n; j++)
				if (!strcmp(heads[j], k))
					seen = true;
			if (!seen && n < 16)
				heads[n++] = k;
		}
	}
	if (!n)
		return;
	for (j = 0; j < n; j++) {
		size_t m;

		snprintf(upper[j], sizeof(upper[j]), "%s", heads[j]);
		for (m = 0; upper[j][m]; m++)
			upper[j][m] = upper[j][m] == '_'
					  ? ' '
					  : (char)(upper[j][m] >= 'a' &&
							   upper[j][m] <= 'z'
						       ? upper[j][m] - 32
						       : upper[j][m]);
	}
	{
		const char *hp[16];

		for (j = 0; j < n; j++)
			hp[j] = upper[j];
		t = ctl_table_new(n, hp);
	}
	json_array_foreach(arr, i, x)
	{
		for (j = 0; j < n; j++) {
			v = json_object_get(x, heads[j]);
			cells[j] = json_is_string(v) && lc_state_key(heads[j])
				       ? lc_word(json_string_value(v), bufs[j],
						 sizeof(bufs[j]))
				       : ctl_jtext(v, bufs[j], sizeof(bufs[j]));
		}
		ctl_table_add(t, cells);
	}
	printf("\n%s:\n", title);
	ctl_table_print(t, stdout, NULL);
	ctl_table_free(t);
}

static void lc_result(const json_t *r, const char *prefix)
{
	const char *k;
	json_t *v;
	char b[512], key[128];

	if (!json_is_object(r))
		return;
	json_object_foreach((json_t *)r, k, v)
	{
		snprintf(key, sizeof(key), "%s%s", prefix, k);
		if (lc_scalar(v))
			printf("%s: %s\n", key, ctl_jtext(v, b, sizeof(b)));
		else if (json_is_object(v) && json_object_size(v) <= 12)
			lc_result(v, key[0] ? strcat(key, ".") : "");
	}
	json_object_foreach((json_t *)r, k, v)
	{
		if (json_is_array(v) && json_is_object(json_array_get(v, 0)))
			lc_array_table(k, v);
	}
}

/* A result that says it did not pass ("passed": false, "ok": false). */
static bool lc_result_failed(const json_t *r)
{
	return json_is_false(json_object_get(r, "passed")) ||
	       json_is_false(json_object_get(r, "ok"));
}

/* ---- compliance ---- */

static const json_t *lc_first_reason(const json_t *h)
{
	return json_array_get(json_object_get(h, "reasons"), 0);
}

static void compliance_table(const json_t *r)
{
	static const char *const hd[] = {"HOST", "STATUS", "IMPACT", "REBOOT",
					 "CHECKED"};
	struct ctl_table *t = ctl_table_new(5, hd);
	char b1[64], b2[64];
	json_t *h, *x;
	size_t i, j;
	bool any = false;

	json_array_foreach(json_object_get(r, "hosts"), i, h)
	{
		const json_t *rb = json_object_get(h, "reboot");

		ctl_table_addv(t, ctl_jstr(h, "host"),
			       lc_word(ctl_jstr(h, "status"), b1, sizeof(b1)),
			       lc_word(ctl_jstr(h, "impact"), b2, sizeof(b2)),
			       !rb || json_is_null(rb) ? "-"
			       : json_is_true(rb) || json_integer_value(rb) != 0
				   ? "yes"
				   : "no",
			       ctl_jstr(h, "checked") ? ctl_jstr(h, "checked")
						      : ctl_jstr(h, "time"));
	}
	ctl_table_print(t, stdout, "no hosts in this cluster");
	ctl_table_free(t);
	json_array_foreach(json_object_get(r, "hosts"), i, h)
	{
		if (!lc_first_reason(h))
			continue;
		if (!any)
			printf("\nReasons:\n");
		any = true;
		json_array_foreach(json_object_get(h, "reasons"), j, x)
		{
			printf("  %-10s %s\n", ctl_jstr(h, "host"),
			       ctl_jstr(x, "message") ? ctl_jstr(x, "message")
						      : ctl_jstr(x, "code"));
		}
	}
}

static const struct ctl_opt compliance_opts[] = {
    {"host", 0, "HOST", "only this host"},
    EMPTY_OPTS,
};

static int compliance_show(struct ctl *c, const struct ctl_args *a)
{
	char path[600], e1[200];
	json_t *r = NULL, *wrap;
	int rc;

	if (ctl_arg(a, "host"))
		snprintf(path, sizeof(path), "/api/v1/hosts/%s/compliance",
			 ctl_esc(ctl_arg(a, "host"), e1, sizeof(e1)));
	else
		snprintf(path, sizeof(path), "/api/v1/clusters/%s/compliance",
			 ctl_esc(a->pos[0], e1, sizeof(e1)));
	rc = ctl_call(c, "GET", path, NULL, &r);
	if (rc)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else if (ctl_arg(a, "host")) {
		wrap = json_pack("{s:[O]}", "hosts", r);
		if (!ctl_jstr(r, "host"))
			json_object_set_new(
			    json_array_get(json_object_get(wrap, "hosts"), 0),
			    "host", json_string(ctl_arg(a, "host")));
		compliance_table(wrap);
		json_decref(wrap);
	} else {
		compliance_table(r);
	}
	json_decref(r);
	return CTL_OK;
}

static int cmd_compliance_show(struct ctl *c, const struct ctl_args *a)
{
	return compliance_show(c, a);
}

static int cmd_compliance_check(struct ctl *c, const struct ctl_args *a)
{
	char path[600], e1[200];
	int rc;

	if (ctl_arg(a, "host"))
		snprintf(path, sizeof(path), "/api/v1/hosts/%s/compliance",
			 ctl_esc(ctl_arg(a, "host"), e1, sizeof(e1)));
	else
		snprintf(path, sizeof(path), "/api/v1/clusters/%s/compliance",
			 ctl_esc(a->pos[0], e1, sizeof(e1)));
	rc = ctl_task_run(c, "POST", path, NULL);
	if (rc || c->json || c->no_wait)
		return rc;
	printf("\n");
	return compliance_show(c, a);
}

const struct ctl_cmd ctl_compliance_cmds[] = {
    {"check", "CLUSTER", "Check compliance (a task), then show it", NULL,
     compliance_opts, cmd_compliance_check, NULL, 1, 1, "compliance checks"},
    {"show", "CLUSTER", "Show each host's status, impact and reasons", NULL,
     compliance_opts, cmd_compliance_show, NULL, 1, 1, "compliance"},
    END_CMD,
};

/* ---- pre-check, stage, remediate, cancel ---- */

const struct ctl_opt ctl_lifecycle_opts[] = {
    {"host", 0, "HOST", "only this host (repeatable), where supported"},
    EMPTY_OPTS,
};

static int lc_cluster_task(struct ctl *c, const struct ctl_args *a,
			   const char *op)
{
	char path[600], e1[200];
	json_t *body = NULL, *hosts, *final = NULL, *reply = NULL, *task;
	const char *h;
	int i, rc;

	snprintf(path, sizeof(path), "/api/v1/clusters/%s/%s",
		 ctl_esc(a->pos[0], e1, sizeof(e1)), op);
	if (ctl_arg(a, "host")) {
		hosts = json_array();
		for (i = 0; (h = ctl_arg_nth(a, "host", i)); i++)
			json_array_append_new(hosts, json_string(h));
		body = json_pack("{s:o}", "hosts", hosts);
	}
	rc = ctl_call(c, "POST", path, body, &reply);
	json_decref(body);
	if (rc)
		return rc;
	task = json_object_get(reply, "task");
	if (!json_is_object(task) || c->no_wait) {
		if (c->json)
			ctl_print_json(json_is_object(task) ? task : reply);
		else if (json_is_object(task))
			printf(
			    "task %lld (%s) started; follow it with: seamctl "
			    "task wait %lld\n",
			    (long long)json_integer_value(
				json_object_get(task, "id")),
			    ctl_jstr(task, "type"),
			    (long long)json_integer_value(
				json_object_get(task, "id")));
		else
			printf("%s: done\n", op);
		json_decref(reply);
		return CTL_OK;
	}
	rc = ctl_task_follow(c, task, &final);
	if (c->json)
		ctl_print_json(final);
	else if (final)
		lc_result(json_object_get(final, "result"), "");
	if (rc == CTL_OK && lc_result_failed(json_object_get(final, "result")))
		rc = ctl_fail(CTL_FAILED,
			      "%s of cluster '%s' found problems "
			      "(see above)",
			      c->what ? c->what : op, a->pos[0]);
	json_decref(final);
	json_decref(reply);
	return rc;
}

int ctl_cmd_precheck(struct ctl *c, const struct ctl_args *a)
{
	return lc_cluster_task(c, a, "precheck");
}

int ctl_cmd_stage(struct ctl *c, const struct ctl_args *a)
{
	return lc_cluster_task(c, a, "stage");
}

int ctl_cmd_remediate(struct ctl *c, const struct ctl_args *a)
{
	return lc_cluster_task(c, a, "remediate");
}

int ctl_cmd_cancel(struct ctl *c, const struct ctl_args *a)
{
	char path[600], e1[200];
	json_t *r = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/clusters/%s/cancel",
		 ctl_esc(a->pos[0], e1, sizeof(e1)));
	rc = ctl_call(c, "POST", path, NULL, &r);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json_new(r ? json_incref(r)
				     : json_pack("{s:b}", "cancelled", 1));
	else
		printf("Cancel requested for cluster '%s': the run stops after "
		       "its current step.\n",
		       a->pos[0]);
	json_decref(r);
	return CTL_OK;
}

/* ---- tasks ---- */

static const char *lc_duration(const json_t *t, char *b, size_t n)
{
	const char *s = ctl_jstr(t, "started"), *f = ctl_jstr(t, "finished");
	struct tm ta = {0}, tb = {0};
	const char *pa, *pb;
	double d;

	if (!s || !f || !(pa = strptime(s, "%Y-%m-%dT%H:%M:%S", &ta)) ||
	    !(pb = strptime(f, "%Y-%m-%dT%H:%M:%S", &tb)))
		return "-";
	d = difftime(timegm(&tb), timegm(&ta)) +
	    (*pb == '.' ? strtod(pb, NULL) : 0) -
	    (*pa == '.' ? strtod(pa, NULL) : 0);
	snprintf(b, n, "%.2f s", d);
	return b;
}

static void task_table(const json_t *tasks)
{
	static const char *const h[] = {
	    ">ID", "TYPE", "TARGET", "STATUS", ">PROGRESS", "CREATED", ">TIME"};
	struct ctl_table *t = ctl_table_new(7, h);
	char id[32], pct[16], dur[32];
	json_t *x;
	size_t i;

	json_array_foreach(tasks, i, x)
	{
		snprintf(pct, sizeof(pct), "%lld%%",
			 (long long)json_integer_value(
			     json_object_get(x, "progress")));
		ctl_table_addv(
		    t, ctl_jfield(x, "id", id, sizeof(id)), ctl_jstr(x, "type"),
		    ctl_jstr(x, "target_name"), ctl_jstr(x, "status"), pct,
		    ctl_jstr(x, "created"), lc_duration(x, dur, sizeof(dur)));
	}
	ctl_table_print(t, stdout, "no tasks");
	ctl_table_free(t);
}

static const struct ctl_opt task_list_opts[] = {
    {"status", 0, "STATUS", "queued, running, success, error, cancelled"},
    {"type", 0, "TYPE", "e.g. compliance.check, depot.import"},
    {"limit", 0, "N", "at most N tasks (default 100)"},
    EMPTY_OPTS,
};

static int cmd_task_list(struct ctl *c, const struct ctl_args *a)
{
	char path[600], e1[100], e2[100], e3[32];
	json_t *r = NULL;
	int rc;

	snprintf(
	    path, sizeof(path), "/api/v1/tasks?limit=%s%s%s%s%s",
	    ctl_arg(a, "limit") ? ctl_esc(ctl_arg(a, "limit"), e3, sizeof(e3))
				: "100",
	    ctl_arg(a, "status") ? "&status=" : "",
	    ctl_arg(a, "status") ? ctl_esc(ctl_arg(a, "status"), e1, sizeof(e1))
				 : "",
	    ctl_arg(a, "type") ? "&type=" : "",
	    ctl_arg(a, "type") ? ctl_esc(ctl_arg(a, "type"), e2, sizeof(e2))
			       : "");
	rc = ctl_call(c, "GET", path, NULL, &r);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		task_table(json_object_get(r, "tasks"));
	json_decref(r);
	return CTL_OK;
}

static int task_get(struct ctl *c, const char *id, json_t **t)
{
	char path[200], e1[64];

	snprintf(path, sizeof(path), "/api/v1/tasks/%s",
		 ctl_esc(id, e1, sizeof(e1)));
	return ctl_call(c, "GET", path, NULL, t);
}

static int cmd_task_show(struct ctl *c, const struct ctl_args *a)
{
	char dur[32], b[512];
	json_t *t = NULL;
	int rc = task_get(c, a->pos[0], &t);

	if (rc)
		return rc;
	if (c->json) {
		ctl_print_json(t);
	} else {
		printf("Task:     %lld\n",
		       (long long)json_integer_value(json_object_get(t, "id")));
		printf("Type:     %s\n", ctl_jstr(t, "type"));
		printf("Target:   %s %s\n", ctl_jstr(t, "target_kind"),
		       ctl_jstr(t, "target_name") ? ctl_jstr(t, "target_name")
						  : "");
		printf("Status:   %s\n", ctl_jstr(t, "status"));
		printf("Progress: %lld%%\n",
		       (long long)json_integer_value(
			   json_object_get(t, "progress")));
		printf("Created:  %s\n", ctl_jstr(t, "created"));
		printf("Started:  %s\n",
		       ctl_jfield(t, "started", b, sizeof(b)));
		printf("Finished: %s\n",
		       ctl_jfield(t, "finished", b, sizeof(b)));
		printf("Time:     %s\n", lc_duration(t, dur, sizeof(dur)));
		if (json_is_object(json_object_get(t, "error")))
			printf(
			    "Error:    %s\n",
			    ctl_jstr(json_object_get(t, "error"), "message"));
		else if (ctl_jstr(t, "error"))
			printf("Error:    %s\n", ctl_jstr(t, "error"));
		if (json_is_object(json_object_get(t, "result"))) {
			printf("\nResult:\n");
			lc_result(json_object_get(t, "result"), "  ");
		}
	}
	json_decref(t);
	return CTL_OK;
}

static int cmd_task_wait(struct ctl *c, const struct ctl_args *a)
{
	json_t *t = NULL, *final = NULL;
	int rc = task_get(c, a->pos[0], &t);

	if (rc)
		return rc;
	rc = ctl_task_follow(c, t, &final);
	if (c->json && final)
		ctl_print_json(final);
	json_decref(final);
	json_decref(t);
	return rc;
}

const struct ctl_cmd ctl_task_cmds[] = {
    {"list", "", "List tasks, newest first", NULL, task_list_opts,
     cmd_task_list, NULL, 0, 0, NULL},
    {"show", "ID", "Show a task and its result", NULL, NULL, cmd_task_show,
     NULL, 1, 1, NULL},
    {"wait", "ID", "Follow a task to its end (exit 1 if it fails)",
     "With --timeout SECONDS, gives up (exit 1) if the task is still "
     "running.",
     NULL, cmd_task_wait, NULL, 1, 1, NULL},
    END_CMD,
};

/* ---- events ---- */

const struct ctl_opt ctl_events_opts[] = {
    {"follow", 'f', NULL, "keep printing events as they happen"},
    {"cluster", 'c', "CLUSTER", "only events of CLUSTER"},
    {"host", 0, "HOST", "only events of HOST"},
    {"vm", 0, "VM", "only events of VM"},
    {"task", 0, "ID", "only events of task ID"},
    {"type", 0, "TYPE", "only events of TYPE (e.g. host.added)"},
    {"limit", 'n', "N", "show the last N events first (default 50)"},
    {"count", 0, "N", "with --follow: stop after N new events"},
    EMPTY_OPTS,
};

/* "2026-11-30T05:01:29.345Z" -> "2026-11-30 05:01:29.345". */
static const char *ev_time(const char *iso, char *b, size_t n)
{
	size_t i;

	snprintf(b, n, "%s", iso ? iso : "-");
	for (i = 0; b[i]; i++) {
		if (b[i] == 'T')
			b[i] = ' ';
		if (b[i] == 'Z')
			b[i] = '\0';
	}
	return b;
}

/* Keys of an event's data that the line already shows, or that are
 * identifiers rather than figures. */
static bool ev_noise(const char *k)
{
	static const char *const noise[] = {
	    "cursor", "message", "time",    "type",	"vm",
	    "host",   "cluster", "task_id", "severity", "image_digest",
	    "digest", "sha256",	 "status",  "impact",	NULL};
	int i;

	for (i = 0; noise[i]; i++)
		if (!strcmp(k, noise[i]))
			return true;
	return false;
}

/* The figures of an event: its data's scalars, "stun_ms=3.1 ...". */
static const char *ev_figures(const json_t *data, char *b, size_t n)
{
	const char *k;
	json_t *v;
	size_t o = 0;
	char t[128];

	b[0] = '\0';
	if (!json_is_object(data))
		return b;
	json_object_foreach((json_t *)data, k, v)
	{
		if (!lc_scalar(v) || json_is_null(v) || ev_noise(k))
			continue;
		const char *txt = t;

		if (json_is_real(v))
			snprintf(t, sizeof(t), "%.3g", json_real_value(v));
		else
			txt = ctl_jtext(v, t, sizeof(t));
		o += (size_t)snprintf(b + o, o < n ? n - o : 0, "%s%s=%s",
				      o ? " " : "", k, txt);
		if (o >= n)
			break;
	}
	return b;
}

static void ev_print(struct ctl *c, const json_t *ev)
{
	char tb[64], fig[1024];
	const char *sev = ctl_jstr(ev, "severity");
	const char *who = ctl_jstr(ev, "host");

	if (c->json) {
		char *s = json_dumps(ev, JSON_COMPACT);

		if (s)
			puts(s);
		free(s);
		fflush(stdout);
		return;
	}
	if (!who)
		who = ctl_jstr(ev, "cluster");
	ev_figures(json_object_get(ev, "data"), fig, sizeof(fig));
	printf("%s  %-12s %s%s%s%s%s%s\n",
	       ev_time(ctl_jstr(ev, "time"), tb, sizeof(tb)), who ? who : "-",
	       sev && strcmp(sev, "info") ? sev : "",
	       sev && strcmp(sev, "info") ? ": " : "",
	       ctl_jstr(ev, "message") ? ctl_jstr(ev, "message")
				       : ctl_jstr(ev, "type"),
	       fig[0] ? "  (" : "", fig, fig[0] ? ")" : "");
	fflush(stdout);
}

static void ev_query(const struct ctl_args *a, char *q, size_t n)
{
	static const char *const keys[] = {"cluster", "host", "vm",
					   "task",    "type", NULL};
	char e[200];
	size_t o = 0;
	int i;

	q[0] = '\0';
	for (i = 0; keys[i]; i++)
		if (ctl_arg(a, keys[i]))
			o += (size_t)snprintf(
			    q + o, o < n ? n - o : 0, "&%s=%s", keys[i],
			    ctl_esc(ctl_arg(a, keys[i]), e, sizeof(e)));
}

struct ev_follow {
	struct ctl *c;
	long left;	  /* events still to print; <0: no limit */
	long long cursor; /* of the last event printed */
	long got;	  /* events received on this connection */
};

static int ev_on_sse(void *ctx, const char *id, const char *type, json_t *data)
{
	struct ev_follow *f = ctx;

	if (id && id[0])
		f->cursor = atoll(id);
	f->got++;
	ev_print(f->c, data);
	if (f->left > 0 && --f->left == 0)
		return 1;
	return 0;
}

/*
 * Stream from f->cursor on. A stream that ends or breaks (the center
 * restarted) is resumed from the last event printed, like `tail -F`; a
 * refusal (auth, bad filter, no such route) ends the command.
 */
static int ev_follow_stream(struct ctl *c, const char *q, struct ev_follow *f)
{
	struct timespec nap = {1, 0};
	char path[1400];
	bool told = false;
	int rc;

	for (;;) {
		f->got = 0;
		snprintf(path, sizeof(path),
			 "/api/v1/events/stream?after=%lld%s", f->cursor, q);
		rc = ctl_sse(c, path, ev_on_sse, f);
		if (f->left == 0)
			return CTL_OK;
		if (rc != CTL_OK && rc != CTL_CONN)
			return rc;
		if (f->got)
			told = false;
		if (!told)
			fprintf(stderr,
				"seamctl: the event stream ended; "
				"resuming after event %lld when the "
				"center answers\n",
				f->cursor);
		told = true;
		nanosleep(&nap, NULL);
	}
}

int ctl_cmd_events(struct ctl *c, const struct ctl_args *a)
{
	long limit = ctl_arg(a, "limit") ? atol(ctl_arg(a, "limit")) : 50;
	json_t *all = json_array(), *r, *ev;
	long long after = 0, cursor = 0;
	char q[1200], path[1400];
	size_t i, start;
	int rc = CTL_OK;

	ev_query(a, q, sizeof(q));
	/* Page through the log, keeping the last `limit` matches. */
	for (;;) {
		r = NULL;
		snprintf(path, sizeof(path),
			 "/api/v1/events?limit=1000&after=%lld%s", after, q);
		rc = ctl_call(c, "GET", path, NULL, &r);
		if (rc)
			break;
		json_array_extend(all, json_object_get(r, "events"));
		cursor = json_integer_value(json_object_get(r, "cursor"));
		if (json_array_size(json_object_get(r, "events")) < 1000 ||
		    cursor <= after) {
			json_decref(r);
			break;
		}
		after = cursor;
		json_decref(r);
	}
	if (rc) {
		json_decref(all);
		return rc;
	}
	start = limit >= 0 && json_array_size(all) > (size_t)limit
		    ? json_array_size(all) - (size_t)limit
		    : 0;
	if (c->json && !ctl_arg_has(a, "follow")) {
		json_t *out = json_array();

		for (i = start; i < json_array_size(all); i++)
			json_array_append(out, json_array_get(all, i));
		ctl_print_json_new(json_pack("{s:o,s:I}", "events", out,
					     "cursor", (json_int_t)cursor));
	} else {
		for (i = start; i < json_array_size(all); i++) {
			ev = json_array_get(all, i);
			ev_print(c, ev);
		}
		if (!c->json && json_array_size(all) == 0 &&
		    !ctl_arg_has(a, "follow"))
			printf("no events\n");
	}
	json_decref(all);
	if (ctl_arg_has(a, "follow")) {
		struct ev_follow f = {.c = c,
				      .left = ctl_arg(a, "count")
						  ? atol(ctl_arg(a, "count"))
						  : -1};

		if (f.left == 0)
			return CTL_OK;
		f.cursor = cursor;
		rc = ev_follow_stream(c, q, &f);
	}
	return rc;
}
