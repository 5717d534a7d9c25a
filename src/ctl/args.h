/*
 * args.h — command-line parsing for seamctl, driven by option tables.
 *
 * Each command declares its options as a table (struct ctl_opt); the parser
 * takes the global table plus the command's, so that `--json` or `--help`
 * work anywhere on the line, `--opt value` and `--opt=value` both work, and
 * an unknown option is a usage error naming it. No getopt: the same tables
 * print the help and generate the bash completion.
 *
 * settings are given as key=value words (`live_patch=enforce`,
 * `parallel_remediation.max_hosts=2`): ctl_args_kv turns one into a member of
 * a JSON object, typed (true/false, integers, null, JSON literals, else a
 * string) and nested by dots.
 */
#ifndef SEAM_CTL_ARGS_H
#define SEAM_CTL_ARGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CTL_MAX_POS 32
#define CTL_MAX_OPTS 32

struct ctl_opt {
	const char *name; /* long name, without "--" */
	char shortc;	  /* 0 when none */
	const char *arg;  /* metavariable ("URL"); NULL for a flag */
	const char *help;
};

struct ctl_optval {
	const struct ctl_opt *opt;
	const char *val; /* "" for a flag */
};

struct ctl_args {
	int npos;
	const char *pos[CTL_MAX_POS];
	int nopt;
	struct ctl_optval opts[CTL_MAX_OPTS];
};

/*
 * Parse argv[0..argc) against the NULL-name-terminated tables in tabs[]
 * (ntabs of them). Returns 0, or -1 with a message in err.
 */
int ctl_args_parse(const struct ctl_opt *const *tabs, int ntabs, int argc,
		   char **argv, struct ctl_args *out, char *err, size_t errlen);

/* The last value given for option `name`, or NULL. */
const char *ctl_arg(const struct ctl_args *a, const char *name);
/* Whether a flag (or valued option) was given. */
bool ctl_arg_has(const struct ctl_args *a, const char *name);
/* The i-th value of a repeated option, or NULL. */
const char *ctl_arg_nth(const struct ctl_args *a, const char *name, int i);

/* "a.b=value" into obj (created members nest). -1 + err on a bad word. */
int ctl_args_kv(const char *word, json_t *obj, char *err, size_t errlen);

#endif
