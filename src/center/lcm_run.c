/*
 * lcm_run.c — the lifecycle engine's tasks: pre-check, stage, remediate
 * (DESIGN §5), persisted step by step and resumed at start.
 *
 * A remediation is a row in the store with a row per host; every step a
 * host goes through is recorded `planned` BEFORE the center acts on it and
 * `done`/`failed` after. A center killed anywhere restarts, finds the run
 * unfinished, asks each host in flight what it looks like now (maintenance
 * mode, base image, its apply journal) and lets lcm_resume_decide() say
 * whether the planned step is already done, must be waited for, or redone
 * — every step is idempotent on the host side. So a run always finishes,
 * or ends failed with each host out of the maintenance mode it put it in.
 *
 * Hosts are taken in DRS order (lcm_next_host) by up to max_hosts workers
 * (one when parallel remediation is off); live-patched hosts run in
 * parallel, a classic host is emptied only while no other classic host is
 * (its VMs need room elsewhere). Each step is announced as an event with
 * its figures: FSR stun per VM (from the host's own vm.fsr events),
 * migration downtime per VM, time per host, total time.
 *
 * A center killed while a source hostd migrates a VM: the hostd finishes
 * the migration and deletes the VM from itself (hostd/migrate.c), so the
 * VM is never on two hosts; restarted, the center finds the `migrate` step
 * still planned, and lcm_migrate_landed() asks both hosts: running on the
 * target and not on the source means it completed while the center was
 * down (step done, event remediation.vm_migrated without a downtime
 * figure); otherwise the step is abandoned and the evacuation plans again
 * from what the host holds now.
 *
 * Test-only: SEAM_CENTER_CRASH_AT=<step> (stage, enter_partial,
 * apply_live, exit_maintenance, compliance, evacuate, migrate, suspend,
 * enter_full, apply_classic, restore) SIGKILLs the center right after that step
 * is recorded `planned`, before it is acted on; `<step>:after` kills it once
 * the host was asked to do it (before the step is recorded done). Only
 * tests set it.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonio.h"
#include "center.h"
#include "drs.h"
#include "lcm.h"
#include "log.h"

#define LCM_MAX_HOSTS 256
#define LCM_STAGE_WORKERS 8
#define LCM_CALL_MS 30000

static int64_t jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int64_t lcm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double lcm_time_scale(void)
{
	const char *s = getenv("SEAM_TIME_SCALE");
	double v = s ? atof(s) : 1.0;

	return v >= 1.0 ? v : 1.0;
}

static void lcm_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* An event; data (may be NULL) is taken. */
static void lcm_event(struct center *c, const char *type, int64_t cid,
		      int64_t hid, const char *vm, int64_t task, json_t *data,
		      const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static void lcm_event(struct center *c, const char *type, int64_t cid,
		      int64_t hid, const char *vm, int64_t task, json_t *data,
		      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *ev;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev = center_event_make(type, cid, hid, vm, task, data, msg);
	center_event_notify(c, store_event_add(c->st, ev));
	json_decref(ev);
	json_decref(data);
}

/* The test-only crash hook (see the note at the top). */
static void lcm_crash_point(const char *step, bool after)
{
	const char *want = getenv("SEAM_CENTER_CRASH_AT");
	char buf[64];

	if (!want || !*want)
		return;
	snprintf(buf, sizeof(buf), "%s%s", step, after ? ":after" : "");
	if (strcmp(want, buf))
		return;
	log_warnx("SEAM_CENTER_CRASH_AT=%s: killing the center (test hook)",
		  buf);
	raise(SIGKILL);
}

/* ---- talking to a host ---- */

static json_t *lcm_host_row(struct center *c, int64_t id)
{
	char ref[32];

	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	return store_host_get(c->st, ref, true);
}

static int lcm_call(const json_t *row, const char *method, const char *path,
		    const json_t *body, long timeout_ms, json_t **reply,
		    long *status_out, struct seam_err *e)
{
	long status = 0;
	json_t *r = NULL;
	int rc =
	    hostlink_call(row, method, path, body, timeout_ms, &status, &r, e);

	if (status_out)
		*status_out = status;
	if (rc < 0)
		return rc;
	if (status < 200 || status > 299) {
		rc = hostlink_reply_err(row, status, r, e);
		json_decref(r);
		return rc < 0 ? rc : -EIO;
	}
	if (reply)
		*reply = r;
	else
		json_decref(r);
	return 0;
}

static int lcm_maint_set(const json_t *row, const char *mode,
			 struct seam_err *e)
{
	json_t *b = json_pack("{s:s}", "mode", mode), *m = NULL;
	int rc = lcm_call(row, "PUT", "/api/v1/maintenance", b, LCM_CALL_MS,
			  NULL, NULL, e);

	json_decref(b);
	/* Already in that mode (a resumed step): done. */
	if (rc < 0 && lcm_call(row, "GET", "/api/v1/maintenance", NULL,
			       LCM_CALL_MS, &m, NULL, NULL) == 0) {
		if (streq(jsonio_str(m, "mode"), mode) ||
		    streq(jsonio_str(m, "maintenance_mode"), mode))
			rc = 0;
		json_decref(m);
	}
	return rc;
}

/* What the host says now (for resume and cleanup). */
struct lcm_obs {
	char maint[16], base[64], apply_state[32], apply_image[64];
	bool apply_running;
	int64_t apply_id;
};

static int lcm_observe(const json_t *row, struct lcm_obs *o, struct seam_err *e)
{
	json_t *inv = NULL, *ap = NULL;
	int rc;

	memset(o, 0, sizeof(*o));
	rc = lcm_call(row, "GET", "/api/v1/inventory", NULL, LCM_CALL_MS, &inv,
		      NULL, e);
	if (rc < 0)
		return rc;
	snprintf(o->maint, sizeof(o->maint), "%s",
		 jsonio_str(inv, "maintenance_mode")
		     ? jsonio_str(inv, "maintenance_mode")
		     : "none");
	snprintf(
	    o->base, sizeof(o->base), "%s",
	    jsonio_str(json_object_get(json_object_get(inv, "image"), "base"),
		       "version")
		? jsonio_str(
		      json_object_get(json_object_get(inv, "image"), "base"),
		      "version")
		: "");
	json_decref(inv);
	if (lcm_call(row, "GET", "/api/v1/apply", NULL, LCM_CALL_MS, &ap, NULL,
		     NULL) == 0) {
		snprintf(o->apply_state, sizeof(o->apply_state), "%s",
			 jsonio_str(ap, "state") ? jsonio_str(ap, "state")
						 : "none");
		snprintf(o->apply_image, sizeof(o->apply_image), "%s",
			 jsonio_str(ap, "image") ? jsonio_str(ap, "image")
						 : "");
		o->apply_running = json_is_true(json_object_get(ap, "running"));
		o->apply_id = jint(ap, "id");
		json_decref(ap);
	} else {
		snprintf(o->apply_state, sizeof(o->apply_state), "none");
	}
	return 0;
}

/* A new reference: v itself when it is an array, else an empty one. */
static json_t *lcm_array_or_empty(const json_t *v)
{
	return json_is_array(v) ? json_incref((json_t *)v) : json_array();
}

/* The staging record hostd takes (stage.c there) from an effective image. */
static json_t *lcm_stage_record(const json_t *eff)
{
	const json_t *base = json_object_get(eff, "base"), *row;
	json_t *comps = json_array();
	const char *k;

	json_object_foreach((json_t *)json_object_get(eff, "components"), k,
			    row)
	{
		const json_t *sc = json_object_get(row, "scripts");
		const json_t *lp = json_object_get(row, "live_patch_from");

		json_array_append_new(
		    comps,
		    json_pack(
			"{s:s,s:s,s:s,s:I,s:o,s:o,s:b}", "name", k, "version",
			jsonio_str(row, "version"), "sha256",
			jsonio_str(row, "digest"), "size",
			(json_int_t)jint(row, "size"), "scripts",
			lcm_array_or_empty(sc), "live_patch_from",
			lcm_array_or_empty(lp), "fsr_required",
			json_is_true(json_object_get(row, "fsr_required")) ||
			    jint(row, "fsr_required") != 0));
	}
	return json_pack(
	    "{s:s,s:o,s:o}", "version", jsonio_str(base, "version"),
	    "live_patch_from",
	    lcm_array_or_empty(json_object_get(base, "live_patch_from")),
	    "components", comps);
}

/* Stage the host's image (idempotent on the host). *version: target. */
static int lcm_stage_host(struct center *c, const json_t *row, char *version,
			  size_t vlen, struct seam_err *e)
{
	char why[512] = "", tok[AUTH_HOST_TOKEN_SIZE], url[300];
	json_t *eff = checks_host_image(c, row, why, sizeof(why));
	json_t *rec, *body;
	int rc;

	if (!eff)
		return err_set(e, ENOENT, "host '%s': no image to stage: %s",
			       jsonio_str(row, "name"), why);
	rec = lcm_stage_record(eff);
	json_decref(eff);
	if (version)
		snprintf(version, vlen, "%s", jsonio_str(rec, "version"));
	auth_host_token(c->secret, jint(row, "id"), tok);
	snprintf(url, sizeof(url), "%s/api/v1/depot", c->url);
	body = json_pack("{s:o,s:{s:s,s:s,s:s}}", "image", rec, "depot", "url",
			 url, "token", tok, "thumbprint", c->tls->thumbprint);
	rc = lcm_call(row, "POST", "/api/v1/stage", body,
		      (long)(300000 * lcm_time_scale()), NULL, NULL, e);
	json_decref(body);
	return rc;
}

/* ---- pre-check ---- */

static bool lcm_is_staged(const json_t *row, const char *version)
{
	json_t *r = NULL, *im;
	size_t i;
	bool found = false;

	if (!version || lcm_call(row, "GET", "/api/v1/stage", NULL, LCM_CALL_MS,
				 &r, NULL, NULL) < 0)
		return false;
	json_array_foreach(json_object_get(r, "images"), i,
			   im) if (streq(jsonio_str(im, "version"), version))
	    found = true;
	json_decref(r);
	return found;
}

/* Host documents for lcm_precheck(): fresh compliance and inventory. */
static json_t *lcm_precheck_hosts(struct center *c, int64_t cid,
				  int64_t task_id, char *image_error,
				  size_t len)
{
	json_t *rows = store_host_list_full(c->st, cid, true), *row;
	json_t *out = json_array();
	size_t i;

	image_error[0] = 0;
	json_array_foreach(rows, i, row)
	{
		char why[512] = "", ref[32];
		json_t *inv = NULL, *res, *eff, *fresh, *doc;
		const char *ver = NULL;

		res = checks_host_now(c, row, task_id, &inv);
		eff = checks_host_image(c, row, why, sizeof(why));
		if (!eff && !image_error[0])
			snprintf(image_error, len, "%s", why);
		if (eff)
			ver =
			    jsonio_str(json_object_get(eff, "base"), "version");
		snprintf(ref, sizeof(ref), "%lld", (long long)jint(row, "id"));
		fresh = store_host_get(c->st, ref, false);
		doc =
		    json_pack("{s:O,s:O,s:O,s:O,s:b,s:b}", "name",
			      json_object_get(row, "name"), "state",
			      json_object_get(fresh, "state"), "compliance",
			      res ? res : json_null(), "inventory",
			      inv ? inv : json_null(), "staged",
			      streq(jsonio_str(fresh, "state"), "connected") &&
				  lcm_is_staged(row, ver),
			      "stageable", eff != NULL);
		json_array_append_new(out, doc);
		json_decref(res);
		json_decref(inv);
		json_decref(eff);
		json_decref(fresh);
	}
	json_decref(rows);
	return out;
}

static json_t *lcm_precheck_run(struct center *c, int64_t cid, int64_t task_id)
{
	char image_error[512];
	json_t *settings = center_settings(c, cid);
	json_t *hosts = lcm_precheck_hosts(c, cid, task_id, image_error,
					   sizeof(image_error));
	json_t *images = store_image_list(c->st, cid), *res;

	if (json_array_size(images) == 0)
		snprintf(image_error, sizeof(image_error),
			 "the cluster has no image");
	res =
	    lcm_precheck(settings, image_error[0] ? image_error : NULL, hosts);
	json_decref(images);
	json_decref(settings);
	json_decref(hosts);
	return res;
}

struct lcm_job {
	int64_t cluster_id;
	char cluster[128];
	int64_t rem_id;
	bool resume;
};

static int lcm_precheck_task(struct center *c, int64_t task_id, void *arg,
			     json_t **result, struct seam_err *e)
{
	struct lcm_job *job = arg;
	json_t *res = lcm_precheck_run(c, job->cluster_id, task_id), *l;
	size_t i, nerr = 0;

	(void)e;
	json_array_foreach(json_object_get(res, "results"), i, l) nerr +=
	    streq(jsonio_str(l, "status"), "error");
	lcm_event(c, "precheck.done", job->cluster_id, 0, NULL, task_id,
		  json_incref(res),
		  "pre-check of cluster '%s': %s (%zu error(s))", job->cluster,
		  jsonio_str(res, "status"), nerr);
	*result = res;
	return 0;
}

static struct lcm_job *lcm_job_new(const json_t *cl, struct seam_err *e)
{
	struct lcm_job *job = calloc(1, sizeof(*job));

	if (!job) {
		err_set(e, ENOMEM, "no memory");
		return NULL;
	}
	job->cluster_id = jint(cl, "id");
	snprintf(job->cluster, sizeof(job->cluster), "%s",
		 jsonio_str(cl, "name"));
	return job;
}

int64_t lcm_spawn_precheck(struct center *c, const json_t *cl,
			   struct seam_err *e)
{
	struct lcm_job *job = lcm_job_new(cl, e);

	if (!job)
		return -ENOMEM;
	return center_task_spawn(c, "cluster.precheck", "cluster",
				 job->cluster_id, job->cluster, NULL,
				 lcm_precheck_task, job, free, e);
}

/* ---- stage ---- */

struct lcm_stage_run {
	struct center *c;
	int64_t task_id, cluster_id;
	json_t *rows, *results;
	size_t next, done, failed;
	pthread_mutex_t lock;
};

static void *lcm_stage_worker(void *p)
{
	struct lcm_stage_run *s = p;

	for (;;) {
		struct seam_err e = {0};
		char ver[64] = "";
		json_t *row;
		int64_t t0;
		int rc;

		pthread_mutex_lock(&s->lock);
		row = json_array_get(s->rows, s->next);
		if (row)
			s->next++;
		pthread_mutex_unlock(&s->lock);
		if (!row)
			return NULL;
		lcm_event(s->c, "stage.host_started", s->cluster_id,
			  jint(row, "id"), NULL, s->task_id, NULL,
			  "staging on host '%s' starts",
			  jsonio_str(row, "name"));
		t0 = lcm_now_ms();
		rc = lcm_stage_host(s->c, row, ver, sizeof(ver), &e);
		pthread_mutex_lock(&s->lock);
		json_array_append_new(
		    s->results, json_pack("{s:s,s:s,s:s,s:I,s:s}", "host",
					  jsonio_str(row, "name"), "status",
					  rc < 0 ? "error" : "ok", "image", ver,
					  "ms", (json_int_t)(lcm_now_ms() - t0),
					  "error", rc < 0 ? e.msg : ""));
		s->done++;
		s->failed += rc < 0;
		store_task_progress(
		    s->c->st, s->task_id,
		    (int)(s->done * 100 / (json_array_size(s->rows) + 1)));
		pthread_mutex_unlock(&s->lock);
		if (rc < 0)
			lcm_event(s->c, "stage.host_failed", s->cluster_id,
				  jint(row, "id"), NULL, s->task_id, NULL,
				  "staging on host '%s' failed: %s",
				  jsonio_str(row, "name"), e.msg);
		else
			lcm_event(s->c, "stage.host_done", s->cluster_id,
				  jint(row, "id"), NULL, s->task_id,
				  json_pack("{s:s,s:I}", "image", ver, "ms",
					    (json_int_t)(lcm_now_ms() - t0)),
				  "image %s staged on host '%s' in %lld ms",
				  ver, jsonio_str(row, "name"),
				  (long long)(lcm_now_ms() - t0));
	}
}

static int lcm_stage_task(struct center *c, int64_t task_id, void *arg,
			  json_t **result, struct seam_err *e)
{
	struct lcm_job *job = arg;
	struct lcm_stage_run s = {0};
	pthread_t th[LCM_STAGE_WORKERS];
	size_t i, n;

	s.c = c;
	s.task_id = task_id;
	s.cluster_id = job->cluster_id;
	s.rows = store_host_list_full(c->st, job->cluster_id, true);
	s.results = json_array();
	pthread_mutex_init(&s.lock, NULL);
	n = json_array_size(s.rows) < LCM_STAGE_WORKERS
		? json_array_size(s.rows)
		: LCM_STAGE_WORKERS;
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, lcm_stage_worker, &s) != 0)
			break;
	n = i;
	if (n == 0)
		lcm_stage_worker(&s);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&s.lock);
	*result = json_pack("{s:o,s:I}", "hosts", s.results, "failed",
			    (json_int_t)s.failed);
	json_decref(s.rows);
	if (s.failed)
		return err_set(e, EIO, "staging failed on %zu host(s)",
			       s.failed);
	return 0;
}

