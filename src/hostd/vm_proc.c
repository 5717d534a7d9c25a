/*
 * vm_proc.c — see vm_proc.h.
 *
 * Start sequence: a CLOEXEC pipe; fork; the child calls setsid() and forks
 * the vmx-to-be, writes its pid into the pipe and exits at once (hostd reaps
 * it, so no zombie is left and the vmx is re-parented to init). The
 * grandchild sets up its descriptors and execs; if exec fails it writes
 * errno into the pipe. hostd reads the pid, then reads until EOF: no more
 * bytes means the exec happened (the pipe closed on exec).
 */
#include "vm_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonio.h"

#define VM_PROC_POLL_MS 20

const char *vm_power_name(enum vm_power p)
{
	switch (p) {
	case VM_POWER_STOPPED:
		return "stopped";
	case VM_POWER_RUNNING:
		return "running";
	case VM_POWER_CRASHED:
		return "crashed";
	case VM_POWER_SUSPENDED:
		return "suspended";
	}
	return "?";
}

unsigned long long vm_proc_starttime(pid_t pid)
{
	char path[64], buf[1024], state;
	unsigned long long st = 0;
	char *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces and ')' */
	if (!p || sscanf(p + 1, " %c", &state) != 1 || state == 'Z' ||
	    state == 'X')
		return 0;
	/* Field 3 is state; skip to field 22. */
	p += 2;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		st = strtoull(p, NULL, 10);
	return st;
}

void vm_proc_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The strings of a vmx command line, made before fork. */
struct vm_proc_argv {
	char serial[PATH_MAX];
	char log[PATH_MAX];
	char mem[32];
	char vcpus[16];
};

/*
 * In the grandchild: signals, descriptors, then exec. Never returns. Only
 * async-signal-safe calls: hostd has other threads.
 */
static void vm_proc_exec(const struct vm_proc_spec *s, const char *sock,
			 const struct vm_proc_argv *a, int errfd)
{
	sigset_t none;
	int null, out, err;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	null = open("/dev/null", O_RDONLY);
	out = open(a->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (null < 0 || out < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		goto fail;
	if (s->restore)
		execl(s->vmx, s->vmx, "run", "--restore", s->restore, "--name",
		      s->name, "--serial-log", a->serial, "--control", sock,
		      (char *)NULL);
	else if (s->incoming)
		execl(s->vmx, s->vmx, "run", "--name", s->name, "--kernel",
		      s->kernel, "--cmdline", s->cmdline, "--mem", a->mem,
		      "--vcpus", a->vcpus, "--serial-log", a->serial,
		      "--control", sock, "--incoming", s->incoming, "--token",
		      s->token, (char *)NULL);
	else
		execl(s->vmx, s->vmx, "run", "--name", s->name, "--kernel",
		      s->kernel, "--cmdline", s->cmdline, "--mem", a->mem,
		      "--vcpus", a->vcpus, "--serial-log", a->serial,
		      "--control", sock, (char *)NULL);
fail:
	err = errno;
	(void)!write(errfd, &err, sizeof(err));
	_exit(127);
}

static int vm_proc_spawn(const struct vm_proc_spec *s, const char *sock,
			 pid_t *vmx_pid, struct seam_err *e)
{
	struct vm_proc_argv a;
	int p[2], status, child_err = 0;
	pid_t child, gc = -1;
	ssize_t n;

	snprintf(a.serial, sizeof(a.serial), "%s/serial.log", s->dir);
	snprintf(a.log, sizeof(a.log), "%s/vmx.log", s->dir);
	snprintf(a.mem, sizeof(a.mem), "%lluM", (unsigned long long)s->mem_mib);
	snprintf(a.vcpus, sizeof(a.vcpus), "%u", s->vcpus);
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, "pipe");
	child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return err_sys(e, "fork");
	}
	if (child == 0) {
		close(p[0]);
		setsid();
		signal(SIGPIPE, SIG_DFL);
		gc = fork();
		if (gc == 0)
			vm_proc_exec(s, sock, &a, p[1]);
		(void)!write(p[1], &gc, sizeof(gc));
		_exit(gc < 0 ? 1 : 0);
	}
	close(p[1]);
	waitpid(child, &status, 0);
	n = read(p[0], &gc, sizeof(gc));
	if (n == (ssize_t)sizeof(gc) && gc > 0)
		n = read(p[0], &child_err, sizeof(child_err));
	close(p[0]);
	if (gc <= 0)
		return err_set(e, EAGAIN, "cannot fork the vmx for VM '%s'",
			       s->name);
	if (n == (ssize_t)sizeof(child_err) && child_err) {
		errno = child_err;
		return err_sys(e, "cannot start %s for VM '%s'", s->vmx,
			       s->name);
	}
	*vmx_pid = gc;
	return 0;
}

int vm_proc_start(const struct vm_proc_spec *spec, struct vm_runtime *rt,
		  struct seam_err *e)
{
	char sock[PATH_MAX];
	pid_t pid = -1;
	int rc;

