/*
 * script.h — running a component's scan or apply script (docs/bundles.md,
 * "Scan and apply scripts").
 *
 * The contract: environment in (SEAM_* only, set by the caller), stdin from
 * /dev/null, the working directory the new revision; out, one JSON object
 * per line on stdout (`message`, `tag_vm`, `error`), stderr logged as text.
 * A script fails when it prints an `error` line, exits non-zero, is killed,
 * or outlives its timeout (then it is killed, with its process group).
 * Lines that are not a known JSON object are kept as warnings.
 */
#ifndef SEAM_HOSTD_SCRIPT_H
#define SEAM_HOSTD_SCRIPT_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

struct script_result {
	int status; /* exit status; -SIG when killed by a signal */
	bool timed_out;
	json_t *messages;  /* [{"level","text"}] */
	json_t *tags;	   /* [{"vm","action","reason"}] */
	json_t *errors;	   /* [{"vm"?,"text"}] */
	json_t *warnings;  /* ["what was wrong with a line"] */
	char *stderr_text; /* up to 4 KiB of stderr */
};

/*
 * Run path with exactly the environment env (NULL-terminated "K=V"), in
 * cwd, for at most timeout_ms. 0 when the script ran (whatever it said:
 * see script_failed()), -errno when it could not be started.
 */
int script_run(const char *path, const char *cwd, char *const env[],
	       long timeout_ms, struct script_result *r, struct seam_err *e);
/* Did it fail under the contract? Fills e with why. */
bool script_failed(const struct script_result *r, const char *name,
		   struct seam_err *e);
void script_result_release(struct script_result *r);
/* Parse one stdout line into r (exposed for unit tests). */
void script_parse_line(struct script_result *r, const char *line);

#endif
