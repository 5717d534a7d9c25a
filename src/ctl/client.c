/*
 * client.c — seamctl's side of the REST API: one pinned client per run
 * (http_client.h), replies turned into exit codes and sentences, and tasks
 * followed to their end with progress.
 *
 * A refusal is printed as the server worded it ("seamctl: no cluster 'x'
 * (404)"); a route the server does not have is a 404 whose message starts
 * "no endpoint", which seamctl words as "the server does not support X" so
 * that a client newer than its server fails clearly instead of crashing.
 */
#include "ctl.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "progress.h"

int ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("seamctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void ctl_say(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	if (c->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void ctl_print_json(const json_t *j)
{
	char *s =
	    json_dumps(j ? j : json_null(), JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s) {
		puts(s);
		free(s);
	}
}

static volatile sig_atomic_t ctl_bar_fd = -1;

static void ctl_on_signal(int sig)
{
	if (ctl_bar_fd >= 0 && write(ctl_bar_fd, "\n", 1) < 0)
		ctl_bar_fd = -1;
	signal(sig, SIG_DFL);
	raise(sig);
}

void ctl_signals_init(void)
{
	signal(SIGINT, ctl_on_signal);
	signal(SIGTERM, ctl_on_signal);
}

void ctl_bar_active(int fd)
{
	ctl_bar_fd = fd;
}

void ctl_print_json_new(json_t *j)
{
	ctl_print_json(j);
	json_decref(j);
}

bool ctl_confirm(struct ctl *c, const char *question)
{
	char line[64];

	if (!c->in_tty)
		return false;
	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

const char *ctl_esc(const char *s, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; s && *s && o + 4 < n; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == '~') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

const char *ctl_jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

const char *ctl_jtext(const json_t *v, char *buf, size_t n)
{
	if (!v || json_is_null(v))
		return "-";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, n, "%g", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	{
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		snprintf(buf, n, "%s", s ? s : "?");
		free(s);
	}
	return buf;
}

const char *ctl_jfield(const json_t *o, const char *k, char *buf, size_t n)
{
	return ctl_jtext(json_object_get(o, k), buf, n);
}

int ctl_client(struct ctl *c)
{
	struct http_client_opts o = {0};
	struct seam_err e = {0};

	if (c->http)
		return CTL_OK;
	if (ctl_config_load(c->config_path, &c->cfg, &e) < 0)
		return ctl_fail(e.code == ENOENT ? CTL_AUTH : CTL_FAILED, "%s",
				e.msg);
	if (!c->cfg.server[0] || !c->cfg.thumbprint[0])
		return ctl_fail(CTL_AUTH,
				"%s lacks the server or its thumbprint: run "
				"'seamctl login'",
				c->config_path);
	o.base_url = c->cfg.server;
	o.thumbprint = c->cfg.thumbprint;
	o.token = c->cfg.token;
	o.timeout_ms = 120000;
	o.connect_timeout_ms = ctl_connect_timeout_ms();
	if (http_client_new(&o, &c->http, &e) < 0)
		return ctl_fail(CTL_CONN, "%s", e.msg);
	return CTL_OK;
}

long ctl_connect_timeout_ms(void)
{
	const char *s = getenv("SEAM_TIME_SCALE");
	double f = s ? atof(s) : 1.0;

	return f > 1.0 ? (long)(CTL_CONNECT_TIMEOUT_MS * f)
		       : CTL_CONNECT_TIMEOUT_MS;
}

static const char *client_err_msg(const json_t *reply)
{
	const char *m = ctl_jstr(json_object_get(reply, "error"), "message");

	return m ? m : "no message";
}

int ctl_call_status(struct ctl *c, const char *method, const char *path,
		    const json_t *body, long *status, json_t **reply)
{
	struct seam_err e = {0};
	const char *code;
	json_t *r = NULL;
	int rc;

	*reply = NULL;
	*status = 0;
	rc = ctl_client(c);
	if (rc)
		return rc;
	if (http_client_request(c->http, method, path, body, status, &r, &e) <
	    0) {
		snprintf(c->conn_err, sizeof(c->conn_err), "%s", e.msg);
		if (c->quiet_conn)
			return CTL_CONN;
		return ctl_fail(CTL_CONN, "%s", e.msg);
	}
	if (*status >= 200 && *status < 300) {
		*reply = r;
		return CTL_OK;
	}
	code = ctl_jstr(json_object_get(r, "error"), "code");
	if (code && !strcmp(code, "thumbprint_mismatch"))
		rc = ctl_fail(CTL_CONN, "%s (%ld)", client_err_msg(r), *status);
	else if (*status == 401 || *status == 403)
		rc = ctl_fail(CTL_AUTH, "%s (%ld)", client_err_msg(r), *status);
	else if (*status == 404 &&
		 !strncmp(client_err_msg(r), "no endpoint", 11))
		rc = ctl_fail(
		    CTL_FAILED, "the server does not support %s (404): %s %s",
		    c->what ? c->what : "this operation", method, path);
	else if (!r)
		rc = ctl_fail(CTL_FAILED, "%s %s: HTTP %ld with no JSON reply",
			      method, path, *status);
	else
		rc = ctl_fail(CTL_FAILED, "%s (%ld)", client_err_msg(r),
			      *status);
	json_decref(r);
	return rc;
}

int ctl_call(struct ctl *c, const char *method, const char *path,
	     const json_t *body, json_t **reply)
{
	long status;

	return ctl_call_status(c, method, path, body, &status, reply);
}

/* ---- tasks ---- */

static bool task_done(const char *st)
{
	static const char *const end[] = {"success", "error",	"cancelled",
					  "failed",  "done",	"timed_out",
					  "ok",	     "skipped", NULL};
	int i;

	for (i = 0; st && end[i]; i++)
		if (!strcmp(st, end[i]))
			return true;
	return false;
}

static bool task_ok(const char *st)
{
	return st && (!strcmp(st, "success") || !strcmp(st, "done") ||
		      !strcmp(st, "ok") || !strcmp(st, "skipped"));
}

static int term_cols(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* The step a task is at: what the server says, else its status. */
static const char *task_step(const json_t *t)
{
	static const char *const keys[] = {"step", "message",
					   "progress_message", "current", NULL};
	int i;

	for (i = 0; keys[i]; i++)
		if (ctl_jstr(t, keys[i]) && ctl_jstr(t, keys[i])[0])
			return ctl_jstr(t, keys[i]);
	return ctl_jstr(t, "status");
}

struct task_view {
	FILE *f;  /* where progress goes, or NULL */
	bool bar; /* redraw on a terminal */
	int fd;
	int last_pct;
	char last_step[256];
	bool drawn;
};

static void task_show(struct task_view *v, long long id, const json_t *t)
{
	int pct = (int)json_integer_value(json_object_get(t, "progress"));
	const char *step = task_step(t);
	char line[512];

	if (!v->f)
		return;
	if (v->bar) {
		ctl_progress_task_bar(line, sizeof(line), term_cols(v->fd), id,
				      pct, step);
		fprintf(v->f, "\r%s\033[K", line);
		fflush(v->f);
		v->drawn = true;
		ctl_bar_active(fileno(v->f));
		return;
	}
	if (pct == v->last_pct && step && !strcmp(step, v->last_step))
		return;
	v->last_pct = pct;
	snprintf(v->last_step, sizeof(v->last_step), "%s", step ? step : "");
	fprintf(v->f, "%s\n",
		ctl_progress_line(line, sizeof(line), id, pct, step));
	fflush(v->f);
}

static double task_seconds(const json_t *t)
{
	const char *a = ctl_jstr(t, "started"), *b = ctl_jstr(t, "finished");
	struct tm ta = {0}, tb = {0};
	double fa = 0, fb = 0;
	const char *p;

	if (!a || !b || !strptime(a, "%Y-%m-%dT%H:%M:%S", &ta) ||
	    !(p = strptime(b, "%Y-%m-%dT%H:%M:%S", &tb)))
		return -1;
	if (*p == '.')
		fb = strtod(p, NULL);
	p = strchr(a, '.');
	if (p)
		fa = strtod(p, NULL);
	return difftime(timegm(&tb), timegm(&ta)) + fb - fa;
}

#define TASK_LOST_MAX_S 120

/*
 * GET the task; while the center does not answer (it may be restarting in
 * the middle of a remediation, which it resumes), retry for up to
 * TASK_LOST_MAX_S, saying so once.
 */
static int task_get_retrying(struct ctl *c, const char *path, json_t **t,
			     time_t *lost)
{
	struct timespec nap = {1, 0};
	int rc;

	for (;;) {
		c->quiet_conn = true;
		rc = ctl_call(c, "GET", path, NULL, t);
		c->quiet_conn = false;
		if (rc != CTL_CONN) {
			if (rc == CTL_OK && *lost) {
				fprintf(stderr, "seamctl: the center answers "
						"again\n");
				*lost = 0;
			}
			return rc;
		}
		if (!*lost) {
			*lost = time(NULL);
			fprintf(stderr,
				"\nseamctl: %s; retrying for up to %d s\n",
				c->conn_err, TASK_LOST_MAX_S);
		} else if (time(NULL) - *lost >= TASK_LOST_MAX_S) {
			return ctl_fail(CTL_CONN, "%s", c->conn_err);
		}
		nanosleep(&nap, NULL);
	}
}

int ctl_task_follow(struct ctl *c, json_t *task, json_t **final)
{
	time_t lost = 0;
	long long id = json_integer_value(json_object_get(task, "id"));
	const char *timeout_s = c->args ? ctl_arg(c->args, "timeout") : NULL;
	struct task_view v = {.last_pct = -1};
	struct timespec nap = {0, 200 * 1000 * 1000};
	time_t deadline = timeout_s ? time(NULL) + atol(timeout_s) : 0;
	json_t *t = json_incref(task);
	char path[64], buf[64];
	const char *st;
	int rc = CTL_OK;

	if (c->json) {
		v.f = c->err_tty ? stderr : NULL;
		v.bar = true;
		v.fd = 2;
	} else {
		v.f = stdout;
		v.bar = c->tty;
		v.fd = 1;
	}
	snprintf(path, sizeof(path), "/api/v1/tasks/%lld", id);
	for (;;) {
		st = ctl_jstr(t, "status");
		task_show(&v, id, t);
		if (task_done(st))
			break;
		if (deadline && time(NULL) >= deadline) {
			if (v.drawn)
				fputc('\n', v.f);
			ctl_bar_active(-1);
			json_decref(t);
			return ctl_fail(CTL_FAILED,
					"task %lld is still %s after %s s", id,
					st ? st : "running", timeout_s);
		}
		nanosleep(&nap, NULL);
		json_decref(t);
		t = NULL;
		rc = task_get_retrying(c, path, &t, &lost);
		if (rc) {
			if (v.drawn)
				fputc('\n', v.f);
			ctl_bar_active(-1);
			return rc;
		}
	}
	if (v.drawn)
		fputc('\n', v.f);
	ctl_bar_active(-1);
	if (!c->json) {
		double s = task_seconds(t);

		if (s >= 0)
			snprintf(buf, sizeof(buf), " in %.2f s", s);
		else
			buf[0] = '\0';
		printf("task %lld (%s %s): %s%s\n", id, ctl_jstr(t, "type"),
		       ctl_jstr(t, "target_name") ? ctl_jstr(t, "target_name")
						  : "",
		       st, buf);
	}
	if (!task_ok(st)) {
		const char *m =
		    ctl_jstr(json_object_get(t, "error"), "message");

		if (!m)
			m = ctl_jstr(t, "error");
		rc = ctl_fail(CTL_FAILED, "task %lld %s%s%s", id,
			      st ? st : "failed", m ? ": " : "", m ? m : "");
	}
	if (final)
		*final = t;
	else
		json_decref(t);
	return rc;
}

int ctl_task_run(struct ctl *c, const char *method, const char *path,
		 const json_t *body)
{
	json_t *reply = NULL, *task, *final = NULL;
	int rc;

	rc = ctl_call(c, method, path, body, &reply);
	if (rc)
		return rc;
	task = json_object_get(reply, "task");
	if (!task && json_object_get(reply, "id") &&
	    json_object_get(reply, "status"))
		task = reply;
	if (!json_is_object(task)) {
		if (c->json)
			ctl_print_json(reply);
		else
			ctl_say(c, "done");
		json_decref(reply);
		return CTL_OK;
	}
	if (c->no_wait) {
		if (c->json)
			ctl_print_json(task);
		else
			printf("task %lld (%s) started; follow it with: "
			       "seamctl task wait %lld\n",
			       (long long)json_integer_value(
				   json_object_get(task, "id")),
			       ctl_jstr(task, "type"),
			       (long long)json_integer_value(
				   json_object_get(task, "id")));
		json_decref(reply);
		return CTL_OK;
	}
	rc = ctl_task_follow(c, task, &final);
	if (c->json && final)
		ctl_print_json(final);
	json_decref(final);
	json_decref(reply);
	return rc;
}
