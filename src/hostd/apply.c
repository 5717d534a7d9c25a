/*
 * apply.c — applying a staged image: scripts, switch, FSR, rollback.
 *
 * `POST /apply {"image", "mode", "fsr_concurrency"}` checks the request
 * under the state lock (maintenance mode: live needs `partial`, classic
 * `full`; the image staged; live-patchability), writes the journal and
 * starts one thread that does the work and reports every step as an event:
 *
 *   apply.start                 image, mode, the changing components
 *   apply.scan   (per script)   every changing component's scan script,
 *                               in script-name order across components
 *   apply.apply_script          then every apply script, same order
 *   component.switch            each component's active revision, in turn
 *   vm.tagged                   each VM the apply scripts tagged
 *   vm.fsr                      each tagged VM moved onto the new vmx
 *                               (stun_us, version_before/after), up to
 *                               fsr_concurrency at a time
 *   apply.done                  total_ms; or
 *   apply.failed                step and reason, after the rollback
 *                               (vm.fsr_back, component.switch_back)
 *
 * Rollback: every running VM on the new vmx revision is moved back onto
 * its old revision by FSR, every switched component is switched back; no VM
 * is stopped. A hostd component that changed is taken last: once the apply
 * is done, hostd re-execs itself into the new revision keeping its
 * listening socket (main.c, the SIGHUP path).
 *
 * The journal, STATE/apply.json, is written (atomically) BEFORE each step
 * with the step's name, what is switched and which VMs are moving or moved.
 * A hostd that starts and finds a journal still "running" marks it
 * "interrupted" (event apply.interrupted): each component is then on its
 * old or its new revision (a switch is one rename), each VM on the binary it
 * reports (hostd asks each VM with `status`), and revisions are never
 * removed by an apply. The same apply, issued again, takes its "from"
 * versions from the interrupted journal and completes: scripts are
 * idempotent, switching to the active revision is a no-op, and only VMs
 * not yet on the new vmx are tagged.
 *
 * Test-only hooks (read from the environment; only tests set them):
 * SEAM_HOSTD_CRASH_AT=scan|apply_script|switch|fsr|done SIGKILLs hostd at
 * that point; SEAM_HOSTD_TEST_FSR_FAIL=VM:STAGE asks VM's FSR to fail at
 * STAGE (the VM needs SEAM_VMX_TEST_FAULTS=1, docs/vmx-control.md);
 * SEAM_HOSTD_HOLD_AT=POINT:MS[,POINT:MS] waits MS milliseconds at POINT
 * (scan: after the scan scripts, before the apply scripts; fsr: after each
 * VM's FSR), so that a test can kill the center while an apply is there.
 */
#include "hostd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compstore.h"
#include "fsutil.h"
#include "jsonio.h"
#include "log.h"
#include "script.h"
#include "version.h"
#include "vm_proc.h"
#include "vmstore.h"
#include "vmxctl.h"

#define APPLY_MAX_COMPS 64
#define APPLY_MAX_SCRIPTS 256
#define APPLY_MAX_VMS 256
#define APPLY_SCRIPT_TIMEOUT_MS 60000
#define APPLY_FSR_TIMEOUT_MS 120000
#define APPLY_STATUS_TIMEOUT_MS 3000
#define APPLY_CONCURRENCY_MAX 64

static const struct jsonio_field apply_fields[] = {
    {"image", JSONIO_STRING, true},
    {"mode", JSONIO_STRING, true},
    {"fsr_concurrency", JSONIO_INTEGER, false},
    {"script_timeout_ms", JSONIO_INTEGER, false},
    {NULL, 0, false},
};

struct apply_comp {
	char name[COMP_NAME_MAX];
	char from[64]; /* "" on first install */
	char to[64];
	bool fsr_required;
	bool live_patchable; /* to lists from in live_patch_from */
	json_t *scripts;     /* borrowed from the staged record */
};

struct apply_script {
	const char *name;
	size_t comp;
};

struct apply_move {
	char vm[VM_NAME_MAX];
	char sock[108];
	char from_vmx[PATH_MAX];
	char from_version[64];
	char to_vmx[PATH_MAX];
	char to_version[64];
	char fail_stage[64];
	bool ok;
	long long stun_us;
	char got_before[64], got_after[64];
	char error[512];
};

struct apply_run {
	struct hostd *h;
	json_t *image; /* the staged record (owned) */
	json_t *journal;
	pthread_mutex_t jlock;
	char version[64];
	char from_image[64];
	bool live;
	unsigned concurrency;
	long script_timeout_ms;
	long fsr_timeout_ms;
	struct apply_comp comps[APPLY_MAX_COMPS];
	size_t ncomps;
	json_t *tags; /* {"vm": reason} from the apply scripts */
	long t0_ms;
	/* the FSR pool */
	struct apply_move *moves;
	size_t nmoves, next_move;
	pthread_mutex_t mlock;
	bool moves_back;
	long long total_stun_us;
};

static long apply_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void apply_crash_point(const char *point)
{
	const char *at = getenv("SEAM_HOSTD_CRASH_AT");

	if (at && !strcmp(at, point)) {
		log_warnx("SEAM_HOSTD_CRASH_AT=%s: killing myself (test hook)",
			  point);
		kill(getpid(), SIGKILL);
		pause();
	}
}

