/*
 * cmd_inventory.c — clusters, hosts and VMs.
 *
 * Adding a host is a two-step conversation with the center, as with
 * vCenter: the first POST (without a thumbprint) makes the center connect to
 * the host and answer with the certificate's thumbprint; a person confirms
 * it (or passes --thumbprint), and the second POST pins it. Without a
 * terminal nobody can confirm, so seamctl refuses rather than trusts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
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

static int inv_get_print(struct ctl *c, const char *path,
			 void (*show)(const json_t *r))
{
	json_t *r = NULL;
	int rc = ctl_call(c, "GET", path, NULL, &r);

	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		show(r);
	json_decref(r);
	return CTL_OK;
}

static int inv_delete(struct ctl *c, const char *path, const char *what,
		      const char *name, const char *done)
{
	json_t *r = NULL;
	int rc = ctl_call(c, "DELETE", path, NULL, &r);

	json_decref(r);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json_new(json_pack("{s:s,s:b}", what, name, done, 1));
	else
		printf("%c%s '%s' %s.\n", what[0] - 32, what + 1, name, done);
	return CTL_OK;
}

/* ---- clusters ---- */

static void cluster_table(const json_t *r)
{
	static const char *const h[] = {"NAME", ">ID", ">HOSTS", ">IMAGES",
					"CREATED"};
	struct ctl_table *t = ctl_table_new(5, h);
	char b1[32], b2[32], b3[32];
	json_t *x;
	size_t i;

	json_array_foreach(json_object_get(r, "clusters"), i, x)
	{
		ctl_table_addv(t, ctl_jstr(x, "name"),
			       ctl_jfield(x, "id", b1, sizeof(b1)),
			       ctl_jfield(x, "hosts", b2, sizeof(b2)),
			       ctl_jfield(x, "images", b3, sizeof(b3)),
			       ctl_jstr(x, "created"));
	}
	ctl_table_print(
	    t, stdout, "no clusters (create one: seamctl cluster create NAME)");
	ctl_table_free(t);
}

static int cmd_cluster_list(struct ctl *c, const struct ctl_args *a)
{
	return inv_get_print(c, "/api/v1/clusters", cluster_table);
}