int64_t lcm_spawn_stage(struct center *c, const json_t *cl, struct seam_err *e)
{
	struct lcm_job *job = lcm_job_new(cl, e);

	if (!job)
		return -ENOMEM;
	return center_task_spawn(c, "cluster.stage", "cluster", job->cluster_id,
				 job->cluster, NULL, lcm_stage_task, job, free,
				 e);
}

/* ---- remediate ---- */

struct lcm_host {
	int64_t id;
	char name[128];
	enum lcm_path path;
	char status[16];
	char resume_step[32]; /* a step to start at (resume), "" */
	bool resume_after;    /* resume_step is done: start after it */
	char target[64];
	int attempts;
	int64_t ready_ms;
	bool busy;
	int64_t running_mib;
};

struct lcm_run {
	struct center *c;
	int64_t rem_id, task_id, cluster_id;
	char cluster[128];
	json_t *settings;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct lcm_host *h;
	size_t n;
	int failed, tolerated, retry_count;
	long retry_delay_ms;
	bool retry;
	bool classic_busy, stop, cancel;
	int in_flight;
	int64_t t0_ms;
	const char *power_policy;
	struct lcm_run *next_run; /* registry */
};

static pthread_mutex_t lcm_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lcm_run *lcm_reg;

static void lcm_reg_add(struct lcm_run *r)
{
	pthread_mutex_lock(&lcm_reg_lock);
	r->next_run = lcm_reg;
	lcm_reg = r;
	pthread_mutex_unlock(&lcm_reg_lock);
}

