/*
 * center.h — the state of one seam-center process, shared by its modules.
 *
 * STATE/ (the --state directory, 0700):
 *
 *   center.db (+ -wal, -shm)  the store (store.h): everything that matters
 *   secret                    32 random bytes: derives host credentials
 *   tls/                      cert.pem + key.pem (tls.h)
 *   trust/<level>/NAME.pub    keys trusted per acceptance level (bundle.h)
 *   depot/payloads/<sha256>   component payloads, by digest
 *   depot/tmp/                uploads being verified (emptied at start)
 *
 * Threads: libmicrohttpd's (one per connection), the host poller, and one
 * per running task. The store serialises its own access; `ev_lock` with
 * `ev_cond` wakes event streams when an event is stored; `depot_lock`
 * serialises imports and deletions so a check and its write see the same
 * depot.
 */
#ifndef SEAM_CENTER_H
#define SEAM_CENTER_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "err.h"
#include "httpd.h"
#include "store.h"
#include "tls.h"

#define CENTER_VERSION "1.0.0.0"
#define CENTER_STATE_MAX 3072
#define CENTER_MAX_UPLOAD (1024ull << 20) /* bundle uploads: 1 GiB */

struct center {
	char state[CENTER_STATE_MAX];
	char trust_dir[CENTER_STATE_MAX + 16];
	char depot_dir[CENTER_STATE_MAX + 16];
	struct store *st;
	struct tls_identity *tls;
	struct httpd *httpd;
	unsigned char secret[AUTH_SECRET_LEN];
	long poll_ms;
	char url[256]; /* https://ADDR:PORT, what hosts fetch payloads from */

	pthread_mutex_t ev_lock;
	pthread_cond_t ev_cond;
	int64_t ev_last;
	bool stopping;

	pthread_mutex_t depot_lock;

	pthread_t poller;
	bool poller_running;
	pthread_mutex_t tasks_lock;
	pthread_cond_t tasks_cond;
	int tasks_running;
};

/* The caller of the current request (set by the auth hook, per thread). */
struct center_caller {
	enum auth_role role;
	char user[128];
	int64_t host_id; /* > 0 for a host credential */
};
const struct center_caller *center_caller(void);

int center_open(struct center *c, const char *state, struct seam_err *e);
void center_close(struct center *c);
/* First start: the admin user; prints its token once (or takes one). */
int center_bootstrap_admin(struct center *c, const char *token_file,
			   struct seam_err *e);

/* Events: stored, then every stream is woken. */
int64_t center_event(struct center *c, const char *type, int64_t cluster_id,
		     int64_t host_id, const char *vm, int64_t task_id,
		     const json_t *data, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* The event row center_event() stores; and waking streams after a write. */
json_t *center_event_make(const char *type, int64_t cluster_id, int64_t host_id,
			  const char *vm, int64_t task_id, const json_t *data,
			  const char *msg);
void center_event_notify(struct center *c, int64_t id);

/* Tasks (tasks.c). fn runs in its own thread; result owned by the runner. */
typedef int (*center_task_fn)(struct center *c, int64_t task_id, void *arg,
			      json_t **result, struct seam_err *e);
int64_t center_task_spawn(struct center *c, const char *type,
			  const char *target_kind, int64_t target_id,
			  const char *target_name, const json_t *params,
			  center_task_fn fn, void *arg,
			  void (*free_arg)(void *), struct seam_err *e);
/* Synchronous tasks: begin (running) ... end. */
int64_t center_task_begin(struct center *c, const char *type,
			  const char *target_kind, int64_t target_id,
			  const char *target_name, const json_t *params);
void center_task_end(struct center *c, int64_t task_id, int rc,
		     const json_t *result, const struct seam_err *e);
void center_tasks_wait(struct center *c);

/* Hosts (hostlink.c). */
int hostlink_probe(const char *address, char thumb[TLS_THUMBPRINT_SIZE],
		   struct seam_err *e);
/* One request to a host row (with secret); *reply owned. */
int hostlink_call(const json_t *host, const char *method, const char *path,
		  const json_t *body, long timeout_ms, long *status,
		  json_t **reply, struct seam_err *e);
/* Fetch /inventory and store it; marks the host connected/disconnected. */
int hostlink_refresh(struct center *c, const json_t *host, json_t **inv,
		     struct seam_err *e);
/* Fetch /inventory; marks the host connected/disconnected; stores nothing. */
int hostlink_fetch(struct center *c, const json_t *host, json_t **inv,
		   struct seam_err *e);
int hostlink_poller_start(struct center *c, struct seam_err *e);
void hostlink_poller_stop(struct center *c);
/* Free the idle clients kept for reuse (at shutdown). */
void hostlink_pool_clear(void);
/* Forget the idle connections to one host (removed or reconnected). */
void hostlink_pool_drop(int64_t host_id);
/* A host reply that is not 2xx, as an error naming the host. */
int hostlink_reply_err(const json_t *host, long status, const json_t *reply,
		       struct seam_err *e);

/* Depot (depot.c). */
int depot_init(struct center *c, struct seam_err *e);
int depot_import_file(struct center *c, const char *path, int64_t task_id,
		      json_t **summary, struct seam_err *e);
int depot_delete(struct center *c, const char *kind, const char *name,
		 const char *version, struct seam_err *e);
bool depot_is_digest(const char *s);
void depot_payload_path(struct center *c, const char *digest, char *buf,
			size_t len);
json_t *depot_trust_list(struct center *c);
int depot_trust_add(struct center *c, const char *level, const char *name,
		    const char *key, struct seam_err *e);
int depot_trust_delete(struct center *c, const char *level, const char *name,
		       struct seam_err *e);

/* Compliance (checks.c). host_ref NULL: every host of the cluster. */
int64_t checks_spawn_compliance(struct center *c, int64_t cluster_id,
				const char *cluster_name, int64_t host_id,
				struct seam_err *e);
/* For the lifecycle engine (checks.c). */
json_t *checks_host_image(struct center *c, const json_t *h, char *why,
			  size_t len);
json_t *checks_host_now(struct center *c, const json_t *h, int64_t task_id,
			json_t **inv_out);

/* The lifecycle engine (lcm_run.c): tasks; resume at start. */
int64_t lcm_spawn_precheck(struct center *c, const json_t *cluster,
			   struct seam_err *e);
int64_t lcm_spawn_stage(struct center *c, const json_t *cluster,
			struct seam_err *e);
/* Returns the task; *rem_id the remediation. */
int64_t lcm_spawn_remediate(struct center *c, const json_t *cluster,
			    int64_t *rem_id, struct seam_err *e);
int lcm_cancel(struct center *c, int64_t cluster_id, struct seam_err *e);
void lcm_resume_all(struct center *c);

/* Settings in force for a cluster (0: global). */
json_t *center_settings(struct center *c, int64_t cluster_id);

/* The API (api*.c). */
int api_start(struct center *c, int listen_fd, struct seam_err *e);
void api_stop(struct center *c);

#endif
