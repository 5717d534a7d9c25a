/*
 * commands.h — the command table: one struct per command, with its name,
 * usage, help, options and handler, or its subcommands.
 *
 * Everything a person or a shell sees of seamctl's surface comes from these
 * tables: dispatch (main.c), `--help` at every level and `seamctl completion
 * bash`. A command's handler gets the parsed arguments; positional argument
 * counts are checked before it runs, so handlers only read them.
 */
#ifndef SEAM_CTL_COMMANDS_H
#define SEAM_CTL_COMMANDS_H

#include <stdio.h>

#include "ctl.h"

struct ctl_cmd {
	const char *name;
	const char *usage; /* positional arguments, e.g. "CLUSTER [k=v...]" */
	const char *help;  /* one line */
	const char *more;  /* further paragraphs, or NULL */
	const struct ctl_opt *opts;
	int (*run)(struct ctl *c, const struct ctl_args *a);
	const struct ctl_cmd *sub; /* subcommands (name NULL ends), or NULL */
	int min_pos, max_pos;	   /* max_pos -1: any number */
	const char *what;	   /* the operation, for "does not support" */
};

extern const struct ctl_opt ctl_global_opts[];
extern const struct ctl_cmd ctl_commands[];

/* The subcommand tables, one per file (cmd_*.c). */
extern const struct ctl_cmd ctl_token_cmds[], ctl_user_cmds[],
    ctl_settings_cmds[], ctl_cluster_cmds[], ctl_host_cmds[], ctl_vm_cmds[],
    ctl_depot_cmds[], ctl_image_cmds[], ctl_compliance_cmds[], ctl_task_cmds[],
    ctl_completion_cmds[];

/* Handlers of the top-level commands without subcommands. */
int ctl_cmd_login(struct ctl *c, const struct ctl_args *a);
int ctl_cmd_logout(struct ctl *c, const struct ctl_args *a);
int ctl_cmd_whoami(struct ctl *c, const struct ctl_args *a);
int ctl_cmd_precheck(struct ctl *c, const struct ctl_args *a);
int ctl_cmd_stage(struct ctl *c, const struct ctl_args *a);
int ctl_cmd_remediate(struct ctl *c, const struct ctl_args *a);
int ctl_cmd_cancel(struct ctl *c, const struct ctl_args *a);
int ctl_cmd_events(struct ctl *c, const struct ctl_args *a);
extern const struct ctl_opt ctl_login_opts[], ctl_lifecycle_opts[],
    ctl_events_opts[];

/* Help text of cmd (path: "cluster create") on f. */
void ctl_help(FILE *f, const struct ctl_cmd *parent, const struct ctl_cmd *cmd);
/* The bash completion script generated from the tables. */
void ctl_completion_bash(FILE *f);

/* Run seamctl with argv; returns the exit code. */
int ctl_main(int argc, char **argv);

#endif
