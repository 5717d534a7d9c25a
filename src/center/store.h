/*
 * store.h — seam-center's persistent state: one SQLite database, and the
 * only module that speaks SQL.
 *
 * Everything the center knows lives in STATE/center.db: users and hashed
 * tokens, settings, clusters, hosts (with their last inventory and event
 * cursor), the depot's releases, cluster images, compliance results, tasks,
 * events, and the remediation state machine of the lifecycle engine. The
 * database runs in WAL mode with synchronous=FULL and a busy timeout, and
 * every change is one transaction (BEGIN IMMEDIATE ... COMMIT), so a center
 * killed at any instant restarts with a consistent store.
 *
 * The schema is versioned: schema_migrations lists the migrations applied,
 * and store_open() applies the missing ones in order, each in its own
 * transaction. A migration is never edited once released; a change is a new
 * migration appended to the table in store.c.
 *
 * Rows come back as jansson objects (the API layer serialises them as they
 * are); columns holding JSON are decoded. One connection, guarded by a
 * mutex: the center's write rate is low and this keeps transactions simple.
 * Callers never see SQL: an operation is a function here.
 *
 * Errors: 0 / -errno with a seam_err; -ENOENT for a missing row, -EEXIST for
 * a duplicate name, -EBUSY for "still in use".
 */
#ifndef SEAM_CENTER_STORE_H
#define SEAM_CENTER_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct store;

int store_open(const char *path, struct store **out, struct seam_err *e);
void store_close(struct store *st);
/* The schema version (highest migration applied). */
int store_schema_version(struct store *st);

/* ---- users and tokens (hashes only) ---- */
int store_user_count(struct store *st);
/* A user with a first token, in one transaction. */
int store_user_create(struct store *st, const char *name, const char *role,
		      const char *token_name, const char *token_hash,
		      json_t **user, struct seam_err *e);
json_t *store_user_list(struct store *st);
json_t *store_user_get(struct store *st, const char *name);
int store_user_delete(struct store *st, const char *name, struct seam_err *e);
int store_token_add(struct store *st, const char *user, const char *name,
		    const char *hash, json_t **token, struct seam_err *e);
json_t *store_token_list(struct store *st, const char *user);
int store_token_delete(struct store *st, const char *user, int64_t id,
		       struct seam_err *e);
/* {user_id, user, role, token_id} for a token hash, or NULL. */
json_t *store_token_lookup(struct store *st, const char *hash);

/* ---- settings ---- */
json_t *store_settings_get(struct store *st);
int store_settings_put(struct store *st, const json_t *settings,
		       struct seam_err *e);

/* ---- clusters (ref: numeric id or name) ---- */
int store_cluster_create(struct store *st, const char *name,
			 const json_t *settings, json_t **out,
			 struct seam_err *e);
json_t *store_cluster_list(struct store *st);
json_t *store_cluster_get(struct store *st, const char *ref);
int store_cluster_update(struct store *st, int64_t id, const char *name,
			 const json_t *settings, struct seam_err *e);
int store_cluster_delete(struct store *st, int64_t id, struct seam_err *e);

/* ---- hosts ---- */
/*
 * h: {name, cluster_id, address, thumbprint, secret, remote_id, version,
 *     inventory, event_cursor}. Returns the stored host (without secret).
 */
int store_host_create(struct store *st, const json_t *h, json_t **out,
		      struct seam_err *e);
/* cluster_id 0: every host. Without secrets and inventories. */
json_t *store_host_list(struct store *st, int64_t cluster_id);
/* With inventory; with secret only when asked (internal use). */
json_t *store_host_get(struct store *st, const char *ref, bool secret);
/* Every host with inventory (and secret when asked): pollers, VM lists. */
json_t *store_host_list_full(struct store *st, int64_t cluster_id, bool secret);
int store_host_delete(struct store *st, int64_t id, struct seam_err *e);
/* Rename (name not NULL) and/or move (cluster_id > 0; turns it unknown). */
int store_host_update(struct store *st, int64_t id, const char *name,
		      int64_t cluster_id, struct seam_err *e);
int store_host_set_connection(struct store *st, int64_t id, const char *address,
			      const char *thumbprint, const char *secret,
			      struct seam_err *e);
/* Returns the previous state ("connected", ...) in prev (may be NULL). */
int store_host_set_state(struct store *st, int64_t id, const char *state,
			 const char *error, char *prev, size_t prevlen);
int store_host_set_inventory(struct store *st, int64_t id,
			     const json_t *inventory, int64_t cursor);
int store_host_set_cursor(struct store *st, int64_t id, int64_t cursor);

/* ---- depot ---- */
/*
 * rel: {bundle: {...}, base_images: [...], addons: [...], components: [...]}
 * as depot.c builds it. check: conflicts only (nothing written).
 */
