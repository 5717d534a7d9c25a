/*
 * hostlink.c — the center's side of talking to seam-hostd.
 *
 * Trust: a host is added by address and enrollment token (the host secret
 * `seam-hostd init` prints). The center first fetches the certificate the
 * address presents (no HTTP byte is sent) and shows its SHA-256 thumbprint;
 * only a request that repeats the thumbprint the operator confirmed pins
 * it. Every later connection is pinned (http_client.h), so a host whose
 * certificate changes is unreachable until an operator reconnects it.
 *
 * The poller is one thread for all hosts: every poll interval it asks each
 * host for its events after the cursor the center holds (a cheap call over
 * a kept-alive TLS connection), fetches the host's inventory when anything
 * happened (and every HOSTLINK_FULL_EVERY rounds regardless), and only then
 * re-emits the events as center events tagged with host and cluster: an
 * event seen at the center implies the host's inventory and state already
 * reflect it. A host that does not answer is marked `disconnected` (one
 * event), and `connected` again when it answers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonio.h"
#include "center.h"
#include "http_client.h"
#include "log.h"

#define HOSTLINK_CONNECT_MS 10000
#define HOSTLINK_POLL_TIMEOUT_MS 15000
#define HOSTLINK_FULL_EVERY 30

/*
 * Timeouts stretch by SEAM_TIME_SCALE (>= 1) on machines known to be slow
 * (the emulated KVM box the tests use); unset, they are as written.
 */
static long hostlink_ms(long ms)
{
	const char *s = getenv("SEAM_TIME_SCALE");
	double f = s ? atof(s) : 1.0;

	return f > 1.0 ? (long)(ms * f) : ms;
}

static void hostlink_url(const char *address, char *buf, size_t len)
{
	snprintf(buf, len, "https://%s", address);
}

int hostlink_probe(const char *address, char thumb[TLS_THUMBPRINT_SIZE],
		   struct seam_err *e)
{
	char url[512];
	struct seam_err pe = {0};

	hostlink_url(address, url, sizeof(url));
	if (http_client_peer_thumbprint(url, hostlink_ms(HOSTLINK_CONNECT_MS), thumb, &pe) <
	    0)
		return err_set(e, EAGAIN, "cannot reach host at %s: %s",
			       address, pe.msg);
	return 0;
}

static int hostlink_client(const json_t *host, long timeout_ms,
			   struct http_client **out, struct seam_err *e)
{
	struct http_client_opts o = {0};
	char url[512];

	hostlink_url(jsonio_str(host, "address"), url, sizeof(url));
	o.base_url = url;
	o.thumbprint = jsonio_str(host, "thumbprint");
	o.token = jsonio_str(host, "secret");
	o.timeout_ms = hostlink_ms(timeout_ms);
	o.connect_timeout_ms = hostlink_ms(HOSTLINK_CONNECT_MS);
	return http_client_new(&o, out, e);
}

/*
 * Idle clients, kept per host so that calls reuse a pinned, kept-alive TLS
 * connection instead of two handshakes each (probe + request). A client is
 * taken out while used (one thread at a time) and put back after a
 * success; a failed one is dropped, so the next call probes afresh and a
 * changed certificate is caught. The key holds address, thumbprint and
 * secret: a host reconnected with other values never gets an old client.
 */
#define HOSTLINK_POOL_PER_HOST 4

struct hl_idle {
	int64_t id;
	char key[1024];
	struct http_client *cl;
};

static pthread_mutex_t hl_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hl_idle *hl_pool;
static size_t hl_pool_n;

static void hostlink_key(const json_t *host, char *key, size_t len)
{
	snprintf(key, len, "%s|%s|%s", jsonio_str(host, "address"),
		 jsonio_str(host, "thumbprint"), jsonio_str(host, "secret"));
}

static int hostlink_take(const json_t *host, struct http_client **out,
			 struct seam_err *e)
{
	int64_t id = json_integer_value(json_object_get(host, "id"));
	char key[1024];
	size_t i;

	hostlink_key(host, key, sizeof(key));
	pthread_mutex_lock(&hl_pool_lock);
	for (i = 0; i < hl_pool_n; i++) {
		if (hl_pool[i].id != id || strcmp(hl_pool[i].key, key))
			continue;
		*out = hl_pool[i].cl;
		hl_pool[i] = hl_pool[--hl_pool_n];
		pthread_mutex_unlock(&hl_pool_lock);
		return 0;
	}
	pthread_mutex_unlock(&hl_pool_lock);
	return hostlink_client(host, HOSTLINK_POLL_TIMEOUT_MS, out, e);
}

