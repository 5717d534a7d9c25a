/*
 * tasks.c — every long operation is a task (id, type, target, progress,
 * status, times, result, error), stored before it starts.
 *
 * A spawned task runs in a thread of its own: the request that started it
 * answers 202 with the task at once, and clients follow it through
 * GET /tasks/{id} or the event stream (task.started, task.finished). A
 * task left running by a center that was killed is ended as `error` at the
 * next start (store_task_fail_orphans); the lifecycle engine will resume
 * its remediations from their own persisted state instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "center.h"
#include "log.h"

struct task_run {
	struct center *c;
	int64_t id;
	char type[64];
	center_task_fn fn;
	void *arg;
	void (*free_arg)(void *);
};

void center_task_end(struct center *c, int64_t task_id, int rc,
		     const json_t *result, const struct seam_err *e)
{
	json_t *t;
	const char *err = rc < 0 ? (e && e->msg[0] ? e->msg : "failed") : NULL;

	store_task_finish(c->st, task_id, rc < 0 ? "error" : "success", result,
			  err);
	t = store_task_get(c->st, task_id);
	center_event(c, rc < 0 ? "task.failed" : "task.finished", 0, 0, NULL,
		     task_id, NULL, "task %lld (%s) %s%s%s", (long long)task_id,
		     json_string_value(json_object_get(t, "type")),
		     rc < 0 ? "failed" : "succeeded", err ? ": " : "",
		     err ? err : "");
	json_decref(t);
}

int64_t center_task_begin(struct center *c, const char *type,
			  const char *target_kind, int64_t target_id,
			  const char *target_name, const json_t *params)
{
	int64_t id = store_task_create(c->st, type, target_kind, target_id,
				       target_name, params, NULL);

	if (id > 0) {
		store_task_start(c->st, id);
		center_event(c, "task.started", 0, 0, NULL, id, NULL,
			     "task %lld (%s) started on %s", (long long)id,
			     type, target_name ? target_name : "-");
	}
	return id;
}

static void *task_thread(void *p)
{
	struct task_run *r = p;
	struct seam_err e = {0};
	json_t *result = NULL;
	int rc;

	store_task_start(r->c->st, r->id);
	center_event(r->c, "task.started", 0, 0, NULL, r->id, NULL,
		     "task %lld (%s) started", (long long)r->id, r->type);
	rc = r->fn(r->c, r->id, r->arg, &result, &e);
	center_task_end(r->c, r->id, rc, result, &e);
	json_decref(result);
	if (r->free_arg)
		r->free_arg(r->arg);
	pthread_mutex_lock(&r->c->tasks_lock);
	r->c->tasks_running--;
	pthread_cond_broadcast(&r->c->tasks_cond);
	pthread_mutex_unlock(&r->c->tasks_lock);
	free(r);
	return NULL;
}

int64_t center_task_spawn(struct center *c, const char *type,
			  const char *target_kind, int64_t target_id,
			  const char *target_name, const json_t *params,
			  center_task_fn fn, void *arg,
			  void (*free_arg)(void *), struct seam_err *e)
{
	struct task_run *r = calloc(1, sizeof(*r));
	pthread_attr_t attr;
	pthread_t t;
	int64_t id;

	if (!r) {
		if (free_arg)
			free_arg(arg);
		return err_set(e, ENOMEM, "no memory for a task");
	}
	id = store_task_create(c->st, type, target_kind, target_id, target_name,
			       params, e);
	if (id < 0) {
		free(r);
		if (free_arg)
			free_arg(arg);
		return id;
	}
	*r = (struct task_run){
	    .c = c, .id = id, .fn = fn, .arg = arg, .free_arg = free_arg};
	snprintf(r->type, sizeof(r->type), "%s", type);
	pthread_mutex_lock(&c->tasks_lock);
	c->tasks_running++;
	pthread_mutex_unlock(&c->tasks_lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, task_thread, r) != 0) {
		pthread_attr_destroy(&attr);
		pthread_mutex_lock(&c->tasks_lock);
		c->tasks_running--;
		pthread_mutex_unlock(&c->tasks_lock);
		store_task_finish(c->st, id, "error", NULL,
				  "cannot start a thread");
		if (free_arg)
			free_arg(arg);
		free(r);
		return err_set(e, EAGAIN, "cannot start a task thread");
	}
	pthread_attr_destroy(&attr);
	return id;
}

void center_tasks_wait(struct center *c)
{
	pthread_mutex_lock(&c->tasks_lock);
	while (c->tasks_running > 0)
		pthread_cond_wait(&c->tasks_cond, &c->tasks_lock);
	pthread_mutex_unlock(&c->tasks_lock);
}
