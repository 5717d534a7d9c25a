/*
 * test_center_lcm.c — the lifecycle engine's pure rules (lcm.c): path
 * choice per host, DRS next-host choice, the first-fit-decreasing
 * evacuation plan, the steps of each path, per-host status transitions,
 * resume decisions after a restart, and the pre-check rules. Documents are
 * JSON built here; no store, no network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "lcm.h"

static json_t *J(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("bad JSON in test: %s: %s", err.text, text);
	return j;
}

static enum lcm_path choose(const char *res, const char *lp, char *why)
{
	json_t *r = J(res);
	enum lcm_path p = lcm_path_choose(r, lp, why, 512);

	json_decref(r);
	return p;
}

static void test_path_choice(void **state)
{
	char why[512];
	const char *live = "{\"status\":\"non_compliant\",\"impact\":"
			   "\"partial_maintenance_mode\",\"details\":{}}";
	const char *blocked =
	    "{\"status\":\"non_compliant\",\"impact\":\"maintenance_mode\","
	    "\"details\":{\"blocking_vms\":[{\"vm\":\"pt1\",\"flag\":"
	    "\"passthrough\"}]}}";

	(void)state;
	assert_int_equal(choose("{\"status\":\"compliant\",\"impact\":"
				"\"none\"}",
				"enforce", why),
			 LCM_PATH_SKIP);
	assert_int_equal(choose(live, "auto", why), LCM_PATH_LIVE);
	assert_int_equal(choose(live, "enforce", why), LCM_PATH_LIVE);
	assert_int_equal(choose(live, "disable", why), LCM_PATH_CLASSIC);
	assert_non_null(strstr(why, "disabled"));
	assert_int_equal(choose(blocked, "auto", why), LCM_PATH_CLASSIC);
	assert_non_null(strstr(why, "pt1 (passthrough)"));
	assert_int_equal(choose(blocked, "enforce", why), LCM_PATH_BLOCKED);
	assert_non_null(strstr(why, "pt1"));
	assert_int_equal(lcm_path_parse("classic"), LCM_PATH_CLASSIC);
	assert_string_equal(lcm_path_name(LCM_PATH_LIVE), "live");
}

static void test_next_host(void **state)
{
	char why[512];
	json_t *c = J("["
		      "{\"name\":\"h1\",\"path\":\"classic\",\"status\":"
		      "\"pending\",\"ready\":true,\"running_mib\":512},"
		      "{\"name\":\"h2\",\"path\":\"classic\",\"status\":"
		      "\"pending\",\"ready\":true,\"running_mib\":256},"
		      "{\"name\":\"h3\",\"path\":\"live\",\"status\":"
		      "\"pending\",\"ready\":true,\"running_mib\":4096},"
		      "{\"name\":\"h4\",\"path\":\"live\",\"status\":"
		      "\"ok\",\"ready\":true,\"running_mib\":0},"
		      "{\"name\":\"h5\",\"path\":\"live\",\"status\":"
		      "\"retry_pending\",\"ready\":false,\"running_mib\":0}]");

	(void)state;
	/* live first, whatever its memory */
	assert_int_equal(lcm_next_host(c, false, why, sizeof(why)), 2);
	assert_non_null(strstr(why, "h3"));
	json_object_set_new(json_array_get(c, 2), "status",
			    json_string("running"));
	/* then the classic host with the least memory to move */
	assert_int_equal(lcm_next_host(c, false, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "256 MiB"));
	/* one classic host at a time */
	assert_int_equal(lcm_next_host(c, true, why, sizeof(why)), -1);
	/* a retry becomes a candidate once ready */
	json_object_set_new(json_array_get(c, 4), "ready", json_true());
	assert_int_equal(lcm_next_host(c, true, why, sizeof(why)), 4);
	json_decref(c);
}