static void lcm_reg_del(struct lcm_run *r)
{
	struct lcm_run **p;

	pthread_mutex_lock(&lcm_reg_lock);
	for (p = &lcm_reg; *p; p = &(*p)->next_run)
		if (*p == r) {
			*p = r->next_run;
			break;
		}
	pthread_mutex_unlock(&lcm_reg_lock);
}

int lcm_cancel(struct center *c, int64_t cluster_id, struct seam_err *e)
{
	struct lcm_run *r;
	int found = 0;

	pthread_mutex_lock(&lcm_reg_lock);
	for (r = lcm_reg; r; r = r->next_run) {
		if (r->cluster_id != cluster_id)
			continue;
		pthread_mutex_lock(&r->lock);
		r->cancel = true;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		store_remediation_set_state(c->st, r->rem_id, "cancelling");
		found = 1;
	}
	pthread_mutex_unlock(&lcm_reg_lock);
	if (!found)
		return err_set(e, ENOENT,
			       "no remediation is running on this cluster");
	return 0;
}

static void lcm_host_status(struct lcm_run *r, struct lcm_host *hh,
			    const char *status, const char *step,
			    const char *error)
{
	if (!lcm_status_transition_ok(hh->status, status) &&
	    strcmp(hh->status, status))
		log_warnx("remediation %lld: host %s: %s -> %s is unexpected",
			  (long long)r->rem_id, hh->name, hh->status, status);
	snprintf(hh->status, sizeof(hh->status), "%s", status);
	store_remediation_host_set(r->c->st, r->rem_id, hh->id, status, step,
				   error);
}

/* Wait for the host's apply to end; 0 when it is done. */
static int lcm_apply_wait(struct lcm_run *r, const json_t *row,
			  int64_t apply_id, const char *target,
			  struct seam_err *e)
{
	int64_t deadline = lcm_now_ms() + (int64_t)(900000 * lcm_time_scale());
	char last_err[512] = "";

	(void)r;
	while (lcm_now_ms() < deadline) {
		struct seam_err ce = {0};
		json_t *ap = NULL;
		const char *st;

		if (lcm_call(row, "GET", "/api/v1/apply", NULL, 10000, &ap,
			     NULL, &ce) < 0) {
			/* A classic apply restarts hostd: keep asking. */
			snprintf(last_err, sizeof(last_err), "%s", ce.msg);
			lcm_sleep_ms(200);
			continue;
		}
		st = jsonio_str(ap, "state");
		if ((apply_id <= 0 || jint(ap, "id") >= apply_id) &&
		    !json_is_true(json_object_get(ap, "running")) &&
		    !streq(st, "running") && !streq(st, "rolling_back")) {
			int rc = 0;

			if (!streq(st, "done") ||
			    !streq(jsonio_str(ap, "image"), target)) {
				json_t *err = json_object_get(ap, "error");
				const char *why = jsonio_str(err, "reason");
				const char *step = jsonio_str(err, "step");

				/* Words for the operator, never raw JSON. */
				rc = err_set(e, EIO,
					     "host '%s': apply of %s ended "
					     "%s%s%s%s%s",
					     jsonio_str(row, "name"), target,
					     st ? st : "in an unknown state",
					     step ? " at step " : "",
					     step ? step : "", why ? ": " : "",
					     why ? why : "");
			}
			json_decref(ap);
			return rc;
		}
		json_decref(ap);
		lcm_sleep_ms(100);
	}
	return err_set(
	    e, ETIMEDOUT, "host '%s': apply of %s did not end in time%s%s",
	    jsonio_str(row, "name"), target, last_err[0] ? ": " : "", last_err);
}

/* The host's vm.fsr events after cursor, as remediation events. */
static void lcm_fsr_events(struct lcm_run *r, struct lcm_host *hh,
			   const json_t *row, int64_t cursor, json_t *result)
{
	char path[128];
	json_t *rep = NULL, *ev, *vms = json_array();
	size_t i;
	int64_t total = 0;

	snprintf(path, sizeof(path), "/api/v1/events?after=%lld&limit=1000",
		 (long long)(cursor > 0 ? cursor : 0));
	if (lcm_call(row, "GET", path, NULL, LCM_CALL_MS, &rep, NULL, NULL) <
	    0) {
		json_decref(vms);
		return;
	}
	json_array_foreach(json_object_get(rep, "events"), i, ev)
	{
		const json_t *d = json_object_get(ev, "data");
		const char *vm = jsonio_str(ev, "vm");
		int64_t stun = jint(ev, "stun_us");

		if (!streq(jsonio_str(ev, "type"), "vm.fsr"))
			continue;
		if (!vm)
			vm = jsonio_str(d, "vm");
		if (!stun)
			stun = jint(d, "stun_us");
		total += stun;
		json_array_append_new(vms, json_pack("{s:s,s:I}", "vm",
						     vm ? vm : "?", "stun_us",
						     (json_int_t)stun));
		lcm_event(r->c, "remediation.vm_fsr", r->cluster_id, hh->id, vm,
			  r->task_id,
			  json_pack("{s:I,s:I,s:s}", "remediation_id",
				    (json_int_t)r->rem_id, "stun_us",
				    (json_int_t)stun, "host", hh->name),
			  "host '%s': VM %s moved onto vmx %s by FSR, stun "
			  "%lld us",
			  hh->name, vm ? vm : "?", hh->target, (long long)stun);
	}
	json_object_set_new(result, "fsr", vms);
	json_object_set_new(result, "fsr_stun_us_total", json_integer(total));
	json_decref(rep);
}

static int lcm_step_apply(struct lcm_run *r, struct lcm_host *hh,
			  const json_t *row, bool live, bool resume,
			  json_t *result, struct seam_err *e)
{
	struct lcm_obs o;
	json_t *body, *rep = NULL;
	int64_t apply_id = 0, cursor = 0;
	int rc;

	if (resume && lcm_observe(row, &o, e) == 0) {
		struct lcm_observed ob = {o.maint,	 o.base,
					  hh->target,	 o.apply_state,
					  o.apply_image, o.apply_running};
		enum lcm_resume d = lcm_resume_decide(
		    live ? "apply_live" : "apply_classic", &ob);

		json_object_set_new(result, "resume",
				    json_string(lcm_resume_name(d)));
		if (d == LCM_RESUME_DONE)
			return 0;
		if (d == LCM_RESUME_WAIT)
			return lcm_apply_wait(r, row, o.apply_id, hh->target,
					      e);
	}
	body = json_pack("{s:s,s:s}", "image", hh->target, "mode",
			 live ? "live" : "classic");
	rc = lcm_call(row, "POST", "/api/v1/apply", body, LCM_CALL_MS, &rep,
		      NULL, e);
	json_decref(body);
	if (rc < 0)
		return rc;
	apply_id = jint(rep, "apply_id");
	cursor = jint(rep, "event_cursor");
	json_decref(rep);
	lcm_crash_point(live ? "apply_live" : "apply_classic", true);
	rc = lcm_apply_wait(r, row, apply_id, hh->target, e);
	if (rc == 0)
		lcm_fsr_events(r, hh, row, cursor, result);
	return rc;
}

/* Hosts the evacuation may fill: neither in maintenance nor in flight. */
static json_t *lcm_evac_targets(struct lcm_run *r, const struct lcm_host *hh)
{
	json_t *rows = store_host_list_full(r->c->st, r->cluster_id, false);
	json_t *out = json_array(), *row;
	size_t i, k;

	json_array_foreach(rows, i, row)
	{
		const char *mm = jsonio_str(json_object_get(row, "inventory"),
					    "maintenance_mode");
		bool busy = false;

		if (jint(row, "id") == hh->id ||
		    !streq(jsonio_str(row, "state"), "connected") ||
		    (mm && !streq(mm, "none")))
			continue;
		pthread_mutex_lock(&r->lock);
		for (k = 0; k < r->n; k++)
			if (r->h[k].id == jint(row, "id") && r->h[k].busy)
				busy = true;
		pthread_mutex_unlock(&r->lock);
		if (busy)
			continue;
		json_array_append_new(
		    out,
		    json_pack("{s:s,s:I,s:I}", "name", jsonio_str(row, "name"),
			      "id", (json_int_t)jint(row, "id"), "free_mib",
			      (json_int_t)drs_free_mib(row)));
	}
	json_decref(rows);
	return out;
}

/* The full row of the cluster's host named name, or NULL. */
static json_t *lcm_host_named(struct lcm_run *r, const char *name)
{
	json_t *rows, *row, *found = NULL;
	size_t i;

	rows = store_host_list_full(r->c->st, r->cluster_id, false);
	json_array_foreach(rows, i, row)
	{
		if (!found && streq(jsonio_str(row, "name"), name))
			found = lcm_host_row(r->c, jint(row, "id"));
	}
	json_decref(rows);
	return found;
}

/* The VM's power state on host row ("running", ...), or NULL when the host
 * does not have it or cannot be asked; *known says whether it answered. */
