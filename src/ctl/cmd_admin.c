/*
 * cmd_admin.c — login, logout, whoami, tokens, users and settings.
 *
 * login is the only command that talks to a server it does not yet trust:
 * it shows the certificate's thumbprint for a person to confirm (or takes
 * --thumbprint), proves the pin and the token with GET /me, and only then
 * writes the config file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "fsutil.h"
#include "http_client.h"
#include "table.h"
#include "tls.h"

#define EMPTY_OPTS                                                             \
	{                                                                      \
		NULL, 0, NULL, NULL                                            \
	}
#define END_CMD                                                                \
	{                                                                      \
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL           \
	}

const struct ctl_opt ctl_login_opts[] = {
    {"server", 's', "URL", "the center, https://HOST:PORT (required)"},
    {"token", 't', "TOKEN", "API token (or --token-file)"},
    {"token-file", 0, "FILE", "read the API token from FILE"},
    {"thumbprint", 0, "SHA256",
     "the certificate thumbprint you expect (no question asked)"},
    EMPTY_OPTS,
};

static int login_token(const struct ctl_args *a, char *out, size_t n)
{
	const char *t = ctl_arg(a, "token"), *f = ctl_arg(a, "token-file");
	struct seam_err e = {0};
	char *buf = NULL;
	size_t len = 0;

	if (t) {
		snprintf(out, n, "%s", t);
		return CTL_OK;
	}
	if (!f)
		return ctl_fail(CTL_USAGE,
				"login needs --token TOKEN or --token-file "
				"FILE");
	if (fs_read_file(f, n - 1, &buf, &len, &e) < 0)
		return ctl_fail(CTL_USAGE, "%s", e.msg);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		       buf[len - 1] == ' '))
		len--;
	snprintf(out, n, "%.*s", (int)len, buf);
	free(buf);
	return CTL_OK;
}

/* The thumbprint to pin: given, or fetched and confirmed by a person. */
static int login_thumbprint(struct ctl *c, const char *url, const char *given,
			    char tp[TLS_THUMBPRINT_SIZE])
{
	char fmt[TLS_THUMBPRINT_FMT_SIZE];
	struct seam_err e = {0};

	if (given) {
		if (tls_thumbprint_parse(given, tp, &e) < 0)
			return ctl_fail(CTL_USAGE, "--thumbprint: %s", e.msg);
		return CTL_OK;
	}
	if (http_client_peer_thumbprint(url, ctl_connect_timeout_ms(), tp, &e) <
	    0)
		return ctl_fail(CTL_CONN, "%s", e.msg);
	tls_thumbprint_format(tp, fmt, sizeof(fmt));
	fprintf(stderr,
		"The server at %s presents a certificate with SHA-256 "
		"thumbprint\n  %s\nCompare it with the one seam-center printed "
		"when it started.\n",
		url, fmt);
	if (!c->in_tty)
		return ctl_fail(CTL_CONN,
				"not a terminal: nobody confirmed the "
				"certificate; pass --thumbprint %s after "
				"checking it",
				tp);
	if (!ctl_confirm(c, "Trust this certificate and pin it?"))
		return ctl_fail(CTL_CONN, "certificate not confirmed; nothing "
					  "saved");
	return CTL_OK;
}

int ctl_cmd_login(struct ctl *c, const struct ctl_args *a)
{
	const char *url = ctl_arg(a, "server");
	struct http_client_opts o = {0};
	char tp[TLS_THUMBPRINT_SIZE], fmt[TLS_THUMBPRINT_FMT_SIZE];
	struct seam_err e = {0};
	json_t *me = NULL;
	char base[512];
	size_t n;
	int rc;

	if (!url)
		return ctl_fail(CTL_USAGE, "login needs --server URL");
	snprintf(base, sizeof(base), "%s", url);
	n = strlen(base);
	while (n > 8 && base[n - 1] == '/')
		base[--n] = '\0';
	if (n > 7 && !strcmp(base + n - 7, "/api/v1"))
		base[n - 7] = '\0';
	if (strncmp(base, "https://", 8))
		return ctl_fail(CTL_USAGE,
				"--server '%s' is not https://HOST:PORT", url);
	rc = login_token(a, c->cfg.token, sizeof(c->cfg.token));
	if (rc)
		return rc;
	rc = login_thumbprint(c, base, ctl_arg(a, "thumbprint"), tp);
	if (rc)
		return rc;
	snprintf(c->cfg.server, sizeof(c->cfg.server), "%s", base);
	snprintf(c->cfg.thumbprint, sizeof(c->cfg.thumbprint), "%s", tp);
	o.base_url = c->cfg.server;
	o.thumbprint = c->cfg.thumbprint;
	o.token = c->cfg.token;
	o.timeout_ms = 120000;
	o.connect_timeout_ms = ctl_connect_timeout_ms();
	if (http_client_new(&o, &c->http, &e) < 0)
		return ctl_fail(CTL_CONN, "%s", e.msg);
	rc = ctl_call(c, "GET", "/api/v1/me", NULL, &me);
	if (rc)
		return rc;
	if (ctl_config_save(c->config_path, &c->cfg, &e) < 0) {
		json_decref(me);
		return ctl_fail(CTL_FAILED, "%s", e.msg);
	}
	tls_thumbprint_format(tp, fmt, sizeof(fmt));
	if (c->json) {
		json_object_set_new(me, "server", json_string(base));
		json_object_set_new(me, "thumbprint", json_string(tp));
		json_object_set_new(me, "config", json_string(c->config_path));
		ctl_print_json(me);
	} else {
		printf("Logged in to %s as %s (%s).\n", base,
		       ctl_jstr(me, "user"), ctl_jstr(me, "role"));
		printf("Certificate pinned: SHA-256 %s\n", fmt);
		printf("Saved in %s\n", c->config_path);
	}
	json_decref(me);
	return CTL_OK;
}