/* The test-only hold (see the note at the top). */
static void apply_hold_point(const char *point)
{
	const char *p = getenv("SEAM_HOSTD_HOLD_AT");
	size_t len = strlen(point);

	for (; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		long ms;

		if (strncmp(p, point, len) || p[len] != ':')
			continue;
		ms = strtol(p + len + 1, NULL, 10);
		if (ms > 0) {
			struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};

			log_warnx("SEAM_HOSTD_HOLD_AT: holding %ld ms at %s "
				  "(test hook)",
				  ms, point);
			nanosleep(&ts, NULL);
		}
		return;
	}
}

static void apply_journal_path(struct hostd *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s/apply.json", h->state);
}

static json_t *apply_journal_load(struct hostd *h)
{
	char path[PATH_MAX];
	json_t *j;

	apply_journal_path(h, path, sizeof(path));
	if (jsonio_load_file(path, &j, NULL) < 0)
		return NULL;
	return j;
}

/* Write the journal (caller holds r->jlock). */
static void apply_journal_write(struct apply_run *r)
{
	struct seam_err e = {0};
	char path[PATH_MAX];

	apply_journal_path(r->h, path, sizeof(path));
	if (jsonio_save_file(path, r->journal, 0600, &e) < 0)
		log_warnx("apply journal: %s", e.msg);
}

static void apply_journal_step(struct apply_run *r, const char *step)
{
	pthread_mutex_lock(&r->jlock);
	json_object_set_new(r->journal, "step", json_string(step));
	apply_journal_write(r);
	pthread_mutex_unlock(&r->jlock);
}

/* An event with extra fields (stolen). */
static void apply_event(struct apply_run *r, const char *type, const char *vm,
			json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void apply_event(struct apply_run *r, const char *type, const char *vm,
			json_t *fields, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!fields)
		fields = json_object();
	json_object_set_new(fields, "type", json_string(type));
	json_object_set_new(fields, "message", json_string(msg));
	json_object_set_new(fields, "apply_id",
			    json_copy(json_object_get(r->journal, "id")));
	if (vm)
		json_object_set_new(fields, "vm", json_string(vm));
	evlog_append(r->h->events, fields, NULL);
	json_decref(fields);
}

static bool apply_version_in(json_t *arr, const char *v)
{
	struct seam_version a, b;
	json_t *x;
	size_t i;

	if (!v || !*v || version_parse(v, &a, NULL) < 0)
		return false;
	json_array_foreach(arr, i, x)
	{
		if (version_parse(json_string_value(x), &b, NULL) == 0 &&
		    version_equal(&a, &b))
			return true;
	}
	return false;
}

static void apply_current_base(struct hostd *h, char *buf, size_t len)
{
	json_t *img = hostd_image_describe(h);
	const char *v = json_string_value(
	    json_object_get(json_object_get(img, "base"), "version"));

	snprintf(buf, len, "%s", v ? v : "");
	json_decref(img);
}

/* The journal of an interrupted apply of the same image, or NULL. */
static json_t *apply_interrupted(struct hostd *h, const char *version)
{
	json_t *j = apply_journal_load(h);
	const char *st = json_string_value(json_object_get(j, "state"));
	const char *img = json_string_value(json_object_get(j, "image"));

	if (j && st && img && !strcmp(img, version) &&
	    (!strcmp(st, "interrupted") || !strcmp(st, "running")))
		return j;
	json_decref(j);
	return NULL;
}

