/*
 * store.c — see store.h. All of seam-center's SQL is in this file.
 *
 * Small helpers carry the repetitive part: st_exec() binds arguments from a
 * format string ('s' text or NULL, 'i' int64, 'j' a json_t stored as compact
 * text), st_rows()/st_row() turn result rows into JSON objects. A column
 * whose name ends in ":json" holds JSON text and is decoded under the name
 * without the suffix, so `settings AS "settings:json"` comes back as an
 * object. Public functions take the store's lock; helpers assume it held.
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
#define ST_BUSY_TIMEOUT_MS 10000

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
};

struct st_migration {
	int version;
	const char *name;
	const char *sql;
};

/*
 * The schema, one migration at a time. Never edit a released migration:
 * append a new one.
 */
static const struct st_migration st_migrations[] = {
    {1, "inventory, depot, images, compliance, tasks, events",
     "CREATE TABLE users ("
     " id INTEGER PRIMARY KEY,"
     " name TEXT NOT NULL UNIQUE,"
     " role TEXT NOT NULL CHECK (role IN ('admin','operator','viewer')),"
     " created TEXT NOT NULL);"
     "CREATE TABLE tokens ("
     " id INTEGER PRIMARY KEY,"
     " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
     " name TEXT NOT NULL,"
     " hash TEXT NOT NULL UNIQUE,"
     " created TEXT NOT NULL);"
     "CREATE TABLE settings ("
     " key TEXT PRIMARY KEY,"
     " value TEXT NOT NULL);"
     "CREATE TABLE clusters ("
     " id INTEGER PRIMARY KEY,"
     " name TEXT NOT NULL UNIQUE,"
     " settings TEXT NOT NULL DEFAULT '{}',"
     " created TEXT NOT NULL);"
     "CREATE TABLE hosts ("
     " id INTEGER PRIMARY KEY,"
     " name TEXT NOT NULL UNIQUE,"
     " cluster_id INTEGER NOT NULL REFERENCES clusters(id),"
     " address TEXT NOT NULL,"
     " thumbprint TEXT NOT NULL,"
     " secret TEXT NOT NULL,"
     " remote_id TEXT,"
     " version TEXT,"
     " state TEXT NOT NULL DEFAULT 'connected',"
     " state_error TEXT,"
     " state_changed TEXT,"
     " inventory TEXT,"
     " inventory_time TEXT,"
     " event_cursor INTEGER NOT NULL DEFAULT 0,"
     " created TEXT NOT NULL);"
     "CREATE INDEX hosts_cluster ON hosts(cluster_id);"
     "CREATE TABLE bundles ("
     " id INTEGER PRIMARY KEY,"
     " name TEXT,"
     " digest TEXT NOT NULL,"
     " level TEXT NOT NULL,"
     " signer TEXT,"
     " manifest TEXT NOT NULL,"
     " imported TEXT NOT NULL);"
     "CREATE TABLE base_images ("
     " version TEXT PRIMARY KEY,"
     " vkey TEXT NOT NULL,"
     " components TEXT NOT NULL,"
     " live_patch_from TEXT,"
     " description TEXT,"
     " build INTEGER,"
     " bundle_id INTEGER REFERENCES bundles(id),"
     " imported TEXT NOT NULL);"
     "CREATE TABLE addons ("
     " name TEXT NOT NULL,"
     " version TEXT NOT NULL,"
     " vkey TEXT NOT NULL,"
     " base_versions TEXT NOT NULL,"
     " components TEXT NOT NULL,"
     " description TEXT,"
     " bundle_id INTEGER REFERENCES bundles(id),"
     " imported TEXT NOT NULL,"
     " PRIMARY KEY (name, version));"
     "CREATE TABLE components ("
     " name TEXT NOT NULL,"
     " version TEXT NOT NULL,"
     " vkey TEXT NOT NULL,"
     " acceptance TEXT NOT NULL,"
     " digest TEXT NOT NULL,"
     " size INTEGER NOT NULL,"
     " scripts TEXT NOT NULL,"
     " live_patch_from TEXT,"
     " fsr_required INTEGER NOT NULL DEFAULT 0,"
     " description TEXT,"
     " bundle_id INTEGER REFERENCES bundles(id),"
     " imported TEXT NOT NULL,"
     " PRIMARY KEY (name, version));"
     "CREATE INDEX components_digest ON components(digest);"
     "CREATE TABLE images ("
     " id INTEGER PRIMARY KEY,"
     " cluster_id INTEGER NOT NULL REFERENCES clusters(id)"
     "  ON DELETE CASCADE,"
     " name TEXT NOT NULL,"
     " definition TEXT NOT NULL,"
     " selector TEXT,"
     " digest TEXT NOT NULL,"
     " updated TEXT NOT NULL,"
     " UNIQUE (cluster_id, name));"
     "CREATE TABLE compliance ("
     " host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
     " image TEXT,"
     " image_digest TEXT,"
     " status TEXT NOT NULL,"
     " impact TEXT NOT NULL,"
     " reboot INTEGER NOT NULL DEFAULT 0,"
     " reasons TEXT NOT NULL DEFAULT '[]',"
     " details TEXT,"
     " task_id INTEGER,"
     " checked TEXT NOT NULL);"
     "CREATE TABLE tasks ("
     " id INTEGER PRIMARY KEY,"
     " type TEXT NOT NULL,"
     " target_kind TEXT,"
     " target_id INTEGER,"
     " target_name TEXT,"
     " params TEXT,"
     " status TEXT NOT NULL CHECK (status IN"
     "  ('queued','running','success','error','cancelled')),"
     " progress INTEGER NOT NULL DEFAULT 0,"
     " created TEXT NOT NULL,"
     " started TEXT,"
     " finished TEXT,"
     " result TEXT,"
     " error TEXT);"
     "CREATE TABLE events ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " time TEXT NOT NULL,"
     " type TEXT NOT NULL,"
     " severity TEXT NOT NULL DEFAULT 'info',"
     " cluster_id INTEGER,"
     " host_id INTEGER,"
     " vm TEXT,"
     " task_id INTEGER,"
     " message TEXT NOT NULL DEFAULT '',"
     " data TEXT);"
     "CREATE INDEX events_cluster ON events(cluster_id, id);"
     "CREATE INDEX events_host ON events(host_id, id);"
     "CREATE INDEX events_task ON events(task_id, id);"
     "CREATE INDEX events_vm ON events(vm, id);"
     "CREATE INDEX events_type ON events(type, id);"},
    {2, "remediation state machine",
     "CREATE TABLE remediations ("
     " id INTEGER PRIMARY KEY,"
     " cluster_id INTEGER NOT NULL REFERENCES clusters(id),"
     " task_id INTEGER REFERENCES tasks(id),"
     " state TEXT NOT NULL DEFAULT 'planned',"
     " settings TEXT NOT NULL,"
     " created TEXT NOT NULL,"
     " updated TEXT NOT NULL);"
     "CREATE TABLE remediation_hosts ("
     " remediation_id INTEGER NOT NULL REFERENCES remediations(id)"
     "  ON DELETE CASCADE,"
     " host_id INTEGER NOT NULL,"
     " seq INTEGER NOT NULL,"
     " path TEXT,"
     " status TEXT NOT NULL DEFAULT 'pending',"
     " step TEXT,"
     " attempts INTEGER NOT NULL DEFAULT 0,"
     " error TEXT,"
     " updated TEXT NOT NULL,"
     " PRIMARY KEY (remediation_id, host_id));"
     "CREATE TABLE remediation_steps ("
     " id INTEGER PRIMARY KEY,"
     " remediation_id INTEGER NOT NULL REFERENCES remediations(id)"
     "  ON DELETE CASCADE,"
     " host_id INTEGER,"
     " step TEXT NOT NULL,"
     " state TEXT NOT NULL CHECK (state IN"
     "  ('planned','done','failed','abandoned')),"
     " data TEXT,"
     " result TEXT,"
     " planned TEXT NOT NULL,"
     " ended TEXT);"
     "CREATE INDEX remediation_steps_rem ON remediation_steps"
     " (remediation_id, id);"},
};

