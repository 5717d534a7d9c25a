/*
 * center.c — opening the state directory, the first admin, events.
 */
#include "center.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "settings.h"

static int center_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* STATE/secret: 32 random bytes, made once. */
static int center_load_secret(struct center *c, struct seam_err *e)
{
	char path[PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (center_path(path, sizeof(path), c->state, "secret") < 0)
		return err_set(e, ENAMETOOLONG, "state path too long");
	if (fs_exists(path)) {
		rc = fs_read_file(path, 64, &buf, &len, e);
		if (rc < 0)
			return rc;
		if (len != AUTH_SECRET_LEN) {
			free(buf);
			return err_set(e, EINVAL, "%s: not %d bytes", path,
				       AUTH_SECRET_LEN);
		}
		memcpy(c->secret, buf, AUTH_SECRET_LEN);
		sodium_memzero(buf, len);
		free(buf);
		return 0;
	}
	randombytes_buf(c->secret, sizeof(c->secret));
	return fs_write_atomic(path, c->secret, sizeof(c->secret), 0600, e);
}

int center_open(struct center *c, const char *state, struct seam_err *e)
{
	char path[PATH_MAX];
	int rc;

	if (sodium_init() < 0)
		return err_set(e, EIO, "libsodium did not initialise");
	if (strlen(state) >= sizeof(c->state))
		return err_set(e, ENAMETOOLONG, "--state path too long");
	snprintf(c->state, sizeof(c->state), "%s", state);
	snprintf(c->trust_dir, sizeof(c->trust_dir), "%s/trust", state);
	snprintf(c->depot_dir, sizeof(c->depot_dir), "%s/depot", state);
	pthread_mutex_init(&c->ev_lock, NULL);
	pthread_cond_init(&c->ev_cond, NULL);
	pthread_mutex_init(&c->depot_lock, NULL);
	pthread_mutex_init(&c->tasks_lock, NULL);
	pthread_cond_init(&c->tasks_cond, NULL);
	if ((rc = fs_mkdir_p(state, 0700, e)) < 0)
		return rc;
	chmod(state, 0700);
	if ((rc = center_load_secret(c, e)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/tls", state);
	if ((rc = tls_identity_load_or_create(path, "seam-center", &c->tls,
					      e)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/center.db", state);
	if ((rc = store_open(path, &c->st, e)) < 0)
		return rc;
	if ((rc = depot_init(c, e)) < 0)
		return rc;
	c->ev_last = store_event_last(c->st);
	rc = store_task_fail_orphans(c->st, "the center stopped while the "
					    "task ran");
	if (rc > 0)
		log_warnx("%d task(s) of the previous run ended as error", rc);
	return 0;
}

void center_close(struct center *c)
{
	store_close(c->st);
	c->st = NULL;
	tls_identity_free(c->tls);
	c->tls = NULL;
	sodium_memzero(c->secret, sizeof(c->secret));
}

static int center_read_token_file(const char *file, char *tok, size_t len,
				  struct seam_err *e)
{
	char *buf = NULL;
	size_t n = 0;
	int rc;

	if ((rc = fs_read_file(file, 4096, &buf, &n, e)) < 0)
		return rc;
	while (n &&
	       (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (n < 16 || n >= len || strpbrk(buf, " \t\r\n")) {
		free(buf);
		return err_set(e, EINVAL,
			       "%s: an admin token is 16 to %zu characters "
			       "without spaces",
			       file, len - 1);
	}
	snprintf(tok, len, "%s", buf);
	sodium_memzero(buf, n);
	free(buf);
	return 0;
}

int center_bootstrap_admin(struct center *c, const char *token_file,
			   struct seam_err *e)
{
	char tok[256], hash[AUTH_HASH_HEX];
	int rc;

	if (store_user_count(c->st) > 0)
		return 0;
	if (token_file) {
		if ((rc = center_read_token_file(token_file, tok, sizeof(tok),
						 e)) < 0)
			return rc;
	} else if (auth_token_new(tok) < 0) {
		return err_set(e, EIO, "no randomness for the admin token");
	}
	auth_token_hash(tok, hash);
	rc = store_user_create(c->st, "admin", "admin", "bootstrap", hash, NULL,
			       e);
	if (rc < 0)
		return rc;
	if (!token_file) {
		/* Printed once: only its hash is kept. */
		printf("admin_token=%s\n", tok);
		fflush(stdout);
	}
	sodium_memzero(tok, sizeof(tok));
	center_event(c, "user.created", 0, 0, NULL, 0, NULL,
		     "first start: user 'admin' created");
	return 0;
}

json_t *center_event_make(const char *type, int64_t cluster_id, int64_t host_id,
			  const char *vm, int64_t task_id, const json_t *data,
			  const char *msg)
{
	json_t *ev =
	    json_pack("{s:s,s:s,s:I,s:I,s:I}", "type", type, "message", msg,
		      "cluster_id", (json_int_t)cluster_id, "host_id",
		      (json_int_t)host_id, "task_id", (json_int_t)task_id);

	if (vm)
		json_object_set_new(ev, "vm", json_string(vm));
	if (data)
		json_object_set(ev, "data", (json_t *)data);
	if (strstr(type, "error") || strstr(type, "failed") ||
	    strstr(type, "disconnected") || strstr(type, "refused"))
		json_object_set_new(ev, "severity", json_string("warning"));
	return ev;
}

void center_event_notify(struct center *c, int64_t id)
{
	if (id <= 0)
		return;
	pthread_mutex_lock(&c->ev_lock);
	if (id > c->ev_last)
		c->ev_last = id;
	pthread_cond_broadcast(&c->ev_cond);
	pthread_mutex_unlock(&c->ev_lock);
}

int64_t center_event(struct center *c, const char *type, int64_t cluster_id,
		     int64_t host_id, const char *vm, int64_t task_id,
		     const json_t *data, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *ev;
	int64_t id;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev = center_event_make(type, cluster_id, host_id, vm, task_id, data,
			       msg);
	id = store_event_add(c->st, ev);
	json_decref(ev);
	center_event_notify(c, id);
	return id;
}

json_t *center_settings(struct center *c, int64_t cluster_id)
{
	json_t *g = store_settings_get(c->st), *cl = NULL, *r;
	char ref[32];

	if (cluster_id > 0) {
		json_t *row;

		snprintf(ref, sizeof(ref), "%lld", (long long)cluster_id);
		row = store_cluster_get(c->st, ref);
		if (row)
			cl = json_incref(json_object_get(row, "settings"));
		json_decref(row);
	}
	r = settings_effective(g, cl);
	json_decref(g);
	json_decref(cl);
	return r;
}