static int apply_comp_cmp(const void *a, const void *b)
{
	const struct apply_comp *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Which components change, with their from/to versions. */
static int apply_plan(struct apply_run *r, struct seam_err *e)
{
	struct hostd *h = r->h;
	json_t *comps = json_object_get(r->image, "components"), *c;
	json_t *prev = apply_interrupted(h, r->version);
	size_t i;

	json_array_foreach(comps, i, c)
	{
		const char *name =
		    json_string_value(json_object_get(c, "name"));
		const char *to =
		    json_string_value(json_object_get(c, "version"));
		struct apply_comp *ac = &r->comps[r->ncomps];
		char active[64] = "";
		json_t *pc, *pj;
		size_t k;
		bool known = false;

		if (!compstore_has(h->comp_root, name, to)) {
			json_decref(prev);
			return err_set(e, ENOENT,
				       "component '%s' %s is not in the store "
				       "(stage image %s again)",
				       name, to, r->version);
		}
		compstore_active(h->comp_root, name, active, sizeof(active));
		json_array_foreach(json_object_get(prev, "components"), k, pj)
		{
			if (!strcmp(
				json_string_value(json_object_get(pj, "name")),
				name)) {
				pc = json_object_get(pj, "from");
				snprintf(active, sizeof(active), "%s",
					 json_string_value(pc));
				known = true;
			}
		}
		if (!known && !strcmp(active, to))
			continue;
		if (r->ncomps == APPLY_MAX_COMPS)
			break;
		snprintf(ac->name, sizeof(ac->name), "%s", name);
		snprintf(ac->from, sizeof(ac->from), "%s", active);
		snprintf(ac->to, sizeof(ac->to), "%s", to);
		ac->fsr_required =
		    json_is_true(json_object_get(c, "fsr_required"));
		ac->live_patchable =
		    !strcmp(active, to) ||
		    apply_version_in(json_object_get(c, "live_patch_from"),
				     active);
		ac->scripts = json_object_get(c, "scripts");
		r->ncomps++;
	}
	qsort(r->comps, r->ncomps, sizeof(r->comps[0]), apply_comp_cmp);
	if (prev)
		json_object_set_new(r->journal, "resumes",
				    json_copy(json_object_get(prev, "id")));
	json_decref(prev);
	return 0;
}

static int apply_check_live(struct apply_run *r, struct seam_err *e)
{
	size_t i;

	if (r->from_image[0] && strcmp(r->from_image, r->version) &&
	    !apply_version_in(json_object_get(r->image, "live_patch_from"),
			      r->from_image))
		return err_set(e, EBUSY,
			       "image %s cannot be live-patched from base "
			       "image %s (apply it in mode classic, in full "
			       "maintenance mode)",
			       r->version, r->from_image);
	for (i = 0; i < r->ncomps; i++)
		if (r->comps[i].from[0] && !r->comps[i].live_patchable)
			return err_set(e, EBUSY,
				       "component '%s' %s cannot be "
				       "live-patched from %s (apply it in "
				       "mode classic)",
				       r->comps[i].name, r->comps[i].to,
				       r->comps[i].from);
	return 0;
}

/* ---- VMs ---- */

/* STATE/apply-vms.tsv for SEAM_VM_LIST: name, state, version, flags. */
static int apply_write_vm_list(struct apply_run *r, char *path, size_t len)
{
	struct hostd *h = r->h;
	json_t *names, *v;
	char *buf = NULL;
	size_t blen = 0, i;
	FILE *f = open_memstream(&buf, &blen);
	int rc;

	if (!f)
		return -ENOMEM;
	pthread_mutex_lock(&h->lock);
	names = vmstore_names(h->state);
	json_array_foreach(names, i, v)
	{
		const char *name = json_string_value(v);
		json_t *d;
		const char *st, *ver;
		char flags[64] = "";

		hostd_vm_refresh_version(h, name, APPLY_STATUS_TIMEOUT_MS,
					 NULL);
		d = hostd_vm_describe(h, name, NULL);
		if (!d)
			continue;
		st = json_string_value(json_object_get(d, "state"));
		ver = json_string_value(json_object_get(d, "vmx_version"));
		if (json_is_true(json_object_get(d, "fault_tolerance")))
			strcat(flags, ",fault_tolerance");
		if (json_is_true(json_object_get(d, "passthrough")))
			strcat(flags, ",passthrough");
		if (json_is_true(json_object_get(d, "pod")))
			strcat(flags, ",pod");
		fprintf(f, "%s\t%s\t%s\t%s\n", name, st,
			ver && !strcmp(st, "running") ? ver : "",
			flags[0] ? flags + 1 : "-");
		json_decref(d);
	}
	json_decref(names);
	pthread_mutex_unlock(&h->lock);
	fclose(f);
	snprintf(path, len, "%s/apply-vms.tsv", h->state);
	rc = fs_write_atomic(path, buf, blen, 0644, NULL);
	free(buf);
	return rc;
}

static void *apply_fsr_worker(void *arg)
{
	struct apply_run *r = arg;
	struct apply_move *m;
	json_t *req, *reply;
	struct seam_err e = {0};
	const char *res;
	bool committed;

	for (;;) {
		pthread_mutex_lock(&r->mlock);
		m = r->next_move < r->nmoves ? &r->moves[r->next_move++] : NULL;
		pthread_mutex_unlock(&r->mlock);
		if (!m)
			return NULL;
		req = json_pack("{s:s,s:s}", "cmd", "fsr", "binary", m->to_vmx);
		if (m->fail_stage[0])
			json_object_set_new(req, "fail_stage",
					    json_string(m->fail_stage));
		reply = NULL;
		err_clear(&e);
		if (vmxctl_request(m->sock, req, r->fsr_timeout_ms, &reply,
				   &e) < 0) {
			snprintf(m->error, sizeof(m->error), "%s", e.msg);
		} else if (!json_is_true(json_object_get(reply, "ok")) ||
			   !(res = json_string_value(
				 json_object_get(reply, "result"))) ||
			   strcmp(res, "ok")) {
			const char *why =
			    json_string_value(json_object_get(reply, "reason"));

			if (!why)
				why = json_string_value(
				    json_object_get(reply, "error"));
			snprintf(
			    m->error, sizeof(m->error), "FSR %s: %s",
			    json_string_value(json_object_get(reply, "result"))
				?: "failed",
			    why ? why : "no reason given");
		} else {
			m->ok = true;
			m->stun_us = json_integer_value(
			    json_object_get(reply, "stun_us"));
			snprintf(m->got_before, sizeof(m->got_before), "%s",
				 json_string_value(
				     json_object_get(reply, "version_before"))
				     ?: "");
			snprintf(m->got_after, sizeof(m->got_after), "%s",
				 json_string_value(
				     json_object_get(reply, "version_after"))
				     ?: m->to_version);
		}
		/* Past the vmx's commit point the VM belongs to the new
		 * binary, whether or not it confirmed: record where it is. */
		committed = m->ok || (reply &&
				      (res = json_string_value(
					   json_object_get(reply, "result"))) &&
				      !strcmp(res, "failed_after_commit"));
		json_decref(req);
		json_decref(reply);
		apply_crash_point("fsr");
		pthread_mutex_lock(&r->h->lock);
		if (committed)
			hostd_vm_record_vmx(
			    r->h, m->vm, m->to_vmx,
			    m->ok ? m->got_after : m->to_version, NULL);
		pthread_mutex_unlock(&r->h->lock);
		pthread_mutex_lock(&r->jlock);
		{
			json_t *jm = json_pack("{s:s,s:s,s:s,s:s}", "vm", m->vm,
					       "from_vmx", m->from_vmx,
					       "to_vmx", m->to_vmx, "state",
					       m->ok ? "moved" : "failed");

			json_array_append_new(
			    json_object_get(r->journal, r->moves_back
							    ? "moved_back"
							    : "moved"),
			    jm);
			apply_journal_write(r);
		}
		pthread_mutex_unlock(&r->jlock);
		if (m->ok) {
			pthread_mutex_lock(&r->mlock);
			r->total_stun_us += m->stun_us;
			pthread_mutex_unlock(&r->mlock);
			apply_event(
			    r, r->moves_back ? "vm.fsr_back" : "vm.fsr", m->vm,
			    json_pack("{s:I,s:s,s:s,s:s}", "stun_us",
				      (json_int_t)m->stun_us, "version_before",
				      m->got_before, "version_after",
				      m->got_after, "binary", m->to_vmx),
			    "VM %s moved by FSR from vmx %s to %s (stun %lld "
			    "us)",
			    m->vm, m->got_before, m->got_after, m->stun_us);
			apply_hold_point("fsr");
		} else {
			apply_event(
			    r,
			    r->moves_back ? "vm.fsr_back_failed"
					  : "vm.fsr_failed",
			    m->vm,
			    json_pack("{s:s,s:s}", "error", m->error, "binary",
				      m->to_vmx),
			    "VM %s: FSR onto %s failed: %s (it runs on, on "
			    "vmx %s)",
			    m->vm, m->to_vmx, m->error, m->from_version);
		}
	}
}

/* Run the moves with up to r->concurrency threads; the failed count. */
static size_t apply_run_moves(struct apply_run *r)
{
	pthread_t th[APPLY_CONCURRENCY_MAX];
	unsigned n = r->concurrency, i, started = 0;
	size_t k, failed = 0;

	if (n > r->nmoves)
		n = (unsigned)r->nmoves;
	r->next_move = 0;
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, apply_fsr_worker, r) == 0)
			started++;
	if (!started && r->nmoves)
		apply_fsr_worker(r);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (k = 0; k < r->nmoves; k++)
		if (!r->moves[k].ok)
			failed++;
	return failed;
}