static void hostlink_give(const json_t *host, struct http_client *cl,
			  bool healthy)
{
	int64_t id = json_integer_value(json_object_get(host, "id"));
	struct hl_idle *np;
	size_t i, same = 0;

	if (!cl)
		return;
	pthread_mutex_lock(&hl_pool_lock);
	for (i = 0; i < hl_pool_n; i++)
		same += hl_pool[i].id == id;
	if (!healthy || id <= 0 || same >= HOSTLINK_POOL_PER_HOST ||
	    !(np = realloc(hl_pool, (hl_pool_n + 1) * sizeof(*np)))) {
		pthread_mutex_unlock(&hl_pool_lock);
		http_client_free(cl);
		return;
	}
	hl_pool = np;
	hl_pool[hl_pool_n].id = id;
	hl_pool[hl_pool_n].cl = cl;
	hostlink_key(host, hl_pool[hl_pool_n].key,
		     sizeof(hl_pool[hl_pool_n].key));
	hl_pool_n++;
	pthread_mutex_unlock(&hl_pool_lock);
}

void hostlink_pool_drop(int64_t host_id)
{
	size_t i = 0;

	pthread_mutex_lock(&hl_pool_lock);
	while (i < hl_pool_n) {
		if (hl_pool[i].id != host_id) {
			i++;
			continue;
		}
		http_client_free(hl_pool[i].cl);
		hl_pool[i] = hl_pool[--hl_pool_n];
	}
	pthread_mutex_unlock(&hl_pool_lock);
}

void hostlink_pool_clear(void)
{
	size_t i;

	pthread_mutex_lock(&hl_pool_lock);
	for (i = 0; i < hl_pool_n; i++)
		http_client_free(hl_pool[i].cl);
	free(hl_pool);
	hl_pool = NULL;
	hl_pool_n = 0;
	pthread_mutex_unlock(&hl_pool_lock);
}

int hostlink_call(const json_t *host, const char *method, const char *path,
		  const json_t *body, long timeout_ms, long *status,
		  json_t **reply, struct seam_err *e)
{
	struct http_client *cl = NULL;
	struct seam_err ce = {0};
	bool pooled = json_integer_value(json_object_get(host, "id")) > 0;
	int rc;

	*reply = NULL;
	rc = pooled ? hostlink_take(host, &cl, &ce)
		    : hostlink_client(host, timeout_ms ? timeout_ms : 30000,
				      &cl, &ce);
	if (rc == 0)
		rc = http_client_request_timeout(
		    cl, method, path, body,
		    hostlink_ms(timeout_ms ? timeout_ms : 30000),
		    status, reply, &ce);
	if (pooled)
		hostlink_give(host, cl, rc == 0);
	else
		http_client_free(cl);
	if (rc < 0)
		return err_set(e, EAGAIN, "host '%s' (%s): %s",
			       jsonio_str(host, "name"), jsonio_str(host, "address"),
			       ce.msg);
	return 0;
}

int hostlink_reply_err(const json_t *host, long status, const json_t *reply,
		       struct seam_err *e)
{
	const char *msg = json_string_value(
	    json_object_get(json_object_get(reply, "error"), "message"));
	int code = status == 404   ? ENOENT
		   : status == 409 ? EBUSY
		   : status == 400 ? EINVAL
		   : status == 401 ? EPERM
				   : EAGAIN;

	return err_set(e, code, "host '%s' refused (HTTP %ld): %s",
		       jsonio_str(host, "name"), status, msg ? msg : "no message");
}

static void hostlink_mark(struct center *c, const json_t *host,
			  const char *state, const char *why)
{
	int64_t id = json_integer_value(json_object_get(host, "id"));
	int64_t cl = json_integer_value(json_object_get(host, "cluster_id"));
	char prev[32];

	store_host_set_state(c->st, id, state, why, prev, sizeof(prev));
	if (!strcmp(prev, state))
		return;
	if (!strcmp(state, "connected"))
		center_event(c, "host.connected", cl, id, NULL, 0, NULL,
			     "host '%s' answers again", jsonio_str(host, "name"));
	else
		center_event(c, "host.disconnected", cl, id, NULL, 0, NULL,
			     "host '%s' stopped answering: %s",
			     jsonio_str(host, "name"), why ? why : "");
}