static const char *lcm_vm_state_on(const json_t *row, const char *vm,
				   json_t **reply, bool *known)
{
	char path[256];
	struct seam_err e = {0};
	long status = 0;

	*reply = NULL;
	snprintf(path, sizeof(path), "/api/v1/vms/%s", vm);
	if (lcm_call(row, "GET", path, NULL, LCM_CALL_MS, reply, &status, &e) <
	    0) {
		*known = status == 404;
		return NULL;
	}
	*known = true;
	return jsonio_str(*reply, "state");
}

/* DELETE the VM on host row; gone already (404) counts as done. */
static int lcm_delete_vm(const json_t *row, const char *vm, struct seam_err *de)
{
	char path[256];
	long status = 0;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/vms/%s", vm);
	rc =
	    lcm_call(row, "DELETE", path, NULL, LCM_CALL_MS, NULL, &status, de);
	return rc < 0 && status != 404 ? rc : 0;
}

/*
 * The VM lives on the target now: the source forgets it. A hostd deletes
 * it itself once the migration ends (hostd/migrate.c), so 404 is the
 * usual answer: already gone.
 */
static void lcm_source_forget(const json_t *src, const char *vm,
			      const char *host)
{
	struct seam_err de = {0};

	if (lcm_delete_vm(src, vm, &de) < 0)
		log_warnx("VM %s migrated; host %s keeps its stopped "
			  "configuration: %s",
			  vm, host, de.msg);
}

/*
 * A migration that failed: the vmx guarantees the VM runs on exactly one
 * side, and the source says it still runs there. What the target made for
 * it (its configuration, maybe a vmx still waiting for the stream) would
 * otherwise stay: a second copy of the VM in the inventory, and an
 * `incoming` that a retry gets refused. It goes, forcibly (it never ran
 * the guest). When the source does not say so, nothing is touched.
 */
static void lcm_target_forget(const json_t *src, const json_t *dst,
			      const char *vm, const char *target)
{
	char path[256];
	struct seam_err de = {0};
	json_t *on_src = NULL, *b;
	long status = 0;
	bool known;

	if (!streq(lcm_vm_state_on(src, vm, &on_src, &known), "running") ||
	    json_object_get(on_src, "migrating_to")) {
		log_warnx("VM %s: migration to host '%s' failed and its "
			  "source does not say it runs there; the target's "
			  "copy is left alone",
			  vm, target);
		json_decref(on_src);
		return;
	}
	json_decref(on_src);
	snprintf(path, sizeof(path), "/api/v1/vms/%s/power-off", vm);
	b = json_pack("{s:b}", "force", 1);
	if (lcm_call(dst, "POST", path, b, LCM_CALL_MS, NULL, &status, &de) <
		0 &&
	    status != 404)
		log_warnx("VM %s: cannot stop the failed migration's copy on "
			  "host '%s': %s",
			  vm, target, de.msg);
	json_decref(b);
	if (lcm_delete_vm(dst, vm, &de) < 0)
		log_warnx("VM %s: the failed migration's copy stays on host "
			  "'%s': %s",
			  vm, target, de.msg);
}

static int lcm_migrate_vm(struct lcm_run *r, struct lcm_host *hh,
			  const json_t *src, const char *vm, const char *target,
			  json_t *result, struct seam_err *e)
{
	char path[256], addr[256];
	json_t *dst = NULL, *inc = NULL, *rep = NULL, *body;
	json_t *cfg = NULL;
	long status = 0;
	int64_t t0 = lcm_now_ms(), down;
	int rc;

	dst = lcm_host_named(r, target);
	if (!dst)
		return err_set(e, ENOENT, "migration target '%s' is gone",
			       target);
	/* The VM's configuration travels with it (its kernel stays the
	 * target's own default unless the VM names one). */
	snprintf(path, sizeof(path), "/api/v1/vms/%s", vm);
	if (lcm_call(src, "GET", path, NULL, LCM_CALL_MS, &cfg, NULL, e) < 0) {
		json_decref(dst);
		return -EIO;
	}
	body = json_object();
	{
		static const char *const keys[] = {
		    "mem",    "vcpus",		 "cmdline",
		    "kernel", "fault_tolerance", "passthrough",
		    "pod"};
		const json_t *c = json_object_get(cfg, "config")
				      ? json_object_get(cfg, "config")
				      : cfg;

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const json_t *v = json_object_get(c, keys[k]);

			if (!v || json_is_null(v) ||
			    (json_is_string(v) && !json_string_value(v)[0]))
				continue;
			json_object_set(body, keys[k], (json_t *)v);
		}
		if (!json_object_get(body, "mem") &&
		    json_object_get(c, "mem_mib"))
			json_object_set_new(
			    body, "mem",
			    json_sprintf("%lldM",
					 (long long)jint(c, "mem_mib")));
	}
	json_decref(cfg);
	snprintf(addr, sizeof(addr), "%s", jsonio_str(dst, "address"));
	if (strrchr(addr, ':'))
		*strrchr(addr, ':') = 0;
	json_object_set_new(body, "address", json_string(addr));
	snprintf(path, sizeof(path), "/api/v1/vms/%s/incoming", vm);
	rc = lcm_call(dst, "POST", path, body, LCM_CALL_MS, &inc, &status, e);
	json_decref(body);
	if (rc < 0 && (status == 404 || status == 405 || status == 501)) {
		json_decref(dst);
		return err_set(e, ENOTSUP,
			       "host '%s' does not support live migration yet "
			       "(POST %s: HTTP %ld); cannot empty host '%s'",
			       target, path, status, hh->name);
	}
	if (rc < 0) {
		json_decref(dst);
		return rc;
	}
	snprintf(path, sizeof(path), "/api/v1/vms/%s/migrate", vm);
	body = json_pack("{s:O,s:O,s:O}", "to_host",
			 json_object_get(inc, "address"), "port",
			 json_object_get(inc, "port"), "token",
			 json_object_get(inc, "token"));
	rc = lcm_call(src, "POST", path, body,
		      (long)(600000 * lcm_time_scale()), &rep, &status, e);
	json_decref(body);
	json_decref(inc);
	if (rc < 0)
		lcm_target_forget(src, dst, vm, target);
	json_decref(dst);
	if (rc < 0 && (status == 404 || status == 405 || status == 501))
		return err_set(e, ENOTSUP,
			       "host '%s' does not support live migration yet "
			       "(POST %s: HTTP %ld)",
			       hh->name, path, status);
	if (rc < 0)
		return rc;
	lcm_source_forget(src, vm, hh->name);
	{
		const json_t *res = json_object_get(rep, "result")
					? json_object_get(rep, "result")
					: rep;

		down = jint(res, "downtime_us");
		if (!down)
			down = jint(res, "downtime_ms") * 1000;
	}
	json_array_append_new(json_object_get(result, "migrated"),
			      json_pack("{s:s,s:s,s:I,s:I}", "vm", vm, "target",
					target, "downtime_us", (json_int_t)down,
					"ms", (json_int_t)(lcm_now_ms() - t0)));
	lcm_event(r->c, "remediation.vm_migrated", r->cluster_id, hh->id, vm,
		  r->task_id,
		  json_pack("{s:I,s:s,s:s,s:I}", "remediation_id",
			    (json_int_t)r->rem_id, "from", hh->name, "to",
			    target, "downtime_us", (json_int_t)down),
		  "VM %s migrated from host '%s' to '%s' (downtime %lld "
		  "us)",
		  vm, hh->name, target, (long long)down);
	json_decref(rep);
	return 0;
}

/*
 * Power policy `suspend`: the host writes the VM to disk (POST
 * /vms/NAME/suspend) and it waits there until the restore step powers it
 * on. Recorded as its own step `suspend` (planned before the host is
 * asked), so the restore step finds it even when the center died before
 * the evacuate step's result was stored.
 */
static int lcm_suspend_vm(struct lcm_run *r, struct lcm_host *hh,
			  const json_t *src, const char *vm, json_t *result,
			  struct seam_err *e)
{
	json_t *d = json_pack("{s:s}", "vm", vm), *rep = NULL;
	char path[256];
	int64_t sid, t0 = lcm_now_ms();
	int rc;

	sid = store_remediation_step_plan(r->c->st, r->rem_id, hh->id,
					  "suspend", d);
	json_decref(d);
	lcm_crash_point("suspend", false);
	snprintf(path, sizeof(path), "/api/v1/vms/%s/suspend", vm);
	rc = lcm_call(src, "POST", path, NULL,
		      (long)(600000 * lcm_time_scale()), &rep, NULL, e);
	lcm_crash_point("suspend", true);
	store_remediation_step_end(r->c->st, sid, rc < 0 ? "failed" : "done",
				   NULL);
	if (rc < 0) {
		json_decref(rep);
		return rc;
	}
	json_array_append_new(json_object_get(result, "suspended"),
			      json_string(vm));
	lcm_event(r->c, "remediation.vm_suspended", r->cluster_id, hh->id, vm,
		  r->task_id,
		  json_pack("{s:I,s:s,s:O,s:I}", "remediation_id",
			    (json_int_t)r->rem_id, "host", hh->name,
			    "snapshot_bytes",
			    json_object_get(json_object_get(rep, "suspended"),
					    "bytes")
				?: json_null(),
			    "ms", (json_int_t)(lcm_now_ms() - t0)),
		  "VM %s on host '%s' suspended to disk (power policy): it "
		  "fits on no other host",
		  vm, hh->name);
	json_decref(rep);
	return 0;
}

