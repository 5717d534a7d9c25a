/*
 * ctl.h — what every seamctl command shares: the invocation context, the exit
 * codes and the helpers that turn API replies into what a person reads.
 *
 * seamctl is a thin client: every command is one or a few REST calls to
 * seam-center. What it adds is for people and scripts alike — aligned tables
 * (never raw JSON) or, with --json, the API's JSON untouched; progress that
 * redraws on a terminal and prints plain lines elsewhere; and exit codes a
 * script can branch on. Commands are rows of a table (commands.c) so that
 * help, dispatch and bash completion all come from one place.
 */
#ifndef SEAM_CTL_H
#define SEAM_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "args.h"
#include "config.h"

/* Exit codes: documented in docs/seamctl.md; scripts rely on them. */
enum ctl_exit {
	CTL_OK = 0,
	CTL_FAILED = 1, /* the operation or its task failed */
	CTL_USAGE = 2,	/* bad command line */
	CTL_CONN = 3,	/* connection, TLS or pinning failure */
	CTL_AUTH = 4,	/* token missing, invalid or not allowed */
};

struct http_client;

/*
 * Connecting, TLS handshake included. Generous: a loaded center (or one
 * built with sanitizers) may take seconds to answer a handshake, and a
 * person would rather wait than retry. ctl_connect_timeout_ms() stretches
 * it by SEAM_TIME_SCALE (>= 1) on machines known to be slow (the emulated
 * tests/kvmbox), as seam-center's host links do.
 */
#define CTL_CONNECT_TIMEOUT_MS 15000L
long ctl_connect_timeout_ms(void);

struct ctl {
	bool json;    /* --json: print the API's JSON only */
	bool tty;     /* stdout is a terminal */
	bool err_tty; /* stderr is a terminal */
	bool in_tty;  /* stdin is a terminal (confirmations) */
	bool no_wait; /* --no-wait: print the task and return */
	const char *config_path;
	struct ctl_config cfg;
	struct http_client *http; /* opened on first call */
	struct ctl_args *args;	  /* of the running command */
	const char *what;	  /* operation name for "does not support" */
	bool quiet_conn;	  /* transport failures: message kept, not
				     printed (a caller that retries) */
	char conn_err[512];	  /* the last transport failure */
};

/*
 * One API call. Returns CTL_OK with *reply (owned, may be NULL) and *status
 * on a 2xx; otherwise prints why to stderr and returns the exit code: 3 for
 * transport/TLS/pin failures, 4 for 401/403, 1 for other refusals (a 404 on
 * an endpoint the server does not have says "the server does not support").
 */
int ctl_call(struct ctl *c, const char *method, const char *path,
	     const json_t *body, json_t **reply);
int ctl_call_status(struct ctl *c, const char *method, const char *path,
		    const json_t *body, long *status, json_t **reply);
int ctl_client(struct ctl *c);

/* Print a JSON document on stdout (pretty, always parseable). */
void ctl_print_json(const json_t *j);
/* The same, then drop the reference (for documents made on the spot). */
void ctl_print_json_new(json_t *j);
/* "the operation was done" line, unless --json. */
void ctl_say(struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An error line "seamctl: ..." on stderr; returns code. */
int ctl_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A progress bar is being redrawn on fd (-1: none). An interrupt then ends
 * the line first, so the shell prompt does not land inside the bar.
 */
void ctl_bar_active(int fd);
void ctl_signals_init(void);

/*
 * Ask a yes/no question on the terminal; false when stdin is not one.
 * Certificates are only ever trusted this way or by --thumbprint: there is
 * deliberately no "--yes" that would trust whatever answers.
 */
bool ctl_confirm(struct ctl *c, const char *question);

/* Percent-encode a path segment into out. */
const char *ctl_esc(const char *s, char *out, size_t n);

/* json helpers: value as display text ("-" for null). */
const char *ctl_jstr(const json_t *o, const char *k);
const char *ctl_jtext(const json_t *v, char *buf, size_t n);
const char *ctl_jfield(const json_t *o, const char *k, char *buf, size_t n);

/* Tasks: follow a task to its end with progress; exit code of the task. */
int ctl_task_follow(struct ctl *c, json_t *task, json_t **final);
/* Print a task reply (202 {"task":...}) honouring --json/--no-wait. */
int ctl_task_run(struct ctl *c, const char *method, const char *path,
		 const json_t *body);

/* Settings (global or a cluster's): show a GET reply; set k=v words. */
int ctl_settings_show(struct ctl *c, const json_t *reply);
int ctl_settings_set(struct ctl *c, const char *path, const char *const *kv,
		     int nkv);
/* "a.b" = value rows of a JSON object, flattened, into a 2-column table. */
struct ctl_table;
void ctl_flatten(const json_t *o, const char *prefix, struct ctl_table *t);

#endif