static void apply_fail_stage_for(const char *vm, char *buf, size_t len)
{
	const char *spec = getenv("SEAM_HOSTD_TEST_FSR_FAIL");
	const char *colon = spec ? strchr(spec, ':') : NULL;

	buf[0] = '\0';
	if (colon && (size_t)(colon - spec) == strlen(vm) &&
	    !strncmp(spec, vm, strlen(vm)))
		snprintf(buf, len, "%s", colon + 1);
}

/*
 * A move for VM name onto to_vmx, if it runs and is not already there.
 * Caller holds h->lock.
 */
static bool apply_move_for(struct apply_run *r, const char *name,
			   const char *to_vmx, const char *to_version,
			   bool test_faults, struct apply_move *m)
{
	char dir[PATH_MAX];
	struct vm_runtime rt;

	vmstore_dir(r->h->state, name, dir, sizeof(dir));
	if (vm_runtime_load(dir, &rt, NULL) < 0 ||
	    vm_proc_state(&rt) != VM_POWER_RUNNING)
		return false;
	if (!strcmp(rt.vmx, to_vmx) || !strcmp(rt.vmx_version, to_version))
		return false;
	memset(m, 0, sizeof(*m));
	snprintf(m->vm, sizeof(m->vm), "%s", name);
	snprintf(m->sock, sizeof(m->sock), "%s", rt.control);
	snprintf(m->from_vmx, sizeof(m->from_vmx), "%s", rt.vmx);
	snprintf(m->from_version, sizeof(m->from_version), "%s",
		 rt.vmx_version);
	snprintf(m->to_vmx, sizeof(m->to_vmx), "%s", to_vmx);
	snprintf(m->to_version, sizeof(m->to_version), "%s", to_version);
	if (test_faults)
		apply_fail_stage_for(name, m->fail_stage,
				     sizeof(m->fail_stage));
	return true;
}

static const struct apply_comp *apply_comp_find(struct apply_run *r,
						const char *name)
{
	size_t i;

	for (i = 0; i < r->ncomps; i++)
		if (!strcmp(r->comps[i].name, name))
			return &r->comps[i];
	return NULL;
}

/* FSR every tagged VM onto the new vmx; the number that failed. */
static size_t apply_fsr_tagged(struct apply_run *r)
{
	const struct apply_comp *vmx = apply_comp_find(r, "vmx");
	char to_vmx[PATH_MAX];
	const char *name;
	json_t *why;
	size_t failed;

	if (!vmx || json_object_size(r->tags) == 0)
		return 0;
	snprintf(to_vmx, sizeof(to_vmx), "%s/vmx/%s/bin/seam-vmx",
		 r->h->comp_root, vmx->to);
	r->moves = calloc(json_object_size(r->tags), sizeof(*r->moves));
	r->nmoves = 0;
	pthread_mutex_lock(&r->h->lock);
	json_object_foreach(r->tags, name, why)
	{
		if (apply_move_for(r, name, to_vmx, vmx->to, true,
				   &r->moves[r->nmoves]))
			r->nmoves++;
	}
	pthread_mutex_unlock(&r->h->lock);
	failed = apply_run_moves(r);
	return failed;
}

