/*
 * api_events.c — the event endpoints: a long poll and a server-sent events
 * stream, both resumable by cursor.
 *
 *   GET /api/v1/events?after=N&limit=M&timeout=S
 *       events with cursor > N (at most M); when there are none, wait up to
 *       S seconds for one. The reply's "cursor" is what to pass as `after`
 *       next time.
 *   GET /api/v1/events/stream[?after=N]   (or header Last-Event-ID: N)
 *       text/event-stream; each event is "id: CURSOR / event: TYPE /
 *       data: JSON". A client that reconnects with the last id it saw gets
 *       everything after it. A comment line every 15 s keeps idle
 *       connections alive and notices clients that have gone.
 */
#include "hostd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_EVENTS_MAX_LIMIT 1000
#define API_EVENTS_MAX_WAIT_S 60
#define API_SSE_KEEPALIVE_MS 15000
#define API_SSE_BATCH 64

struct api_sse {
	struct evlog *log;
	uint64_t cursor;
	char *buf; /* formatted and not yet sent */
	size_t len;
	size_t off;
	bool started;
};

/*
 * A cursor past the end of the log means the client knew another log (the
 * host was reinstalled): say so instead of waiting for events forever.
 */
static int api_events_check_cursor(struct httpd_req *req, struct evlog *log,
				   uint64_t after)
{
	uint64_t last = evlog_last(log);

	if (after <= last)
		return 0;
	httpd_reply_error(req, 409, "cursor_ahead",
			  "event cursor %llu is ahead of this host's log "
			  "(last %llu): the log was reset; resume from 0",
			  (unsigned long long)after, (unsigned long long)last);
	return -1;
}

void api_events_poll(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	uint64_t after, limit, timeout;
	struct seam_err e = {0};
	json_t *evs;
	uint64_t cursor;

	if (httpd_req_query_u64(req, "after", 0, INT64_MAX, &after, &e) < 0 ||
	    httpd_req_query_u64(req, "limit", 100, API_EVENTS_MAX_LIMIT, &limit,
				&e) < 0 ||
	    httpd_req_query_u64(req, "timeout", 0, API_EVENTS_MAX_WAIT_S,
				&timeout, &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	if (limit == 0)
		limit = 1;
	if (api_events_check_cursor(req, h->events, after) < 0)
		return;
	evs = evlog_read(h->events, after, limit);
	if (json_array_size(evs) == 0 && timeout > 0 &&
	    evlog_wait(h->events, after, (long)timeout * 1000) == 1) {
		json_decref(evs);
		evs = evlog_read(h->events, after, limit);
	}
	cursor = after;
	if (json_array_size(evs))
		cursor = (uint64_t)json_integer_value(json_object_get(
		    json_array_get(evs, json_array_size(evs) - 1), "cursor"));
	httpd_reply_json(req, 200,
			 json_pack("{s:o,s:I,s:I}", "events", evs, "cursor",
				   (json_int_t)cursor, "last",
				   (json_int_t)evlog_last(h->events)));
}

/* Append text to the pending buffer. */
static int api_sse_push(struct api_sse *s, const char *text, size_t n)
{
	char *nb = realloc(s->buf, s->len + n + 1);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + s->len, text, n);
	s->buf = nb;
	s->len += n;
	nb[s->len] = '\0';
	return 0;
}

static int api_sse_format(struct api_sse *s, json_t *evs)
{
	json_t *ev;
	size_t i;

	json_array_foreach(evs, i, ev)
	{
		char head[160];
		char *data = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
		uint64_t c =
		    (uint64_t)json_integer_value(json_object_get(ev, "cursor"));
		int n;

		if (!data)
			return -ENOMEM;
		n = snprintf(
		    head, sizeof(head),
		    "id: %llu\nevent: %.100s\ndata: ", (unsigned long long)c,
		    json_string_value(json_object_get(ev, "type")));
		if (api_sse_push(s, head, (size_t)n) < 0 ||
		    api_sse_push(s, data, strlen(data)) < 0 ||
		    api_sse_push(s, "\n\n", 2) < 0) {
			free(data);
			return -ENOMEM;
		}
		free(data);
		s->cursor = c;
	}
	return 0;
}

/* Fill the pending buffer: events, a keepalive, or the end. */
static ssize_t api_sse_refill(struct api_sse *s)
{
	json_t *evs;
	int rc;

	s->len = s->off = 0;
	if (!s->started) {
		s->started = true;
		return api_sse_push(s, "retry: 1000\n\n", 13) < 0
			   ? HTTPD_STREAM_ERROR
			   : 0;
	}
	for (;;) {
		evs = evlog_read(s->log, s->cursor, API_SSE_BATCH);
		if (json_array_size(evs)) {
			rc = api_sse_format(s, evs);
			json_decref(evs);
			return rc < 0 ? HTTPD_STREAM_ERROR : 0;
		}
		json_decref(evs);
		rc = evlog_wait(s->log, s->cursor, API_SSE_KEEPALIVE_MS);
		if (rc == -ESHUTDOWN)
			return HTTPD_STREAM_END;
		if (rc == 0)
			return api_sse_push(s, ": keepalive\n\n", 13) < 0
				   ? HTTPD_STREAM_ERROR
				   : 0;
	}
}

static ssize_t api_sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_sse *s = cls;
	size_t n;

	if (s->off >= s->len) {
		ssize_t rc = api_sse_refill(s);

		if (rc < 0)
			return rc;
	}
	n = s->len - s->off;
	if (n > max)
		n = max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void api_sse_free(void *cls)
{
	struct api_sse *s = cls;

	free(s->buf);
	free(s);
}

void api_events_stream(struct httpd_req *req)
{
	struct hostd *h = httpd_req_ctx(req);
	const char *last_id = httpd_req_header(req, "Last-Event-ID");
	struct seam_err e = {0};
	struct api_sse *s;
	uint64_t after;

	if (httpd_req_query_u64(req, "after", 0, INT64_MAX, &after, &e) < 0) {
		httpd_reply_err(req, &e);
		return;
	}
	if (last_id) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(last_id, &end, 10);
		if (!*last_id || *end || errno || last_id[0] == '-') {
			httpd_reply_error(req, 400, "bad_request",
					  "header Last-Event-ID '%.40s' is not "
					  "an event cursor",
					  last_id);
			return;
		}
		after = v;
	}
	if (api_events_check_cursor(req, h->events, after) < 0)
		return;
	s = calloc(1, sizeof(*s));
	if (!s) {
		httpd_reply_error(req, 503, "unavailable", "no memory");
		return;
	}
	s->log = h->events;
	s->cursor = after;
	httpd_reply_stream(req, 200, "text/event-stream", api_sse_read, s,
			   api_sse_free);
}
