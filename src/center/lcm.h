/*
 * lcm.h — the lifecycle engine's rules (issue 7, DESIGN §5), pure.
 *
 * Everything the engine decides without talking to a host lives here, so
 * it is unit-tested on JSON documents: which path a host takes (live by FSR
 * in partial maintenance, or classic: emptied, full maintenance, restart),
 * which host DRS remediates next and why, the first-fit-decreasing plan
 * that empties a host, the ordered steps of each path and what a restarted
 * center does with a step it finds `planned` (the host is asked first: a
 * step whose effect is already there is not redone), which per-host status
 * may follow which, and the pre-check rules. lcm_run.c does the talking.
 */
#ifndef SEAM_CENTER_LCM_H
#define SEAM_CENTER_LCM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum lcm_path {
	LCM_PATH_SKIP,	  /* compliant: nothing to do */
	LCM_PATH_LIVE,	  /* partial maintenance, apply live, FSR */
	LCM_PATH_CLASSIC, /* evacuate, full maintenance, apply classic */
	LCM_PATH_BLOCKED, /* enforce, and live patch is impossible */
};

const char *lcm_path_name(enum lcm_path p);
enum lcm_path lcm_path_parse(const char *s);
/*
 * compliance: compliance_compute()'s result for the host; live_patch:
 * disable | auto | enforce. why gets the reason of the choice.
 */
enum lcm_path lcm_path_choose(const json_t *compliance, const char *live_patch,
			      char *why, size_t len);

/*
 * DRS: the next host. cands: [{name, path, status, ready (bool),
 * running_mib}] — hosts `pending`, or `retry_pending` and ready, are
 * candidates; a classic host only when classic_busy is false (one host is
 * emptied at a time). Live hosts first (they need no capacity elsewhere and
 * their VMs never move), then the classic host with the least running
 * memory to move, then by name. Returns the index, or -1; why explains.
 */
int lcm_next_host(const json_t *cands, bool classic_busy, char *why,
		  size_t len);

/*
 * Evacuation plan, first fit decreasing by memory: vms [{name, mem_mib}]
 * (the running VMs of the host being emptied), targets [{name, free_mib}]
 * (hosts neither in maintenance nor being remediated, in DRS order). *plan
 * gets [{vm, mem_mib, target}], *unplaced [{vm, mem_mib}] (the power
 * policy applies to those).
 */
void lcm_evac_plan(const json_t *vms, const json_t *targets, json_t **plan,
		   json_t **unplaced);

/* The steps of a path, in order; NULL after the last (or for skip). */
const char *lcm_step_next(enum lcm_path p, const char *step);
/* The step before (NULL for the first); lcm_step_next(p, prev) == step. */
const char *lcm_step_prev(enum lcm_path p, const char *step);
bool lcm_step_in_path(enum lcm_path p, const char *step);

/* What the host says now, for the resume decision. */
struct lcm_observed {
	const char *maint;	 /* none | partial | full */
	const char *base;	 /* the host's base image version */
	const char *target;	 /* the run's target version */
	const char *apply_state; /* hostd GET /apply: none|running|done|... */
	const char *apply_image; /* the image that apply is about */
	bool apply_running;
};

enum lcm_resume {
	LCM_RESUME_DONE, /* its effect is there: record done, go on */
	LCM_RESUME_REDO, /* issue the step again (steps are idempotent) */
	LCM_RESUME_WAIT, /* the host is still doing it: wait for the end */
};
const char *lcm_resume_name(enum lcm_resume r);
enum lcm_resume lcm_resume_decide(const char *step,
				  const struct lcm_observed *o);

/* Per-host status: pending running ok skipped timed_out error retry_pending */
bool lcm_status_valid(const char *s);
bool lcm_status_transition_ok(const char *from, const char *to);
bool lcm_status_final(const char *s);

/*
 * Pre-check rules. in: settings (effective), image_error (NULL when the
 * image is valid), hosts [{name, state, compliance, inventory, staged
 * (bool), stageable (bool), being_remediated?}]. Returns {"status":
 * ok|warning|error, "results": [{check, scope, host?, vm?, status,
 * message, remedy}], "paths": {host: path}}.
 */
json_t *lcm_precheck(const json_t *settings, const char *image_error,
		     const json_t *hosts);

#endif