/* ---- helpers (lock held) ---- */

static int st_errno(sqlite3 *db)
{
	switch (sqlite3_extended_errcode(db)) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return EBUSY;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EAGAIN;
	default:
		return EIO;
	}
}

static int st_fail(struct store *st, struct seam_err *e, const char *what)
{
	int code = st_errno(st->db);

	if (code == EIO)
		log_warnx("store: %s: %s", what, sqlite3_errmsg(st->db));
	return err_set(e, code, "store: %s: %s", what, sqlite3_errmsg(st->db));
}

static int st_bindv(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int i, rc = SQLITE_OK;

	for (i = 0; fmt && fmt[i] && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 's': {
			const char *v = va_arg(ap, const char *);

			rc = v ? sqlite3_bind_text(s, i + 1, v, -1,
						   SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, i + 1);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
			break;
		case 'j': {
			const json_t *j = va_arg(ap, const json_t *);
			char *txt;

			if (!j) {
				rc = sqlite3_bind_null(s, i + 1);
				break;
			}
			txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
						JSON_ENCODE_ANY);
			rc = txt ? sqlite3_bind_text(s, i + 1, txt, -1,
						     SQLITE_TRANSIENT)
				 : SQLITE_NOMEM;
			free(txt);
			break;
		}
		default:
			rc = SQLITE_MISUSE;
		}
	}
	return rc;
}

static int st_prepv(struct store *st, sqlite3_stmt **s, const char *sql,
		    const char *fmt, va_list ap)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK)
		return -1;
	if (st_bindv(*s, fmt, ap) != SQLITE_OK) {
		sqlite3_finalize(*s);
		*s = NULL;
		return -1;
	}
	return 0;
}

/* Run one statement; returns the rows changed, or -errno. */
static int st_exec(struct store *st, struct seam_err *e, const char *sql,
		   const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = st_prepv(st, &s, sql, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return st_fail(st, e, "prepare");
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return st_fail(st, e, "write");
	return sqlite3_changes(st->db);
}

static json_t *st_column(sqlite3_stmt *s, int i, bool decode)
{
	json_t *j;

	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(s, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(s, i));
	case SQLITE_NULL:
		return json_null();
	default: {
		const char *t = (const char *)sqlite3_column_text(s, i);

		if (!decode)
			return json_string(t ? t : "");
		j = json_loads(t ? t : "null", JSON_DECODE_ANY, NULL);
		return j ? j : json_null();
	}
	}
}

static json_t *st_row_object(sqlite3_stmt *s)
{
	json_t *o = json_object();
	int i, n = sqlite3_column_count(s);

	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(s, i);
		size_t len = strlen(name);
		bool decode = len > 5 && !strcmp(name + len - 5, ":json");
		char key[128];

		snprintf(key, sizeof(key), "%.*s",
			 (int)(decode ? len - 5 : len), name);
		json_object_set_new(o, key, st_column(s, i, decode));
	}
	return o;
}