	memset(rt, 0, sizeof(*rt));
	if ((size_t)snprintf(sock, sizeof(sock), "%s/control.sock",
			     spec->dir) >= sizeof(rt->control))
		return err_set(e, ENAMETOOLONG,
			       "control socket path %s is longer than a unix "
			       "socket allows",
			       sock);
	if (access(spec->vmx, X_OK) < 0)
		return err_sys(e, "vmx binary %s", spec->vmx);
	unlink(sock);
	rc = vm_proc_spawn(spec, sock, &pid, e);
	if (rc < 0)
		return rc;
	rt->pid = pid;
	rt->starttime = vm_proc_starttime(pid);
	fs_path(rt->control, sizeof(rt->control), "%s", sock);
	fs_path(rt->vmx, sizeof(rt->vmx), "%s", spec->vmx);
	snprintf(rt->vmx_version, sizeof(rt->vmx_version), "%s",
		 spec->vmx_version ? spec->vmx_version : "unknown");
	vm_proc_now(rt->started, sizeof(rt->started));
	return vm_runtime_save(spec->dir, rt, e);
}

enum vm_power vm_proc_state(const struct vm_runtime *rt)
{
	unsigned long long st;

	if (rt->pid <= 0)
		return VM_POWER_STOPPED;
	st = vm_proc_starttime(rt->pid);
	if (st == 0 || (rt->starttime && st != rt->starttime))
		return VM_POWER_CRASHED;
	return VM_POWER_RUNNING;
}

/* `VMX ctl SOCK stop`, bounded; its failure only means "ask harder". */
static void vm_proc_ctl_stop(const struct vm_runtime *rt)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execl(rt->vmx, rt->vmx, "ctl", rt->control, "stop",
		      (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
}

bool vm_proc_wait_gone(const struct vm_runtime *rt, long timeout_ms)
{
	struct timespec ts = {0, VM_PROC_POLL_MS * 1000000L};
	long waited = 0;

	for (;;) {
		if (vm_proc_state(rt) != VM_POWER_RUNNING)
			return true;
		if (waited >= timeout_ms)
			return false;
		nanosleep(&ts, NULL);
		waited += VM_PROC_POLL_MS;
	}
}

int vm_proc_stop(const struct vm_runtime *rt, long timeout_ms, bool force,
		 struct seam_err *e)
{
	if (vm_proc_state(rt) != VM_POWER_RUNNING)
		return 0;
	vm_proc_ctl_stop(rt);
	if (vm_proc_wait_gone(rt, timeout_ms))
		return 0;
	if (!force)
		return err_set(e, ETIMEDOUT,
			       "vmx pid %d did not stop within %ld ms (use "
			       "force)",
			       (int)rt->pid, timeout_ms);
	kill(rt->pid, SIGKILL);
	if (vm_proc_wait_gone(rt, 5000))
		return 0;
	return err_set(e, ETIMEDOUT, "vmx pid %d survived SIGKILL",
		       (int)rt->pid);
}

static void vm_copy_str(char *dst, size_t len, const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(dst, len, "%s", s ? s : "");
}

int vm_runtime_load(const char *dir, struct vm_runtime *rt, struct seam_err *e)
{
	char path[PATH_MAX];
	json_t *j;
	int rc;

	memset(rt, 0, sizeof(*rt));
	snprintf(path, sizeof(path), "%s/runtime.json", dir);
	rc = jsonio_load_file(path, &j, e);
	if (rc < 0)
		return rc;
	rt->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	rt->starttime = (unsigned long long)json_integer_value(
	    json_object_get(j, "starttime"));
	vm_copy_str(rt->control, sizeof(rt->control), j, "control");
	vm_copy_str(rt->vmx, sizeof(rt->vmx), j, "vmx");
	vm_copy_str(rt->vmx_version, sizeof(rt->vmx_version), j, "vmx_version");
	rt->version_checked =
	    json_is_true(json_object_get(j, "version_checked"));
	vm_copy_str(rt->started, sizeof(rt->started), j, "started");
	vm_copy_str(rt->crashed, sizeof(rt->crashed), j, "crashed");
	json_decref(j);
	if (rt->pid <= 0)
		return err_set(e, EINVAL, "%s: no pid", path);
	return 0;
}

int vm_runtime_save(const char *dir, const struct vm_runtime *rt,
		    struct seam_err *e)
{
	char path[PATH_MAX];
	json_t *j;
	int rc;

	snprintf(path, sizeof(path), "%s/runtime.json", dir);
	j = json_pack("{s:i,s:I,s:s,s:s,s:s,s:s}", "pid", (int)rt->pid,
		      "starttime", (json_int_t)rt->starttime, "control",
		      rt->control, "vmx", rt->vmx, "vmx_version",
		      rt->vmx_version, "started", rt->started);
	json_object_set_new(j, "version_checked",
			    json_boolean(rt->version_checked));
	if (rt->crashed[0])
		json_object_set_new(j, "crashed", json_string(rt->crashed));
	rc = jsonio_save_file(path, j, 0644, e);
	json_decref(j);
	return rc;
}

int vm_runtime_remove(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/runtime.json", dir);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fs_fsync_parent(path);
	return 0;
}