static void test_evac_plan_ffd(void **state)
{
	json_t *vms = J("[{\"name\":\"a\",\"mem_mib\":100},"
			"{\"name\":\"b\",\"mem_mib\":700},"
			"{\"name\":\"c\",\"mem_mib\":300},"
			"{\"name\":\"d\",\"mem_mib\":900},"
			"{\"name\":\"e\",\"mem_mib\":2000}]");
	json_t *t = J("[{\"name\":\"h2\",\"free_mib\":1000},"
		      "{\"name\":\"h3\",\"free_mib\":1000}]");
	json_t *plan, *un;

	(void)state;
	lcm_evac_plan(vms, t, &plan, &un);
	/* decreasing: e (fits nowhere), d->h2, b->h3, c->h3, a->h2 */
	assert_int_equal(json_array_size(plan), 4);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(plan, 0), "vm")),
	    "d");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(plan, 0), "target")),
			    "h2");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(plan, 1), "target")),
			    "h3");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(plan, 2), "vm")),
	    "c");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(plan, 2), "target")),
			    "h3");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(plan, 3), "vm")),
	    "a");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(plan, 3), "target")),
			    "h2");
	assert_int_equal(json_array_size(un), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(un, 0), "vm")),
	    "e");
	json_decref(plan);
	json_decref(un);
	json_decref(vms);
	json_decref(t);
}

static void test_steps(void **state)
{
	const char *s;
	int n = 0;

	(void)state;
	for (s = lcm_step_next(LCM_PATH_LIVE, NULL); s;
	     s = lcm_step_next(LCM_PATH_LIVE, s))
		n++;
	assert_int_equal(n, 5);
	assert_string_equal(lcm_step_next(LCM_PATH_LIVE, "enter_partial"),
			    "apply_live");
	assert_string_equal(lcm_step_next(LCM_PATH_CLASSIC, "evacuate"),
			    "enter_full");
	assert_null(lcm_step_next(LCM_PATH_SKIP, NULL));
	assert_null(lcm_step_next(LCM_PATH_LIVE, "compliance"));
	assert_string_equal(lcm_step_prev(LCM_PATH_LIVE, "apply_live"),
			    "enter_partial");
	assert_null(lcm_step_prev(LCM_PATH_LIVE, "stage"));
	assert_true(lcm_step_in_path(LCM_PATH_CLASSIC, "restore"));
	assert_false(lcm_step_in_path(LCM_PATH_LIVE, "evacuate"));
}

static void test_status_transitions(void **state)
{
	(void)state;
	assert_true(lcm_status_transition_ok("pending", "running"));
	assert_true(lcm_status_transition_ok("pending", "skipped"));
	assert_true(lcm_status_transition_ok("running", "ok"));
	assert_true(lcm_status_transition_ok("running", "retry_pending"));
	assert_true(lcm_status_transition_ok("running", "timed_out"));
	assert_true(lcm_status_transition_ok("retry_pending", "running"));
	assert_false(lcm_status_transition_ok("ok", "running"));
	assert_false(lcm_status_transition_ok("error", "ok"));
	assert_false(lcm_status_transition_ok("pending", "ok"));
	assert_false(lcm_status_transition_ok("pending", "bogus"));
	assert_true(lcm_status_final("skipped"));
	assert_false(lcm_status_final("retry_pending"));
}