static json_t *st_rowsv(struct store *st, const char *sql, const char *fmt,
			va_list ap)
{
	json_t *arr = json_array();
	sqlite3_stmt *s;
	int rc;

	if (st_prepv(st, &s, sql, fmt, ap) < 0) {
		log_warnx("store: prepare: %s", sqlite3_errmsg(st->db));
		return arr;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(arr, st_row_object(s));
	if (rc != SQLITE_DONE)
		log_warnx("store: read: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
	return arr;
}

static json_t *st_rows(struct store *st, const char *sql, const char *fmt, ...)
{
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	r = st_rowsv(st, sql, fmt, ap);
	va_end(ap);
	return r;
}

/* The first row, or NULL. */
static json_t *st_row(struct store *st, const char *sql, const char *fmt, ...)
{
	va_list ap;
	json_t *r, *row;

	va_start(ap, fmt);
	r = st_rowsv(st, sql, fmt, ap);
	va_end(ap);
	row = json_array_get(r, 0);
	json_incref(row);
	json_decref(r);
	return row;
}

/* The first column of the first row as an integer; def when none. */
static int64_t st_int(struct store *st, int64_t def, const char *sql,
		      const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int64_t v = def;

	va_start(ap, fmt);
	if (st_prepv(st, &s, sql, fmt, ap) < 0) {
		va_end(ap);
		log_warnx("store: prepare: %s", sqlite3_errmsg(st->db));
		return def;
	}
	va_end(ap);
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int st_begin(struct store *st, struct seam_err *e)
{
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return st_fail(st, e, "begin");
	return 0;
}

static int st_commit(struct store *st, struct seam_err *e)
{
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		int rc = st_fail(st, e, "commit");

		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return 0;
}

static void st_rollback(struct store *st)
{
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* End a transaction: commit when rc >= 0, else roll back; returns rc. */
static int st_end(struct store *st, int rc, struct seam_err *e)
{
	if (rc < 0) {
		st_rollback(st);
		return rc;
	}
	return st_commit(st, e) < 0 ? -EIO : rc;
}

static int64_t st_event_insert(struct store *st, const json_t *ev);

#define LOCK(st) pthread_mutex_lock(&(st)->lock)
#define UNLOCK(st) pthread_mutex_unlock(&(st)->lock)

static bool st_is_id(const char *ref)
{
	size_t i;

	if (!ref || !ref[0] || strlen(ref) > 18)
		return false;
	for (i = 0; ref[i]; i++)
		if (ref[i] < '0' || ref[i] > '9')
			return false;
	return true;
}

/* ---- open, migrations ---- */

static int st_migrate(struct store *st, struct seam_err *e)
{
	size_t i;
	int have, rc;

	if (sqlite3_exec(st->db,
			 "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 " version INTEGER PRIMARY KEY,"
			 " name TEXT NOT NULL,"
			 " applied TEXT NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK)
		return st_fail(st, e, "schema_migrations");
	have = (int)st_int(st, 0, "SELECT max(version) FROM schema_migrations",
			   NULL);
	for (i = 0; i < sizeof(st_migrations) / sizeof(st_migrations[0]); i++) {
		const struct st_migration *m = &st_migrations[i];

		if (m->version <= have)
			continue;
		if ((rc = st_begin(st, e)) < 0)
			return rc;
		if (sqlite3_exec(st->db, m->sql, NULL, NULL, NULL) !=
		    SQLITE_OK) {
			rc = err_set(e, EIO, "store: migration %d (%s): %s",
				     m->version, m->name,
				     sqlite3_errmsg(st->db));
			st_rollback(st);
			return rc;
		}
		rc = st_exec(
		    st, e, "INSERT INTO schema_migrations VALUES (?,?," NOW ")",
		    "is", (int64_t)m->version, m->name);
		if ((rc = st_end(st, rc, e)) < 0)
			return rc;
		log_info("store: applied migration %d (%s)", m->version,
			 m->name);
	}
	return 0;
}

int store_open(const char *path, struct store **out, struct seam_err *e)
{
	struct store *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (!st)
		return err_set(e, ENOMEM, "store: no memory");
	pthread_mutex_init(&st->lock, NULL);
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		rc = err_set(e, EIO, "store: cannot open %s: %s", path,
			     st->db ? sqlite3_errmsg(st->db) : "no memory");
		store_close(st);
		return rc;
	}
	sqlite3_busy_timeout(st->db, ST_BUSY_TIMEOUT_MS);
	if (sqlite3_exec(st->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 " PRAGMA foreign_keys=ON;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		rc = err_set(e, EIO, "store: %s: %s", path,
			     sqlite3_errmsg(st->db));
		store_close(st);
		return rc;
	}
	if ((rc = st_migrate(st, e)) < 0) {
		store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->db)
		sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int store_schema_version(struct store *st)
{
	int v;

	LOCK(st);
	v = (int)st_int(st, 0, "SELECT max(version) FROM schema_migrations",
			NULL);
	UNLOCK(st);
	return v;
}

/* ---- users and tokens ---- */

int store_user_count(struct store *st)
{
	int n;

	LOCK(st);
	n = (int)st_int(st, 0, "SELECT count(*) FROM users", NULL);
	UNLOCK(st);
	return n;
}

#define USER_COLS "id, name, role, created"

int store_user_create(struct store *st, const char *name, const char *role,
		      const char *token_name, const char *token_hash,
		      json_t **user, struct seam_err *e)
{
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e,
		     "INSERT INTO users (name, role, created) VALUES (?,?," NOW
		     ")",
		     "ss", name, role);
	if (rc == -EEXIST)
		rc = err_set(e, EEXIST, "user '%s' exists", name);
	if (rc >= 0)
		rc = st_exec(st, e,
			     "INSERT INTO tokens (user_id, name, hash, created)"
			     " VALUES (?,?,?," NOW ")",
			     "iss", (int64_t)sqlite3_last_insert_rowid(st->db),
			     token_name, token_hash);
	if ((rc = st_end(st, rc, e)) >= 0 && user)
		*user =
		    st_row(st, "SELECT " USER_COLS " FROM users WHERE name = ?",
			   "s", name);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

json_t *store_user_list(struct store *st)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st,
		    "SELECT " USER_COLS ", (SELECT count(*) FROM tokens t"
		    " WHERE t.user_id = users.id) AS tokens FROM users"
		    " ORDER BY name",
		    NULL);
	UNLOCK(st);
	return r;
}

json_t *store_user_get(struct store *st, const char *name)
{
	json_t *r;

	LOCK(st);
	r = st_row(st, "SELECT " USER_COLS " FROM users WHERE name = ?", "s",
		   name);
	UNLOCK(st);
	return r;
}

int store_user_delete(struct store *st, const char *name, struct seam_err *e)
{
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	if (st_int(st, 0,
		   "SELECT count(*) FROM users WHERE role = 'admin' AND"
		   " name <> ?",
		   "s", name) == 0 &&
	    st_int(st, 0,
		   "SELECT count(*) FROM users WHERE name = ? AND"
		   " role = 'admin'",
		   "s", name) > 0)
		rc = err_set(e, EBUSY, "user '%s' is the last admin", name);
	else
		rc = st_exec(st, e, "DELETE FROM users WHERE name = ?", "s",
			     name);
	if (rc == 0)
		rc = err_set(e, ENOENT, "no user '%s'", name);
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_token_add(struct store *st, const char *user, const char *name,
		    const char *hash, json_t **token, struct seam_err *e)
{
	int64_t uid;
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	uid = st_int(st, -1, "SELECT id FROM users WHERE name = ?", "s", user);
	if (uid < 0)
		rc = err_set(e, ENOENT, "no user '%s'", user);
	else
		rc = st_exec(st, e,
			     "INSERT INTO tokens (user_id, name, hash, created)"
			     " VALUES (?,?,?," NOW ")",
			     "iss", uid, name, hash);
	if ((rc = st_end(st, rc, e)) >= 0 && token)
		*token = st_row(st,
				"SELECT id, name, created FROM tokens WHERE"
				" hash = ?",
				"s", hash);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

json_t *store_token_list(struct store *st, const char *user)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st,
		    "SELECT t.id, t.name, t.created FROM tokens t JOIN users u"
		    " ON u.id = t.user_id WHERE u.name = ? ORDER BY t.id",
		    "s", user);
	UNLOCK(st);
	return r;
}

int store_token_delete(struct store *st, const char *user, int64_t id,
		       struct seam_err *e)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, e,
		     "DELETE FROM tokens WHERE id = ? AND user_id ="
		     " (SELECT id FROM users WHERE name = ?)",
		     "is", id, user);
	UNLOCK(st);
	if (rc == 0)
		return err_set(e, ENOENT, "user '%s' has no token %lld", user,
			       (long long)id);
	return rc < 0 ? rc : 0;
}

json_t *store_token_lookup(struct store *st, const char *hash)
{
	json_t *r;

	LOCK(st);
	r = st_row(st,
		   "SELECT u.id AS user_id, u.name AS user, u.role,"
		   " t.id AS token_id FROM tokens t JOIN users u ON"
		   " u.id = t.user_id WHERE t.hash = ?",
		   "s", hash);
	UNLOCK(st);
	return r;
}

/* ---- settings ---- */

json_t *store_settings_get(struct store *st)
{
	json_t *rows, *row, *out = json_object();
	size_t i;

	LOCK(st);
	rows = st_rows(st, "SELECT key, value AS \"value:json\" FROM settings",
		       NULL);
	UNLOCK(st);
	json_array_foreach(rows, i, row)
	    json_object_set(out, json_string_value(json_object_get(row, "key")),
			    json_object_get(row, "value"));
	json_decref(rows);
	return out;
}

int store_settings_put(struct store *st, const json_t *settings,
		       struct seam_err *e)
{
	const char *key;
	json_t *v;
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e, "DELETE FROM settings", NULL);
	json_object_foreach((json_t *)settings, key, v)
	{
		if (rc < 0)
			break;
		rc = st_exec(st, e, "INSERT INTO settings VALUES (?,?)", "sj",
			     key, v);
	}
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

/* ---- clusters ---- */

#define CLUSTER_SELECT                                                         \
	"SELECT id, name, settings AS \"settings:json\", created,"             \
	" (SELECT count(*) FROM hosts h WHERE h.cluster_id = c.id) AS hosts,"  \
	" (SELECT count(*) FROM images i WHERE i.cluster_id = c.id)"           \
	" AS images FROM clusters c"

int store_cluster_create(struct store *st, const char *name,
			 const json_t *settings, json_t **out,
			 struct seam_err *e)
{
	json_t *empty = json_object();
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e,
		     "INSERT INTO clusters (name, settings, created) VALUES"
		     " (?,?," NOW ")",
		     "sj", name, settings ? settings : empty);
	if (rc == -EEXIST)
		rc = err_set(e, EEXIST, "cluster '%s' exists", name);
	if ((rc = st_end(st, rc, e)) >= 0 && out)
		*out = st_row(st, CLUSTER_SELECT " WHERE name = ?", "s", name);
out:
	UNLOCK(st);
	json_decref(empty);
	return rc < 0 ? rc : 0;
}

json_t *store_cluster_list(struct store *st)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st, CLUSTER_SELECT " ORDER BY name", NULL);
	UNLOCK(st);
	return r;
}

json_t *store_cluster_get(struct store *st, const char *ref)
{
	json_t *r;

	LOCK(st);
	if (st_is_id(ref))
		r = st_row(st, CLUSTER_SELECT " WHERE id = ?", "i",
			   (int64_t)strtoll(ref, NULL, 10));
	else
		r = st_row(st, CLUSTER_SELECT " WHERE name = ?", "s", ref);
	UNLOCK(st);
	return r;
}

