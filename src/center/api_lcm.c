/*
 * api_lcm.c — the lifecycle engine's routes: pre-check, stage, remediate,
 * cancel (tasks, 202), and the remediation runs as the store records them
 * (per host status and every step with its figures).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static int64_t lcm_jid(const json_t *o)
{
	return json_integer_value(json_object_get(o, "id"));
}

API_HANDLER(api_lcm_precheck)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req);
	struct seam_err e = {0};
	int64_t task;

	if (!cl)
		return;
	task = lcm_spawn_precheck(c, cl, &e);
	if (task < 0)
		httpd_reply_err(req, &e);
	else
		api_reply_task(req, task);
	json_decref(cl);
}

API_HANDLER(api_lcm_stage)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req);
	struct seam_err e = {0};
	int64_t task;

	if (!cl)
		return;
	task = lcm_spawn_stage(c, cl, &e);
	if (task < 0)
		httpd_reply_err(req, &e);
	else
		api_reply_task(req, task);
	json_decref(cl);
}

API_HANDLER(api_lcm_remediate)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req);
	struct seam_err e = {0};
	int64_t task, rem = 0;

	if (!cl)
		return;
	task = lcm_spawn_remediate(c, cl, &rem, &e);
	if (task < 0) {
		httpd_reply_err(req, &e);
	} else {
		json_t *t = store_task_get(c->st, task);

		httpd_reply_json(req, 202,
				 json_pack("{s:o,s:I}", "task",
					   t ? t : json_null(),
					   "remediation_id", (json_int_t)rem));
	}
	json_decref(cl);
}

API_HANDLER(api_lcm_cancel)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req);
	struct seam_err e = {0};

	if (!cl)
		return;
	if (lcm_cancel(c, lcm_jid(cl), &e) < 0)
		httpd_reply_err(req, &e);
	else
		httpd_reply_json(req, 202,
				 json_pack("{s:s}", "state", "cancelling"));
	json_decref(cl);
}

API_HANDLER(api_lcm_remediations)
{
	struct center *c = api_center(req);
	json_t *cl = api_cluster(req);
	json_t *all, *u, *out;
	size_t i;

	if (!cl)
		return;
	/* The unfinished runs, then the latest one whatever its state. */
	all = store_remediation_unfinished(c->st);
	out = json_array();
	json_array_foreach(all, i, u) if (json_integer_value(json_object_get(
					      u, "cluster_id")) == lcm_jid(cl))
	    json_array_append_new(
		out, store_remediation_get(
			 c->st, json_integer_value(json_object_get(u, "id"))));
	json_decref(all);
	httpd_reply_json(req, 200, json_pack("{s:o}", "remediations", out));
	json_decref(cl);
}

API_HANDLER(api_lcm_remediation_get)
{
	struct center *c = api_center(req);
	const char *id = httpd_req_param(req, "id");
	json_t *r = id ? store_remediation_get(c->st, atoll(id)) : NULL;

	if (!r) {
		httpd_reply_error(req, 404, "not_found", "no remediation %s",
				  id ? id : "");
		return;
	}
	httpd_reply_json(req, 200, r);
}