/* Move every running VM on the new vmx revision back onto the old one. */
static void apply_fsr_back(struct apply_run *r)
{
	const struct apply_comp *vmx = apply_comp_find(r, "vmx");
	char to_vmx[PATH_MAX];
	json_t *names, *v;
	size_t i, n;

	free(r->moves);
	r->moves = NULL;
	r->nmoves = 0;
	if (!vmx || !vmx->from[0] || !strcmp(vmx->from, vmx->to))
		return;
	snprintf(to_vmx, sizeof(to_vmx), "%s/vmx/%s/bin/seam-vmx",
		 r->h->comp_root, vmx->from);
	pthread_mutex_lock(&r->h->lock);
	names = vmstore_names(r->h->state);
	n = json_array_size(names);
	r->moves = calloc(n ? n : 1, sizeof(*r->moves));
	json_array_foreach(names, i, v)
	{
		char dir[PATH_MAX];
		struct vm_runtime rt;
		const char *name = json_string_value(v);

		vmstore_dir(r->h->state, name, dir, sizeof(dir));
		if (vm_runtime_load(dir, &rt, NULL) < 0 ||
		    strcmp(rt.vmx_version, vmx->to))
			continue;
		if (apply_move_for(r, name, to_vmx, vmx->from, false,
				   &r->moves[r->nmoves]))
			r->nmoves++;
	}
	json_decref(names);
	pthread_mutex_unlock(&r->h->lock);
	r->moves_back = true;
	apply_run_moves(r);
	r->moves_back = false;
}

/* ---- scripts ---- */

static int apply_script_cmp(const void *a, const void *b)
{
	const struct apply_script *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static bool apply_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* The phase's scripts of every changing component, in name order. */
static size_t apply_scripts(struct apply_run *r, const char *phase,
			    struct apply_script *out)
{
	char suffix[16];
	size_t i, k, n = 0;
	json_t *s;

	snprintf(suffix, sizeof(suffix), "-%s", phase);
	for (i = 0; i < r->ncomps; i++)
		json_array_foreach(r->comps[i].scripts, k, s)
		{
			if (n < APPLY_MAX_SCRIPTS &&
			    apply_ends_with(json_string_value(s), suffix))
				out[n++] = (struct apply_script){
				    json_string_value(s), i};
		}
	qsort(out, n, sizeof(*out), apply_script_cmp);
	return n;
}

#define APPLY_ENV_MAX 16

static void apply_env(struct apply_run *r, const struct apply_comp *c,
		      const char *phase, const char *vmlist,
		      char env[APPLY_ENV_MAX][PATH_MAX + 64], char **envp)
{
	int n = 0;

	snprintf(env[n++], sizeof(env[0]),
		 "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	snprintf(env[n++], sizeof(env[0]), "SEAM_COMPONENT=%s", c->name);
	snprintf(env[n++], sizeof(env[0]), "SEAM_PHASE=%s", phase);
	snprintf(env[n++], sizeof(env[0]), "SEAM_MODE=%s",
		 r->live ? "live" : "classic");
	snprintf(env[n++], sizeof(env[0]), "SEAM_FROM_VERSION=%s", c->from);
	snprintf(env[n++], sizeof(env[0]), "SEAM_TO_VERSION=%s", c->to);
	snprintf(env[n++], sizeof(env[0]), "SEAM_LIVE_PATCHABLE=%d",
		 c->live_patchable ? 1 : 0);
	snprintf(env[n++], sizeof(env[0]), "SEAM_FSR_REQUIRED=%d",
		 c->fsr_required ? 1 : 0);
	snprintf(env[n++], sizeof(env[0]), "SEAM_REVISION_DIR=%s/%s/%s",
		 r->h->comp_root, c->name, c->to);
	if (c->from[0])
		snprintf(env[n++], sizeof(env[0]), "SEAM_ACTIVE_DIR=%s/%s/%s",
			 r->h->comp_root, c->name, c->from);
	else
		snprintf(env[n++], sizeof(env[0]), "SEAM_ACTIVE_DIR=");
	snprintf(env[n++], sizeof(env[0]), "SEAM_STATE_DIR=%s", r->h->state);
	snprintf(env[n++], sizeof(env[0]), "SEAM_VM_LIST=%s", vmlist);
	for (int i = 0; i < n; i++)
		envp[i] = env[i];
	envp[n] = NULL;
}

/* Run one phase's scripts; 0, or -errno with e naming the step. */
static int apply_phase(struct apply_run *r, const char *phase,
		       const char *event, char *step, size_t steplen,
		       struct seam_err *e)
{
	static char env[APPLY_ENV_MAX][PATH_MAX + 64];
	struct apply_script s[APPLY_MAX_SCRIPTS];
	char vmlist[PATH_MAX], path[PATH_MAX + 128], cwd[PATH_MAX];
	char *envp[APPLY_ENV_MAX + 1];
	size_t n = apply_scripts(r, phase, s), i;
	int rc;

	rc = apply_write_vm_list(r, vmlist, sizeof(vmlist));
	if (rc < 0)
		return err_set(e, -rc, "cannot write the VM list");
	for (i = 0; i < n; i++) {
		const struct apply_comp *c = &r->comps[s[i].comp];
		struct script_result res;
		struct seam_err se = {0};
		bool failed;
		json_t *t;
		size_t k;

		snprintf(step, steplen, "%s %s", phase, s[i].name);
		apply_journal_step(r, step);
		snprintf(cwd, sizeof(cwd), "%s/%s/%s", r->h->comp_root, c->name,
			 c->to);
		snprintf(path, sizeof(path), "%s/scripts/%s", cwd, s[i].name);
		apply_env(r, c, phase, vmlist, env, envp);
		rc = script_run(path, cwd, envp, r->script_timeout_ms, &res,
				&se);
		if (rc < 0) {
			script_result_release(&res);
			return err_set(e, -rc, "script %s: %s", s[i].name,
				       se.msg);
		}
		failed = script_failed(&res, s[i].name, &se);
		apply_event(r, event, NULL,
			    json_pack("{s:s,s:s,s:i,s:O,s:O,s:O,s:O,s:b}",
				      "script", s[i].name, "component", c->name,
				      "status", res.status, "messages",
				      res.messages, "tags", res.tags, "errors",
				      res.errors, "warnings", res.warnings,
				      "ok", !failed),
			    "%s script %s of %s %s -> %s: %s", phase, s[i].name,
			    c->name, c->from[0] ? c->from : "none", c->to,
			    failed ? se.msg : "ok");
		if (!strcmp(phase, "apply"))
			json_array_foreach(res.tags, k, t)
			{
				json_object_set(
				    r->tags,
				    json_string_value(json_object_get(t, "vm")),
				    json_object_get(t, "reason"));
			}
		script_result_release(&res);
		if (failed)
			return err_set(e, se.code ? se.code : EPERM, "%s",
				       se.msg);
	}
	return 0;
}

/* ---- switching ---- */

static int apply_switch(struct apply_run *r, char *step, size_t steplen,
			struct seam_err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < r->ncomps; i++) {
		const struct apply_comp *c = &r->comps[i];

		snprintf(step, steplen, "switch %s", c->name);
		apply_journal_step(r, step);
		pthread_mutex_lock(&r->h->lock);
		rc = compstore_activate(r->h->comp_root, c->name, c->to, e);
		pthread_mutex_unlock(&r->h->lock);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&r->jlock);
		json_array_append_new(json_object_get(r->journal, "switched"),
				      json_string(c->name));
		apply_journal_write(r);
		pthread_mutex_unlock(&r->jlock);
		apply_event(r, "component.switch", NULL,
			    json_pack("{s:s,s:s,s:s}", "component", c->name,
				      "from", c->from, "to", c->to),
			    "component %s: active revision %s -> %s", c->name,
			    c->from[0] ? c->from : "none", c->to);
		apply_crash_point("switch");
	}
	return 0;
}