int store_cluster_update(struct store *st, int64_t id, const char *name,
			 const json_t *settings, struct seam_err *e)
{
	int rc = 0;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	if (name)
		rc = st_exec(st, e, "UPDATE clusters SET name = ? WHERE id = ?",
			     "si", name, id);
	if (rc == -EEXIST)
		rc = err_set(e, EEXIST, "cluster '%s' exists", name);
	if (rc >= 0 && settings)
		rc = st_exec(st, e,
			     "UPDATE clusters SET settings = ? WHERE id = ?",
			     "ji", settings, id);
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_cluster_delete(struct store *st, int64_t id, struct seam_err *e)
{
	int64_t n;
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	n = st_int(st, 0, "SELECT count(*) FROM hosts WHERE cluster_id = ?",
		   "i", id);
	if (n > 0)
		rc = err_set(e, EBUSY,
			     "cluster %lld still holds %lld host(s): remove "
			     "them first",
			     (long long)id, (long long)n);
	else
		rc = st_exec(st, e, "DELETE FROM clusters WHERE id = ?", "i",
			     id);
	if (rc == 0)
		rc = err_set(e, ENOENT, "no cluster %lld", (long long)id);
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

/* ---- hosts ---- */

#define HOST_COLS                                                              \
	"h.id, h.name, h.cluster_id, c.name AS cluster, h.address,"            \
	" h.thumbprint, h.remote_id, h.version, h.state, h.state_error,"       \
	" h.state_changed, h.inventory_time, h.event_cursor, h.created,"       \
	" json_extract(h.inventory, '$.maintenance_mode') AS"                  \
	" maintenance_mode,"                                                   \
	" json_extract(h.inventory, '$.image.base.version') AS base_image,"    \
	" (SELECT status FROM compliance k WHERE k.host_id = h.id) AS"         \
	" compliance"
#define HOST_FROM " FROM hosts h JOIN clusters c ON c.id = h.cluster_id"

int store_host_create(struct store *st, const json_t *h, json_t **out,
		      struct seam_err *e)
{
	const char *name = json_string_value(json_object_get(h, "name"));
	int64_t id = 0;
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e,
		     "INSERT INTO hosts (name, cluster_id, address, thumbprint,"
		     " secret, remote_id, version, inventory, inventory_time,"
		     " event_cursor, state, state_changed, created) VALUES"
		     " (?,?,?,?,?,?,?,?," NOW ",?,'connected'," NOW "," NOW ")",
		     "sisssssji", name,
		     json_integer_value(json_object_get(h, "cluster_id")),
		     json_string_value(json_object_get(h, "address")),
		     json_string_value(json_object_get(h, "thumbprint")),
		     json_string_value(json_object_get(h, "secret")),
		     json_string_value(json_object_get(h, "remote_id")),
		     json_string_value(json_object_get(h, "version")),
		     json_object_get(h, "inventory"),
		     json_integer_value(json_object_get(h, "event_cursor")));
	if (rc == -EEXIST)
		rc = err_set(e, EEXIST, "a host named '%s' exists", name);
	if (rc >= 0) {
		id = sqlite3_last_insert_rowid(st->db);
		rc = st_exec(st, e,
			     "INSERT INTO compliance (host_id, status, impact,"
			     " reasons, checked) VALUES (?, 'unknown', 'none',"
			     " '[{\"code\":\"never_checked\",\"message\":"
			     "\"compliance was never checked\"}]'," NOW ")",
			     "i", id);
	}
	if ((rc = st_end(st, rc, e)) >= 0 && out)
		*out =
		    st_row(st, "SELECT " HOST_COLS HOST_FROM " WHERE h.id = ?",
			   "i", id);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

json_t *store_host_list(struct store *st, int64_t cluster_id)
{
	json_t *r;

	LOCK(st);
	if (cluster_id > 0)
		r = st_rows(st,
			    "SELECT " HOST_COLS HOST_FROM
			    " WHERE h.cluster_id = ? ORDER BY h.name",
			    "i", cluster_id);
	else
		r = st_rows(
		    st, "SELECT " HOST_COLS HOST_FROM " ORDER BY h.name", NULL);
	UNLOCK(st);
	return r;
}

#define HOST_FULL_COLS HOST_COLS ", h.inventory AS \"inventory:json\""
#define HOST_SECRET_COLS HOST_FULL_COLS ", h.secret"

json_t *store_host_get(struct store *st, const char *ref, bool secret)
{
	const char *cols = secret ? HOST_SECRET_COLS : HOST_FULL_COLS;
	char sql[2048];
	json_t *r;

	LOCK(st);
	if (st_is_id(ref)) {
		snprintf(sql, sizeof(sql),
			 "SELECT %s" HOST_FROM " WHERE h.id = ?", cols);
		r = st_row(st, sql, "i", (int64_t)strtoll(ref, NULL, 10));
	} else {
		snprintf(sql, sizeof(sql),
			 "SELECT %s" HOST_FROM " WHERE h.name = ?", cols);
		r = st_row(st, sql, "s", ref);
	}
	UNLOCK(st);
	return r;
}

json_t *store_host_list_full(struct store *st, int64_t cluster_id, bool secret)
{
	const char *cols = secret ? HOST_SECRET_COLS : HOST_FULL_COLS;
	char sql[2048];
	json_t *r;

	LOCK(st);
	if (cluster_id > 0) {
		snprintf(sql, sizeof(sql),
			 "SELECT %s" HOST_FROM
			 " WHERE h.cluster_id = ? ORDER BY h.name",
			 cols);
		r = st_rows(st, sql, "i", cluster_id);
	} else {
		snprintf(sql, sizeof(sql),
			 "SELECT %s" HOST_FROM " ORDER BY h.name", cols);
		r = st_rows(st, sql, NULL);
	}
	UNLOCK(st);
	return r;
}

int store_host_delete(struct store *st, int64_t id, struct seam_err *e)
{
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e, "DELETE FROM hosts WHERE id = ?", "i", id);
	if (rc == 0)
		rc = err_set(e, ENOENT, "no host %lld", (long long)id);
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_host_update(struct store *st, int64_t id, const char *name,
		      int64_t cluster_id, struct seam_err *e)
{
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e,
		     "UPDATE hosts SET name = coalesce(?, name) WHERE id = ?",
		     "si", name, id);
	if (rc == -EEXIST)
		rc = err_set(e, EEXIST, "a host named '%s' exists", name);
	if (rc >= 0 && cluster_id > 0 &&
	    st_int(st, 0, "SELECT cluster_id FROM hosts WHERE id = ?", "i",
		   id) != cluster_id) {
		rc = st_exec(st, e,
			     "UPDATE hosts SET cluster_id = ? WHERE id = ?",
			     "ii", cluster_id, id);
		if (rc >= 0)
			rc = st_exec(
			    st, e,
			    "UPDATE compliance SET status = 'unknown',"
			    " impact = 'none', reboot = 0, image = NULL,"
			    " image_digest = NULL, details = NULL, reasons"
			    " = '[{\"code\":\"image_changed\","
			    "\"message\":\"the host moved to another "
			    "cluster\"}]', checked = " NOW " WHERE host_id = ?",
			    "i", id);
	}
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_host_set_connection(struct store *st, int64_t id, const char *address,
			      const char *thumbprint, const char *secret,
			      struct seam_err *e)
{
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e,
		     "UPDATE hosts SET address = ?, thumbprint = ?,"
		     " secret = ? WHERE id = ?",
		     "sssi", address, thumbprint, secret, id);
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_host_set_state(struct store *st, int64_t id, const char *state,
			 const char *error, char *prev, size_t prevlen)
{
	json_t *row;
	int rc;

	LOCK(st);
	row = st_row(st, "SELECT state FROM hosts WHERE id = ?", "i", id);
	if (prev)
		snprintf(prev, prevlen, "%s",
			 row ? json_string_value(json_object_get(row, "state"))
			     : "");
	json_decref(row);
	/* Unchanged: no write at all (no transaction to sync). */
	rc = st_exec(st, NULL,
		     "UPDATE hosts SET state = ?1, state_error = ?2,"
		     " state_changed = CASE WHEN state = ?1 THEN state_changed"
		     " ELSE " NOW " END WHERE id = ?3 AND (state <> ?1 OR"
		     " coalesce(state_error, '') <> coalesce(?2, ''))",
		     "ssi", state, error, id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_host_set_inventory(struct store *st, int64_t id,
			     const json_t *inventory, int64_t cursor)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "UPDATE hosts SET inventory = ?, inventory_time = " NOW
		     ", event_cursor = max(event_cursor, ?),"
		     " version = coalesce(?, version) WHERE id = ?",
		     "jisi", inventory, cursor,
		     json_string_value(json_object_get(inventory, "version")),
		     id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_host_set_cursor(struct store *st, int64_t id, int64_t cursor)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "UPDATE hosts SET event_cursor = ?1 WHERE id = ?2 AND"
		     " event_cursor <> ?1",
		     "ii", cursor, id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

/* ---- depot ---- */

/* A conflict: same (name, version) with a different payload/definition. */
static int st_depot_conflicts(struct store *st, const json_t *rel,
			      struct seam_err *e)
{
	json_t *c, *row;
	size_t i;

	json_array_foreach(json_object_get(rel, "components"), i, c)
	{
		const char *name =
		    json_string_value(json_object_get(c, "name"));
		const char *ver =
		    json_string_value(json_object_get(c, "version"));
		const char *dig =
		    json_string_value(json_object_get(c, "digest"));

		row = st_row(st,
			     "SELECT digest FROM components WHERE name = ? AND"
			     " vkey = ?",
			     "ss", name,
			     json_string_value(json_object_get(c, "vkey")));
		if (row &&
		    strcmp(json_string_value(json_object_get(row, "digest")),
			   dig)) {
			json_decref(row);
			return err_set(e, EEXIST,
				       "component '%s' %s is already in the "
				       "depot with a different payload (%s); "
				       "a release is never replaced",
				       name, ver, dig);
		}
		json_decref(row);
	}
	json_array_foreach(json_object_get(rel, "base_images"), i, c)
	{
		const char *ver =
		    json_string_value(json_object_get(c, "version"));

		row =
		    st_row(st,
			   "SELECT components AS \"components:json\" FROM"
			   " base_images WHERE vkey = ?",
			   "s", json_string_value(json_object_get(c, "vkey")));
		if (row && !json_equal(json_object_get(row, "components"),
				       json_object_get(c, "components"))) {
			json_decref(row);
			return err_set(e, EEXIST,
				       "base image %s is already in the depot "
				       "with different components",
				       ver);
		}
		json_decref(row);
	}
	json_array_foreach(json_object_get(rel, "addons"), i, c)
	{
		row =
		    st_row(st,
			   "SELECT components AS \"components:json\","
			   " base_versions AS \"base_versions:json\" FROM"
			   " addons WHERE name = ? AND vkey = ?",
			   "ss", json_string_value(json_object_get(c, "name")),
			   json_string_value(json_object_get(c, "vkey")));
		if (row && (!json_equal(json_object_get(row, "components"),
					json_object_get(c, "components")) ||
			    !json_equal(json_object_get(row, "base_versions"),
					json_object_get(c, "base_versions")))) {
			json_decref(row);
			return err_set(
			    e, EEXIST,
			    "add-on '%s' %s is already in the depot "
			    "with a different definition",
			    json_string_value(json_object_get(c, "name")),
			    json_string_value(json_object_get(c, "version")));
		}
		json_decref(row);
	}
	return 0;
}

int store_depot_check(struct store *st, const json_t *rel, struct seam_err *e)
{
	int rc;

	LOCK(st);
	rc = st_depot_conflicts(st, rel, e);
	UNLOCK(st);
	return rc;
}

static int st_depot_insert(struct store *st, const json_t *rel,
			   int64_t bundle_id, json_t *summary,
			   struct seam_err *e)
{
	json_t *c, *added = json_object_get(summary, "added");
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(rel, "components"), i, c)
	{
		rc = st_exec(
		    st, e,
		    "INSERT OR IGNORE INTO components (name, version, vkey,"
		    " acceptance, digest, size, scripts, live_patch_from,"
		    " fsr_required, description, bundle_id, imported)"
		    " VALUES (?,?,?,?,?,?,?,?,?,?,?," NOW ")",
		    "sssssijjisi",
		    json_string_value(json_object_get(c, "name")),
		    json_string_value(json_object_get(c, "version")),
		    json_string_value(json_object_get(c, "vkey")),
		    json_string_value(json_object_get(c, "acceptance")),
		    json_string_value(json_object_get(c, "digest")),
		    json_integer_value(json_object_get(c, "size")),
		    json_object_get(c, "scripts"),
		    json_object_get(c, "live_patch_from"),
		    (int64_t)json_is_true(json_object_get(c, "fsr_required")),
		    json_string_value(json_object_get(c, "description")),
		    bundle_id);
		if (rc < 0)
			return rc;
		if (rc > 0)
			json_array_append_new(
			    json_object_get(added, "components"),
			    json_pack("{s:O,s:O}", "name",
				      json_object_get(c, "name"), "version",
				      json_object_get(c, "version")));
	}
	json_array_foreach(json_object_get(rel, "base_images"), i, c)
	{
		rc = st_exec(
		    st, e,
		    "INSERT OR IGNORE INTO base_images (version, vkey,"
		    " components, live_patch_from, description, build,"
		    " bundle_id, imported) VALUES (?,?,?,?,?,?,?," NOW ")",
		    "ssjjsii", json_string_value(json_object_get(c, "version")),
		    json_string_value(json_object_get(c, "vkey")),
		    json_object_get(c, "components"),
		    json_object_get(c, "live_patch_from"),
		    json_string_value(json_object_get(c, "description")),
		    json_integer_value(json_object_get(c, "build")), bundle_id);
		if (rc < 0)
			return rc;
		if (rc > 0)
			json_array_append(json_object_get(added, "base_images"),
					  json_object_get(c, "version"));
	}
	json_array_foreach(json_object_get(rel, "addons"), i, c)
	{
		rc = st_exec(
		    st, e,
		    "INSERT OR IGNORE INTO addons (name, version, vkey,"
		    " base_versions, components, description,"
		    " bundle_id, imported) VALUES (?,?,?,?,?,?,?," NOW ")",
		    "sssjjsi", json_string_value(json_object_get(c, "name")),
		    json_string_value(json_object_get(c, "version")),
		    json_string_value(json_object_get(c, "vkey")),
		    json_object_get(c, "base_versions"),
		    json_object_get(c, "components"),
		    json_string_value(json_object_get(c, "description")),
		    bundle_id);
		if (rc < 0)
			return rc;
		if (rc > 0)
			json_array_append_new(
			    json_object_get(added, "addons"),
			    json_pack("{s:O,s:O}", "name",
				      json_object_get(c, "name"), "version",
				      json_object_get(c, "version")));
	}
	return 0;
}

int store_depot_import(struct store *st, const json_t *rel, json_t **summary,
		       struct seam_err *e)
{
	const json_t *b = json_object_get(rel, "bundle");
	json_t *sum = json_pack("{s:{s:[],s:[],s:[]}}", "added", "components",
				"base_images", "addons");
	int64_t bid = 0;
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_depot_conflicts(st, rel, e);
	if (rc >= 0)
		rc = st_exec(st, e,
			     "INSERT INTO bundles (name, digest, level, signer,"
			     " manifest, imported) VALUES (?,?,?,?,?," NOW ")",
			     "ssssj",
			     json_string_value(json_object_get(b, "name")),
			     json_string_value(json_object_get(b, "digest")),
			     json_string_value(json_object_get(b, "level")),
			     json_string_value(json_object_get(b, "signer")),
			     json_object_get(b, "manifest"));
	if (rc >= 0) {
		bid = sqlite3_last_insert_rowid(st->db);
		json_object_set_new(sum, "bundle_id", json_integer(bid));
		rc = st_depot_insert(st, rel, bid, sum, e);
	}
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	if (rc < 0 || !summary)
		json_decref(sum);
	else
		*summary = sum;
	return rc < 0 ? rc : 0;
}

#define BASE_COLS                                                              \
	"version, components AS \"components:json\","                          \
	" live_patch_from AS \"live_patch_from:json\", description, build,"    \
	" bundle_id, imported"
#define ADDON_COLS                                                             \
	"name, version, base_versions AS \"base_versions:json\","              \
	" components AS \"components:json\", description, bundle_id,"          \
	" imported"
#define COMPONENT_COLS                                                         \
	"name, version, acceptance, digest, size, scripts AS"                  \
	" \"scripts:json\", live_patch_from AS \"live_patch_from:json\","      \
	" fsr_required, description, bundle_id, imported"

json_t *store_depot_list(struct store *st, const char *kind)
{
	json_t *r;

	LOCK(st);
	if (!strcmp(kind, "base_images"))
		r = st_rows(
		    st, "SELECT " BASE_COLS " FROM base_images ORDER BY vkey",
		    NULL);
	else if (!strcmp(kind, "addons"))
		r = st_rows(
		    st, "SELECT " ADDON_COLS " FROM addons ORDER BY name, vkey",
		    NULL);
	else if (!strcmp(kind, "components"))
		r = st_rows(st,
			    "SELECT " COMPONENT_COLS
			    " FROM components ORDER BY name, vkey",
			    NULL);
	else
		r = st_rows(st,
			    "SELECT id, name, digest, level, signer, imported"
			    " FROM bundles ORDER BY id",
			    NULL);
	UNLOCK(st);
	return r;
}

json_t *store_depot_base_get(struct store *st, const char *version)
{
	json_t *r;

	LOCK(st);
	r = st_row(st,
		   "SELECT " BASE_COLS " FROM base_images WHERE"
		   " version = ?",
		   "s", version);
	UNLOCK(st);
	return r;
}

json_t *store_depot_addon_get(struct store *st, const char *name,
			      const char *version)
{
	json_t *r;

	LOCK(st);
	r = st_row(st,
		   "SELECT " ADDON_COLS " FROM addons WHERE name = ? AND"
		   " version = ?",
		   "ss", name, version);
	UNLOCK(st);
	return r;
}

json_t *store_depot_component_get(struct store *st, const char *name,
				  const char *version)
{
	json_t *r;

	LOCK(st);
	r = st_row(st,
		   "SELECT " COMPONENT_COLS " FROM components WHERE"
		   " name = ? AND version = ?",
		   "ss", name, version);
	UNLOCK(st);
	return r;
}

/* Which image uses a release; NULL when none. */
static json_t *st_depot_user(struct store *st, const char *kind,
			     const char *name, const char *version)
{
	if (!strcmp(kind, "base_images"))
		return st_row(st,
			      "SELECT i.name, c.name AS cluster FROM images i"
			      " JOIN clusters c ON c.id = i.cluster_id WHERE"
			      " json_extract(i.definition, '$.base') = ?",
			      "s", version);
	if (!strcmp(kind, "addons"))
		return st_row(st,
			      "SELECT i.name, c.name AS cluster FROM images i"
			      " JOIN clusters c ON c.id = i.cluster_id WHERE"
			      " json_extract(i.definition, '$.addon.name') = ?"
			      " AND json_extract(i.definition,"
			      " '$.addon.version') = ?",
			      "ss", name, version);
	return st_row(st,
		      "SELECT i.name, c.name AS cluster FROM images i"
		      " JOIN clusters c ON c.id = i.cluster_id,"
		      " json_each(i.definition, '$.components.add') j"
		      " WHERE j.key = ? AND j.value = ?",
		      "ss", name, version);
}

/* A base image or add-on that lists this component release. */
static json_t *st_depot_component_holder(struct store *st, const char *name,
					 const char *version)
{
	json_t *r = st_row(st,
			   "SELECT 'base image ' || b.version AS holder FROM"
			   " base_images b, json_each(b.components) j WHERE"
			   " j.key = ? AND j.value = ?",
			   "ss", name, version);

	if (r)
		return r;
	return st_row(st,
		      "SELECT 'add-on ' || a.name || ' ' || a.version AS"
		      " holder FROM addons a, json_each(a.components) j WHERE"
		      " j.key = ? AND j.value = ?",
		      "ss", name, version);
}

int store_depot_delete(struct store *st, const char *kind, const char *name,
		       const char *version, json_t **orphans,
		       struct seam_err *e)
{
	json_t *user, *digests = NULL;
	int rc;

	*orphans = json_array();
	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	user = st_depot_user(st, kind, name, version);
	if (user) {
		rc = err_set(
		    e, EBUSY, "%s %s%s%s is used by image '%s' of cluster '%s'",
		    !strcmp(kind, "base_images") ? "base image"
		    : !strcmp(kind, "addons")	 ? "add-on"
						 : "component",
		    name ? name : "", name ? " " : "", version,
		    json_string_value(json_object_get(user, "name")),
		    json_string_value(json_object_get(user, "cluster")));
		json_decref(user);
		goto end;
	}
	if (!strcmp(kind, "base_images")) {
		rc = st_exec(st, e, "DELETE FROM base_images WHERE version = ?",
			     "s", version);
	} else if (!strcmp(kind, "addons")) {
		rc = st_exec(
		    st, e, "DELETE FROM addons WHERE name = ? AND version = ?",
		    "ss", name, version);
	} else {
		json_t *h = st_depot_component_holder(st, name, version);

		if (h) {
			rc = err_set(
			    e, EBUSY,
			    "component '%s' %s is part of %s in the "
			    "depot: delete that first",
			    name, version,
			    json_string_value(json_object_get(h, "holder")));
			json_decref(h);
			goto end;
		}
		digests = st_rows(st,
				  "SELECT digest FROM components WHERE name = ?"
				  " AND version = ?",
				  "ss", name, version);
		rc = st_exec(st, e,
			     "DELETE FROM components WHERE name = ? AND"
			     " version = ?",
			     "ss", name, version);
	}
	if (rc == 0)
		rc = err_set(e, ENOENT, "no such release in the depot");
end:
	rc = st_end(st, rc, e);
	if (rc >= 0 && digests) {
		json_t *d;
		size_t i;

		json_array_foreach(digests, i, d)
		{
			const char *dig =
			    json_string_value(json_object_get(d, "digest"));

			if (st_int(st, 0,
				   "SELECT count(*) FROM components WHERE"
				   " digest = ?",
				   "s", dig) == 0)
				json_array_append_new(*orphans,
						      json_string(dig));
		}
	}
	json_decref(digests);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

bool store_depot_payload_known(struct store *st, const char *digest)
{
	int64_t n;

	LOCK(st);
	n = st_int(st, 0, "SELECT count(*) FROM components WHERE digest = ?",
		   "s", digest);
	UNLOCK(st);
	return n > 0;
}

json_t *store_depot_payload_digests(struct store *st)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st, "SELECT DISTINCT digest FROM components", NULL);
	UNLOCK(st);
	return r;
}

json_t *store_depot_view(struct store *st)
{
	json_t *v = json_object();

	LOCK(st);
	json_object_set_new(
	    v, "base_images",
	    st_rows(st, "SELECT " BASE_COLS " FROM base_images ORDER BY vkey",
		    NULL));
	json_object_set_new(
	    v, "addons",
	    st_rows(st, "SELECT " ADDON_COLS " FROM addons ORDER BY name, vkey",
		    NULL));
	json_object_set_new(v, "components",
			    st_rows(st,
				    "SELECT " COMPONENT_COLS
				    " FROM components ORDER BY name, vkey",
				    NULL));
	UNLOCK(st);
	return v;
}

/* ---- images ---- */

#define IMAGE_COLS                                                             \
	"i.id, i.cluster_id, i.name, i.definition AS \"definition:json\","     \
	" i.selector AS \"selector:json\", i.digest, i.updated"

json_t *store_image_list(struct store *st, int64_t cluster_id)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st,
		    "SELECT " IMAGE_COLS " FROM images i WHERE"
		    " i.cluster_id = ? ORDER BY i.name",
		    "i", cluster_id);
	UNLOCK(st);
	return r;
}

