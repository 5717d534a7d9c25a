/*
 * evlog.h — an append-only event log with a cursor, for event streams.
 *
 * Every event gets the next cursor (1, 2, 3, ...) and is appended as one JSON
 * line to a file, {"cursor":N,"time":"...","type":"...",...}, written with
 * one write(2) and fdatasync'ed before it is visible to readers. A client
 * that remembers the last cursor it saw asks for "after N" and gets every
 * later event: nothing is missed across a reconnect or a daemon restart
 * (the cursor continues from the file's last line; a torn last line left
 * by a crash is cut off at open).
 *
 * Readers may wait: evlog_wait() blocks until an event after a cursor exists,
 * a timeout passes, or the log is shut down — a long poll or an SSE stream
 * is one loop around evlog_read() + evlog_wait().
 *
 * The most recent events are kept in memory (EVLOG_RING); older ones are
 * read back from the file.
 */
#ifndef SEAM_EVLOG_H
#define SEAM_EVLOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define EVLOG_RING 4096

struct evlog;

int evlog_open(const char *path, struct evlog **out, struct seam_err *e);
void evlog_close(struct evlog *l);

/*
 * Append an event: fields is an object (borrowed) holding at least "type";
 * the log adds "cursor" and "time". Returns the cursor (> 0) or -errno.
 */
int64_t evlog_append(struct evlog *l, const json_t *fields, struct seam_err *e);
/* Convenience: type + message (+ optional vm). */
int64_t evlog_emit(struct evlog *l, const char *type, const char *vm,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The last cursor written (0 when empty). */
uint64_t evlog_last(struct evlog *l);
/* Up to max events with cursor > after, as a new array. */
json_t *evlog_read(struct evlog *l, uint64_t after, size_t max);
/*
 * Wait until an event with cursor > after exists (returns 1), timeout_ms
 * passes (0) or the log is shut down (-ESHUTDOWN).
 */
int evlog_wait(struct evlog *l, uint64_t after, long timeout_ms);
/* Wake every waiter for good (before stopping the server). */
void evlog_shutdown(struct evlog *l);

#endif