static int lcm_power_policy(struct lcm_run *r, struct lcm_host *hh,
			    const json_t *src, const char *vm, json_t *result,
			    struct seam_err *e)
{
	char path[256];
	json_t *b;
	int rc;

	if (streq(r->power_policy, "do_not_change"))
		return err_set(e, EBUSY,
			       "VM %s on host '%s' fits on no other host and "
			       "power_policy is do_not_change: the host "
			       "cannot be emptied",
			       vm, hh->name);
	if (streq(r->power_policy, "suspend"))
		return lcm_suspend_vm(r, hh, src, vm, result, e);
	snprintf(path, sizeof(path), "/api/v1/vms/%s/power-off", vm);
	b = json_pack("{s:b}", "force", 0);
	rc = lcm_call(src, "POST", path, b, 120000, NULL, NULL, e);
	json_decref(b);
	if (rc < 0)
		return rc;
	json_array_append_new(json_object_get(result, "powered_off"),
			      json_string(vm));
	lcm_event(r->c, "remediation.vm_powered_off", r->cluster_id, hh->id, vm,
		  r->task_id, NULL,
		  "VM %s on host '%s' powered off (power policy): it fits "
		  "on no other host",
		  vm, hh->name);
	return 0;
}

static int lcm_step_evacuate(struct lcm_run *r, struct lcm_host *hh,
			     const json_t *row, json_t *result,
			     struct seam_err *e)
{
	json_t *inv = NULL, *vms = json_array(), *targets, *plan, *unplaced;
	json_t *vm, *pinned;
	size_t i;
	int rc;

	rc = lcm_call(row, "GET", "/api/v1/inventory", NULL, LCM_CALL_MS, &inv,
		      NULL, e);
	if (rc < 0) {
		json_decref(vms);
		return rc;
	}
	pinned = json_array();
	json_array_foreach(json_object_get(inv, "vms"), i, vm)
	{
		json_t *one;

		if (!streq(jsonio_str(vm, "state"), "running"))
			continue;
		one = json_pack("{s:s,s:I}", "name", jsonio_str(vm, "name"),
				"mem_mib", (json_int_t)jint(vm, "mem_mib"));
		/* A passthrough device does not move: the power policy. */
		json_array_append_new(
		    json_is_true(json_object_get(vm, "passthrough")) ? pinned
								     : vms,
		    one);
	}
	json_decref(inv);
	targets = lcm_evac_targets(r, hh);
	lcm_evac_plan(vms, targets, &plan, &unplaced);
	json_array_foreach(pinned, i, vm) json_array_append_new(
	    unplaced,
	    json_pack("{s:O,s:O,s:s}", "vm", json_object_get(vm, "name"),
		      "mem_mib", json_object_get(vm, "mem_mib"), "why",
		      "passthrough"));
	json_decref(pinned);
	json_object_set(result, "plan", plan);
	json_object_set(result, "unplaced", unplaced);
	json_object_set_new(result, "migrated", json_array());
	json_object_set_new(result, "powered_off", json_array());
	json_object_set_new(result, "suspended", json_array());
	lcm_event(r->c, "remediation.evacuation_plan", r->cluster_id, hh->id,
		  NULL, r->task_id,
		  json_pack("{s:I,s:O,s:O}", "remediation_id",
			    (json_int_t)r->rem_id, "plan", plan, "unplaced",
			    unplaced),
		  "DRS plan to empty host '%s' (first fit decreasing by "
		  "memory): %zu VM(s) move, %zu fit nowhere",
		  hh->name, json_array_size(plan), json_array_size(unplaced));
	json_array_foreach(plan, i, vm)
	{
		int64_t sid = store_remediation_step_plan(
		    r->c->st, r->rem_id, hh->id, "migrate", vm);

		lcm_crash_point("migrate", false);
		rc = lcm_migrate_vm(r, hh, row, jsonio_str(vm, "vm"),
				    jsonio_str(vm, "target"), result, e);
		store_remediation_step_end(r->c->st, sid,
					   rc < 0 ? "failed" : "done", NULL);
		if (rc < 0)
			goto out;
	}
	json_array_foreach(unplaced, i, vm)
	{
		rc = lcm_power_policy(r, hh, row, jsonio_str(vm, "vm"), result,
				      e);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(vms);
	json_decref(targets);
	json_decref(plan);
	json_decref(unplaced);
	return rc;
}

/* Add the string v to the array a unless it is there. */
static void lcm_add_name(json_t *a, const json_t *v)
{
	const json_t *x;
	size_t i;

	if (!json_is_string(v))
		return;
	json_array_foreach(a, i, x) if (json_equal(x, v)) return;
	json_array_append_new(a, json_string(json_string_value(v)));
}

/*
 * What the evacuations of this host put aside: the VMs powered off
 * (the evacuate step's result) into off, the VMs suspended into sus —
 * from the evacuate step's result and from every `suspend` step the host
 * may have carried out (done, or abandoned by a center that died while
 * asking).
 */
static void lcm_put_aside(const json_t *rem, int64_t host_id, json_t *off,
			  json_t *sus)
{
	const json_t *s, *v;
	size_t i, j;

	json_array_foreach(json_object_get(rem, "steps"), i, s)
	{
		const char *step = jsonio_str(s, "step"),
			   *st = jsonio_str(s, "state");
		const json_t *res = json_object_get(s, "result");

		if (jint(s, "host_id") != host_id)
			continue;
		if (streq(step, "evacuate") && streq(st, "done")) {
			json_array_foreach(json_object_get(res, "powered_off"),
					   j, v) lcm_add_name(off, v);
			json_array_foreach(json_object_get(res, "suspended"), j,
					   v) lcm_add_name(sus, v);
		} else if (streq(step, "suspend") &&
			   (streq(st, "done") || streq(st, "abandoned"))) {
			lcm_add_name(
			    sus,
			    json_object_get(json_object_get(s, "data"), "vm"));
		}
	}
}

/*
 * Power on (resume, for a suspended one) each VM of names; a VM that
 * already runs (a resumed center doing this step again) is not an error.
 */
static int lcm_power_on_all(struct lcm_run *r, struct lcm_host *hh,
			    const json_t *row, const json_t *names, bool resume,
			    json_t *done, struct seam_err *e)
{
	const json_t *vm;
	size_t i;
	int rc;

	json_array_foreach(names, i, vm)
	{
		char path[256];

		snprintf(path, sizeof(path), "/api/v1/vms/%s/power-on",
			 json_string_value(vm));
		rc = lcm_call(row, "POST", path, NULL,
			      (long)(300000 * lcm_time_scale()), NULL, NULL, e);
		if (rc < 0 && !strstr(e->msg, "already running"))
			return rc;
		json_array_append_new(done, json_string(json_string_value(vm)));
		if (resume && rc == 0)
			lcm_event(r->c, "remediation.vm_resumed", r->cluster_id,
				  hh->id, json_string_value(vm), r->task_id,
				  json_pack("{s:I,s:s}", "remediation_id",
					    (json_int_t)r->rem_id, "host",
					    hh->name),
				  "VM %s on host '%s' resumed from disk",
				  json_string_value(vm), hh->name);
	}
	return 0;
}

/* Power on what the evacuation powered off or suspended on this host. */
static int lcm_step_restore(struct lcm_run *r, struct lcm_host *hh,
			    const json_t *row, json_t *result,
			    struct seam_err *e)
{
	json_t *rem = store_remediation_get(r->c->st, r->rem_id);
	json_t *off = json_array(), *sus = json_array();
	json_t *on = json_array(), *resumed = json_array();
	int rc;

	lcm_put_aside(rem, hh->id, off, sus);
	rc = lcm_power_on_all(r, hh, row, off, false, on, e);
	if (rc == 0)
		rc = lcm_power_on_all(r, hh, row, sus, true, resumed, e);
	json_object_set_new(result, "powered_on", on);
	json_object_set_new(result, "resumed", resumed);
	json_decref(off);
	json_decref(sus);
	json_decref(rem);
	return rc;
}

static int lcm_step_compliance(struct lcm_run *r, struct lcm_host *hh,
			       const json_t *row, json_t *result,
			       struct seam_err *e)
{
	json_t *res = checks_host_now(r->c, row, r->task_id, NULL);
	const char *st = jsonio_str(res, "status");
	int rc = 0;