json_t *store_image_get(struct store *st, int64_t cluster_id, const char *name)
{
	json_t *r;

	LOCK(st);
	r = st_row(st,
		   "SELECT " IMAGE_COLS " FROM images i WHERE"
		   " i.cluster_id = ? AND i.name = ?",
		   "is", cluster_id, name);
	UNLOCK(st);
	return r;
}

/* Every host of the cluster turns `unknown` (its image changed). */
static int st_compliance_invalidate(struct store *st, int64_t cluster_id,
				    struct seam_err *e)
{
	return st_exec(st, e,
		       "UPDATE compliance SET status = 'unknown',"
		       " impact = 'none', reboot = 0, reasons ="
		       " '[{\"code\":\"image_changed\",\"message\":"
		       "\"the cluster image changed since the last check\"}]',"
		       " details = NULL, checked = " NOW " WHERE host_id IN"
		       " (SELECT id FROM hosts WHERE cluster_id = ?)",
		       "i", cluster_id);
}

static int st_image_upsert(struct store *st, int64_t cluster_id,
			   const char *name, const json_t *definition,
			   const json_t *selector, const char *digest,
			   struct seam_err *e)
{
	return st_exec(st, e,
		       "INSERT INTO images (cluster_id, name, definition,"
		       " selector, digest, updated) VALUES (?,?,?,?,?," NOW
		       ") ON CONFLICT (cluster_id, name) DO UPDATE SET"
		       " definition = excluded.definition, selector ="
		       " excluded.selector, digest = excluded.digest,"
		       " updated = excluded.updated",
		       "isjjs", cluster_id, name, definition,
		       json_is_null(selector) ? NULL : selector, digest);
}

