/*
 * evlog.c — see evlog.h.
 *
 * One mutex guards the file offset, the ring and the last cursor; a condition
 * variable wakes waiters on every append. The fdatasync happens under the
 * lock: an event a reader has seen is on disk, so a cursor a client holds is
 * never "in the future" after a crash.
 */
#include "evlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define EVLOG_MAX_LINE (1u << 20)

struct evlog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;
	char *path;
	uint64_t last;
	uint64_t ring_first; /* smallest cursor held in the ring, 0 = none */
	json_t *ring[EVLOG_RING];
	bool shutdown;
};

static void evlog_ring_put(struct evlog *l, uint64_t cursor, json_t *ev)
{
	size_t slot = cursor % EVLOG_RING;

	json_decref(l->ring[slot]);
	l->ring[slot] = json_incref(ev);
	if (!l->ring_first)
		l->ring_first = cursor;
	else if (cursor >= l->ring_first + EVLOG_RING)
		l->ring_first = cursor - EVLOG_RING + 1;
}

/* Load the file: ring, last cursor, and cut a torn last line. */
static int evlog_load(struct evlog *l, struct seam_err *e)
{
	FILE *f = fopen(l->path, "r");
	char *line = NULL;
	size_t cap = 0;
	off_t good = 0;
	ssize_t n;

	if (!f)
		return err_sys(e, "open %s", l->path);
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *ev;
		json_int_t c;

		if (line[n - 1] != '\n')
			break; /* torn by a crash: dropped below */
		ev = json_loadb(line, (size_t)n, 0, NULL);
		c = json_integer_value(json_object_get(ev, "cursor"));
		if (!ev || c <= 0 || (uint64_t)c <= l->last) {
			json_decref(ev);
			log_warnx("%s: skipping a bad line at offset %lld",
				  l->path, (long long)good);
			good += n;
			continue;
		}
		l->last = (uint64_t)c;
		evlog_ring_put(l, l->last, ev);
		json_decref(ev);
		good += n;
	}
	free(line);
	fclose(f);
	if (ftruncate(l->fd, good) < 0)
		return err_sys(e, "truncate %s", l->path);
	return 0;
}

int evlog_open(const char *path, struct evlog **out, struct seam_err *e)
{
	struct evlog *l;
	int rc;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return err_set(e, ENOMEM, "no memory for event log");
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->path = strdup(path);
	l->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (l->fd < 0 || !l->path) {
		rc = err_sys(e, "open event log %s", path);
		evlog_close(l);
		return rc;
	}
	rc = evlog_load(l, e);
	if (rc < 0) {
		evlog_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

void evlog_close(struct evlog *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < EVLOG_RING; i++)
		json_decref(l->ring[i]);
	if (l->fd >= 0)
		close(l->fd);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l->path);
	free(l);
}

static void evlog_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

static int evlog_write_line(struct evlog *l, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	n = write(l->fd, s, len);
	if (n != (ssize_t)len) {
		/* Cut whatever part was written: lines stay whole. */
		struct stat st;

		if (n > 0 && fstat(l->fd, &st) == 0)
			(void)!ftruncate(l->fd, st.st_size - n);
		return n < 0 ? -errno : -EIO;
	}
	return fdatasync(l->fd) < 0 ? -errno : 0;
}

/* The line to write: compact JSON + '\n'; NULL when too large. */
static char *evlog_line(const json_t *ev)
{
	char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n;
	char *t;

	if (!s)
		return NULL;
	n = strlen(s);
	if (n + 2 > EVLOG_MAX_LINE || !(t = realloc(s, n + 2))) {
		free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	return t;
}

int64_t evlog_append(struct evlog *l, const json_t *fields, struct seam_err *e)
{
	char now[64];
	int64_t cursor = 0;
	json_t *ev;
	char *s;
	int rc;

	if (!json_is_object(fields) ||
	    !json_is_string(json_object_get(fields, "type")))
		return err_set(e, EINVAL, "an event needs a string 'type'");
	ev = json_deep_copy(fields);
	if (!ev)
		return err_set(e, ENOMEM, "no memory for event");
	evlog_now(now, sizeof(now));
	pthread_mutex_lock(&l->lock);
	json_object_set_new(ev, "cursor",
			    json_integer((json_int_t)l->last + 1));
	json_object_set_new(ev, "time", json_string(now));
	s = evlog_line(ev);
	rc = s ? evlog_write_line(l, s) : -E2BIG;
	if (rc == 0) {
		cursor = (int64_t)++l->last;
		evlog_ring_put(l, l->last, ev);
		pthread_cond_broadcast(&l->cond);
	}
	pthread_mutex_unlock(&l->lock);
	free(s);
	json_decref(ev);
	if (rc < 0)
		return err_set(e, -rc, "append to event log %s failed",
			       l->path);
	return cursor;
}

int64_t evlog_emit(struct evlog *l, const char *type, const char *vm,
		   const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *f;
	int64_t rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = json_pack("{s:s,s:s}", "type", type, "message", msg);
	if (vm)
		json_object_set_new(f, "vm", json_string(vm));
	rc = evlog_append(l, f, NULL);
	json_decref(f);
	if (rc < 0)
		log_warnx("event %s not recorded: %s", type,
			  strerror((int)-rc));
	return rc;
}

uint64_t evlog_last(struct evlog *l)
{
	uint64_t v;

	pthread_mutex_lock(&l->lock);
	v = l->last;
	pthread_mutex_unlock(&l->lock);
	return v;
}

/* Older than the ring: read them back from the file. */
static void evlog_read_file(struct evlog *l, uint64_t after, size_t max,
			    json_t *arr)
{
	FILE *f = fopen(l->path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return;
	while (json_array_size(arr) < max &&
	       (n = getline(&line, &cap, f)) > 0) {
		json_t *ev = json_loadb(line, (size_t)n, 0, NULL);
		json_int_t c =
		    json_integer_value(json_object_get(ev, "cursor"));

		if (ev && c > 0 && (uint64_t)c > after &&
		    (uint64_t)c < l->ring_first)
			json_array_append(arr, ev);
		json_decref(ev);
		if (c > 0 && (uint64_t)c + 1 >= l->ring_first)
			break;
	}
	free(line);
	fclose(f);
}

json_t *evlog_read(struct evlog *l, uint64_t after, size_t max)
{
	json_t *arr = json_array();
	uint64_t c;

	pthread_mutex_lock(&l->lock);
	if (l->ring_first && after + 1 < l->ring_first)
		evlog_read_file(l, after, max, arr);
	c = after + 1;
	if (l->ring_first && c < l->ring_first)
		c = l->ring_first;
	for (; c <= l->last && json_array_size(arr) < max; c++) {
		json_t *ev = l->ring[c % EVLOG_RING];

		if (ev)
			json_array_append(arr, ev);
	}
	pthread_mutex_unlock(&l->lock);
	return arr;
}

int evlog_wait(struct evlog *l, uint64_t after, long timeout_ms)
{
	struct timespec dl;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->lock);
	while (!l->shutdown && l->last <= after && rc == 0)
		rc = pthread_cond_timedwait(&l->cond, &l->lock, &dl);
	if (l->shutdown)
		rc = -ESHUTDOWN;
	else
		rc = l->last > after ? 1 : 0;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void evlog_shutdown(struct evlog *l)
{
	pthread_mutex_lock(&l->lock);
	l->shutdown = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}