	json_object_set_new(result, "status", json_string(st ? st : "?"));
	if (!streq(st, "compliant")) {
		const json_t *why =
		    json_array_get(json_object_get(res, "reasons"), 0);

		rc = err_set(e, EIO, "host '%s' is %s after remediation: %s",
			     hh->name, st ? st : "unknown",
			     jsonio_str(why, "message")
				 ? jsonio_str(why, "message")
				 : "");
	}
	json_decref(res);
	return rc;
}

/* One step: the host is asked to do it (a dispatch, one handler each). */
static int lcm_step_do(struct lcm_run *r, struct lcm_host *hh, const char *step,
		       bool resume, json_t *result, struct seam_err *e)
{
	json_t *row = lcm_host_row(r->c, hh->id);
	char ver[64] = "";
	int rc;

	if (!row)
		return err_set(e, ENOENT, "host '%s' was removed", hh->name);
	if (streq(step, "stage")) {
		rc = lcm_stage_host(r->c, row, ver, sizeof(ver), e);
		if (rc == 0) {
			snprintf(hh->target, sizeof(hh->target), "%s", ver);
			json_object_set_new(result, "image", json_string(ver));
		}
	} else if (streq(step, "enter_partial")) {
		rc = lcm_maint_set(row, "partial", e);
	} else if (streq(step, "enter_full")) {
		rc = lcm_maint_set(row, "full", e);
	} else if (streq(step, "exit_maintenance")) {
		rc = lcm_maint_set(row, "none", e);
	} else if (streq(step, "apply_live")) {
		rc = lcm_step_apply(r, hh, row, true, resume, result, e);
	} else if (streq(step, "apply_classic")) {
		rc = lcm_step_apply(r, hh, row, false, resume, result, e);
	} else if (streq(step, "evacuate")) {
		rc = lcm_step_evacuate(r, hh, row, result, e);
	} else if (streq(step, "compliance")) {
		rc = lcm_step_compliance(r, hh, row, result, e);
	} else if (streq(step, "restore")) {
		rc = lcm_step_restore(r, hh, row, result, e);
	} else {
		rc = err_set(e, EINVAL, "unknown step '%s'", step);
	}
	json_decref(row);
	return rc;
}

/* Out of any maintenance mode, unless an apply still runs there. */
static void lcm_host_settle(struct lcm_run *r, struct lcm_host *hh)
{
	json_t *row = lcm_host_row(r->c, hh->id);
	struct seam_err e = {0};
	struct lcm_obs o;
	int64_t sid;

	if (!row)
		return;
	if (lcm_observe(row, &o, &e) == 0 && !o.apply_running &&
	    !streq(o.maint, "none")) {
		json_t *d = json_pack("{s:b}", "cleanup", 1);

		sid = store_remediation_step_plan(r->c->st, r->rem_id, hh->id,
						  "exit_maintenance", d);
		json_decref(d);
		if (lcm_maint_set(row, "none", &e) < 0)
			log_warnx("remediation %lld: host %s stays in %s: %s",
				  (long long)r->rem_id, hh->name, o.maint,
				  e.msg);
		store_remediation_step_end(r->c->st, sid,
					   e.msg[0] ? "failed" : "done", NULL);
		lcm_event(r->c, "remediation.host_settled", r->cluster_id,
			  hh->id, NULL, r->task_id, NULL,
			  "host '%s' leaves maintenance mode %s%s%s", hh->name,
			  o.maint, e.msg[0] ? ": " : "", e.msg);
	}
	json_decref(row);
}

/* The steps of one host, from the first (or the resumed one). */
static int lcm_host_steps(struct lcm_run *r, struct lcm_host *hh,
			  struct seam_err *e)
{
	const char *step;
	bool resume = hh->resume_step[0] != 0;
	int rc = 0;

