/*
 * err.h — the one error convention of Seam.
 *
 * Functions return 0 on success and a negative errno value on failure. Where
 * the caller must be able to tell a person what failed and on what (bad input
 * from a CLI, a socket, a state file, a bundle, a guest), the function also
 * takes a struct seam_err and fills it: err_set() formats the message and
 * returns -code, so a failure reads `return err_set(e, EINVAL, "...")`.
 * A NULL struct seam_err is allowed and just drops the words.
 */
#ifndef SEAM_ERR_H
#define SEAM_ERR_H

#include <stddef.h>

struct seam_err {
	int code;	/* positive errno value, 0 when no error */
	char msg[512];	/* what failed, on what, and why */
};

#define ERR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Record the error and return -code. */
int err_set(struct seam_err *e, int code, const char *fmt, ...)
	ERR_PRINTF(3, 4);
/* Like err_set() with errno as the code, and ": strerror(errno)" appended. */
int err_sys(struct seam_err *e, const char *fmt, ...) ERR_PRINTF(2, 3);
void err_clear(struct seam_err *e);

#endif