static int hostlink_fetch_inventory(struct http_client *cl, const json_t *host,
				    json_t **inv, struct seam_err *e)
{
	long status = 0;
	int rc;

	*inv = NULL;
	rc = http_client_request(cl, "GET", "/api/v1/inventory", NULL, &status,
				 inv, e);
	if (rc < 0)
		return rc;
	if (status != 200 || !json_is_object(*inv)) {
		rc = hostlink_reply_err(host, status, *inv, e);
		json_decref(*inv);
		*inv = NULL;
		return rc;
	}
	return 0;
}

int hostlink_fetch(struct center *c, const json_t *host, json_t **inv,
		   struct seam_err *e)
{
	struct http_client *cl = NULL;
	struct seam_err ce = {0};
	int rc;

	*inv = NULL;
	rc = hostlink_take(host, &cl, &ce);
	if (rc == 0)
		rc = hostlink_fetch_inventory(cl, host, inv, &ce);
	hostlink_give(host, cl, rc == 0);
	if (rc < 0) {
		hostlink_mark(c, host, "disconnected", ce.msg);
		return err_set(e, EAGAIN, "%s", ce.msg);
	}
	hostlink_mark(c, host, "connected", NULL);
	return 0;
}

int hostlink_refresh(struct center *c, const json_t *host, json_t **inv,
		     struct seam_err *e)
{
	json_t *i = NULL;
	int rc = hostlink_fetch(c, host, &i, e);

	if (rc < 0)
		return rc;
	store_host_set_inventory(
	    c->st, json_integer_value(json_object_get(host, "id")), i, 0);
	if (inv)
		*inv = i;
	else
		json_decref(i);
	return 0;
}

/* ---- the poller ---- */

struct poll_slot {
	int64_t id;
	char key[1024]; /* address|thumbprint|secret: a change drops the client
			 */
	struct http_client *cl;
	unsigned rounds;
	bool seen;
};

struct poller {
	struct poll_slot *slots;
	size_t n;
};

static struct poll_slot *poller_slot(struct poller *p, const json_t *host)
{
	int64_t id = json_integer_value(json_object_get(host, "id"));
	char key[1024];
	struct poll_slot *s;
	size_t i;

	snprintf(key, sizeof(key), "%s|%s|%s", jsonio_str(host, "address"),
		 jsonio_str(host, "thumbprint"), jsonio_str(host, "secret"));
	for (i = 0; i < p->n; i++) {
		s = &p->slots[i];
		if (s->id != id)
			continue;
		if (strcmp(s->key, key)) {
			http_client_free(s->cl);
			s->cl = NULL;
			snprintf(s->key, sizeof(s->key), "%s", key);
		}
		return s;
	}
	s = realloc(p->slots, (p->n + 1) * sizeof(*s));
	if (!s)
		return NULL;
	p->slots = s;
	s = &p->slots[p->n++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	snprintf(s->key, sizeof(s->key), "%s", key);
	return s;
}

/* Drop slots of hosts no longer in the store. */
static void poller_sweep(struct poller *p)
{
	size_t i = 0;

	while (i < p->n) {
		if (p->slots[i].seen) {
			p->slots[i++].seen = false;
			continue;
		}
		http_client_free(p->slots[i].cl);
		p->slots[i] = p->slots[--p->n];
	}
}

static void poller_forward(struct center *c, const json_t *host,
			   const json_t *events)
{
	int64_t id = json_integer_value(json_object_get(host, "id"));
	int64_t cl = json_integer_value(json_object_get(host, "cluster_id"));
	json_t *ev;
	size_t i;

	json_array_foreach((json_t *)events, i, ev)
	{
		const char *type = jsonio_str(ev, "type");
		char t[96];

		if (!type)
			continue;
		snprintf(t, sizeof(t), "host.%s", type);
		center_event(c, t, cl, id, jsonio_str(ev, "vm"), 0, ev, "%s: %s",
			     jsonio_str(host, "name"),
			     jsonio_str(ev, "message") ? jsonio_str(ev, "message") : type);
	}
}

static void poller_host(struct center *c, struct poll_slot *s,
			const json_t *host)
{
	int64_t cursor =
	    json_integer_value(json_object_get(host, "event_cursor"));
	int64_t id = json_integer_value(json_object_get(host, "id"));
	struct seam_err e = {0};
	json_t *reply = NULL, *inv = NULL, *evs;
	char path[128];
	long status = 0;
	bool full = (s->rounds++ % HOSTLINK_FULL_EVERY) == 0;
	int rc = 0;

	if (!s->cl)
		rc =
		    hostlink_client(host, HOSTLINK_POLL_TIMEOUT_MS, &s->cl, &e);
	if (rc == 0) {
		snprintf(path, sizeof(path),
			 "/api/v1/events?after=%lld&limit=1000",
			 (long long)cursor);
		rc = http_client_request(s->cl, "GET", path, NULL, &status,
					 &reply, &e);
		if (rc == 0 && status == 409 && cursor > 0) {
			/* cursor_ahead: the host's log was reset. */
			store_host_set_cursor(c->st, id, 0);
			json_decref(reply);
			reply = NULL;
			cursor = 0;
			rc = http_client_request(s->cl, "GET",
						 "/api/v1/events?after=0&"
						 "limit=1000",
						 NULL, &status, &reply, &e);
			full = true;
		}
		if (rc == 0 && status != 200)
			rc = hostlink_reply_err(host, status, reply, &e);
	}
	if (rc < 0) {
		http_client_free(s->cl);
		s->cl = NULL;
		json_decref(reply);
		hostlink_mark(c, host, "disconnected", e.msg);
		return;
	}
	evs = json_object_get(reply, "events");
	if (json_integer_value(json_object_get(reply, "last")) < cursor) {
		/* The host's log restarted (state re-initialised). */
		cursor = 0;
		full = true;
	}
	if (json_array_size(evs) > 0)
		full = true;
	/*
	 * The inventory is fetched (after the events, so it is at least as
	 * new) and the host marked connected BEFORE its events are re-emitted:
	 * a client that sees a host's event then finds the host connected and
	 * the inventory holding what the event announced. If the inventory
	 * cannot be fetched, nothing is forwarded and the cursor stays: the
	 * same events are forwarded once, next round.
	 */
	if (full || strcmp(jsonio_str(host, "state"), "connected")) {
		if (hostlink_fetch_inventory(s->cl, host, &inv, &e) < 0) {
			json_decref(reply);
			hostlink_mark(c, host, "disconnected", e.msg);
			return;
		}
		store_host_set_inventory(c->st, id, inv, 0);
		json_decref(inv);
	}
	hostlink_mark(c, host, "connected", NULL);
	if (json_array_size(evs) > 0) {
		poller_forward(c, host, evs);
		cursor = json_integer_value(json_object_get(reply, "cursor"));
	}
	store_host_set_cursor(c->st, id, cursor);
	json_decref(reply);
}

static bool poller_sleep(struct center *c, long ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->ev_lock);
	if (!c->stopping)
		pthread_cond_timedwait(&c->ev_cond, &c->ev_lock, &ts);
	stop = c->stopping;
	pthread_mutex_unlock(&c->ev_lock);
	return stop;
}

