/*
 * lcm.c — see lcm.h. Pure functions only: no store, no network, no clock.
 */
#include "lcm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *js(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static const char *const lcm_paths[] = {"skip", "live", "classic", "blocked"};

const char *lcm_path_name(enum lcm_path p)
{
	return p <= LCM_PATH_BLOCKED ? lcm_paths[p] : "?";
}

enum lcm_path lcm_path_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(lcm_paths) / sizeof(lcm_paths[0]); i++)
		if (streq(s, lcm_paths[i]))
			return (enum lcm_path)i;
	return LCM_PATH_SKIP;
}

/* "pt1 (passthrough), ft2 (fault_tolerance)" from blocking_vms. */
static void lcm_blockers(const json_t *res, char *buf, size_t len)
{
	const json_t *b = json_object_get(json_object_get(res, "details"),
					  "blocking_vms"),
		     *v;
	size_t i, n = 0;

	buf[0] = 0;
	json_array_foreach((json_t *)b, i, v)
	{
		int w = snprintf(buf + n, len - n, "%s%s (%s)", i ? ", " : "",
				 js(v, "vm"), js(v, "flag"));
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
}

enum lcm_path lcm_path_choose(const json_t *res, const char *live_patch,
			      char *why, size_t len)
{
	const char *st = js(res, "status"), *impact = js(res, "impact");
	bool live = json_is_true(json_object_get(res, "live_patchable")) ||
		    streq(impact, "partial_maintenance_mode");
	char b[512];

	if (streq(st, "compliant")) {
		snprintf(why, len, "compliant: nothing to remediate");
		return LCM_PATH_SKIP;
	}
	if (streq(live_patch, "disable")) {
		snprintf(why, len, "live patch disabled: classic path");
		return LCM_PATH_CLASSIC;
	}
	if (live && streq(impact, "partial_maintenance_mode")) {
		snprintf(why, len,
			 "impact partial_maintenance_mode: live patch, VMs "
			 "move by FSR");
		return LCM_PATH_LIVE;
	}
	lcm_blockers(res, b, sizeof(b));
	if (streq(live_patch, "enforce")) {
		snprintf(why, len,
			 "live patch enforced but impossible (impact %s)%s%s",
			 impact ? impact : "unknown", b[0] ? ": " : "", b);
		return LCM_PATH_BLOCKED;
	}
	snprintf(why, len, "impact %s%s%s: classic path",
		 impact ? impact : "unknown", b[0] ? "; cannot FSR: " : "", b);
	return LCM_PATH_CLASSIC;
}

static bool lcm_is_candidate(const json_t *c, bool classic_busy)
{
	const char *st = js(c, "status");
	enum lcm_path p = lcm_path_parse(js(c, "path"));

	if (!streq(st, "pending") &&
	    !(streq(st, "retry_pending") &&
	      json_is_true(json_object_get(c, "ready"))))
		return false;
	if (p == LCM_PATH_CLASSIC && classic_busy)
		return false;
	return p == LCM_PATH_LIVE || p == LCM_PATH_CLASSIC;
}

/* Is a better than b? */
static bool lcm_better(const json_t *a, const json_t *b)
{
	enum lcm_path pa = lcm_path_parse(js(a, "path"));
	enum lcm_path pb = lcm_path_parse(js(b, "path"));
	json_int_t ma = json_integer_value(json_object_get(a, "running_mib"));
	json_int_t mb = json_integer_value(json_object_get(b, "running_mib"));

	if (pa != pb)
		return pa == LCM_PATH_LIVE;
	if (pa == LCM_PATH_CLASSIC && ma != mb)
		return ma < mb;
	return strcmp(js(a, "name"), js(b, "name")) < 0;
}

int lcm_next_host(const json_t *cands, bool classic_busy, char *why, size_t len)
{
	const json_t *c, *best = NULL;
	int besti = -1;
	size_t i, nc = 0;

	json_array_foreach((json_t *)cands, i, c)
	{
		if (!lcm_is_candidate(c, classic_busy))
			continue;
		nc++;
		if (!best || lcm_better(c, best)) {
			best = c;
			besti = (int)i;
		}
	}
	if (!best) {
		snprintf(why, len, "no host is ready");
		return -1;
	}
	if (lcm_path_parse(js(best, "path")) == LCM_PATH_LIVE)
		snprintf(why, len,
			 "%s: live patch needs no capacity elsewhere and its "
			 "VMs keep running (%zu candidate(s))",
			 js(best, "name"), nc);
	else
		snprintf(why, len,
			 "%s: classic path, least running memory to move "
			 "(%lld MiB) of %zu candidate(s)",
			 js(best, "name"),
			 (long long)json_integer_value(
			     json_object_get(best, "running_mib")),
			 nc);
	return besti;
}

static int lcm_vm_cmp(const void *pa, const void *pb)
{
	const json_t *a = *(const json_t *const *)pa;
	const json_t *b = *(const json_t *const *)pb;
	json_int_t ma = json_integer_value(json_object_get(a, "mem_mib"));
	json_int_t mb = json_integer_value(json_object_get(b, "mem_mib"));

	if (ma != mb)
		return ma > mb ? -1 : 1;
	return strcmp(js(a, "name"), js(b, "name"));
}

void lcm_evac_plan(const json_t *vms, const json_t *targets, json_t **plan,
		   json_t **unplaced)
{
	size_t n = json_array_size(vms), nt = json_array_size(targets), i, t;
	const json_t **v = calloc(n ? n : 1, sizeof(*v));
	json_int_t *free_mib = calloc(nt ? nt : 1, sizeof(*free_mib));

	*plan = json_array();
	*unplaced = json_array();
	for (i = 0; i < n; i++)
		v[i] = json_array_get(vms, i);
	for (t = 0; t < nt; t++)
		free_mib[t] = json_integer_value(
		    json_object_get(json_array_get(targets, t), "free_mib"));
	qsort(v, n, sizeof(*v), lcm_vm_cmp);
	for (i = 0; i < n; i++) {
		json_int_t m =
		    json_integer_value(json_object_get(v[i], "mem_mib"));

		for (t = 0; t < nt && free_mib[t] < m; t++)
			;
		if (t == nt) {
			json_array_append_new(*unplaced,
					      json_pack("{s:s,s:I}", "vm",
							js(v[i], "name"),
							"mem_mib", m));
			continue;
		}
		free_mib[t] -= m;
		json_array_append_new(
		    *plan, json_pack("{s:s,s:I,s:s}", "vm", js(v[i], "name"),
				     "mem_mib", m, "target",
				     js(json_array_get(targets, t), "name")));
	}
	free(v);
	free(free_mib);
}

static const char *const lcm_live_steps[] = {"stage",	   "enter_partial",
					     "apply_live", "exit_maintenance",
					     "compliance", NULL};
static const char *const lcm_classic_steps[] = {
    "stage",	  "evacuate", "enter_full", "apply_classic", "exit_maintenance",
    "compliance", "restore",  NULL};

static const char *const *lcm_steps(enum lcm_path p)
{
	if (p == LCM_PATH_LIVE)
		return lcm_live_steps;
	if (p == LCM_PATH_CLASSIC)
		return lcm_classic_steps;
	return NULL;
}

const char *lcm_step_next(enum lcm_path p, const char *step)
{
	const char *const *s = lcm_steps(p);

	if (!s)
		return NULL;
	if (!step)
		return s[0];
	for (; *s; s++)
		if (!strcmp(*s, step))
			return s[1];
	return NULL;
}

const char *lcm_step_prev(enum lcm_path p, const char *step)
{
	const char *const *s = lcm_steps(p);

	for (size_t i = 1; s && s[i]; i++)
		if (streq(s[i], step))
			return s[i - 1];
	return NULL;
}

bool lcm_step_in_path(enum lcm_path p, const char *step)
{
	const char *const *s = lcm_steps(p);

	for (; s && *s; s++)
		if (streq(*s, step))
			return true;
	return false;
}

const char *lcm_resume_name(enum lcm_resume r)
{
	switch (r) {
	case LCM_RESUME_DONE:
		return "done";
	case LCM_RESUME_WAIT:
		return "wait";
	default:
		return "redo";
	}
}

enum lcm_resume lcm_resume_decide(const char *step,
				  const struct lcm_observed *o)
{
	if (streq(step, "enter_partial"))
		return streq(o->maint, "partial") ? LCM_RESUME_DONE
						  : LCM_RESUME_REDO;
	if (streq(step, "enter_full"))
		return streq(o->maint, "full") ? LCM_RESUME_DONE
					       : LCM_RESUME_REDO;
	if (streq(step, "exit_maintenance"))
		return streq(o->maint, "none") ? LCM_RESUME_DONE
					       : LCM_RESUME_REDO;
	if (streq(step, "apply_live") || streq(step, "apply_classic")) {
		if (o->apply_running && streq(o->apply_image, o->target))
			return LCM_RESUME_WAIT;
		if (streq(o->base, o->target) &&
		    (streq(o->apply_state, "done") ||
		     streq(o->apply_state, "none") || !o->apply_state))
			return LCM_RESUME_DONE;
		return LCM_RESUME_REDO;
	}
	/* stage, evacuate, compliance, restore: idempotent, redone. */
	return LCM_RESUME_REDO;
}

static const char *const lcm_statuses[] = {
    "pending", "running",	"ok", "skipped", "timed_out",
    "error",   "retry_pending", NULL};

bool lcm_status_valid(const char *s)
{
	for (const char *const *p = lcm_statuses; *p; p++)
		if (streq(s, *p))
			return true;
	return false;
}

bool lcm_status_final(const char *s)
{
	return streq(s, "ok") || streq(s, "skipped") || streq(s, "timed_out") ||
	       streq(s, "error");
}

bool lcm_status_transition_ok(const char *from, const char *to)
{
	if (!lcm_status_valid(from) || !lcm_status_valid(to))
		return false;
	if (streq(from, "pending") || streq(from, "retry_pending"))
		return streq(to, "running") || streq(to, "skipped");
	if (streq(from, "running"))
		return lcm_status_final(to) || streq(to, "retry_pending") ||
		       streq(to, "running"); /* resumed after a restart */
	return false;			     /* final */
}

/* ---- pre-check ---- */

struct lcm_pc {
	json_t *results;
	int worst; /* 0 ok, 1 warning, 2 error */
};

static void lcm_pc_add(struct lcm_pc *pc, const char *check, const char *host,
		       const char *vm, const char *status, const char *remedy,
		       const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void lcm_pc_add(struct lcm_pc *pc, const char *check, const char *host,
		       const char *vm, const char *status, const char *remedy,
		       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *r;
	int w = streq(status, "error") ? 2 : streq(status, "warning") ? 1 : 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r = json_pack("{s:s,s:s,s:s,s:s,s:s}", "check", check, "scope",
		      host ? "host" : "cluster", "status", status, "message",
		      msg, "remedy", remedy ? remedy : "");
	if (host)
		json_object_set_new(r, "host", json_string(host));
	if (vm)
		json_object_set_new(r, "vm", json_string(vm));
	json_array_append_new(pc->results, r);
	if (w > pc->worst)
		pc->worst = w;
}

static const char *lcm_vm_flag(const json_t *vm)
{
	static const char *const flags[] = {"passthrough", "fault_tolerance",
					    "pod"};

	for (size_t i = 0; i < 3; i++)
		if (json_is_true(json_object_get(vm, flags[i])))
			return flags[i];
	return NULL;
}

static void lcm_pc_vms(struct lcm_pc *pc, const json_t *h,
		       const char *live_patch, enum lcm_path path)
{
	const json_t *inv = json_object_get(h, "inventory"), *vm;
	const char *name = js(h, "name");
	size_t i, nflag = 0;

	json_array_foreach(json_object_get(inv, "vms"), i, vm)
	{
		const char *flag = lcm_vm_flag(vm);

		if (!flag)
			continue;
		nflag++;
		if (streq(live_patch, "enforce"))
			lcm_pc_add(pc, "vm_fsr", name, js(vm, "name"), "error",
				   "power the VM off or move it to another "
				   "cluster, or set live_patch to auto",
				   "VM '%s' on host '%s' is flagged %s (%s): "
				   "it cannot move by FSR and live patch is "
				   "enforced",
				   js(vm, "name"), name, flag,
				   js(vm, "state") ? js(vm, "state") : "?");
		else if (path != LCM_PATH_SKIP)
			lcm_pc_add(pc, "vm_fsr", name, js(vm, "name"),
				   "warning", "none needed",
				   "VM '%s' on host '%s' is flagged %s: it "
				   "cannot FSR; the host takes the classic "
				   "path if the VM runs",
				   js(vm, "name"), name, flag);
	}
	if (nflag == 0)
		lcm_pc_add(pc, "vm_fsr", name, NULL, "ok", NULL,
			   "every VM on host '%s' can move by FSR", name);
}

static void lcm_pc_attrs(struct lcm_pc *pc, const json_t *h,
			 const json_t *ineligible, const char *live_patch)
{
	const json_t *attrs =
	    json_object_get(json_object_get(h, "inventory"), "host");
	const json_t *a;
	const char *name = js(h, "name");
	size_t i;
	bool bad = false;

	json_array_foreach((json_t *)ineligible, i, a)
	{
		const json_t *v = json_object_get(attrs, json_string_value(a));

		if (!v || json_is_false(v) || json_is_null(v))
			continue;
		bad = true;
		lcm_pc_add(pc, "attributes", name, NULL,
			   streq(live_patch, "enforce") ? "error" : "warning",
			   "remove the host from the cluster or set "
			   "live_patch to auto",
			   "host '%s' has attribute '%s': live patch is not "
			   "possible on it",
			   name, json_string_value(a));
	}
	if (!bad)
		lcm_pc_add(pc, "attributes", name, NULL, "ok", NULL,
			   "host '%s' has no attribute that rules out live "
			   "patch",
			   name);
}

static void lcm_pc_host(struct lcm_pc *pc, const json_t *settings,
			const json_t *h, json_t *paths)
{
	const char *name = js(h, "name");
	const char *lp = js(settings, "live_patch");
	const json_t *inv = json_object_get(h, "inventory");
	const char *mm = js(inv, "maintenance_mode");
	const json_t *disk = json_object_get(inv, "disk_free_mib");
	char why[1024];
	enum lcm_path p;

	if (!streq(js(h, "state"), "connected")) {
		lcm_pc_add(pc, "connected", name, NULL, "error",
			   "bring hostd up and reconnect the host",
			   "host '%s' is %s", name,
			   js(h, "state") ? js(h, "state") : "unknown");
		return;
	}
	lcm_pc_add(pc, "connected", name, NULL, "ok", NULL,
		   "host '%s' is connected", name);
	p = lcm_path_choose(json_object_get(h, "compliance"), lp, why,
			    sizeof(why));
	json_object_set_new(paths, name, json_string(lcm_path_name(p)));
	lcm_pc_add(pc, "path", name, NULL,
		   p == LCM_PATH_BLOCKED ? "error" : "ok",
		   p == LCM_PATH_BLOCKED ? "set live_patch to auto, or remove "
					   "what blocks live patch"
					 : NULL,
		   "host '%s': %s path — %s", name, lcm_path_name(p), why);
	if (json_is_true(json_object_get(h, "staged")))
		lcm_pc_add(pc, "staged", name, NULL, "ok", NULL,
			   "host '%s' has the image staged", name);
	else if (json_is_true(json_object_get(h, "stageable")) ||
		 p == LCM_PATH_SKIP)
		lcm_pc_add(pc, "staged", name, NULL, "ok", NULL,
			   "host '%s' can stage the image", name);
	else
		lcm_pc_add(pc, "staged", name, NULL, "error",
			   "import the image's bundles into the depot",
			   "host '%s' cannot stage the image", name);
	if (!mm || streq(mm, "none"))
		lcm_pc_add(pc, "maintenance", name, NULL, "ok", NULL,
			   "host '%s' is in no maintenance mode", name);
	else
		lcm_pc_add(pc, "maintenance", name, NULL, "warning",
			   "exit maintenance mode unless it is intended",
			   "host '%s' is already in maintenance mode %s", name,
			   mm);
	lcm_pc_attrs(pc, h, json_object_get(settings, "live_patch_ineligible"),
		     lp);
	lcm_pc_vms(pc, h, lp, p);
	if (json_is_integer(disk) && json_integer_value(disk) < 256)
		lcm_pc_add(pc, "disk_space", name, NULL, "error",
			   "free space in the host's state directory",
			   "host '%s' has %lld MiB free (256 needed)", name,
			   (long long)json_integer_value(disk));
	else
		lcm_pc_add(pc, "disk_space", name, NULL, "ok", NULL,
			   "host '%s': %s", name,
			   json_is_integer(disk) ? "enough free disk space"
						 : "disk space not reported; "
						   "staging checks it");
}

/* Running VMs of a host row as [{name, mem_mib}]. */
static json_t *lcm_running_vms(const json_t *h)
{
	json_t *out = json_array();
	const json_t *vm;
	size_t i;

	json_array_foreach(
	    json_object_get(json_object_get(h, "inventory"), "vms"), i, vm)
	{
		if (!streq(js(vm, "state"), "running"))
			continue;
		json_array_append_new(
		    out,
		    json_pack(
			"{s:s,s:I}", "name", js(vm, "name"), "mem_mib",
			json_integer_value(json_object_get(vm, "mem_mib"))));
	}
	return out;
}

static json_int_t lcm_free_mib(const json_t *h)
{
	const json_t *inv = json_object_get(h, "inventory"), *vm;
	json_int_t f = json_integer_value(
	    json_object_get(json_object_get(inv, "host"), "memory_mib"));
	size_t i;

	json_array_foreach(json_object_get(inv, "vms"), i,
			   vm) if (streq(js(vm, "state"), "running")) f -=
	    json_integer_value(json_object_get(vm, "mem_mib"));
	return f;
}

static void lcm_pc_capacity(struct lcm_pc *pc, const json_t *settings,
			    const json_t *hosts, const json_t *paths)
{
	const json_t *h, *o;
	size_t i, j;
	bool any = false;

	json_array_foreach((json_t *)hosts, i, h)
	{
		json_t *vms, *targets, *plan, *unplaced;

		if (!streq(js(paths, js(h, "name")), "classic"))
			continue;
		any = true;
		vms = lcm_running_vms(h);
		targets = json_array();
		json_array_foreach((json_t *)hosts, j, o)
		{
			const char *mm = js(json_object_get(o, "inventory"),
					    "maintenance_mode");

			if (o == h || !streq(js(o, "state"), "connected") ||
			    (mm && !streq(mm, "none")))
				continue;
			json_array_append_new(
			    targets,
			    json_pack("{s:s,s:I}", "name", js(o, "name"),
				      "free_mib", lcm_free_mib(o)));
		}
		lcm_evac_plan(vms, targets, &plan, &unplaced);
		if (json_array_size(unplaced) &&
		    streq(js(settings, "power_policy"), "do_not_change"))
			lcm_pc_add(pc, "capacity", NULL,
				   js(json_array_get(unplaced, 0), "vm"),
				   "error",
				   "add capacity, power VMs off, or set "
				   "power_policy to power_off",
				   "the cluster cannot empty host '%s': %zu "
				   "VM(s) fit nowhere (first: '%s')",
				   js(h, "name"), json_array_size(unplaced),
				   js(json_array_get(unplaced, 0), "vm"));
		else
			lcm_pc_add(pc, "capacity", NULL, NULL, "ok", NULL,
				   "host '%s' can be emptied: %zu VM(s) "
				   "move, %zu take the power policy %s",
				   js(h, "name"), json_array_size(plan),
				   json_array_size(unplaced),
				   js(settings, "power_policy"));
		json_decref(vms);
		json_decref(targets);
		json_decref(plan);
		json_decref(unplaced);
	}
	if (!any)
		lcm_pc_add(pc, "capacity", NULL, NULL, "ok", NULL,
			   "no host takes the classic path: no capacity "
			   "needed elsewhere");
}

json_t *lcm_precheck(const json_t *settings, const char *image_error,
		     const json_t *hosts)
{
	static const char *const worst[] = {"ok", "warning", "error"};
	struct lcm_pc pc = {json_array(), 0};
	json_t *paths = json_object(), *out;
	const json_t *h;
	const char *k;
	json_t *v;
	size_t i;
	bool live = false;

	if (image_error)
		lcm_pc_add(&pc, "image", NULL, NULL, "error",
			   "fix the cluster image (PUT /clusters/{c}/image)",
			   "the cluster image is not valid: %s", image_error);
	else
		lcm_pc_add(&pc, "image", NULL, NULL, "ok", NULL,
			   "the cluster image is valid");
	json_array_foreach((json_t *)hosts, i, h)
	    lcm_pc_host(&pc, settings, h, paths);
	json_object_foreach(
	    paths, k, v) if (streq(json_string_value(v), "live")) live = true;
	if (live && !streq(js(settings, "drs_automation"), "fully_automated"))
		lcm_pc_add(&pc, "drs_automation", NULL, NULL, "error",
			   "set drs_automation to fully_automated",
			   "live patch will be used and DRS automation is %s",
			   js(settings, "drs_automation"));
	else
		lcm_pc_add(&pc, "drs_automation", NULL, NULL, "ok", NULL,
			   "DRS automation is %s",
			   js(settings, "drs_automation"));
	lcm_pc_capacity(&pc, settings, hosts, paths);
	out = json_pack("{s:s,s:o,s:o}", "status", worst[pc.worst], "results",
			pc.results, "paths", paths);
	return out;
}