int store_image_put(struct store *st, int64_t cluster_id, const char *name,
		    const json_t *definition, const json_t *selector,
		    const char *digest, struct seam_err *e)
{
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_image_upsert(st, cluster_id, name, definition, selector, digest,
			     e);
	if (rc >= 0)
		rc = st_compliance_invalidate(st, cluster_id, e);
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_image_replace_all(struct store *st, int64_t cluster_id,
			    const json_t *images, struct seam_err *e)
{
	json_t *im;
	size_t i;
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e, "DELETE FROM images WHERE cluster_id = ?", "i",
		     cluster_id);
	json_array_foreach((json_t *)images, i, im)
	{
		if (rc < 0)
			break;
		rc = st_image_upsert(
		    st, cluster_id,
		    json_string_value(json_object_get(im, "name")),
		    json_object_get(im, "definition"),
		    json_object_get(im, "selector"),
		    json_string_value(json_object_get(im, "digest")), e);
	}
	if (rc >= 0)
		rc = st_compliance_invalidate(st, cluster_id, e);
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_image_delete(struct store *st, int64_t cluster_id, const char *name,
		       struct seam_err *e)
{
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e,
		     "DELETE FROM images WHERE cluster_id = ? AND name = ?",
		     "is", cluster_id, name);
	if (rc == 0)
		rc = err_set(e, ENOENT, "no image '%s' in this cluster", name);
	if (rc >= 0)
		rc = st_compliance_invalidate(st, cluster_id, e);
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

/* ---- compliance ---- */

static int st_compliance_write(struct store *st, int64_t host_id,
			       const json_t *result, int64_t task_id,
			       struct seam_err *e)
{
	return st_exec(
	    st, e,
	    "INSERT INTO compliance (host_id, image, image_digest, status,"
	    " impact, reboot, reasons, details, task_id, checked) VALUES"
	    " (?,?,?,?,?,?,?,?,nullif(?,0)," NOW ") ON CONFLICT (host_id)"
	    " DO UPDATE SET image = excluded.image, image_digest ="
	    " excluded.image_digest, status = excluded.status, impact ="
	    " excluded.impact, reboot = excluded.reboot, reasons ="
	    " excluded.reasons, details = excluded.details, task_id ="
	    " excluded.task_id, checked = excluded.checked",
	    "issssijji", host_id,
	    json_string_value(json_object_get(result, "image")),
	    json_string_value(json_object_get(result, "image_digest")),
	    json_string_value(json_object_get(result, "status")),
	    json_string_value(json_object_get(result, "impact")),
	    (int64_t)json_is_true(json_object_get(result, "reboot")),
	    json_object_get(result, "reasons"),
	    json_object_get(result, "details"), task_id);
}

int store_compliance_put(struct store *st, int64_t host_id,
			 const json_t *result, int64_t task_id)
{
	int rc;

	LOCK(st);
	rc = st_compliance_write(st, host_id, result, task_id, NULL);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int64_t store_compliance_record(struct store *st, int64_t host_id,
				const json_t *inventory, const json_t *result,
				int64_t task_id, const json_t *event)
{
	int64_t ev = 0;
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, NULL)) < 0)
		goto out;
	if (inventory)
		rc = st_exec(
		    st, NULL,
		    "UPDATE hosts SET inventory = ?, inventory_time = " NOW
		    ", version = coalesce(?, version) WHERE"
		    " id = ?",
		    "jsi", inventory,
		    json_string_value(json_object_get(inventory, "version")),
		    host_id);
	if (rc >= 0)
		rc = st_compliance_write(st, host_id, result, task_id, NULL);
	if (rc >= 0 && event)
		rc = (int)((ev = st_event_insert(st, event)) < 0 ? ev : 0);
	rc = st_end(st, rc, NULL);
