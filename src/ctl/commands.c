/*
 * commands.c — the top-level command table, help and bash completion, and
 * the dispatch from argv to a handler.
 */
#include "commands.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_client.h"

const struct ctl_opt ctl_global_opts[] = {
    {"json", 0, NULL, "print the API's JSON instead of tables"},
    {"config", 0, "FILE",
     "config file (default $SEAMCTL_CONFIG or "
     "~/.config/seam/seamctl.json)"},
    {"no-wait", 0, NULL, "start a task and return without following it"},
    {"timeout", 0, "SECONDS", "give up following a task after SECONDS"},
    {"help", 'h', NULL, "show help"},
    {NULL, 0, NULL, NULL},
};

const struct ctl_cmd ctl_commands[] = {
    {"login", "", "Log in to a seam-center and pin its certificate",
     "Fetches the server certificate's SHA-256 thumbprint and asks you to "
     "confirm it\n(on a terminal), or takes --thumbprint. Saves the URL, "
     "the token and the pinned\nthumbprint in the config file (0600).",
     ctl_login_opts, ctl_cmd_login, NULL, 0, 0, NULL},
    {"logout", "", "Forget the saved server and token", NULL, NULL,
     ctl_cmd_logout, NULL, 0, 0, NULL},
    {"whoami", "", "Show the user and role of the saved token", NULL, NULL,
     ctl_cmd_whoami, NULL, 0, 0, NULL},
    {"token", NULL, "API tokens: create, list, revoke", NULL, NULL, NULL,
     ctl_token_cmds, 0, 0, NULL},
    {"user", NULL, "Users and roles (admin, operator, viewer)", NULL, NULL,
     NULL, ctl_user_cmds, 0, 0, NULL},
    {"settings", NULL, "Global lifecycle settings", NULL, NULL, NULL,
     ctl_settings_cmds, 0, 0, NULL},
    {"cluster", NULL, "Clusters: list, create, rename, delete, settings", NULL,
     NULL, NULL, ctl_cluster_cmds, 0, 0, NULL},
    {"host", NULL, "Hosts: list, add (pinned), remove, reconnect, show", NULL,
     NULL, NULL, ctl_host_cmds, 0, 0, NULL},
    {"vm", NULL, "Virtual machines: list, create, power, suspend, delete, show",
     NULL, NULL, NULL, ctl_vm_cmds, 0, 0, NULL},
    {"depot", NULL, "The depot: import bundles, list and show releases", NULL,
     NULL, NULL, ctl_depot_cmds, 0, 0, NULL},
    {"image", NULL, "A cluster's desired image: show, set, export, import",
     NULL, NULL, NULL, ctl_image_cmds, 0, 0, NULL},
    {"compliance", NULL, "Check and show the compliance of a cluster", NULL,
     NULL, NULL, ctl_compliance_cmds, 0, 0, NULL},
    {"precheck", "CLUSTER", "Pre-check a cluster for remediation (a task)",
     NULL, ctl_lifecycle_opts, ctl_cmd_precheck, NULL, 1, 1, "pre-check"},
    {"stage", "CLUSTER", "Stage the image on every host (a task)", NULL,
     ctl_lifecycle_opts, ctl_cmd_stage, NULL, 1, 1, "stage"},
    {"remediate", "CLUSTER", "Remediate a cluster to its image (a task)", NULL,
     ctl_lifecycle_opts, ctl_cmd_remediate, NULL, 1, 1, "remediate"},
    {"cancel", "CLUSTER", "Cancel a cluster's running lifecycle task",
     "The run stops after its current step and leaves every host in a "
     "consistent mode.",
     NULL, ctl_cmd_cancel, NULL, 1, 1, "cancel"},
    {"task", NULL, "Tasks: list, show, wait", NULL, NULL, NULL, ctl_task_cmds,
     0, 0, NULL},
    {"events", "", "Show the event log; --follow streams it", NULL,
     ctl_events_opts, ctl_cmd_events, NULL, 0, 0, "events"},
    {"completion", NULL, "Shell completion scripts", NULL, NULL, NULL,
     ctl_completion_cmds, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

/* ---- help ---- */

static void help_opts(FILE *f, const char *title, const struct ctl_opt *o)
{
	char left[64];

	if (!o || !o->name)
		return;
	fprintf(f, "\n%s:\n", title);
	for (; o->name; o++) {
		if (o->shortc)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->shortc,
				 o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-26s %s\n", left, o->help);
	}
}

void ctl_help(FILE *f, const struct ctl_cmd *parent, const struct ctl_cmd *cmd)
{
	const struct ctl_cmd *s;
	char path[128];

	if (!cmd) {
		fprintf(f, "Usage: seamctl COMMAND [SUBCOMMAND] [ARGS] "
			   "[OPTIONS]\n\n"
			   "seamctl drives a seam-center: inventory, depot, "
			   "images, compliance and\nlive-patch remediation. "
			   "Run 'seamctl COMMAND --help' for a command.\n\n"
			   "Commands:\n");
		for (s = ctl_commands; s->name; s++)
			fprintf(f, "  %-12s %s\n", s->name, s->help);
		help_opts(f, "Global options", ctl_global_opts);
		fprintf(f, "\nExit codes: 0 ok, 1 operation or task failed, 2 "
			   "usage error,\n3 connection/TLS/pinning failure, 4 "
			   "authentication failure.\n");
		return;
	}
	snprintf(path, sizeof(path), "%s%s%s", parent ? parent->name : "",
		 parent ? " " : "", cmd->name);
	if (cmd->sub) {
		fprintf(f,
			"Usage: seamctl %s COMMAND [ARGS] [OPTIONS]\n\n%s.\n",
			path, cmd->help);
		if (cmd->more)
			fprintf(f, "\n%s\n", cmd->more);
		fprintf(f, "\nCommands:\n");
		for (s = cmd->sub; s->name; s++)
			fprintf(f, "  %-12s %s\n", s->name, s->help);
	} else {
		fprintf(f, "Usage: seamctl %s%s%s [OPTIONS]\n\n%s.\n", path,
			cmd->usage && cmd->usage[0] ? " " : "",
			cmd->usage ? cmd->usage : "", cmd->help);
		if (cmd->more)
			fprintf(f, "\n%s\n", cmd->more);
		help_opts(f, "Options", cmd->opts);
	}
	help_opts(f, "Global options", ctl_global_opts);
}

/* ---- bash completion ---- */

/*
 * What a value completes to, from its metavariable: the names of clusters,
 * hosts, VMs or tasks (asked of the center by `seamctl completion names`),
 * or files.
 */
static const char *comp_kind(const char *meta, const char *cmd)
{
	if (!meta)
		return NULL;
	if (!strncmp(meta, "CLUSTER", 7))
		return "clusters";
	if (!strcmp(meta, "HOST"))
		return "hosts";
	if (!strcmp(meta, "VM") ||
	    (cmd && !strcmp(cmd, "vm") && !strcmp(meta, "NAME")))
		return "vms";
	if (!strcmp(meta, "ID") && cmd && !strcmp(cmd, "task"))
		return "tasks";
	if (!strncmp(meta, "FILE", 4))
		return "files";
	return NULL;
}

/* The kind of a command's first positional argument (its usage). */
static const char *comp_pos_kind(const struct ctl_cmd *top,
				 const struct ctl_cmd *leaf)
{
	char first[32];
	size_t n;

	if (!leaf->usage || !leaf->usage[0] || leaf->usage[0] == '[')
		return NULL;
	n = strcspn(leaf->usage, " .|[");
	snprintf(first, sizeof(first), "%.*s", (int)n, leaf->usage);
	return comp_kind(first, top->name);
}

static void comp_opts(FILE *f, const struct ctl_opt *o)
{
	for (; o && o->name; o++)
		fprintf(f, " --%s", o->name);
}

/* The option words already printed in one case pattern. */
struct comp_seen {
	char words[256][40];
	int n;
};

static void comp_word(FILE *f, struct comp_seen *seen, const char *w)
{
	int i;

	for (i = 0; i < seen->n; i++)
		if (!strcmp(seen->words[i], w))
			return;
	if (seen->n < 256)
		snprintf(seen->words[seen->n++], sizeof(seen->words[0]), "%s",
			 w);
	fprintf(f, "%s%s", seen->n > 1 ? "|" : "", w);
}

/* "--a|-x|--b" for every valued option of kind (NULL: any valued one). */
static void comp_valued_one(FILE *f, const struct ctl_opt *o, const char *cmd,
			    const char *kind, struct comp_seen *seen)
{
	const char *k;
	char w[48];

	for (; o && o->name; o++) {
		if (!o->arg)
			continue;
		k = comp_kind(o->arg, !strcmp(o->name, "task") ? "task" : cmd);
		if (kind && (!k || strcmp(k, kind)))
			continue;
		snprintf(w, sizeof(w), "--%s", o->name);
		comp_word(f, seen, w);
		if (o->shortc) {
			snprintf(w, sizeof(w), "-%c", o->shortc);
			comp_word(f, seen, w);
		}
	}
}

static void comp_valued(FILE *f, const char *kind)
{
	struct comp_seen *seen = calloc(1, sizeof(*seen));
	const struct ctl_cmd *c, *s;

	if (!seen)
		return;
	comp_valued_one(f, ctl_global_opts, NULL, kind, seen);
	for (c = ctl_commands; c->name; c++) {
		comp_valued_one(f, c->opts, c->name, kind, seen);
		for (s = c->sub; s && s->name; s++)
			comp_valued_one(f, s->opts, c->name, kind, seen);
	}
	free(seen);
}

static void comp_leaf(FILE *f, const struct ctl_cmd *top,
		      const struct ctl_cmd *leaf, const char *pattern)
{
	const char *k = comp_pos_kind(top, leaf);

	fprintf(f, "\t%s) leaf=1; posk=\"%s\"; words=\"", pattern, k ? k : "");
	comp_opts(f, leaf->opts);
	fprintf(f, "\" ;;\n");
}

void ctl_completion_bash(FILE *f)
{
	static const char *const kinds[] = {"clusters", "hosts", "vms",
					    "tasks",	"files", NULL};
	const struct ctl_cmd *c, *s;
	char pat[96];
	int i;

	fprintf(f, "# bash completion for seamctl — generated by "
		   "'seamctl completion bash'\n"
		   "# from seamctl's command table; do not edit.\n"
		   "_seamctl_names()\n{\n"
		   "\tif [[ $1 == files ]]; then\n"
		   "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
		   "\telif [[ -n $1 ]]; then\n"
		   "\t\tCOMPREPLY=($(compgen -W \"$(\"$ctl\" completion names "
		   "\"$1\" 2>/dev/null)\" -- \"$cur\"))\n"
		   "\tfi\n"
		   "}\n\n"
		   "_seamctl()\n{\n"
		   "\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
		   "\tlocal prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
		   "\tlocal ctl=\"${COMP_WORDS[0]}\"\n"
		   "\tlocal cmd=\"\" sub=\"\" words=\"\" posk=\"\" leaf=0 i w "
		   "skip=0\n"
		   "\tCOMPREPLY=()\n"
		   "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
		   "\t\tw=\"${COMP_WORDS[i]}\"\n"
		   "\t\tif ((skip)); then skip=0; continue; fi\n"
		   "\t\tcase \"$w\" in\n\t\t");
	comp_valued(f, NULL);
	fprintf(f, ") skip=1; continue ;;\n"
		   "\t\t-*) continue ;;\n"
		   "\t\tesac\n"
		   "\t\tif [[ -z $cmd ]]; then cmd=\"$w\"\n"
		   "\t\telif [[ -z $sub ]]; then sub=\"$w\"; fi\n"
		   "\tdone\n"
		   "\tcase \"$prev\" in\n");
	for (i = 0; kinds[i]; i++) {
		fprintf(f, "\t");
		comp_valued(f, kinds[i]);
		fprintf(f, ") _seamctl_names %s; return ;;\n", kinds[i]);
	}
	fprintf(f, "\t");
	comp_valued(f, NULL);
	fprintf(f, ") return ;;\n"
		   "\tesac\n"
		   "\tcase \"$cmd/$sub\" in\n"
		   "\t/) words=\"");
	for (c = ctl_commands; c->name; c++)
		fprintf(f, "%s%s", c == ctl_commands ? "" : " ", c->name);
	fprintf(f, "\" ;;\n");
	for (c = ctl_commands; c->name; c++) {
		if (!c->sub) {
			snprintf(pat, sizeof(pat), "%s/*", c->name);
			comp_leaf(f, c, c, pat);
			continue;
		}
		fprintf(f, "\t%s/) words=\"", c->name);
		for (s = c->sub; s->name; s++)
			fprintf(f, "%s%s", s == c->sub ? "" : " ", s->name);
		fprintf(f, "\" ;;\n");
		for (s = c->sub; s->name; s++) {
			snprintf(pat, sizeof(pat), "%s/%s", c->name, s->name);
			comp_leaf(f, c, s, pat);
		}
	}
	fprintf(f, "\tesac\n"
		   "\tif [[ $cur == -* ]]; then\n"
		   "\t\tCOMPREPLY=($(compgen -W \"$words");
	comp_opts(f, ctl_global_opts);
	fprintf(f, "\" -- \"$cur\"))\n"
		   "\telif ((leaf)); then\n"
		   "\t\t_seamctl_names \"$posk\"\n"
		   "\telse\n"
		   "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
		   "\tfi\n"
		   "}\n"
		   "complete -F _seamctl seamctl\n");
}

/* `seamctl completion names KIND`: one name per line, for the shell. */
static int cmd_completion_names(struct ctl *c, const struct ctl_args *a)
{
	json_t *names;
	static const struct {
		const char *kind, *path, *key, *field;
	} src[] = {
	    {"clusters", "/api/v1/clusters", "clusters", "name"},
	    {"hosts", "/api/v1/hosts", "hosts", "name"},
	    {"vms", "/api/v1/vms", "vms", "name"},
	    {"tasks", "/api/v1/tasks?limit=50", "tasks", "id"},
	};
	json_t *r = NULL, *x;
	char b[64];
	size_t i, j;
	int rc;

	for (i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		if (!strcmp(a->pos[0], src[i].kind))
			break;
	if (i == sizeof(src) / sizeof(src[0]))
		return ctl_fail(CTL_USAGE,
				"names of clusters, hosts, vms or "
				"tasks, not '%s'",
				a->pos[0]);
	rc = ctl_call(c, "GET", src[i].path, NULL, &r);
	if (rc)
		return rc;
	names = json_array();
	json_array_foreach(json_object_get(r, src[i].key), j, x)
	{
		if (c->json)
			json_array_append(names,
					  json_object_get(x, src[i].field));
		else
			printf("%s\n",
			       ctl_jfield(x, src[i].field, b, sizeof(b)));
	}
	if (c->json)
		ctl_print_json_new(json_pack("{s:O}", a->pos[0], names));
	json_decref(names);
	json_decref(r);
	return CTL_OK;
}

static int cmd_completion_bash(struct ctl *c, const struct ctl_args *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!c->json) {
		ctl_completion_bash(stdout);
		return CTL_OK;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		return ctl_fail(CTL_FAILED, "no memory");
	ctl_completion_bash(f);
	fclose(f);
	ctl_print_json_new(
	    json_pack("{s:s,s:s#}", "shell", "bash", "script", buf, len));
	free(buf);
	return CTL_OK;
}

const struct ctl_cmd ctl_completion_cmds[] = {
    {"names", "KIND", "Print the names of clusters, hosts, vms or tasks",
     "One per line, for the completion script.", NULL, cmd_completion_names,
     NULL, 1, 1, NULL},
    {"bash", "", "Print the bash completion script",
     "Install it with: seamctl completion bash > "
     "/etc/bash_completion.d/seamctl",
     NULL, cmd_completion_bash, NULL, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

/* ---- dispatch ---- */

static const struct ctl_cmd *cmd_find(const struct ctl_cmd *tab,
				      const char *name)
{
	for (; tab && tab->name; tab++)
		if (!strcmp(tab->name, name))
			return tab;
	return NULL;
}

static bool cmd_global_valued(const char *w)
{
	const struct ctl_opt *o;

	if (strncmp(w, "--", 2) || strchr(w, '='))
		return false;
	for (o = ctl_global_opts; o->name; o++)
		if (o->arg && !strcmp(o->name, w + 2))
			return true;
	return false;
}

static bool cmd_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

int ctl_main(int argc, char **argv)
{
	const struct ctl_opt *tabs[2] = {ctl_global_opts, NULL};
	const struct ctl_cmd *top = NULL, *leaf = NULL;
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	struct ctl c = {0};
	struct ctl_args a;
	char err[256], cfg[4096];
	int i, nrest = 0, rc;
	bool help = cmd_wants_help(argc, argv);

	if (!rest)
		return CTL_FAILED;
	ctl_signals_init();
	for (i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (leaf || w[0] == '-') {
			rest[nrest++] = argv[i];
			if (!leaf && cmd_global_valued(w) && i + 1 < argc)
				rest[nrest++] = argv[++i];
			continue;
		}
		if (!top) {
			top = cmd_find(ctl_commands, w);
			if (!top) {
				free(rest);
				return ctl_fail(CTL_USAGE,
						"unknown command '%s' (see "
						"'seamctl --help')",
						w);
			}
			if (!top->sub)
				leaf = top;
			continue;
		}
		leaf = cmd_find(top->sub, w);
		if (!leaf) {
			free(rest);
			return ctl_fail(CTL_USAGE,
					"unknown command '%s %s' (see "
					"'seamctl %s --help')",
					top->name, w, top->name);
		}
	}
	if (help || !leaf) {
		FILE *f = help ? stdout : stderr;

		ctl_help(f, leaf && top != leaf ? top : NULL,
			 leaf ? leaf : top);
		free(rest);
		return help ? CTL_OK : CTL_USAGE;
	}
	tabs[1] = leaf->opts;
	if (ctl_args_parse(tabs, leaf->opts ? 2 : 1, nrest, rest, &a, err,
			   sizeof(err)) < 0) {
		free(rest);
		return ctl_fail(CTL_USAGE, "%s (see 'seamctl %s%s%s --help')",
				err, top->name, top != leaf ? " " : "",
				top != leaf ? leaf->name : "");
	}
	if (a.npos < leaf->min_pos ||
	    (leaf->max_pos >= 0 && a.npos > leaf->max_pos)) {
		rc = ctl_fail(CTL_USAGE, "usage: seamctl %s%s%s%s%s", top->name,
			      top != leaf ? " " : "",
			      top != leaf ? leaf->name : "",
			      leaf->usage && leaf->usage[0] ? " " : "",
			      leaf->usage ? leaf->usage : "");
		free(rest);
		return rc;
	}
	c.json = ctl_arg_has(&a, "json");
	c.no_wait = ctl_arg_has(&a, "no-wait");
	c.tty = isatty(1);
	c.err_tty = isatty(2);
	c.in_tty = isatty(0);
	c.args = &a;
	c.what = leaf->what;
	if (ctl_arg(&a, "config")) {
		c.config_path = ctl_arg(&a, "config");
	} else {
		if (ctl_config_default_path(cfg, sizeof(cfg)) < 0) {
			free(rest);
			return ctl_fail(CTL_USAGE, "config path too long");
		}
		c.config_path = cfg;
	}
	rc = leaf->run(&c, &a);
	http_client_free(c.http);
	explicit_bzero(c.cfg.token, sizeof(c.cfg.token));
	free(rest);
	fflush(stdout);
	return rc;
}