static void apply_switch_back(struct apply_run *r)
{
	size_t i;

	for (i = r->ncomps; i-- > 0;) {
		const struct apply_comp *c = &r->comps[i];
		struct seam_err e = {0};
		char active[64] = "";
		int rc;

		if (!c->from[0])
			continue;
		pthread_mutex_lock(&r->h->lock);
		compstore_active(r->h->comp_root, c->name, active,
				 sizeof(active));
		rc = strcmp(active, c->from)
			 ? compstore_activate(r->h->comp_root, c->name, c->from,
					      &e)
			 : 1;
		pthread_mutex_unlock(&r->h->lock);
		if (rc == 1)
			continue;
		if (rc < 0)
			log_warnx("rollback of %s: %s", c->name, e.msg);
		else
			apply_event(r, "component.switch_back", NULL,
				    json_pack("{s:s,s:s,s:s}", "component",
					      c->name, "from", c->to, "to",
					      c->from),
				    "component %s: active revision back to %s",
				    c->name, c->from);
	}
}

/* ---- the run ---- */

static void apply_fail(struct apply_run *r, const char *step,
		       const struct seam_err *why)
{
	pthread_mutex_lock(&r->jlock);
	json_object_set_new(r->journal, "state", json_string("rolling_back"));
	json_object_set_new(
	    r->journal, "error",
	    json_pack("{s:s,s:s}", "step", step, "reason", why->msg));
	apply_journal_write(r);
	pthread_mutex_unlock(&r->jlock);
	apply_fsr_back(r);
	apply_switch_back(r);
	pthread_mutex_lock(&r->jlock);
	json_object_set_new(r->journal, "state", json_string("failed"));
	apply_journal_write(r);
	pthread_mutex_unlock(&r->jlock);
	apply_event(r, "apply.failed", NULL,
		    json_pack("{s:s,s:s,s:s,s:I}", "image", r->version, "step",
			      step, "reason", why->msg, "total_ms",
			      (json_int_t)(apply_now_ms() - r->t0_ms)),
		    "apply of image %s failed at step '%s': %s; rolled back",
		    r->version, step, why->msg);
}

static void apply_done(struct apply_run *r)
{
	char path[PATH_MAX];
	json_t *img, *comps = json_object(), *c;
	size_t i, nmoved = 0;

	apply_crash_point("done");
	json_array_foreach(json_object_get(r->image, "components"), i, c)
	    json_object_set(comps,
			    json_string_value(json_object_get(c, "name")),
			    json_object_get(c, "version"));
	img = json_pack(
	    "{s:{s:s,s:s},s:n,s:o}", "base", "version", r->version, "bundle",
	    json_string_value(json_object_get(r->image, "source")) ?: "",
	    "addon", "components", comps);
	snprintf(path, sizeof(path), "%s/image.json", r->h->state);
	pthread_mutex_lock(&r->h->lock);
	jsonio_save_file(path, img, 0644, NULL);
	pthread_mutex_unlock(&r->h->lock);
	json_decref(img);
	for (i = 0; i < r->nmoves; i++)
		nmoved += r->moves[i].ok;
	pthread_mutex_lock(&r->jlock);
	json_object_set_new(r->journal, "state", json_string("done"));
	json_object_set_new(r->journal, "step", json_string("done"));
	apply_journal_write(r);
	pthread_mutex_unlock(&r->jlock);
	apply_event(r, "apply.done", NULL,
		    json_pack("{s:s,s:s,s:I,s:I,s:I}", "image", r->version,
			      "mode", r->live ? "live" : "classic", "total_ms",
			      (json_int_t)(apply_now_ms() - r->t0_ms),
			      "vms_moved", (json_int_t)nmoved, "stun_us_total",
			      (json_int_t)r->total_stun_us),
		    "image %s applied (%s) in %ld ms; %zu VM(s) moved by FSR",
		    r->version, r->live ? "live" : "classic",
		    apply_now_ms() - r->t0_ms, nmoved);
}