static void test_resume_decisions(void **state)
{
	struct lcm_observed o = {"partial", "1.0.0.0", "1.0.0.0100",
				 "none",    "",	       false};

	(void)state;
	assert_int_equal(lcm_resume_decide("enter_partial", &o),
			 LCM_RESUME_DONE);
	o.maint = "none";
	assert_int_equal(lcm_resume_decide("enter_partial", &o),
			 LCM_RESUME_REDO);
	assert_int_equal(lcm_resume_decide("exit_maintenance", &o),
			 LCM_RESUME_DONE);
	o.maint = "full";
	assert_int_equal(lcm_resume_decide("enter_full", &o), LCM_RESUME_DONE);
	assert_int_equal(lcm_resume_decide("exit_maintenance", &o),
			 LCM_RESUME_REDO);
	/* apply: still running there -> wait; done -> done; else redo */
	o.maint = "partial";
	o.apply_running = true;
	o.apply_state = "running";
	o.apply_image = "1.0.0.0100";
	assert_int_equal(lcm_resume_decide("apply_live", &o), LCM_RESUME_WAIT);
	o.apply_running = false;
	o.apply_state = "done";
	o.base = "1.0.0.0100";
	assert_int_equal(lcm_resume_decide("apply_live", &o), LCM_RESUME_DONE);
	o.apply_state = "interrupted";
	assert_int_equal(lcm_resume_decide("apply_live", &o), LCM_RESUME_REDO);
	o.apply_state = "failed";
	o.base = "1.0.0.0";
	assert_int_equal(lcm_resume_decide("apply_classic", &o),
			 LCM_RESUME_REDO);
	assert_int_equal(lcm_resume_decide("compliance", &o), LCM_RESUME_REDO);
	assert_int_equal(lcm_resume_decide("stage", &o), LCM_RESUME_REDO);
}

static const json_t *line(const json_t *res, const char *check,
			  const char *host, const char *vm)
{
	const json_t *l;
	size_t i;

	json_array_foreach(json_object_get(res, "results"), i, l)
	{
		const char *h = json_string_value(json_object_get(l, "host"));
		const char *v = json_string_value(json_object_get(l, "vm"));

		if (strcmp(json_string_value(json_object_get(l, "check")),
			   check))
			continue;
		if ((host && (!h || strcmp(h, host))) || (!host && h))
			continue;
		if (vm && (!v || strcmp(v, vm)))
			continue;
		return l;
	}
	return NULL;
}

static const char *st(const json_t *l)
{
	assert_non_null(l);
	return json_string_value(json_object_get(l, "status"));
}

#define LIVE_RES                                                               \
	"{\"status\":\"non_compliant\",\"impact\":"                            \
	"\"partial_maintenance_mode\",\"details\":{}}"

static json_t *pc_hosts(const char *h2_vm_flags, const char *h3_state)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "["
		 "{\"name\":\"h1\",\"state\":\"connected\",\"staged\":true,"
		 "\"stageable\":true,\"compliance\":" LIVE_RES ","
		 "\"inventory\":{\"maintenance_mode\":\"none\",\"host\":"
		 "{\"memory_mib\":4096},\"vms\":[]}},"
		 "{\"name\":\"h2\",\"state\":\"connected\",\"staged\":false,"
		 "\"stageable\":true,\"compliance\":" LIVE_RES ","
		 "\"inventory\":{\"maintenance_mode\":\"none\",\"host\":"
		 "{\"memory_mib\":4096},\"vms\":[{\"name\":\"pt1\","
		 "\"state\":\"stopped\",\"mem_mib\":64%s}]}},"
		 "{\"name\":\"h3\",\"state\":\"%s\",\"staged\":false,"
		 "\"stageable\":true,\"compliance\":" LIVE_RES ","
		 "\"inventory\":{\"maintenance_mode\":\"partial\",\"host\":"
		 "{\"memory_mib\":4096,\"tpm\":true},\"vms\":[]}}]",
		 h2_vm_flags, h3_state);
	return J(buf);
}