static void *poller_thread(void *arg)
{
	struct center *c = arg;
	struct poller p = {0};
	struct timespec t0, t1;
	json_t *hosts, *h;
	size_t i;
	long spent;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		hosts = store_host_list_full(c->st, 0, true);
		json_array_foreach(hosts, i, h)
		{
			struct poll_slot *s = poller_slot(&p, h);

			if (!s)
				continue;
			s->seen = true;
			poller_host(c, s, h);
			pthread_mutex_lock(&c->ev_lock);
			if (c->stopping) {
				pthread_mutex_unlock(&c->ev_lock);
				break;
			}
			pthread_mutex_unlock(&c->ev_lock);
		}
		json_decref(hosts);
		poller_sweep(&p);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		spent = (t1.tv_sec - t0.tv_sec) * 1000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000000;
		/*
		 * ev_cond also wakes on every event; the loop re-checks the
		 * interval, so a busy event log does not speed polling up.
		 */
		while (spent < c->poll_ms) {
			if (poller_sleep(c, c->poll_ms - spent))
				goto out;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			spent = (t1.tv_sec - t0.tv_sec) * 1000 +
				(t1.tv_nsec - t0.tv_nsec) / 1000000;
		}
		pthread_mutex_lock(&c->ev_lock);
		if (c->stopping) {
			pthread_mutex_unlock(&c->ev_lock);
			break;
		}
		pthread_mutex_unlock(&c->ev_lock);
	}
out:
	for (i = 0; i < p.n; i++)
		http_client_free(p.slots[i].cl);
	free(p.slots);
	return NULL;
}

int hostlink_poller_start(struct center *c, struct seam_err *e)
{
	if (pthread_create(&c->poller, NULL, poller_thread, c) != 0)
		return err_set(e, EAGAIN, "cannot start the host poller");
	c->poller_running = true;
	return 0;
}

void hostlink_poller_stop(struct center *c)
{
	pthread_mutex_lock(&c->ev_lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->ev_cond);
	pthread_mutex_unlock(&c->ev_lock);
	if (c->poller_running)
		pthread_join(c->poller, NULL);
	c->poller_running = false;
}
