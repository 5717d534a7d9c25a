/*
 * checks.c — the compliance check, run as a task (DESIGN §4).
 *
 * For every host of a cluster (or one host): fetch its inventory afresh,
 * find the image whose selector matches it (exactly one, else the host is
 * `unknown` with the reason), resolve that image against the depot, and
 * let compliance_compute() judge. Each result is stored with the image's
 * digest and the task id, and announced as an event. Hosts are checked by
 * a few worker threads, since most of the time is spent waiting on hosts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonio.h"
#include "center.h"
#include "compliance.h"
#include "image.h"
#include "log.h"

#define CHECKS_WORKERS 8

struct checks_job {
	int64_t cluster_id;
	int64_t host_id; /* 0: all */
};

struct checks_run {
	struct center *c;
	int64_t task_id;
	json_t *hosts, *images, *view, *ineligible;
	pthread_mutex_t lock;
	size_t next, done;
	json_t *counts;
};

/* The one image matching the host, or NULL with why. */
static const json_t *checks_image_for(const json_t *images, const json_t *h,
				      char *why, size_t len)
{
	const json_t *found = NULL, *im;
	const json_t *attrs =
	    json_object_get(json_object_get(h, "inventory"), "host");
	size_t i;

	if (json_array_size(images) == 0) {
		snprintf(why, len, "cluster '%s' has no image",
			 jsonio_str(h, "cluster"));
		return NULL;
	}
	json_array_foreach((json_t *)images, i, im)
	{
		if (!image_selector_match(json_object_get(im, "selector"),
					  jsonio_str(h, "name"), attrs))
			continue;
		if (found) {
			snprintf(why, len,
				 "host '%s' is matched by two images: '%s' "
				 "and '%s'",
				 jsonio_str(h, "name"), jsonio_str(found, "name"),
				 jsonio_str(im, "name"));
			return NULL;
		}
		found = im;
	}
	if (!found)
		snprintf(why, len, "host '%s' is matched by no image",
			 jsonio_str(h, "name"));
	return found;
}

static void checks_host(struct checks_run *r, json_t *h)
{
	struct compliance_input in = {0};
	struct seam_err e = {0};
	json_t *inv = NULL, *eff = NULL, *res, *ev;
	const json_t *im;
	char why[512] = "", msg[512];
	int64_t id = json_integer_value(json_object_get(h, "id"));
	int64_t cid = json_integer_value(json_object_get(h, "cluster_id"));

	in.connected = hostlink_fetch(r->c, h, &inv, &e) == 0;
	in.inventory = inv ? inv : json_object_get(h, "inventory");
	if (json_is_null(in.inventory))
		in.inventory = NULL;
	in.ineligible = r->ineligible;
	im = checks_image_for(r->images, h, why, sizeof(why));
	if (im && image_effective(json_object_get(im, "definition"), r->view,
				  &eff, &e) < 0)
		snprintf(why, sizeof(why), "%s", e.msg);
	in.image = eff;
	in.image_name = im ? jsonio_str(im, "name") : NULL;
	in.image_error = why;
	res = compliance_compute(&in);
	if (im)
		json_object_set_new(res, "image_digest",
				    json_string(jsonio_str(im, "digest")));
	snprintf(msg, sizeof(msg), "host '%s': %s, impact %s", jsonio_str(h, "name"),
		 jsonio_str(res, "status"), jsonio_str(res, "impact"));
	ev = center_event_make("compliance.checked", cid, id, NULL, r->task_id,
			       res, msg);
	/* Inventory, result and event: one transaction per host. */
	center_event_notify(r->c, store_compliance_record(r->c->st, id, inv,
							  res, r->task_id, ev));
	json_decref(ev);
	pthread_mutex_lock(&r->lock);
	json_object_set_new(r->counts, jsonio_str(res, "status"),
			    json_integer(json_integer_value(json_object_get(
					     r->counts, jsonio_str(res, "status"))) +
					 1));
	r->done++;
	/* Progress in steps of 5%: each write is a transaction. */
	if (r->done * 20 / (json_array_size(r->hosts) + 1) !=
	    (r->done - 1) * 20 / (json_array_size(r->hosts) + 1))
		store_task_progress(
		    r->c->st, r->task_id,
		    (int)(r->done * 100 / (json_array_size(r->hosts) + 1)));
	pthread_mutex_unlock(&r->lock);
	json_decref(res);
	json_decref(eff);
	json_decref(inv);
}

static void *checks_worker(void *p)
{
	struct checks_run *r = p;
	json_t *h;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		h = json_array_get(r->hosts, r->next);
		if (h)
			r->next++;
		pthread_mutex_unlock(&r->lock);
		if (!h)
			return NULL;
		checks_host(r, h);
	}
}

