/*
 * err.c — see err.h. Small on purpose: the convention matters, not the code.
 */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct seam_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (code <= 0)
		code = EINVAL;
	if (e) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

int err_sys(struct seam_err *e, const char *fmt, ...)
{
	int code = errno ? errno : EIO;
	va_list ap;
	size_t n;

	if (e) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
			 strerror(code));
	}
	return -code;
}

void err_clear(struct seam_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}