static void test_precheck_rules(void **state)
{
	json_t *s = J("{\"live_patch\":\"enforce\",\"drs_automation\":"
		      "\"fully_automated\",\"power_policy\":\"do_not_change\","
		      "\"live_patch_ineligible\":[\"tpm\",\"dpu\"]}");
	json_t *h = pc_hosts(",\"passthrough\":true", "connected");
	json_t *r = lcm_precheck(s, NULL, h);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(r, "status")),
			    "error");
	/* the passthrough VM is named, with a remedy */
	assert_string_equal(st(line(r, "vm_fsr", "h2", "pt1")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(
				   line(r, "vm_fsr", "h2", "pt1"), "message")),
			       "pt1"));
	assert_true(strlen(json_string_value(json_object_get(
			line(r, "vm_fsr", "h2", "pt1"), "remedy"))) > 0);
	assert_string_equal(st(line(r, "vm_fsr", "h1", NULL)), "ok");
	assert_string_equal(st(line(r, "attributes", "h3", NULL)), "error");
	assert_string_equal(st(line(r, "maintenance", "h3", NULL)), "warning");
	assert_string_equal(st(line(r, "staged", "h2", NULL)), "ok");
	assert_string_equal(st(line(r, "image", NULL, NULL)), "ok");
	assert_string_equal(st(line(r, "drs_automation", NULL, NULL)), "ok");
	json_decref(r);

	/* auto: warnings only; DRS manual is an error when live is used */
	json_object_set_new(s, "live_patch", json_string("auto"));
	json_object_set_new(s, "drs_automation", json_string("manual"));
	r = lcm_precheck(s, "no image", h);
	assert_string_equal(st(line(r, "vm_fsr", "h2", "pt1")), "warning");
	assert_string_equal(st(line(r, "attributes", "h3", NULL)), "warning");
	assert_string_equal(st(line(r, "drs_automation", NULL, NULL)), "error");
	assert_string_equal(st(line(r, "image", NULL, NULL)), "error");
	json_decref(r);
	json_decref(h);

	/* a disconnected host */
	json_object_set_new(s, "drs_automation",
			    json_string("fully_automated"));
	h = pc_hosts("", "disconnected");
	r = lcm_precheck(s, NULL, h);
	assert_string_equal(st(line(r, "connected", "h3", NULL)), "error");
	assert_string_equal(st(line(r, "capacity", NULL, NULL)), "ok");
	json_decref(r);
	json_decref(h);
	json_decref(s);
}

static void test_precheck_capacity(void **state)
{
	json_t *s = J("{\"live_patch\":\"disable\",\"drs_automation\":"
		      "\"fully_automated\",\"power_policy\":\"do_not_change\","
		      "\"live_patch_ineligible\":[]}");
	json_t *h =
	    J("["
	      "{\"name\":\"h1\",\"state\":\"connected\",\"stageable\":true,"
	      "\"compliance\":" LIVE_RES ",\"inventory\":{\"maintenance_mode\":"
	      "\"none\",\"host\":{\"memory_mib\":1024},\"vms\":[{\"name\":"
	      "\"big\",\"state\":\"running\",\"mem_mib\":900}]}},"
	      "{\"name\":\"h2\",\"state\":\"connected\",\"stageable\":true,"
	      "\"compliance\":" LIVE_RES ",\"inventory\":{\"maintenance_mode\":"
	      "\"none\",\"host\":{\"memory_mib\":1024},\"vms\":[{\"name\":"
	      "\"v2\",\"state\":\"running\",\"mem_mib\":500}]}}]");
	json_t *r = lcm_precheck(s, NULL, h);
	const json_t *l = line(r, "capacity", NULL, "big");

	(void)state;
	assert_string_equal(st(l), "error");
	json_decref(r);
	json_object_set_new(s, "power_policy", json_string("power_off"));
	r = lcm_precheck(s, NULL, h);
	assert_null(line(r, "capacity", NULL, "big"));
	assert_string_equal(json_string_value(json_object_get(r, "status")),
			    "ok");
	json_decref(r);
	json_decref(h);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_choice),
	    cmocka_unit_test(test_next_host),
	    cmocka_unit_test(test_evac_plan_ffd),
	    cmocka_unit_test(test_steps),
	    cmocka_unit_test(test_status_transitions),
	    cmocka_unit_test(test_resume_decisions),
	    cmocka_unit_test(test_precheck_rules),
	    cmocka_unit_test(test_precheck_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