int ctl_cmd_logout(struct ctl *c, const struct ctl_args *a)
{
	if (unlink(c->config_path) < 0 && errno != ENOENT)
		return ctl_fail(CTL_FAILED, "cannot remove %s: %s",
				c->config_path, strerror(errno));
	if (c->json)
		ctl_print_json_new(
		    json_pack("{s:s}", "removed", c->config_path));
	else
		printf("Forgot the server and token (%s removed).\n",
		       c->config_path);
	return CTL_OK;
}

int ctl_cmd_whoami(struct ctl *c, const struct ctl_args *a)
{
	json_t *me = NULL;
	int rc = ctl_call(c, "GET", "/api/v1/me", NULL, &me);

	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(me);
	else
		printf("%s (%s) on %s\n", ctl_jstr(me, "user"),
		       ctl_jstr(me, "role"), c->cfg.server);
	json_decref(me);
	return CTL_OK;
}

/* ---- tokens ---- */

static const struct ctl_opt token_opts[] = {
    {"user", 'u', "USER", "whose tokens (default: yours)"},
    {"name", 'n', "NAME", "a name for the new token"},
    EMPTY_OPTS,
};

static int token_user(struct ctl *c, const struct ctl_args *a, char *out,
		      size_t n)
{
	json_t *me = NULL;
	int rc;

	if (ctl_arg(a, "user")) {
		ctl_esc(ctl_arg(a, "user"), out, n);
		return CTL_OK;
	}
	rc = ctl_call(c, "GET", "/api/v1/me", NULL, &me);
	if (rc)
		return rc;
	ctl_esc(ctl_jstr(me, "user"), out, n);
	json_decref(me);
	return CTL_OK;
}

static void token_table(const json_t *tokens)
{
	static const char *const h[] = {">ID", "NAME", "CREATED", "LAST USED"};
	struct ctl_table *t = ctl_table_new(4, h);
	char b1[32], b2[64];
	json_t *x;
	size_t i;

	json_array_foreach(tokens, i, x)
	{
		ctl_table_addv(t, ctl_jfield(x, "id", b1, sizeof(b1)),
			       ctl_jstr(x, "name"), ctl_jstr(x, "created"),
			       ctl_jfield(x, "last_used", b2, sizeof(b2)));
	}
	ctl_table_print(t, stdout, "no tokens");
	ctl_table_free(t);
}

static int cmd_token_list(struct ctl *c, const struct ctl_args *a)
{
	char user[256], path[400];
	json_t *r = NULL;
	int rc = token_user(c, a, user, sizeof(user));

	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/users/%s/tokens", user);
	rc = ctl_call(c, "GET", path, NULL, &r);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		token_table(json_object_get(r, "tokens"));
	json_decref(r);
	return CTL_OK;
}

static int cmd_token_create(struct ctl *c, const struct ctl_args *a)
{
	char user[256], path[400];
	json_t *r = NULL, *body = json_object();
	int rc = token_user(c, a, user, sizeof(user));

	if (!rc) {
		if (ctl_arg(a, "name"))
			json_object_set_new(body, "name",
					    json_string(ctl_arg(a, "name")));
		snprintf(path, sizeof(path), "/api/v1/users/%s/tokens", user);
		rc = ctl_call(c, "POST", path, body, &r);
	}
	json_decref(body);
	if (rc)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else {
		printf("Token %lld '%s' created. It is shown only once:\n",
		       (long long)json_integer_value(json_object_get(r, "id")),
		       ctl_jstr(r, "name"));
		printf("  %s\n", ctl_jstr(r, "token"));
	}
	json_decref(r);
	return CTL_OK;
}