static json_t *checks_select(json_t *hosts, int64_t host_id)
{
	json_t *out, *h;
	size_t i;

	if (host_id <= 0)
		return json_incref(hosts);
	out = json_array();
	json_array_foreach(
	    hosts, i, h) if (json_integer_value(json_object_get(h, "id")) ==
			     host_id) json_array_append(out, h);
	return out;
}

static int checks_task(struct center *c, int64_t task_id, void *arg,
		       json_t **result, struct seam_err *e)
{
	struct checks_job *job = arg;
	struct checks_run r = {0};
	pthread_t th[CHECKS_WORKERS];
	json_t *all, *settings;
	size_t i, n;

	r.c = c;
	r.task_id = task_id;
	all = store_host_list_full(c->st, job->cluster_id, true);
	r.hosts = checks_select(all, job->host_id);
	json_decref(all);
	r.images = store_image_list(c->st, job->cluster_id);
	r.view = store_depot_view(c->st);
	settings = center_settings(c, job->cluster_id);
	r.ineligible =
	    json_incref(json_object_get(settings, "live_patch_ineligible"));
	json_decref(settings);
	r.counts = json_object();
	pthread_mutex_init(&r.lock, NULL);
	n = json_array_size(r.hosts) < CHECKS_WORKERS ? json_array_size(r.hosts)
						      : CHECKS_WORKERS;
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, checks_worker, &r) != 0)
			break;
	n = i;
	if (n == 0)
		checks_worker(&r);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&r.lock);
	*result =
	    json_pack("{s:I,s:o}", "hosts",
		      (json_int_t)json_array_size(r.hosts), "status", r.counts);
	json_decref(r.hosts);
	json_decref(r.images);
	json_decref(r.view);
	json_decref(r.ineligible);
	return 0;
}

int64_t checks_spawn_compliance(struct center *c, int64_t cluster_id,
				const char *cluster_name, int64_t host_id,
				struct seam_err *e)
{
	struct checks_job *job = calloc(1, sizeof(*job));
	json_t *params;
	int64_t id;

	if (!job)
		return err_set(e, ENOMEM, "no memory");
	job->cluster_id = cluster_id;
	job->host_id = host_id;
	params = json_pack("{s:I,s:I}", "cluster_id", (json_int_t)cluster_id,
			   "host_id", (json_int_t)host_id);
	id = center_task_spawn(c, "compliance.check",
			       host_id ? "host" : "cluster",
			       host_id ? host_id : cluster_id, cluster_name,
			       params, checks_task, job, free, e);
	json_decref(params);
	return id;
}

/*
 * For the lifecycle engine: the effective image of one host (NULL with why)
 * and its compliance judged afresh (stored with its event when task_id is
 * given). *inv gets the fresh inventory (may be NULL).
 */
json_t *checks_host_image(struct center *c, const json_t *h, char *why,
			  size_t len)
{
	int64_t cid = json_integer_value(json_object_get(h, "cluster_id"));
	json_t *images = store_image_list(c->st, cid);
	json_t *view = store_depot_view(c->st), *eff = NULL;
	struct seam_err e = {0};
	const json_t *im = checks_image_for(images, h, why, len);

	if (im && image_effective(json_object_get(im, "definition"), view,
				  &eff, &e) < 0)
		snprintf(why, len, "%s", e.msg);
	json_decref(images);
	json_decref(view);
	return eff;
}

json_t *checks_host_now(struct center *c, const json_t *h, int64_t task_id,
			json_t **inv_out)
{
	struct checks_run r = {0};
	int64_t cid = json_integer_value(json_object_get(h, "cluster_id"));
	int64_t id = json_integer_value(json_object_get(h, "id"));
	json_t *settings = center_settings(c, cid), *res;

	r.c = c;
	r.task_id = task_id;
	r.images = store_image_list(c->st, cid);
	r.view = store_depot_view(c->st);
	r.ineligible =
	    json_incref(json_object_get(settings, "live_patch_ineligible"));
	r.hosts = json_array();
	r.counts = json_object();
	pthread_mutex_init(&r.lock, NULL);
	checks_host(&r, (json_t *)h);
	pthread_mutex_destroy(&r.lock);
	res = store_compliance_get(c->st, id);
	if (inv_out) {
		char ref[32];
		json_t *full;

		snprintf(ref, sizeof(ref), "%lld", (long long)id);
		full = store_host_get(c->st, ref, false);
		*inv_out = json_incref(json_object_get(full, "inventory"));
		json_decref(full);
	}
	json_decref(settings);
	json_decref(r.images);
	json_decref(r.view);
	json_decref(r.ineligible);
	json_decref(r.hosts);
	json_decref(r.counts);
	return res;
}