static void *apply_main(void *arg)
{
	struct apply_run *r = arg;
	struct hostd *h = r->h;
	struct seam_err e = {0};
	char step[512] = "start";
	bool reexec;
	size_t i, failed;
	const char *name;
	json_t *why;

	if (apply_phase(r, "scan", "apply.scan", step, sizeof(step), &e) < 0)
		goto fail;
	apply_crash_point("scan");
	apply_hold_point("scan");
	if (apply_phase(r, "apply", "apply.apply_script", step, sizeof(step),
			&e) < 0)
		goto fail;
	apply_crash_point("apply_script");
	if (apply_switch(r, step, sizeof(step), &e) < 0)
		goto fail;
	json_object_foreach(r->tags, name, why) apply_event(
	    r, "vm.tagged", name, json_pack("{s:O}", "reason", why),
	    "VM %s tagged for FSR: %s", name, json_string_value(why));
	if (r->live) {
		snprintf(step, sizeof(step), "fsr");
		apply_journal_step(r, step);
		failed = apply_fsr_tagged(r);
		if (failed) {
			for (i = 0; i < r->nmoves; i++)
				if (!r->moves[i].ok)
					break;
			snprintf(step, sizeof(step), "fsr %s", r->moves[i].vm);
			err_set(&e, EIO, "%zu of %zu FSR(s) failed; VM %s: %s",
				failed, r->nmoves, r->moves[i].vm,
				r->moves[i].error);
			goto fail;
		}
	}
	apply_done(r);
	reexec = apply_comp_find(r, "hostd") != NULL || !r->live;
	goto out;
fail:
	reexec = false;
	apply_fail(r, step, &e);
out:
	pthread_mutex_lock(&h->lock);
	h->busy = false;
	h->applying = false;
	pthread_mutex_unlock(&h->lock);
	free(r->moves);
	json_decref(r->tags);
	json_decref(r->image);
	json_decref(r->journal);
	pthread_mutex_destroy(&r->jlock);
	pthread_mutex_destroy(&r->mlock);
	free(r);
	if (reexec) {
		/* hostd's own patch: main.c re-execs the active revision. */
		h->reexec_pending = true;
		kill(getpid(), SIGHUP);
	}
	return NULL;
}

static json_t *apply_comps_json(struct apply_run *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < r->ncomps; i++)
		json_array_append_new(
		    a, json_pack("{s:s,s:s,s:s,s:b}", "name", r->comps[i].name,
				 "from", r->comps[i].from, "to", r->comps[i].to,
				 "fsr_required", r->comps[i].fsr_required));
	return a;
}

/* Check the request; fills r. Caller holds h->lock. */
static int apply_prepare(struct hostd *h, const json_t *req,
			 struct apply_run *r, struct seam_err *e)
{
	const char *version = json_string_value(json_object_get(req, "image"));
	const char *mode = json_string_value(json_object_get(req, "mode"));
	json_int_t conc =
	    json_integer_value(json_object_get(req, "fsr_concurrency"));
	json_int_t sto =
	    json_integer_value(json_object_get(req, "script_timeout_ms"));
	int rc;

	if (!strcmp(mode, "live"))
		r->live = true;
	else if (strcmp(mode, "classic"))
		return err_set(e, EINVAL,
			       "mode '%s': must be 'live' or 'classic'", mode);
	if (json_object_get(req, "fsr_concurrency") &&
	    (conc < 1 || conc > APPLY_CONCURRENCY_MAX))
		return err_set(e, EINVAL, "fsr_concurrency: 1 to %d",
			       APPLY_CONCURRENCY_MAX);
	if (json_object_get(req, "script_timeout_ms") &&
	    (sto < 100 || sto > 3600000))
		return err_set(e, EINVAL, "script_timeout_ms: 100 to 3600000");
	if (h->busy)
		return err_set(e, EALREADY,
			       "an apply is already under way on this host");
	if (r->live && h->maint != MAINT_PARTIAL)
		return err_set(e, EBUSY,
			       "a live apply needs maintenance mode partial; "
			       "the host is in maintenance mode %s",
			       maint_mode_name(h->maint));
	if (!r->live && h->maint != MAINT_FULL)
		return err_set(e, EBUSY,
			       "a classic apply needs maintenance mode full; "
			       "the host is in maintenance mode %s",
			       maint_mode_name(h->maint));
	r->image = hostd_staged_load(h, version, e);
	if (!r->image)
		return -ENOENT;
	snprintf(r->version, sizeof(r->version), "%s", version);
	apply_current_base(h, r->from_image, sizeof(r->from_image));
	r->concurrency = conc > 0 ? (unsigned)conc : 1;
	r->script_timeout_ms =
	    sto > 0 ? (long)sto
		    : hostd_env_long("SEAM_HOSTD_SCRIPT_TIMEOUT_MS",
				     APPLY_SCRIPT_TIMEOUT_MS);
	r->fsr_timeout_ms =
	    hostd_env_long("SEAM_HOSTD_FSR_TIMEOUT_MS", APPLY_FSR_TIMEOUT_MS);
	r->journal = json_object();
	rc = apply_plan(r, e);
	if (rc == 0 && r->live)
		rc = apply_check_live(r, e);
	return rc;
}