static int cmd_token_revoke(struct ctl *c, const struct ctl_args *a)
{
	char user[256], path[400], id[64];
	json_t *r = NULL;
	int rc = token_user(c, a, user, sizeof(user));

	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/api/v1/users/%s/tokens/%s", user,
		 ctl_esc(a->pos[0], id, sizeof(id)));
	rc = ctl_call(c, "DELETE", path, NULL, &r);
	json_decref(r);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json_new(
		    json_pack("{s:s,s:b}", "token", a->pos[0], "revoked", 1));
	else
		printf("Token %s revoked.\n", a->pos[0]);
	return CTL_OK;
}

const struct ctl_cmd ctl_token_cmds[] = {
    {"list", "", "List API tokens", NULL, token_opts, cmd_token_list, NULL, 0,
     0, NULL},
    {"create", "", "Create an API token (shown once)", NULL, token_opts,
     cmd_token_create, NULL, 0, 0, NULL},
    {"revoke", "ID", "Revoke an API token", NULL, token_opts, cmd_token_revoke,
     NULL, 1, 1, NULL},
    END_CMD,
};

/* ---- users ---- */

static const struct ctl_opt user_opts[] = {
    {"role", 'r', "ROLE", "admin, operator or viewer"},
    EMPTY_OPTS,
};

static int cmd_user_list(struct ctl *c, const struct ctl_args *a)
{
	static const char *const h[] = {"NAME", "ROLE", ">TOKENS", "CREATED"};
	json_t *r = NULL, *x;
	struct ctl_table *t;
	char b[32];
	size_t i;
	int rc = ctl_call(c, "GET", "/api/v1/users", NULL, &r);

	if (rc)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else {
		t = ctl_table_new(4, h);
		json_array_foreach(json_object_get(r, "users"), i, x)
		{
			ctl_table_addv(t, ctl_jstr(x, "name"),
				       ctl_jstr(x, "role"),
				       ctl_jfield(x, "tokens", b, sizeof(b)),
				       ctl_jstr(x, "created"));
		}
		ctl_table_print(t, stdout, "no users");
		ctl_table_free(t);
	}
	json_decref(r);
	return CTL_OK;
}

static int cmd_user_create(struct ctl *c, const struct ctl_args *a)
{
	json_t *r = NULL, *body;
	int rc;

	if (!ctl_arg(a, "role"))
		return ctl_fail(
		    CTL_USAGE,
		    "user create needs --role admin|operator|viewer");
	body = json_pack("{s:s,s:s}", "name", a->pos[0], "role",
			 ctl_arg(a, "role"));
	rc = ctl_call(c, "POST", "/api/v1/users", body, &r);
	json_decref(body);
	if (rc)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else {
		printf(
		    "User '%s' (%s) created. Its token is shown only once:\n",
		    a->pos[0], ctl_arg(a, "role"));
		printf("  %s\n", ctl_jstr(r, "token"));
	}
	json_decref(r);
	return CTL_OK;
}

static int cmd_user_show(struct ctl *c, const struct ctl_args *a)
{
	char path[400], name[256];
	json_t *r = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/users/%s",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	rc = ctl_call(c, "GET", path, NULL, &r);
	if (rc)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else {
		printf("User:    %s\nRole:    %s\nCreated: %s\n\n",
		       ctl_jstr(r, "name"), ctl_jstr(r, "role"),
		       ctl_jstr(r, "created"));
		token_table(json_object_get(r, "tokens"));
	}
	json_decref(r);
	return CTL_OK;
}

static int cmd_user_delete(struct ctl *c, const struct ctl_args *a)
{
	char path[400], name[256];
	json_t *r = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/users/%s",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	rc = ctl_call(c, "DELETE", path, NULL, &r);
	json_decref(r);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json_new(
		    json_pack("{s:s,s:b}", "user", a->pos[0], "deleted", 1));
	else
		printf("User '%s' deleted.\n", a->pos[0]);
	return CTL_OK;
}

const struct ctl_cmd ctl_user_cmds[] = {
    {"list", "", "List users", NULL, NULL, cmd_user_list, NULL, 0, 0, NULL},
    {"create", "NAME", "Create a user with a role (prints its token)", NULL,
     user_opts, cmd_user_create, NULL, 1, 1, NULL},
    {"show", "NAME", "Show a user and its tokens", NULL, NULL, cmd_user_show,
     NULL, 1, 1, NULL},
    {"delete", "NAME", "Delete a user", NULL, NULL, cmd_user_delete, NULL, 1, 1,
     NULL},
    END_CMD,
};

/* ---- settings ---- */

