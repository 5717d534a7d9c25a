/*
 * script.c — fork, exec, read two pipes, bound by a deadline.
 *
 * The child gets its own process group so that a timeout kills whatever
 * the script started too. stdout is parsed line by line as it arrives
 * (a partial last line is parsed at EOF); stderr is kept, bounded, for the
 * log and the error report.
 */
#include "script.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SCRIPT_LINE_MAX 8192
#define SCRIPT_STDERR_MAX 4096

static long script_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void script_warn(struct script_result *r, const char *what,
			const char *line)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s: %.300s", what, line);
	json_array_append_new(r->warnings, json_string(buf));
}

void script_parse_line(struct script_result *r, const char *line)
{
	json_error_t je;
	json_t *j;
	const char *type, *text, *vm;

	if (!*line)
		return;
	j = json_loads(line, 0, &je);
	if (!j || !json_is_object(j)) {
		script_warn(r, "not a JSON object", line);
		json_decref(j);
		return;
	}
	type = json_string_value(json_object_get(j, "type"));
	text = json_string_value(json_object_get(j, "text"));
	vm = json_string_value(json_object_get(j, "vm"));
	if (type && !strcmp(type, "message") && text) {
		const char *lvl =
		    json_string_value(json_object_get(j, "level"));

		json_array_append_new(
		    r->messages, json_pack("{s:s,s:s}", "level",
					   lvl ? lvl : "info", "text", text));
	} else if (type && !strcmp(type, "tag_vm") && vm) {
		const char *act =
		    json_string_value(json_object_get(j, "action"));
		const char *why =
		    json_string_value(json_object_get(j, "reason"));

		json_array_append_new(r->tags,
				      json_pack("{s:s,s:s,s:s}", "vm", vm,
						"action", act ? act : "fsr",
						"reason", why ? why : ""));
	} else if (type && !strcmp(type, "error")) {
		json_t *err =
		    json_pack("{s:s}", "text", text ? text : "(no text)");

		if (vm)
			json_object_set_new(err, "vm", json_string(vm));
		json_array_append_new(r->errors, err);
	} else {
		script_warn(r, "unknown line type", line);
	}
	json_decref(j);
}

/* Split buf at newlines, parse whole lines, keep the rest at the front. */
static void script_take_lines(struct script_result *r, char *buf, size_t *len,
			      bool eof)
{
	char *start = buf, *nl;

	buf[*len] = '\0';
	while ((nl = memchr(start, '\n', (size_t)(buf + *len - start)))) {
		*nl = '\0';
		script_parse_line(r, start);
		start = nl + 1;
	}
	*len = (size_t)(buf + *len - start);
	memmove(buf, start, *len);
	if (*len >= SCRIPT_LINE_MAX - 1 || (eof && *len)) {
		buf[*len] = '\0';
		script_parse_line(r, buf);
		*len = 0;
	}
}

static void script_child(const char *path, const char *cwd, char *const env[],
			 int out, int err)
{
	sigset_t none;
	int null = open("/dev/null", O_RDONLY);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(err, 2) < 0 || chdir(cwd) < 0)
		_exit(126);
	execve(path, (char *const[]){(char *)path, NULL}, env);
	_exit(127);
}

static void script_collect(struct script_result *r, int out, int err, pid_t pid,
			   long timeout_ms)
{
	long deadline = script_now_ms() + timeout_ms;
	char obuf[SCRIPT_LINE_MAX + 1], ebuf[SCRIPT_STDERR_MAX + 1];
	size_t olen = 0, elen = 0;
	struct pollfd p[2] = {{.fd = out, .events = POLLIN},
			      {.fd = err, .events = POLLIN}};
	char junk[1024];
	ssize_t n;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		long left = deadline - script_now_ms();

		if (left <= 0) {
			r->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			break;
		if (p[0].fd >= 0 && p[0].revents) {
			n = read(out, obuf + olen, SCRIPT_LINE_MAX - olen);
			if (n <= 0) {
				p[0].fd = -1;
				script_take_lines(r, obuf, &olen, true);
			} else {
				olen += (size_t)n;
				script_take_lines(r, obuf, &olen, false);
			}
		}
		if (p[1].fd >= 0 && p[1].revents) {
			n = elen < SCRIPT_STDERR_MAX
				? read(err, ebuf + elen,
				       SCRIPT_STDERR_MAX - elen)
				: read(err, junk, sizeof(junk));
			if (n <= 0)
				p[1].fd = -1;
			else if (elen < SCRIPT_STDERR_MAX)
				elen += (size_t)n;
		}
	}
	ebuf[elen] = '\0';
	r->stderr_text = strdup(ebuf);
}

int script_run(const char *path, const char *cwd, char *const env[],
	       long timeout_ms, struct script_result *r, struct seam_err *e)
{
	int out[2], err[2], st = 0;
	pid_t pid;

	*r = (struct script_result){
	    .messages = json_array(),
	    .tags = json_array(),
	    .errors = json_array(),
	    .warnings = json_array(),
	};
	if (access(path, X_OK) < 0)
		return err_sys(e, "script %s", path);
	if (pipe2(out, O_CLOEXEC) < 0)
		return err_sys(e, "pipe");
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return err_sys(e, "pipe");
	}
	pid = fork();
	if (pid == 0)
		script_child(path, cwd, env, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		return err_sys(e, "fork");
	}
	setpgid(pid, pid);
	script_collect(r, out[0], err[0], pid, timeout_ms);
	close(out[0]);
	close(err[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r->timed_out)
		kill(-pid, SIGKILL);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
	if (r->stderr_text && *r->stderr_text)
		log_info("script %s stderr: %s", path, r->stderr_text);
	return 0;
}

bool script_failed(const struct script_result *r, const char *name,
		   struct seam_err *e)
{
	json_t *first = json_array_get(r->errors, 0);

	if (r->timed_out) {
		err_set(e, ETIMEDOUT, "script %s timed out", name);
		return true;
	}
	if (first) {
		const char *vm =
		    json_string_value(json_object_get(first, "vm"));

		err_set(e, EPERM, "script %s failed: %s%s%s%s", name,
			json_string_value(json_object_get(first, "text")),
			vm ? " (VM " : "", vm ? vm : "", vm ? ")" : "");
		return true;
	}
	if (r->status != 0) {
		if (r->status < 0)
			err_set(e, EPERM, "script %s was killed by signal %d",
				name, -r->status);
		else
			err_set(e, EPERM,
				"script %s exited with status %d%s%.200s", name,
				r->status,
				r->stderr_text && *r->stderr_text ? ": " : "",
				r->stderr_text ? r->stderr_text : "");
		return true;
	}
	return false;
}

void script_result_release(struct script_result *r)
{
	json_decref(r->messages);
	json_decref(r->tags);
	json_decref(r->errors);
	json_decref(r->warnings);
	free(r->stderr_text);
	*r = (struct script_result){0};
}