out:
	UNLOCK(st);
	return rc < 0 ? rc : ev;
}

#define COMPLIANCE_COLS                                                        \
	"h.id AS host_id, h.name AS host, k.image, k.image_digest, k.status,"  \
	" k.impact, k.reboot, k.reasons AS \"reasons:json\", k.details AS"     \
	" \"details:json\", k.task_id, k.checked FROM compliance k JOIN"       \
	" hosts h ON h.id = k.host_id"

json_t *store_compliance_list(struct store *st, int64_t cluster_id)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st,
		    "SELECT " COMPLIANCE_COLS
		    " WHERE h.cluster_id = ? ORDER BY h.name",
		    "i", cluster_id);
	UNLOCK(st);
	return r;
}

json_t *store_compliance_get(struct store *st, int64_t host_id)
{
	json_t *r;

	LOCK(st);
	r = st_row(st, "SELECT " COMPLIANCE_COLS " WHERE h.id = ?", "i",
		   host_id);
	UNLOCK(st);
	return r;
}

/* ---- tasks ---- */

#define TASK_COLS                                                              \
	"id, type, target_kind, target_id, target_name, params AS"             \
	" \"params:json\", status, progress, created, started, finished,"      \
	" result AS \"result:json\", error"

int64_t store_task_create(struct store *st, const char *type,
			  const char *target_kind, int64_t target_id,
			  const char *target_name, const json_t *params,
			  struct seam_err *e)
{
	int64_t id;
	int rc;

	LOCK(st);
	rc =
	    st_exec(st, e,
		    "INSERT INTO tasks (type, target_kind, target_id,"
		    " target_name, params, status, created) VALUES"
		    " (?,?,?,?,?,'queued'," NOW ")",
		    "ssisj", type, target_kind, target_id, target_name, params);
	id = rc < 0 ? rc : sqlite3_last_insert_rowid(st->db);
	UNLOCK(st);
	return id;
}

int store_task_start(struct store *st, int64_t id)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "UPDATE tasks SET status = 'running', started = " NOW
		     " WHERE id = ?",
		     "i", id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_task_progress(struct store *st, int64_t id, int progress)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL, "UPDATE tasks SET progress = ? WHERE id = ?",
		     "ii", (int64_t)progress, id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_task_finish(struct store *st, int64_t id, const char *status,
		      const json_t *result, const char *error)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "UPDATE tasks SET status = ?, progress = CASE WHEN ? ="
		     " 'success' THEN 100 ELSE progress END, finished = " NOW
		     ", result = ?, error = ? WHERE id = ?",
		     "ssjsi", status, status, result, error, id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