static void settings_flat(const json_t *o, const char *prefix, json_t *out)
{
	const char *k;
	json_t *v;
	char key[256];

	json_object_foreach((json_t *)o, k, v)
	{
		snprintf(key, sizeof(key), "%s%s%s", prefix,
			 prefix[0] ? "." : "", k);
		if (json_is_object(v) && json_object_size(v))
			settings_flat(v, key, out);
		else
			json_object_set(out, key, v);
	}
}

void ctl_flatten(const json_t *o, const char *prefix, struct ctl_table *t)
{
	json_t *flat = json_object(), *v;
	const char *k;
	char b[512];

	settings_flat(o, prefix, flat);
	json_object_foreach(flat, k, v)
	{
		ctl_table_addv(t, k, ctl_jtext(v, b, sizeof(b)));
	}
	json_decref(flat);
}

static const char *settings_text(const json_t *v, char *b, size_t n)
{
	size_t i, o = 0;
	json_t *x;

	if (!json_is_array(v))
		return ctl_jtext(v, b, n);
	b[0] = '\0';
	json_array_foreach(v, i, x)
	{
		char e[128];

		o += (size_t)snprintf(b + o, o < n ? n - o : 0, "%s%s",
				      i ? "," : "", ctl_jtext(x, e, sizeof(e)));
	}
	return json_array_size(v) ? b : "(none)";
}

int ctl_settings_show(struct ctl *c, const json_t *reply)
{
	static const char *const h[] = {"SETTING", "VALUE", "SOURCE"};
	json_t *eff, *set, *v;
	struct ctl_table *t;
	const char *k;
	char b[512];

	if (c->json) {
		ctl_print_json(reply);
		return CTL_OK;
	}
	eff = json_object();
	set = json_object();
	settings_flat(json_object_get(reply, "effective"), "", eff);
	settings_flat(json_object_get(reply, "settings"), "", set);
	t = ctl_table_new(3, h);
	json_object_foreach(eff, k, v)
	{
		ctl_table_addv(t, k, settings_text(v, b, sizeof(b)),
			       json_object_get(set, k) ? "set here"
						       : "inherited");
	}
	ctl_table_print(t, stdout, "no settings");
	ctl_table_free(t);
	json_decref(eff);
	json_decref(set);
	return CTL_OK;
}

/* Merge "k=v" words into the current overrides and PUT them. */
int ctl_settings_set(struct ctl *c, const char *path, const char *const *kv,
		     int nkv)
{
	json_t *cur = NULL, *body, *r = NULL;
	char err[256];
	int i, rc;

	if (nkv == 0)
		return ctl_fail(CTL_USAGE, "settings set needs key=value words "
					   "(e.g. live_patch=enforce)");
	rc = ctl_call(c, "GET", path, NULL, &cur);
	if (rc)
		return rc;
	body = json_deep_copy(json_object_get(cur, "settings"));
	if (!json_is_object(body)) {
		json_decref(body);
		body = json_object();
	}
	json_decref(cur);
	for (i = 0; i < nkv; i++) {
		if (ctl_args_kv(kv[i], body, err, sizeof(err)) < 0) {
			json_decref(body);
			return ctl_fail(CTL_USAGE, "%s", err);
		}
	}
	/* "key=" removes an override: drop the nulls at the top. */
	{
		const char *k;
		void *tmp;
		json_t *v;

		json_object_foreach_safe(body, tmp, k, v)
		{
			if (json_is_null(v))
				json_object_del(body, k);
		}
	}
	rc = ctl_call(c, "PUT", path, body, &r);
	json_decref(body);
	if (rc)
		return rc;
	rc = ctl_settings_show(c, r);
	json_decref(r);
	return rc;
}

static int cmd_settings_get(struct ctl *c, const struct ctl_args *a)
{
	json_t *r = NULL;
	int rc = ctl_call(c, "GET", "/api/v1/settings", NULL, &r);

	if (rc)
		return rc;
	rc = ctl_settings_show(c, r);
	json_decref(r);
	return rc;
}

static int cmd_settings_set(struct ctl *c, const struct ctl_args *a)
{
	return ctl_settings_set(c, "/api/v1/settings", a->pos, a->npos);
}

const struct ctl_cmd ctl_settings_cmds[] = {
    {"get", "", "Show the global settings", NULL, NULL, cmd_settings_get, NULL,
     0, 0, NULL},
    {"set", "KEY=VALUE...", "Change global settings",
     "Keys: live_patch (disable|auto|enforce), drs_automation, "
     "parallel_remediation.enabled,\nparallel_remediation.max_hosts, "
     "failure_action.action (fail|retry), tolerated_failures,\n"
     "power_policy (power_off|suspend|do_not_change), ... 'key=' removes "
     "an override.",
     NULL, cmd_settings_set, NULL, 1, -1, NULL},
    END_CMD,
};