	/* Steps are the path's own strings, never hh->resume_step itself. */
	if (resume && !lcm_step_in_path(hh->path, hh->resume_step))
		resume = false;
	if (resume)
		step = hh->resume_after
			   ? lcm_step_next(hh->path, hh->resume_step)
			   : lcm_step_next(
				 hh->path,
				 lcm_step_prev(hh->path, hh->resume_step));
	else
		step = lcm_step_next(hh->path, NULL);
	hh->resume_step[0] = 0;
	for (; step; step = lcm_step_next(hh->path, step)) {
		json_t *data, *result = json_object();
		int64_t sid, t0 = lcm_now_ms();
		bool cancel;

		pthread_mutex_lock(&r->lock);
		cancel = r->cancel;
		pthread_mutex_unlock(&r->lock);
		if (cancel) {
			json_decref(result);
			return err_set(e, ECANCELED, "cancelled before step %s",
				       step);
		}
		data =
		    json_pack("{s:s,s:s,s:b}", "path", lcm_path_name(hh->path),
			      "target", hh->target, "resumed", resume);
		sid = store_remediation_step_plan(r->c->st, r->rem_id, hh->id,
						  step, data);
		json_decref(data);
		store_remediation_host_set(r->c->st, r->rem_id, hh->id,
					   "running", step, NULL);
		lcm_event(r->c, "remediation.step", r->cluster_id, hh->id, NULL,
			  r->task_id,
			  json_pack("{s:I,s:s,s:s,s:s}", "remediation_id",
				    (json_int_t)r->rem_id, "step", step,
				    "state", "started", "host", hh->name),
			  "host '%s': %s%s", hh->name, step,
			  resume ? " (resumed)" : "");
		lcm_crash_point(step, false);
		rc = lcm_step_do(r, hh, step, resume, result, e);
		if (!streq(step, "apply_live") && !streq(step, "apply_classic"))
			lcm_crash_point(step, true);
		resume = false;
		json_object_set_new(result, "ms",
				    json_integer(lcm_now_ms() - t0));
		if (rc < 0)
			json_object_set_new(result, "error",
					    json_string(e->msg));
		store_remediation_step_end(r->c->st, sid,
					   rc < 0 ? "failed" : "done", result);
		lcm_event(r->c,
			  rc < 0 ? "remediation.step_failed"
				 : "remediation.step_done",
			  r->cluster_id, hh->id, NULL, r->task_id,
			  json_pack("{s:I,s:s,s:s,s:O}", "remediation_id",
				    (json_int_t)r->rem_id, "step", step, "host",
				    hh->name, "result", result),
			  "host '%s': %s %s in %lld ms%s%s", hh->name, step,
			  rc < 0 ? "failed" : "done",
			  (long long)(lcm_now_ms() - t0), rc < 0 ? ": " : "",
			  rc < 0 ? e->msg : "");
		json_decref(result);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* One host, start to end (with the failure action). */
static void lcm_host_run(struct lcm_run *r, struct lcm_host *hh)
{
	struct seam_err e = {0};
	int64_t t0 = lcm_now_ms();
	int rc;
	const char *st;

	rc = lcm_host_steps(r, hh, &e);
	if (rc < 0)
		lcm_host_settle(r, hh);
	pthread_mutex_lock(&r->lock);
	hh->attempts++;
	if (rc == 0)
		st = "ok";
	else if (rc == -ECANCELED)
		st = "skipped";
	else if (r->retry && hh->attempts <= r->retry_count && !r->cancel)
		st = "retry_pending";
	else
		st = rc == -ETIMEDOUT ? "timed_out" : "error";
	if (streq(st, "retry_pending"))
		hh->ready_ms = lcm_now_ms() + r->retry_delay_ms;
	if (streq(st, "error") || streq(st, "timed_out")) {
		r->failed++;
		if (r->failed > r->tolerated)
			r->stop = true;
	}
	pthread_mutex_unlock(&r->lock);
	lcm_host_status(r, hh, st, NULL, rc < 0 ? e.msg : NULL);
	lcm_event(r->c, "remediation.host_done", r->cluster_id, hh->id, NULL,
		  r->task_id,
		  json_pack("{s:I,s:s,s:s,s:s,s:f,s:i}", "remediation_id",
			    (json_int_t)r->rem_id, "host", hh->name, "path",
			    lcm_path_name(hh->path), "status", st, "seconds",
			    (double)(lcm_now_ms() - t0) / 1000.0, "attempt",
			    hh->attempts),
		  "host '%s' remediated (%s path): %s in %.3f s%s%s", hh->name,
		  lcm_path_name(hh->path), st,
		  (double)(lcm_now_ms() - t0) / 1000.0, rc < 0 ? ": " : "",
		  rc < 0 ? e.msg : "");
}

/* Under r->lock: the next host to work on, or NULL (*wait: try later). */
static struct lcm_host *lcm_pick(struct lcm_run *r, bool *wait, char *why,
				 size_t len)
{
	json_t *cands;
	size_t i;
	int k;
	bool pending = false;
	int64_t now = lcm_now_ms();

	*wait = false;
	/* Hosts resumed after a restart come first, as they were. */
	for (i = 0; i < r->n; i++)
		if (!r->h[i].busy && streq(r->h[i].status, "running")) {
			snprintf(why, len, "%s: resumed where it stopped",
				 r->h[i].name);
			return &r->h[i];
		}
	cands = json_array();
	for (i = 0; i < r->n; i++) {
		struct lcm_host *hh = &r->h[i];

		if (!hh->busy && (streq(hh->status, "pending") ||
				  streq(hh->status, "retry_pending")))
			pending = true;
		json_array_append_new(
		    cands, json_pack("{s:s,s:s,s:s,s:b,s:I}", "name", hh->name,
				     "path", lcm_path_name(hh->path), "status",
				     hh->busy ? "busy" : hh->status, "ready",
				     hh->ready_ms <= now, "running_mib",
				     (json_int_t)hh->running_mib));
	}
	k = lcm_next_host(cands, r->classic_busy, why, len);
	json_decref(cands);
	if (k < 0) {
		*wait = pending;
		return NULL;
	}
	return &r->h[k];
}

static void *lcm_worker(void *p)
{
	struct lcm_run *r = p;
	char why[512];

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct lcm_host *hh;
		bool wait, classic;

		if (r->stop || r->cancel)
			break;
		hh = lcm_pick(r, &wait, why, sizeof(why));
		if (!hh) {
			if (!wait && r->in_flight == 0)
				break;
			if (!wait && r->in_flight > 0) {
				/* A finishing host may free a classic slot. */
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 200000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&r->cond, &r->lock, &ts);
				/* Nothing left for this worker? */
				if (r->in_flight == 0)
					continue;
				{
					bool any = false;

					for (size_t i = 0; i < r->n; i++)
						if (!r->h[i].busy &&
						    !lcm_status_final(
							r->h[i].status))
							any = true;
					if (!any)
						break;
				}
				continue;
			}
			{
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 200000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&r->cond, &r->lock, &ts);
			}
			continue;
		}
		hh->busy = true;
		classic = hh->path == LCM_PATH_CLASSIC;
		if (classic)
			r->classic_busy = true;
		r->in_flight++;
		pthread_mutex_unlock(&r->lock);
		lcm_event(r->c, "remediation.host_selected", r->cluster_id,
			  hh->id, NULL, r->task_id,
			  json_pack("{s:I,s:s,s:s,s:s}", "remediation_id",
				    (json_int_t)r->rem_id, "host", hh->name,
				    "path", lcm_path_name(hh->path), "why",
				    why),
			  "DRS selects host '%s' (%s path): %s", hh->name,
			  lcm_path_name(hh->path), why);
		if (!streq(hh->status, "running"))
			lcm_host_status(r, hh, "running", NULL, NULL);
		lcm_host_run(r, hh);
		pthread_mutex_lock(&r->lock);
		hh->busy = false;
		if (classic)
			r->classic_busy = false;
		r->in_flight--;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void lcm_run_free(struct lcm_run *r)
{
	if (!r)
		return;
	json_decref(r->settings);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->h);
	free(r);
}

static void lcm_resume_host(json_t *rem, json_t *hr);

/*
 * The VM's state on the source once no migration of it runs there any
 * more (the source hostd carries one through on its own and shows it as
 * `migrating_to` meanwhile), waiting up to a migration's own bound.
 */
static const char *lcm_vm_state_settled(const json_t *src, const char *vm,
					json_t **reply, bool *known)
{
	int64_t end = lcm_now_ms() + (int64_t)(600000 * lcm_time_scale());
	const char *s;

	for (;;) {
		s = lcm_vm_state_on(src, vm, reply, known);
		if (!json_object_get(*reply, "migrating_to") ||
		    lcm_now_ms() > end)
			return s;
		log_info("VM %s still migrates to %s; waiting for its end", vm,
			 jsonio_str(*reply, "migrating_to"));
		json_decref(*reply);
		lcm_sleep_ms(500);
	}
}

/*
 * A `migrate` step the center died in (it was asking the source hostd,
 * which carries the migration through on its own and then deletes the VM
 * itself): once a migration still in flight is over, when the target
 * runs the VM and the source no longer does, the migration completed while
 * the center was down — the step ends done, with an event (no downtime
 * figure: the vmx's reply went to nobody). Otherwise (failed, never asked,
 * hosts unreachable) it is abandoned as any other and the evacuation plans
 * again. True when it ended done.
 */
static bool lcm_migrate_landed(struct lcm_run *r, const json_t *st)
{
	const json_t *d = json_object_get(st, "data");
	const char *vm = jsonio_str(d, "vm"), *target = jsonio_str(d, "target");
	json_t *src = lcm_host_row(r->c, jint(st, "host_id"));
	json_t *dst = target ? lcm_host_named(r, target) : NULL;
	json_t *on_src = NULL, *on_dst = NULL, *res;
	bool src_known = false, dst_known = false, landed = false;
	const char *s_src = NULL, *s_dst = NULL;

	if (vm && src && dst) {
		s_src = lcm_vm_state_settled(src, vm, &on_src, &src_known);
		s_dst = lcm_vm_state_on(dst, vm, &on_dst, &dst_known);
		landed = src_known && !streq(s_src, "running") &&
			 streq(s_dst, "running");
	}
	if (landed && s_src)
		lcm_source_forget(src, vm, jsonio_str(src, "name"));
	if (landed) {
		res = json_pack("{s:s,s:s,s:s,s:s}", "vm", vm, "target", target,
				"note",
				"the migration completed while the center was "
				"down",
				"source", s_src ? s_src : "gone");
		store_remediation_step_end(r->c->st, jint(st, "id"), "done",
					   res);
		json_decref(res);
		lcm_event(r->c, "remediation.vm_migrated", r->cluster_id,
			  jint(st, "host_id"), vm, r->task_id,
			  json_pack("{s:I,s:s,s:s,s:n,s:b}", "remediation_id",
				    (json_int_t)r->rem_id, "from",
				    jsonio_str(src, "name"), "to", target,
				    "downtime_us", "while_center_down", 1),
			  "VM %s migrated from host '%s' to '%s' while the "
			  "center was down (downtime unknown)",
			  vm, jsonio_str(src, "name"), target);
	}
	json_decref(on_src);
	json_decref(on_dst);
	json_decref(src);
	json_decref(dst);
	return landed;
}

static struct lcm_run *lcm_run_new(struct center *c, int64_t rem_id,
				   int64_t task_id, const json_t *rem)
{
	struct lcm_run *r = calloc(1, sizeof(*r));
	const json_t *s, *fa, *hr;
	json_t *cl;
	char ref[32];
	size_t i;

	if (!r)
		return NULL;
	r->c = c;
	r->rem_id = rem_id;
	r->task_id = task_id;
	r->cluster_id = jint(rem, "cluster_id");
	snprintf(ref, sizeof(ref), "%lld", (long long)r->cluster_id);
	cl = store_cluster_get(c->st, ref);
	snprintf(r->cluster, sizeof(r->cluster), "%s",
		 cl ? jsonio_str(cl, "name") : "?");
	json_decref(cl);
	r->settings = json_incref(json_object_get(rem, "settings"));
	s = r->settings;
	fa = json_object_get(s, "failure_action");
	r->retry = streq(jsonio_str(fa, "action"), "retry");
	r->retry_count = (int)jint(fa, "retry_count");
	r->retry_delay_ms = (long)(jint(fa, "retry_delay_s") * 1000);
	r->tolerated = (int)jint(s, "tolerated_failures");
	r->power_policy = jsonio_str(s, "power_policy");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	/* Steps a stopped center left planned: looked at again below. */
	json_array_foreach(json_object_get(rem, "steps"), i,
			   hr) if (streq(jsonio_str(hr, "state"), "planned"))
	{
		json_t *why;

		if (streq(jsonio_str(hr, "step"), "migrate") &&
		    lcm_migrate_landed(r, hr))
			continue;
		why = json_pack("{s:s}", "why",
				"the center stopped during this "
				"step; the host is asked again");

		store_remediation_step_end(c->st, jint(hr, "id"), "abandoned",
					   why);
		json_decref(why);
	}
	r->n = json_array_size(json_object_get(rem, "hosts"));
	r->h = calloc(r->n ? r->n : 1, sizeof(*r->h));
	json_array_foreach(json_object_get(rem, "hosts"), i, hr)
	{
		struct lcm_host *hh = &r->h[i];
		json_t *row;

		hh->id = jint(hr, "host_id");
		hh->path = lcm_path_parse(jsonio_str(hr, "path"));
		hh->attempts = (int)jint(hr, "attempts");
		snprintf(hh->status, sizeof(hh->status), "%s",
			 jsonio_str(hr, "status") ? jsonio_str(hr, "status")
						  : "pending");
		row = lcm_host_row(c, hh->id);
		snprintf(hh->name, sizeof(hh->name), "%s",
			 row ? jsonio_str(row, "name") : "?");
		if (streq(hh->status, "running")) {
			lcm_resume_host((json_t *)rem, (json_t *)hr);
			snprintf(hh->resume_step, sizeof(hh->resume_step), "%s",
				 jsonio_str(hr, "resume_step")
				     ? jsonio_str(hr, "resume_step")
				     : "");
			hh->resume_after =
			    json_is_true(json_object_get(hr, "resume_after"));
		}
		if (row && hh->path != LCM_PATH_SKIP) {
			char why[512];
			json_t *eff =
			    checks_host_image(c, row, why, sizeof(why));

			snprintf(hh->target, sizeof(hh->target), "%s",
				 eff ? jsonio_str(json_object_get(eff, "base"),
						  "version")
				     : "");
			json_decref(eff);
		}
		if (row)
			hh->running_mib =
			    jint(json_object_get(
				     json_object_get(row, "inventory"), "host"),
				 "memory_mib") -
			    drs_free_mib(row);
		json_decref(row);
	}
	return r;
}

/* The run until every host is done; then the run's final state. */
static json_t *lcm_run_hosts(struct lcm_run *r)
{
	int workers = 1, i, nok = 0, nerr = 0, nskip = 0;
	const json_t *par =
	    json_object_get(r->settings, "parallel_remediation");
	pthread_t th[64];
	json_t *hosts = json_array();
	const char *state;
	size_t k;

	if (json_is_true(json_object_get(par, "enabled")))
		workers = (int)jint(par, "max_hosts");
	if (workers < 1)
		workers = 1;
	if (workers > 64)
		workers = 64;
	if ((size_t)workers > r->n && r->n > 0)
		workers = (int)r->n;
	lcm_reg_add(r);
	for (i = 0; i < workers; i++)
		if (pthread_create(&th[i], NULL, lcm_worker, r) != 0)
			break;
	workers = i;
	if (workers == 0)
		lcm_worker(r);
	for (i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	lcm_reg_del(r);
	/* Hosts never started (stop or cancel) are skipped. */
	for (k = 0; k < r->n; k++) {
		struct lcm_host *hh = &r->h[k];

		if (streq(hh->status, "pending") ||
		    streq(hh->status, "retry_pending"))
			lcm_host_status(r, hh, "skipped", NULL,
					r->cancel ? "cancelled"
						  : "the run stopped");
		nok += streq(hh->status, "ok");
		nskip += streq(hh->status, "skipped");
		nerr += streq(hh->status, "error") ||
			streq(hh->status, "timed_out");
		json_array_append_new(
		    hosts, json_pack("{s:s,s:s,s:s,s:i}", "host", hh->name,
				     "path", lcm_path_name(hh->path), "status",
				     hh->status, "attempts", hh->attempts));
	}
	state =
	    r->cancel ? "cancelled" : (nerr > r->tolerated ? "failed" : "done");
	store_remediation_set_state(r->c->st, r->rem_id, state);
	lcm_event(
	    r->c, "remediation.done", r->cluster_id, 0, NULL, r->task_id,
	    json_pack("{s:I,s:s,s:f,s:i,s:i,s:i,s:O}", "remediation_id",
		      (json_int_t)r->rem_id, "state", state, "total_seconds",
		      (double)(lcm_now_ms() - r->t0_ms) / 1000.0, "ok", nok,
		      "error", nerr, "skipped", nskip, "hosts", hosts),
	    "remediation %lld of cluster '%s' %s in %.3f s: %d ok, %d "
	    "failed, %d skipped",
	    (long long)r->rem_id, r->cluster, state,
	    (double)(lcm_now_ms() - r->t0_ms) / 1000.0, nok, nerr, nskip);
	return json_pack("{s:I,s:s,s:o,s:f}", "remediation_id",
			 (json_int_t)r->rem_id, "state", state, "hosts", hosts,
			 "total_seconds",
			 (double)(lcm_now_ms() - r->t0_ms) / 1000.0);
}

static int lcm_remediate_task(struct center *c, int64_t task_id, void *arg,
			      json_t **result, struct seam_err *e)
{
	struct lcm_job *job = arg;
	json_t *rem = store_remediation_get(c->st, job->rem_id);
	struct lcm_run *r;
	int rc = 0;

	if (!rem)
		return err_set(e, ENOENT, "remediation %lld is gone",
			       (long long)job->rem_id);
	r = lcm_run_new(c, job->rem_id, task_id, rem);
	json_decref(rem);
	if (!r)
		return err_set(e, ENOMEM, "no memory");
	r->t0_ms = lcm_now_ms();
	rem = store_remediation_get(c->st, job->rem_id);
	if (streq(jsonio_str(rem, "state"), "cancelling"))
		r->cancel = true;
	json_decref(rem);
	store_remediation_set_state(c->st, job->rem_id,
				    r->cancel ? "cancelling" : "running");
	*result = lcm_run_hosts(r);
	if (!streq(jsonio_str(*result, "state"), "done"))
		rc = err_set(e, r->cancel ? ECANCELED : EIO,
			     "remediation %lld %s", (long long)job->rem_id,
			     jsonio_str(*result, "state"));
	lcm_run_free(r);
	return rc;
}

/* A new run: pre-check, the path of each host, the run recorded. */
int64_t lcm_spawn_remediate(struct center *c, const json_t *cl, int64_t *rem_id,
			    struct seam_err *e)
{
	int64_t cid = jint(cl, "id"), task, id;
	json_t *unf = store_remediation_unfinished(c->st), *u, *pc, *hosts,
	       *rows, *row, *settings, *l, *params;
	struct lcm_job *job;
	size_t i;

	json_array_foreach(unf, i, u) if (jint(u, "cluster_id") == cid)
	{
		json_decref(unf);
		return err_set(
		    e, EALREADY,
		    "cluster '%s' has a remediation under way (%lld)",
		    jsonio_str(cl, "name"), (long long)jint(u, "id"));
	}
	json_decref(unf);
	pc = lcm_precheck_run(c, cid, 0);
	if (streq(jsonio_str(pc, "status"), "error")) {
		char msg[1024] = "";

		json_array_foreach(
		    json_object_get(pc, "results"), i,
		    l) if (streq(jsonio_str(l, "status"), "error") && !msg[0])
		    snprintf(msg, sizeof(msg), "%s", jsonio_str(l, "message"));
		json_decref(pc);
		return err_set(e, EBUSY, "pre-check failed: %s", msg);
	}
	hosts = json_array();
	rows = store_host_list(c->st, cid);
	json_array_foreach(rows, i, row) json_array_append_new(
	    hosts, json_pack("{s:I,s:s}", "host_id",
			     (json_int_t)jint(row, "id"), "path",
			     jsonio_str(json_object_get(pc, "paths"),
					jsonio_str(row, "name"))
				 ? jsonio_str(json_object_get(pc, "paths"),
					      jsonio_str(row, "name"))
				 : "skip"));
	json_decref(rows);
	settings = center_settings(c, cid);
	id = store_remediation_create(c->st, cid, 0, settings, hosts, e);
	json_decref(settings);
	if (id < 0) {
		json_decref(hosts);
		json_decref(pc);
		return id;
	}
	/* Compliant hosts are skipped from the start. */
	json_array_foreach(hosts, i,
			   row) if (streq(jsonio_str(row, "path"), "skip"))
	    store_remediation_host_set(c->st, id, jint(row, "host_id"),
				       "skipped", NULL, "compliant");
	lcm_event(c, "remediation.started", cid, 0, NULL, 0,
		  json_pack("{s:I,s:O}", "remediation_id", (json_int_t)id,
			    "paths", json_object_get(pc, "paths")),
		  "remediation %lld of cluster '%s' starts (%zu host(s))",
		  (long long)id, jsonio_str(cl, "name"),
		  json_array_size(hosts));
	json_decref(hosts);
	json_decref(pc);
	job = lcm_job_new(cl, e);
	if (!job)
		return -ENOMEM;
	job->rem_id = id;
	*rem_id = id;
	params = json_pack("{s:I}", "remediation_id", (json_int_t)id);
	task = center_task_spawn(c, "cluster.remediate", "cluster", cid,
				 job->cluster, params, lcm_remediate_task, job,
				 free, e);
	json_decref(params);
	if (task < 0)
		store_remediation_set_state(c->st, id, "failed");
	return task;
}

/* ---- resume at start ---- */

/*
 * The host's last step tells where it stopped: a step `planned` (or
 * `failed` with the host still running) is looked at again; one `done` is
 * followed by the next.
 */
static void lcm_resume_host(json_t *rem, json_t *hr)
{
	json_t *s, *last = NULL;
	size_t i;

	json_array_foreach(json_object_get(rem, "steps"), i,
			   s) if (jint(s, "host_id") == jint(hr, "host_id") &&
				  !streq(jsonio_str(s, "step"), "migrate") &&
				  !streq(jsonio_str(s, "step"), "suspend") &&
				  !json_is_true(json_object_get(
				      json_object_get(s, "data"), "cleanup")))
	    last = s;
	if (!last)
		return;
	json_object_set_new(hr, "resume_step",
			    json_string(jsonio_str(last, "step")));
	json_object_set_new(
	    hr, "resume_after",
	    json_boolean(streq(jsonio_str(last, "state"), "done")));
	json_object_set_new(
	    hr, "resume_target",
	    json_string(
		jsonio_str(json_object_get(last, "data"), "target")
		    ? jsonio_str(json_object_get(last, "data"), "target")
		    : ""));
}

void lcm_resume_all(struct center *c)
{
	json_t *unf = store_remediation_unfinished(c->st), *u;
	size_t i;

	json_array_foreach(unf, i, u)
	{
		json_t *rem = store_remediation_get(c->st, jint(u, "id"));
		json_t *cl, *params;
		struct lcm_job *job;
		struct seam_err e = {0};
		char ref[32];

		if (!rem)
			continue;
		snprintf(ref, sizeof(ref), "%lld",
			 (long long)jint(rem, "cluster_id"));
		cl = store_cluster_get(c->st, ref);
		job = cl ? lcm_job_new(cl, &e) : NULL;
		if (!job) {
			store_remediation_set_state(c->st, jint(u, "id"),
						    "failed");
			json_decref(rem);
			json_decref(cl);
			continue;
		}
		job->rem_id = jint(u, "id");
		job->resume = true;
		lcm_event(c, "remediation.resumed", job->cluster_id, 0, NULL, 0,
			  json_pack("{s:I}", "remediation_id",
				    (json_int_t)job->rem_id),
			  "remediation %lld of cluster '%s' resumes after a "
			  "restart of the center",
			  (long long)job->rem_id, job->cluster);
		/* The resume points travel in the store's own rows. */
		params = json_pack("{s:I,s:b}", "remediation_id",
				   (json_int_t)job->rem_id, "resumed", 1);
		if (center_task_spawn(c, "cluster.remediate", "cluster",
				      job->cluster_id, job->cluster, params,
				      lcm_remediate_task, job, free, &e) < 0) {
			log_warnx("remediation %lld: cannot resume: %s",
				  (long long)job->rem_id, e.msg);
			store_remediation_set_state(c->st, job->rem_id,
						    "failed");
		}
		json_decref(params);
		json_decref(cl);
		json_decref(rem);
	}
	json_decref(unf);
}