static int cmd_cluster_create(struct ctl *c, const struct ctl_args *a)
{
	json_t *body = json_pack("{s:s}", "name", a->pos[0]), *set, *r = NULL;
	char err[256];
	int i, rc;

	if (a->npos > 1) {
		set = json_object();
		json_object_set_new(body, "settings", set);
		for (i = 1; i < a->npos; i++)
			if (ctl_args_kv(a->pos[i], set, err, sizeof(err)) < 0) {
				json_decref(body);
				return ctl_fail(CTL_USAGE, "%s", err);
			}
	}
	rc = ctl_call(c, "POST", "/api/v1/clusters", body, &r);
	json_decref(body);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		printf("Cluster '%s' created (id %lld).\n", ctl_jstr(r, "name"),
		       (long long)json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	return CTL_OK;
}

static int cmd_cluster_rename(struct ctl *c, const struct ctl_args *a)
{
	json_t *body = json_pack("{s:s}", "name", a->pos[1]), *r = NULL;
	char path[300], name[200];
	int rc;

	snprintf(path, sizeof(path), "/api/v1/clusters/%s",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	rc = ctl_call(c, "PATCH", path, body, &r);
	json_decref(body);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		printf("Cluster '%s' renamed to '%s'.\n", a->pos[0],
		       ctl_jstr(r, "name") ? ctl_jstr(r, "name") : a->pos[1]);
	json_decref(r);
	return CTL_OK;
}

static int cmd_cluster_delete(struct ctl *c, const struct ctl_args *a)
{
	char path[300], name[200];

	snprintf(path, sizeof(path), "/api/v1/clusters/%s",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	return inv_delete(c, path, "cluster", a->pos[0], "deleted");
}

static void host_table(const json_t *hosts, const json_t *vms);
static int host_list_get(struct ctl *c, const char *cluster, json_t **hosts,
			 json_t **vms);

static int cmd_cluster_show(struct ctl *c, const struct ctl_args *a)
{
	char path[300], name[200];
	json_t *cl = NULL, *hosts = NULL, *vms = NULL, *all;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/clusters/%s",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	rc = ctl_call(c, "GET", path, NULL, &cl);
	if (rc)
		return rc;
	rc = host_list_get(c, a->pos[0], &hosts, &vms);
	if (rc) {
		json_decref(cl);
		return rc;
	}
	if (c->json) {
		all = json_deep_copy(cl);
		json_object_set(all, "host_list",
				json_object_get(hosts, "hosts"));
		ctl_print_json(all);
		json_decref(all);
	} else {
		printf("Cluster: %s (id %lld)\nCreated: %s\nImages:  %lld\n\n",
		       ctl_jstr(cl, "name"),
		       (long long)json_integer_value(json_object_get(cl, "id")),
		       ctl_jstr(cl, "created"),
		       (long long)json_integer_value(
			   json_object_get(cl, "images")));
		host_table(json_object_get(hosts, "hosts"),
			   json_object_get(vms, "vms"));
	}
	json_decref(cl);
	json_decref(hosts);
	json_decref(vms);
	return CTL_OK;
}

static int cmd_cluster_settings(struct ctl *c, const struct ctl_args *a)
{
	char path[300], name[200];
	const char *verb = a->npos > 1 ? a->pos[1] : "get";
	json_t *r = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/clusters/%s/settings",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	if (!strcmp(verb, "set"))
		return ctl_settings_set(c, path, a->pos + 2, a->npos - 2);
	if (strcmp(verb, "get") || a->npos > 2)
		return ctl_fail(CTL_USAGE, "usage: seamctl cluster settings "
					   "CLUSTER [get | set KEY=VALUE...]");
	rc = ctl_call(c, "GET", path, NULL, &r);
	if (rc)
		return rc;
	rc = ctl_settings_show(c, r);
	json_decref(r);
	return rc;
}

const struct ctl_cmd ctl_cluster_cmds[] = {
    {"list", "", "List clusters", NULL, NULL, cmd_cluster_list, NULL, 0, 0,
     NULL},
    {"create", "NAME [KEY=VALUE...]", "Create a cluster (with settings)", NULL,
     NULL, cmd_cluster_create, NULL, 1, -1, NULL},
    {"show", "CLUSTER", "Show a cluster and its hosts", NULL, NULL,
     cmd_cluster_show, NULL, 1, 1, NULL},
    {"rename", "CLUSTER NEW-NAME", "Rename a cluster", NULL, NULL,
     cmd_cluster_rename, NULL, 2, 2, NULL},
    {"delete", "CLUSTER", "Delete an empty cluster", NULL, NULL,
     cmd_cluster_delete, NULL, 1, 1, NULL},
    {"settings", "CLUSTER [get | set KEY=VALUE...]",
     "Show or change a cluster's settings overrides",
     "Without a verb, shows every effective setting and whether the "
     "cluster sets it.\n'KEY=' removes the cluster's override.",
     NULL, cmd_cluster_settings, NULL, 1, -1, NULL},
    END_CMD,
};

/* ---- hosts ---- */

static const json_t *host_inv(const json_t *h)
{
	return json_object_get(h, "inventory");
}

/* The maintenance mode of a host as words ("partial maintenance"). */
static const char *host_maint(const json_t *h, char *b, size_t n)
{
	static const char *const keys[] = {"maintenance_mode", "maintenance",
					   NULL};
	const json_t *inv = host_inv(h), *m = NULL;
	size_t i;

	for (i = 0; keys[i] && !m; i++)
		m = json_object_get(h, keys[i]);
	for (i = 0; keys[i] && !m; i++)
		m = json_object_get(inv, keys[i]);
	if (json_is_object(m))
		m = json_object_get(m, "mode");
	if (!json_is_string(m))
		return "-";
	snprintf(b, n, "%s", json_string_value(m));
	for (i = 0; b[i]; i++)
		if (b[i] == '_')
			b[i] = ' ';
	return b;
}

/* VMs per host: from the host's inventory, else counted in vms. */
static size_t host_vms(const json_t *h, const json_t *vms)
{
	const json_t *v;
	size_t i, n = 0;

	if (json_is_array(json_object_get(host_inv(h), "vms")))
		return json_array_size(json_object_get(host_inv(h), "vms"));
	json_array_foreach(vms, i, v)
	{
		if (ctl_jstr(v, "host") && ctl_jstr(h, "name") &&
		    !strcmp(ctl_jstr(v, "host"), ctl_jstr(h, "name")))
			n++;
	}
	return n;
}

static void host_table(const json_t *hosts, const json_t *vms)
{
	static const char *const h[] = {"NAME",	      "CLUSTER",     "ADDRESS",
					"STATE",      "MAINTENANCE", "IMAGE",
					"COMPLIANCE", ">VMS"};
	struct ctl_table *t = ctl_table_new(8, h);
	char nvms[32], mb[64], cb[64];
	json_t *x;
	size_t i;

	json_array_foreach(hosts, i, x)
	{
		const char *img = ctl_jstr(x, "base_image");
		const char *cmp = ctl_jstr(x, "compliance");
		size_t k;

		snprintf(cb, sizeof(cb), "%s", cmp ? cmp : "-");
		for (k = 0; cb[k]; k++)
			if (cb[k] == '_')
				cb[k] = '-';
		snprintf(nvms, sizeof(nvms), "%zu", host_vms(x, vms));
		ctl_table_addv(t, ctl_jstr(x, "name"), ctl_jstr(x, "cluster"),
			       ctl_jstr(x, "address"), ctl_jstr(x, "state"),
			       host_maint(x, mb, sizeof(mb)),
			       img ? img : ctl_jstr(x, "version"), cb, nvms);
	}
	ctl_table_print(t, stdout, "no hosts (add one: seamctl host add)");
	ctl_table_free(t);
}

/* GET hosts (of a cluster) and the VMs, for the host table. */
static int host_list_get(struct ctl *c, const char *cluster, json_t **hosts,
			 json_t **vms)
{
	char path[300], name[200];
	int rc;

	*hosts = *vms = NULL;
	if (cluster)
		snprintf(path, sizeof(path), "/api/v1/hosts?cluster=%s",
			 ctl_esc(cluster, name, sizeof(name)));
	else
		snprintf(path, sizeof(path), "/api/v1/hosts");
	rc = ctl_call(c, "GET", path, NULL, hosts);
	if (rc || c->json)
		return rc;
	rc = ctl_call(c, "GET", "/api/v1/vms", NULL, vms);
	if (rc) {
		json_decref(*hosts);
		*hosts = NULL;
	}
	return rc;
}

static const struct ctl_opt host_list_opts[] = {
    {"cluster", 'c', "CLUSTER", "only the hosts of CLUSTER"},
    EMPTY_OPTS,
};

static int cmd_host_list(struct ctl *c, const struct ctl_args *a)
{
	json_t *r = NULL, *vms = NULL;
	int rc = host_list_get(c, ctl_arg(a, "cluster"), &r, &vms);

	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		host_table(json_object_get(r, "hosts"),
			   json_object_get(vms, "vms"));
	json_decref(r);
	json_decref(vms);
	return CTL_OK;
}

static const struct ctl_opt host_add_opts[] = {
    {"cluster", 'c', "CLUSTER", "the cluster to add the host to (required)"},
    {"token", 't', "TOKEN", "the host's enrollment token (required)"},
    {"name", 'n', "NAME", "the host's name (default: its address)"},
    {"thumbprint", 0, "SHA256", "the host certificate's thumbprint you expect"},
    EMPTY_OPTS,
};

/*
 * POST path with body; when the center asks for confirmation, show the
 * thumbprint, ask, and repeat with it. *out gets the final reply.
 */
static int host_pinned_post(struct ctl *c, const char *path, json_t *body,
			    json_t **out)
{
	char fmt[TLS_THUMBPRINT_FMT_SIZE], q[256];
	json_t *r = NULL;
	long status;
	int rc;

	rc = ctl_call_status(c, "POST", path, body, &status, &r);
	if (rc)
		return rc;
	if (!json_is_true(json_object_get(r, "needs_confirmation"))) {
		*out = r;
		return CTL_OK;
	}
	tls_thumbprint_format(ctl_jstr(r, "thumbprint"), fmt, sizeof(fmt));
	fprintf(stderr,
		"The host at %s presents a certificate with SHA-256 "
		"thumbprint\n  %s\n",
		ctl_jstr(r, "address"), fmt);
	if (!c->in_tty) {
		rc = ctl_fail(CTL_FAILED,
			      "not a terminal: nobody confirmed the host's "
			      "certificate; nothing was changed. After "
			      "checking it, pass --thumbprint %s",
			      ctl_jstr(r, "thumbprint"));
		json_decref(r);
		return rc;
	}
	snprintf(q, sizeof(q), "Trust this host's certificate?");
	if (!ctl_confirm(c, q)) {
		json_decref(r);
		return ctl_fail(CTL_FAILED,
				"certificate not confirmed; nothing was "
				"changed");
	}
	json_object_set(body, "thumbprint", json_object_get(r, "thumbprint"));
	json_decref(r);
	r = NULL;
	rc = ctl_call_status(c, "POST", path, body, &status, &r);
	if (rc)
		return rc;
	*out = r;
	return CTL_OK;
}

static int cmd_host_add(struct ctl *c, const struct ctl_args *a)
{
	json_t *body, *r = NULL;
	int rc;

	if (!ctl_arg(a, "cluster") || !ctl_arg(a, "token"))
		return ctl_fail(CTL_USAGE,
				"usage: seamctl host add ADDRESS --cluster "
				"CLUSTER --token TOKEN [--name NAME] "
				"[--thumbprint SHA256]");
	body = json_pack("{s:s,s:s,s:s}", "address", a->pos[0], "cluster",
			 ctl_arg(a, "cluster"), "token", ctl_arg(a, "token"));
	if (ctl_arg(a, "name"))
		json_object_set_new(body, "name",
				    json_string(ctl_arg(a, "name")));
	if (ctl_arg(a, "thumbprint"))
		json_object_set_new(body, "thumbprint",
				    json_string(ctl_arg(a, "thumbprint")));
	rc = host_pinned_post(c, "/api/v1/hosts", body, &r);
	json_decref(body);
	if (rc)
		return rc;
	if (c->json) {
		ctl_print_json(r);
	} else {
		char fmt[TLS_THUMBPRINT_FMT_SIZE];

		tls_thumbprint_format(
		    ctl_jstr(r, "thumbprint") ? ctl_jstr(r, "thumbprint") : "",
		    fmt, sizeof(fmt));
		printf("Host '%s' added to cluster '%s'; certificate pinned "
		       "(SHA-256 %s).\n",
		       ctl_jstr(r, "name"),
		       ctl_jstr(r, "cluster") ? ctl_jstr(r, "cluster")
					      : ctl_arg(a, "cluster"),
		       ctl_jstr(r, "thumbprint") ? fmt : "-");
	}
	json_decref(r);
	return CTL_OK;
}

static int cmd_host_remove(struct ctl *c, const struct ctl_args *a)
{
	char path[300], name[200];

	snprintf(path, sizeof(path), "/api/v1/hosts/%s",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	return inv_delete(c, path, "host", a->pos[0], "removed");
}

static const struct ctl_opt host_reconnect_opts[] = {
    {"address", 0, "HOST:PORT", "a new address"},
    {"token", 't', "TOKEN", "a new enrollment token"},
    {"thumbprint", 0, "SHA256", "confirm a new certificate"},
    EMPTY_OPTS,
};

static int cmd_host_reconnect(struct ctl *c, const struct ctl_args *a)
{
	char path[300], name[200];
	json_t *body = json_object(), *r = NULL;
	static const char *const keys[] = {"address", "token", "thumbprint"};
	int i, rc;

	for (i = 0; i < 3; i++)
		if (ctl_arg(a, keys[i]))
			json_object_set_new(body, keys[i],
					    json_string(ctl_arg(a, keys[i])));
	snprintf(path, sizeof(path), "/api/v1/hosts/%s/reconnect",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	rc = host_pinned_post(c, path, body, &r);
	json_decref(body);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		printf("Host '%s' reconnected: %s.\n", a->pos[0],
		       ctl_jstr(r, "state") ? ctl_jstr(r, "state") : "ok");
	json_decref(r);
	return CTL_OK;
}

/* PATCH /hosts/{host} with one field: rename or move. */
static int host_patch(struct ctl *c, const char *host, const char *field,
		      const char *value, const char *done)
{
	char path[300], name[200];
	json_t *body = json_pack("{s:s}", field, value), *r = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/hosts/%s",
		 ctl_esc(host, name, sizeof(name)));
	rc = ctl_call(c, "PATCH", path, body, &r);
	json_decref(body);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		printf("Host '%s' %s '%s'.\n", host, done, value);
	json_decref(r);
	return CTL_OK;
}

static int cmd_host_rename(struct ctl *c, const struct ctl_args *a)
{
	return host_patch(c, a->pos[0], "name", a->pos[1], "renamed to");
}

static int cmd_host_move(struct ctl *c, const struct ctl_args *a)
{
	return host_patch(c, a->pos[0], "cluster", a->pos[1],
			  "moved to cluster");
}

static int cmd_host_maintenance(struct ctl *c, const struct ctl_args *a)
{
	char path[300], name[200], mb[64];
	json_t *body, *r = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/hosts/%s",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	if (a->npos == 1) {
		rc = ctl_call(c, "GET", path, NULL, &r);
	} else {
		strcat(path, "/maintenance");
		body = json_pack("{s:s}", "mode", a->pos[1]);
		rc = ctl_call(c, "PUT", path, body, &r);
		json_decref(body);
	}
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		printf("Host '%s': maintenance mode %s.\n", a->pos[0],
		       host_maint(r, mb, sizeof(mb)));
	json_decref(r);
	return CTL_OK;
}

static void vm_table(const json_t *vms, const char *host);

static void host_show(const json_t *h)
{
	static const char *const hh[] = {"ATTRIBUTE", "VALUE"};
	const json_t *attrs = json_object_get(host_inv(h), "host");
	struct ctl_table *t;
	char fmt[TLS_THUMBPRINT_FMT_SIZE], mb[64];

	tls_thumbprint_format(
	    ctl_jstr(h, "thumbprint") ? ctl_jstr(h, "thumbprint") : "", fmt,
	    sizeof(fmt));
	printf("Host:        %s (id %lld)\n", ctl_jstr(h, "name"),
	       (long long)json_integer_value(json_object_get(h, "id")));
	printf("Cluster:     %s\n", ctl_jstr(h, "cluster"));
	printf("Address:     %s\n", ctl_jstr(h, "address"));
	printf("State:       %s%s%s\n", ctl_jstr(h, "state"),
	       ctl_jstr(h, "state_error") ? " — " : "",
	       ctl_jstr(h, "state_error") ? ctl_jstr(h, "state_error") : "");
	printf("Maintenance: %s\n", host_maint(h, mb, sizeof(mb)));
	printf("Version:     %s\n",
	       ctl_jstr(h, "version") ? ctl_jstr(h, "version") : "-");
	printf("Certificate: SHA-256 %s\n",
	       ctl_jstr(h, "thumbprint") ? fmt : "-");
	printf("Inventory:   %s\n\n", ctl_jstr(h, "inventory_time")
					  ? ctl_jstr(h, "inventory_time")
					  : "-");
	if (json_is_object(attrs) && json_object_size(attrs)) {
		t = ctl_table_new(2, hh);
		ctl_flatten(attrs, "", t);
		ctl_table_print(t, stdout, NULL);
		ctl_table_free(t);
		printf("\n");
	}
	vm_table(json_object_get(host_inv(h), "vms"), ctl_jstr(h, "name"));
}

static int cmd_host_show(struct ctl *c, const struct ctl_args *a)
{
	char path[300], name[200];

	snprintf(path, sizeof(path), "/api/v1/hosts/%s",
		 ctl_esc(a->pos[0], name, sizeof(name)));
	return inv_get_print(c, path, host_show);
}

const struct ctl_cmd ctl_host_cmds[] = {
    {"list", "", "List hosts", NULL, host_list_opts, cmd_host_list, NULL, 0, 0,
     NULL},
    {"add", "ADDRESS", "Add a host, confirming its certificate",
     "The center connects to HOST:PORT and reports the certificate's "
     "thumbprint; on a\nterminal you are asked to confirm it, otherwise "
     "--thumbprint is required.",
     host_add_opts, cmd_host_add, NULL, 1, 1, NULL},
    {"remove", "HOST", "Remove a host from the inventory", NULL, NULL,
     cmd_host_remove, NULL, 1, 1, NULL},
    {"reconnect", "HOST",
     "Reconnect a host (new address, token or "
     "certificate)",
     NULL, host_reconnect_opts, cmd_host_reconnect, NULL, 1, 1, NULL},
    {"show", "HOST", "Show a host, its attributes and VMs", NULL, NULL,
     cmd_host_show, NULL, 1, 1, NULL},
    {"rename", "HOST NEW-NAME", "Rename a host", NULL, NULL, cmd_host_rename,
     NULL, 2, 2, "host rename"},
    {"move", "HOST CLUSTER", "Move a host to another cluster",
     "Refused when the target cluster's images do not cover the host.", NULL,
     cmd_host_move, NULL, 2, 2, "host move"},
    {"maintenance", "HOST [none|partial|full]",
     "Show or set a host's maintenance mode",
     "partial: running VMs stay (live patch); full: the host must have no "
     "running VM.",
     NULL, cmd_host_maintenance, NULL, 1, 2, "host maintenance"},
    END_CMD,
};

/* ---- VMs ---- */

static const char *vm_flags(const json_t *v, char *b, size_t n)
{
	static const char *const f[] = {"passthrough", "fault_tolerance", "pod",
					NULL};
	size_t o = 0;
	int i;

	b[0] = '\0';
	for (i = 0; f[i]; i++)
		if (json_is_true(json_object_get(v, f[i])))
			o += (size_t)snprintf(b + o, o < n ? n - o : 0, "%s%s",
					      o ? "," : "", f[i]);
	return o ? b : "-";
}

static const char *vm_mem(const json_t *v, char *b, size_t n)
{
	const json_t *m = json_object_get(v, "mem_mib");

	if (!m)
		m = json_object_get(v, "mem");
	if (json_is_integer(m)) {
		snprintf(b, n, "%lld MiB", (long long)json_integer_value(m));
		return b;
	}
	return ctl_jtext(m, b, n);
}

static void vm_table(const json_t *vms, const char *host)
{
	static const char *const h[] = {"NAME", "HOST",	  "STATE", "VMX",
					">MEM", ">VCPUS", "FLAGS"};
	struct ctl_table *t = ctl_table_new(7, h);
	char b1[32], b2[32], b3[128];
	json_t *x;
	size_t i;

	json_array_foreach(vms, i, x)
	{
		const char *vmx = ctl_jstr(x, "vmx_version");

		ctl_table_addv(t, ctl_jstr(x, "name"),
			       ctl_jstr(x, "host") ? ctl_jstr(x, "host") : host,
			       ctl_jstr(x, "state"), vmx,
			       vm_mem(x, b1, sizeof(b1)),
			       ctl_jfield(x, "vcpus", b2, sizeof(b2)),
			       vm_flags(x, b3, sizeof(b3)));
	}
	ctl_table_print(t, stdout, "no VMs");
	ctl_table_free(t);
}

static const struct ctl_opt vm_list_opts[] = {
    {"cluster", 'c', "CLUSTER", "only the VMs of CLUSTER"},
    {"host", 0, "HOST", "only the VMs of HOST"},
    EMPTY_OPTS,
};

static int cmd_vm_list(struct ctl *c, const struct ctl_args *a)
{
	char path[600], e1[200], e2[200];
	json_t *r = NULL;
	int rc;

	snprintf(path, sizeof(path), "/api/v1/vms?%s%s%s%s",
		 ctl_arg(a, "cluster") ? "cluster=" : "",
		 ctl_arg(a, "cluster")
		     ? ctl_esc(ctl_arg(a, "cluster"), e1, sizeof(e1))
		     : "",
		 ctl_arg(a, "host") ? "&host=" : "",
		 ctl_arg(a, "host")
		     ? ctl_esc(ctl_arg(a, "host"), e2, sizeof(e2))
		     : "");
	rc = ctl_call(c, "GET", path, NULL, &r);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		vm_table(json_object_get(r, "vms"), NULL);
	json_decref(r);
	return CTL_OK;
}

static const struct ctl_opt vm_create_opts[] = {
    {"mem", 'm', "SIZE", "memory: 512M, 2G or MiB (required)"},
    {"vcpus", 0, "N", "virtual CPUs (required)"},
    {"cmdline", 0, "ARGS", "guest command line (heartbeat=10,verify=32)"},
    {"kernel", 0, "FILE", "guest kernel on the host"},
    {"cluster", 'c', "CLUSTER", "place in CLUSTER (DRS picks the host)"},
    {"host", 0, "HOST", "place on HOST instead of letting DRS choose"},
    {"passthrough", 0, NULL, "the VM has a passthrough device"},
    {"fault-tolerance", 0, NULL, "the VM is fault tolerant"},
    {"pod", 0, NULL, "the VM is a pod VM"},
    EMPTY_OPTS,
};

static int cmd_vm_create(struct ctl *c, const struct ctl_args *a)
{
	const char *mem = ctl_arg(a, "mem"), *vcpus = ctl_arg(a, "vcpus");
	json_t *body, *r = NULL;
	char *end;
	long n;
	int rc;

	if (!mem || !vcpus)
		return ctl_fail(CTL_USAGE,
				"usage: seamctl vm create NAME --mem "
				"SIZE --vcpus N [OPTIONS]");
	n = strtol(vcpus, &end, 10);
	if (*end || n <= 0)
		return ctl_fail(CTL_USAGE,
				"--vcpus '%s' is not a positive "
				"number",
				vcpus);
	body = json_pack("{s:s,s:s,s:I}", "name", a->pos[0], "mem", mem,
			 "vcpus", (json_int_t)n);
	if (ctl_arg(a, "cmdline"))
		json_object_set_new(body, "cmdline",
				    json_string(ctl_arg(a, "cmdline")));
	if (ctl_arg(a, "kernel"))
		json_object_set_new(body, "kernel",
				    json_string(ctl_arg(a, "kernel")));
	if (ctl_arg(a, "cluster"))
		json_object_set_new(body, "cluster",
				    json_string(ctl_arg(a, "cluster")));
	if (ctl_arg(a, "host"))
		json_object_set_new(body, "host",
				    json_string(ctl_arg(a, "host")));
	if (ctl_arg_has(a, "passthrough"))
		json_object_set_new(body, "passthrough", json_true());
	if (ctl_arg_has(a, "fault-tolerance"))
		json_object_set_new(body, "fault_tolerance", json_true());
	if (ctl_arg_has(a, "pod"))
		json_object_set_new(body, "pod", json_true());
	rc = ctl_call(c, "POST", "/api/v1/vms", body, &r);
	json_decref(body);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(r);
	else
		printf("VM '%s' created on host '%s' (%s).\n", a->pos[0],
		       ctl_jstr(r, "host") ? ctl_jstr(r, "host") : "-",
		       ctl_jstr(r, "state") ? ctl_jstr(r, "state") : "created");
	json_decref(r);
	return CTL_OK;
}

static const struct ctl_opt vm_op_opts[] = {
    {"host", 0, "HOST", "the VM's host, when its name is not unique"},
    EMPTY_OPTS,
};
static const struct ctl_opt vm_off_opts[] = {
    {"host", 0, "HOST", "the VM's host, when its name is not unique"},
    {"force", 'f', NULL, "stop at once instead of asking the guest"},
    EMPTY_OPTS,
};

static void vm_path(const struct ctl_args *a, const char *suffix, char *path,
		    size_t n)
{
	char name[200], host[200];

	snprintf(path, n, "/api/v1/vms/%s%s%s%s",
		 ctl_esc(a->pos[0], name, sizeof(name)), suffix,
		 ctl_arg(a, "host") ? "?host=" : "",
		 ctl_arg(a, "host")
		     ? ctl_esc(ctl_arg(a, "host"), host, sizeof(host))
		     : "");
}

static int vm_power(struct ctl *c, const struct ctl_args *a, const char *op,
		    json_t *body)
{
	char path[600];
	json_t *r = NULL;
	int rc;

	vm_path(a, op, path, sizeof(path));
	rc = ctl_call(c, "POST", path, body, &r);
	if (rc)
		return rc;
	if (c->json)
		ctl_print_json_new(r ? json_incref(r)
				     : json_pack("{s:s,s:s}", "vm", a->pos[0],
						 "done", op + 1));
	else
		printf("VM '%s': %s.\n", a->pos[0],
		       ctl_jstr(r, "state") ? ctl_jstr(r, "state") : op + 1);
	json_decref(r);
	return CTL_OK;
}

static int cmd_vm_power_on(struct ctl *c, const struct ctl_args *a)
{
	return vm_power(c, a, "/power-on", NULL);
}

static int cmd_vm_power_off(struct ctl *c, const struct ctl_args *a)
{
	json_t *body = json_object();
	int rc;

	if (ctl_arg_has(a, "force"))
		json_object_set_new(body, "force", json_true());
	rc = vm_power(c, a, "/power-off", body);
	json_decref(body);
	return rc;
}

static int cmd_vm_suspend(struct ctl *c, const struct ctl_args *a)
{
	return vm_power(c, a, "/suspend", NULL);
}

static int cmd_vm_delete(struct ctl *c, const struct ctl_args *a)
{
	char path[600];

	vm_path(a, "", path, sizeof(path));
	return inv_delete(c, path, "vm", a->pos[0], "deleted");
}

static void vm_show(const json_t *v)
{
	static const char *const h[] = {"FIELD", "VALUE"};
	struct ctl_table *t = ctl_table_new(2, h);

	ctl_flatten(v, "", t);
	ctl_table_print(t, stdout, NULL);
	ctl_table_free(t);
}

static int cmd_vm_show(struct ctl *c, const struct ctl_args *a)
{
	char path[600];

	vm_path(a, "", path, sizeof(path));
	return inv_get_print(c, path, vm_show);
}

const struct ctl_cmd ctl_vm_cmds[] = {
    {"list", "", "List VMs with their host, state and vmx version", NULL,
     vm_list_opts, cmd_vm_list, NULL, 0, 0, NULL},
    {"create", "NAME", "Create a VM (DRS places it unless --host)", NULL,
     vm_create_opts, cmd_vm_create, NULL, 1, 1, NULL},
    {"power-on", "NAME", "Power a VM on", NULL, vm_op_opts, cmd_vm_power_on,
     NULL, 1, 1, NULL},
    {"power-off", "NAME", "Power a VM off", NULL, vm_off_opts, cmd_vm_power_off,
     NULL, 1, 1, NULL},
    {"suspend", "NAME",
     "Suspend a VM to disk on its host (power-on resumes it)", NULL, vm_op_opts,
     cmd_vm_suspend, NULL, 1, 1, NULL},
    {"delete", "NAME", "Delete a VM", NULL, vm_op_opts, cmd_vm_delete, NULL, 1,
     1, NULL},
    {"show", "NAME", "Show a VM", NULL, vm_op_opts, cmd_vm_show, NULL, 1, 1,
     NULL},
    END_CMD,
};