static void apply_run_free(struct apply_run *r)
{
	json_decref(r->image);
	json_decref(r->journal);
	json_decref(r->tags);
	pthread_mutex_destroy(&r->jlock);
	pthread_mutex_destroy(&r->mlock);
	free(r);
}

int hostd_apply_start(struct hostd *h, const json_t *req, json_t **out,
		      struct seam_err *e)
{
	struct apply_run *r = calloc(1, sizeof(*r));
	json_t *prev;
	json_int_t id;
	int64_t cursor;
	int rc;

	if (!r)
		return err_set(e, ENOMEM, "out of memory");
	r->h = h;
	pthread_mutex_init(&r->jlock, NULL);
	pthread_mutex_init(&r->mlock, NULL);
	r->tags = json_object();
	rc = jsonio_check_fields(req, apply_fields, e);
	if (rc == 0)
		rc = apply_prepare(h, req, r, e);
	if (rc < 0) {
		apply_run_free(r);
		return rc;
	}
	prev = apply_journal_load(h);
	id = json_integer_value(json_object_get(prev, "id")) + 1;
	json_decref(prev);
	r->t0_ms = apply_now_ms();
	json_object_set_new(r->journal, "id", json_integer(id));
	json_object_set_new(r->journal, "image", json_string(r->version));
	json_object_set_new(r->journal, "from_image",
			    json_string(r->from_image));
	json_object_set_new(r->journal, "mode",
			    json_string(r->live ? "live" : "classic"));
	json_object_set_new(r->journal, "fsr_concurrency",
			    json_integer(r->concurrency));
	json_object_set_new(r->journal, "state", json_string("running"));
	json_object_set_new(r->journal, "step", json_string("start"));
	json_object_set_new(r->journal, "components", apply_comps_json(r));
	json_object_set_new(r->journal, "switched", json_array());
	json_object_set_new(r->journal, "moved", json_array());
	json_object_set_new(r->journal, "moved_back", json_array());
	apply_journal_write(r);
	hostd_apply_join(h);
	h->busy = true;
	h->applying = true;
	apply_event(r, "apply.start", NULL,
		    json_pack("{s:s,s:s,s:s,s:o,s:i}", "image", r->version,
			      "from_image", r->from_image, "mode",
			      r->live ? "live" : "classic", "components",
			      apply_comps_json(r), "fsr_concurrency",
			      (int)r->concurrency),
		    "apply of image %s (%s) starts: %zu component(s) change",
		    r->version, r->live ? "live" : "classic", r->ncomps);
	cursor = (int64_t)evlog_last(h->events);
	*out = json_pack("{s:I,s:s,s:s,s:o,s:I}", "apply_id", id, "image",
			 r->version, "mode", r->live ? "live" : "classic",
			 "components", apply_comps_json(r), "event_cursor",
			 (json_int_t)cursor - 1);
	rc = pthread_create(&h->apply_thread, NULL, apply_main, r);
	if (rc != 0) {
		h->busy = h->applying = false;
		json_decref(*out);
		*out = NULL;
		apply_run_free(r);
		return err_set(e, rc, "cannot start the apply thread");
	}
	h->apply_thread_started = true;
	return 0;
}

void hostd_apply_join(struct hostd *h)
{
	if (!h->apply_thread_started)
		return;
	pthread_join(h->apply_thread, NULL);
	h->apply_thread_started = false;
}

json_t *hostd_apply_describe(struct hostd *h)
{
	json_t *j = apply_journal_load(h);

	return j ? j : json_pack("{s:s}", "state", "none");
}

void hostd_apply_recover(struct hostd *h)
{
	json_t *j = apply_journal_load(h);
	const char *st = json_string_value(json_object_get(j, "state"));
	char path[PATH_MAX];
	json_t *ev;

	if (!j || !st ||
	    (strcmp(st, "running") && strcmp(st, "rolling_back"))) {
		json_decref(j);
		return;
	}
	/* st points into the "state" string object that the next line
	 * replaces (and frees): "interrupted_in" takes a reference to that
	 * object first, and st is not used again. */
	json_object_set(j, "interrupted_in", json_object_get(j, "state"));
	json_object_set_new(j, "state", json_string("interrupted"));
	apply_journal_path(h, path, sizeof(path));
	jsonio_save_file(path, j, 0600, NULL);
	ev = json_pack(
	    "{s:s,s:s,s:O,s:O,s:O,s:O}", "type", "apply.interrupted", "message",
	    "an apply was interrupted (hostd stopped); issue it again "
	    "to complete it",
	    "apply_id", json_object_get(j, "id"), "image",
	    json_object_get(j, "image"), "step", json_object_get(j, "step"),
	    "switched", json_object_get(j, "switched"));
	evlog_append(h->events, ev, NULL);
	json_decref(ev);
	json_decref(j);
}