json_t *store_task_get(struct store *st, int64_t id)
{
	json_t *r;

	LOCK(st);
	r = st_row(st, "SELECT " TASK_COLS " FROM tasks WHERE id = ?", "i", id);
	UNLOCK(st);
	return r;
}

json_t *store_task_list(struct store *st, const char *status, const char *type,
			int64_t limit)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st,
		    "SELECT " TASK_COLS " FROM tasks WHERE (?1 IS NULL OR"
		    " status = ?1) AND (?2 IS NULL OR type = ?2) ORDER BY id"
		    " DESC LIMIT ?3",
		    "ssi", status, type, limit);
	UNLOCK(st);
	return r;
}

int store_task_fail_orphans(struct store *st, const char *why)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "UPDATE tasks SET status = 'error', finished = " NOW
		     ", error = ? WHERE status IN ('queued', 'running')",
		     "s", why);
	UNLOCK(st);
	return rc;
}

/* ---- events ---- */

/* Insert an event (lock held); returns its cursor or -errno. */
static int64_t st_event_insert(struct store *st, const json_t *ev)
{
	int rc;

#define EV_ID(k)                                                               \
	(json_integer_value(json_object_get(ev, k)) > 0                        \
	     ? json_integer_value(json_object_get(ev, k))                      \
	     : 0)
	rc = st_exec(st, NULL,
		     "INSERT INTO events (time, type, severity, cluster_id,"
		     " host_id, vm, task_id, message, data) VALUES (" NOW
		     ",?,coalesce(?, 'info'),nullif(?,0),nullif(?,0),?,"
		     "nullif(?,0),coalesce(?, ''),?)",
		     "ssiisisj", json_string_value(json_object_get(ev, "type")),
		     json_string_value(json_object_get(ev, "severity")),
		     EV_ID("cluster_id"), EV_ID("host_id"),
		     json_string_value(json_object_get(ev, "vm")),
		     EV_ID("task_id"),
		     json_string_value(json_object_get(ev, "message")),
		     json_object_get(ev, "data"));
#undef EV_ID
	return rc < 0 ? rc : sqlite3_last_insert_rowid(st->db);
}

int64_t store_event_add(struct store *st, const json_t *ev)
{
	int64_t id;

	LOCK(st);
	id = st_event_insert(st, ev);
	UNLOCK(st);
	return id;
}

json_t *store_event_query(struct store *st, const struct store_event_filter *f)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st,
		    "SELECT e.id AS cursor, e.time, e.type, e.severity,"
		    " e.cluster_id, c.name AS cluster, e.host_id, h.name AS"
		    " host, e.vm, e.task_id, e.message, e.data AS"
		    " \"data:json\" FROM events e LEFT JOIN clusters c ON"
		    " c.id = e.cluster_id LEFT JOIN hosts h ON h.id ="
		    " e.host_id WHERE e.id > ?1 AND (?2 = 0 OR e.cluster_id ="
		    " ?2) AND (?3 = 0 OR e.host_id = ?3) AND (?4 = 0 OR"
		    " e.task_id = ?4) AND (?5 IS NULL OR e.vm = ?5) AND"
		    " (?6 IS NULL OR e.type = ?6 OR e.type LIKE ?6 || '.%')"
		    " ORDER BY e.id LIMIT ?7",
		    "iiiissi", f->after, f->cluster_id, f->host_id, f->task_id,
		    f->vm, f->type, f->limit > 0 ? f->limit : 100);
	UNLOCK(st);
	return r;
}

int64_t store_event_last(struct store *st)
{
	int64_t v;

	LOCK(st);
	v = st_int(st, 0, "SELECT max(id) FROM events", NULL);
	UNLOCK(st);
	return v;
}

/* ---- remediation ---- */

int64_t store_remediation_create(struct store *st, int64_t cluster_id,
				 int64_t task_id, const json_t *settings,
				 const json_t *hosts, struct seam_err *e)
{
	int64_t id = -1;
	json_t *h;
	size_t i;
	int rc;

	LOCK(st);
	if ((rc = st_begin(st, e)) < 0)
		goto out;
	rc = st_exec(st, e,
		     "INSERT INTO remediations (cluster_id, task_id, settings,"
		     " created, updated) VALUES (?,nullif(?,0),?," NOW "," NOW
		     ")",
		     "iij", cluster_id, task_id, settings);
	if (rc >= 0)
		id = sqlite3_last_insert_rowid(st->db);
	json_array_foreach((json_t *)hosts, i, h)
	{
		if (rc < 0)
			break;
		rc = st_exec(st, e,
			     "INSERT INTO remediation_hosts (remediation_id,"
			     " host_id, seq, path, updated) VALUES"
			     " (?,?,?,?," NOW ")",
			     "iiis", id,
			     json_integer_value(json_object_get(h, "host_id")),
			     (int64_t)i,
			     json_string_value(json_object_get(h, "path")));
	}
	rc = st_end(st, rc, e);
out:
	UNLOCK(st);
	return rc < 0 ? rc : id;
}

json_t *store_remediation_get(struct store *st, int64_t id)
{
	json_t *r;

	LOCK(st);
	r = st_row(st,
		   "SELECT id, cluster_id, task_id, state, settings AS"
		   " \"settings:json\", created, updated FROM remediations"
		   " WHERE id = ?",
		   "i", id);
	if (r) {
		json_object_set_new(
		    r, "hosts",
		    st_rows(st,
			    "SELECT host_id, seq, path, status, step,"
			    " attempts, error, updated FROM"
			    " remediation_hosts WHERE remediation_id = ?"
			    " ORDER BY seq",
			    "i", id));
		json_object_set_new(
		    r, "steps",
		    st_rows(st,
			    "SELECT id, host_id, step, state, data AS"
			    " \"data:json\", result AS \"result:json\","
			    " planned, ended FROM remediation_steps WHERE"
			    " remediation_id = ? ORDER BY id",
			    "i", id));
	}
	UNLOCK(st);
	return r;
}

json_t *store_remediation_unfinished(struct store *st)
{
	json_t *r;

	LOCK(st);
	r = st_rows(st,
		    "SELECT id, cluster_id, task_id, state FROM remediations"
		    " WHERE state NOT IN ('done', 'failed', 'cancelled')"
		    " ORDER BY id",
		    NULL);
	UNLOCK(st);
	return r;
}

int store_remediation_set_state(struct store *st, int64_t id, const char *state)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "UPDATE remediations SET state = ?, updated = " NOW
		     " WHERE id = ?",
		     "si", state, id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int store_remediation_host_set(struct store *st, int64_t rem_id,
			       int64_t host_id, const char *status,
			       const char *step, const char *error)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "UPDATE remediation_hosts SET status = coalesce(?,"
		     " status), step = coalesce(?, step), error = ?,"
		     " attempts = attempts + (CASE WHEN ? = 'running' THEN 1"
		     " ELSE 0 END), updated = " NOW
		     " WHERE remediation_id = ? AND host_id = ?",
		     "ssssii", status, step, error, status, rem_id, host_id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}

int64_t store_remediation_step_plan(struct store *st, int64_t rem_id,
				    int64_t host_id, const char *step,
				    const json_t *data)
{
	int64_t id;
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "INSERT INTO remediation_steps (remediation_id, host_id,"
		     " step, state, data, planned) VALUES"
		     " (?,nullif(?,0),?,'planned',?," NOW ")",
		     "iisj", rem_id, host_id, step, data);
	id = rc < 0 ? rc : sqlite3_last_insert_rowid(st->db);
	UNLOCK(st);
	return id;
}

int store_remediation_step_end(struct store *st, int64_t step_id,
			       const char *state, const json_t *result)
{
	int rc;

	LOCK(st);
	rc = st_exec(st, NULL,
		     "UPDATE remediation_steps SET state = ?, result = ?,"
		     " ended = " NOW " WHERE id = ?",
		     "sji", state, result, step_id);
	UNLOCK(st);
	return rc < 0 ? rc : 0;
}