int store_depot_check(struct store *st, const json_t *rel, struct seam_err *e);
int store_depot_import(struct store *st, const json_t *rel, json_t **summary,
		       struct seam_err *e);
/* kind: "base_images", "addons", "components", "bundles". */
json_t *store_depot_list(struct store *st, const char *kind);
json_t *store_depot_base_get(struct store *st, const char *version);
json_t *store_depot_addon_get(struct store *st, const char *name,
			      const char *version);
json_t *store_depot_component_get(struct store *st, const char *name,
				  const char *version);
/* Delete a release no image uses; *orphans gets payload digests now unused. */
int store_depot_delete(struct store *st, const char *kind, const char *name,
		       const char *version, json_t **orphans,
		       struct seam_err *e);
bool store_depot_payload_known(struct store *st, const char *digest);
/* Every payload digest the depot references (startup sweep). */
json_t *store_depot_payload_digests(struct store *st);
/* {base_images:[...], addons:[...], components:[...]} for validation. */
json_t *store_depot_view(struct store *st);

/* ---- cluster images ---- */
json_t *store_image_list(struct store *st, int64_t cluster_id);
json_t *store_image_get(struct store *st, int64_t cluster_id, const char *name);
/* Insert or replace; hosts of the cluster turn `unknown`. */
int store_image_put(struct store *st, int64_t cluster_id, const char *name,
		    const json_t *definition, const json_t *selector,
		    const char *digest, struct seam_err *e);
/* Replace all images of the cluster by `images` ([{name, definition, ...}]). */
int store_image_replace_all(struct store *st, int64_t cluster_id,
			    const json_t *images, struct seam_err *e);
int store_image_delete(struct store *st, int64_t cluster_id, const char *name,
		       struct seam_err *e);

/* ---- compliance ---- */
int store_compliance_put(struct store *st, int64_t host_id,
			 const json_t *result, int64_t task_id);
/*
 * One host checked: its fresh inventory (may be NULL), the result and the
 * event announcing it, in one transaction. Returns the event's cursor.
 */
int64_t store_compliance_record(struct store *st, int64_t host_id,
				const json_t *inventory, const json_t *result,
				int64_t task_id, const json_t *event);
json_t *store_compliance_list(struct store *st, int64_t cluster_id);
json_t *store_compliance_get(struct store *st, int64_t host_id);

/* ---- tasks ---- */
int64_t store_task_create(struct store *st, const char *type,
			  const char *target_kind, int64_t target_id,
			  const char *target_name, const json_t *params,
			  struct seam_err *e);
int store_task_start(struct store *st, int64_t id);
int store_task_progress(struct store *st, int64_t id, int progress);
/* status: "success" or "error" (or "cancelled"); result may be NULL. */
int store_task_finish(struct store *st, int64_t id, const char *status,
		      const json_t *result, const char *error);
json_t *store_task_get(struct store *st, int64_t id);
json_t *store_task_list(struct store *st, const char *status, const char *type,
			int64_t limit);
/* Tasks left queued/running by a previous process: ended as error. */
int store_task_fail_orphans(struct store *st, const char *why);

/* ---- events ---- */
struct store_event_filter {
	int64_t after;
	int64_t limit;
	int64_t cluster_id;
	int64_t host_id;
	int64_t task_id;
	const char *vm;
	const char *type;
};
/* ev: {type, message, cluster_id?, host_id?, vm?, task_id?, data?}. */
int64_t store_event_add(struct store *st, const json_t *ev);
json_t *store_event_query(struct store *st, const struct store_event_filter *f);
int64_t store_event_last(struct store *st);

/* ---- remediation state machine (issue 7 builds on these) ---- */
/*
 * A remediation is a row per run and a row per host; each step a host goes
 * through is recorded as `planned` before it is acted on and `done` or
 * `failed` after, so a restarted center knows exactly where to resume.
 */
int64_t store_remediation_create(struct store *st, int64_t cluster_id,
				 int64_t task_id, const json_t *settings,
				 const json_t *hosts, struct seam_err *e);
json_t *store_remediation_get(struct store *st, int64_t id);
json_t *store_remediation_unfinished(struct store *st);
int store_remediation_set_state(struct store *st, int64_t id,
				const char *state);
int store_remediation_host_set(struct store *st, int64_t rem_id,
			       int64_t host_id, const char *status,
			       const char *step, const char *error);
int64_t store_remediation_step_plan(struct store *st, int64_t rem_id,
				    int64_t host_id, const char *step,
				    const json_t *data);
int store_remediation_step_end(struct store *st, int64_t step_id,
			       const char *state, const json_t *result);

#endif
