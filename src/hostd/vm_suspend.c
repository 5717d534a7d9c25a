/*
 * vm_suspend.c — a VM put aside on disk and continued later (issue 7's
 * power policy `suspend`).
 *
 * Suspend asks the VM's own vmx client `VMX ctl SOCK snapshot FILE`: the
 * vmx writes guest RAM and state beside FILE, fsyncs, renames, replies and
 * ends (status 9). Resume starts `run --restore FILE` from the *active* vmx
 * revision with the VM's usual name, serial log and control socket, and
 * removes FILE only once the new process answers `status`.
 *
 * What is on disk says what the VM is, whatever moment hostd dies at:
 *
 *   suspended.json  written (aside + rename) BEFORE the snapshot is asked
 *                   for: snapshot path, vmx it came from, times, bytes;
 *   suspend.snap    appears whole or not at all (the vmx renames it).
 *
 * A VM whose process runs is running; else one with both files is
 * suspended; else one with a runtime record is crashed. So a snapshot that
 * fails (the VM runs on, no file) leaves it running; a hostd killed
 * between the rename and its own bookkeeping finds it suspended; a restore
 * whose process dies leaves it suspended with its file. Resume removes the
 * record first and the file after, so a stray file never makes a VM look
 * suspended.
 */
#include "hostd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonio.h"
#include "log.h"
#include "vm_proc.h"
#include "vmstore.h"
#include "vmxctl.h"

#define SUSPEND_RECORD "suspended.json"
#define SUSPEND_FILE "suspend.snap"
/* Defaults; SEAM_HOSTD_SNAPSHOT_TIMEOUT_MS / _RESTORE_TIMEOUT_MS override. */
#define SUSPEND_SNAPSHOT_MS (10 * 60 * 1000)
#define SUSPEND_RESTORE_MS (2 * 60 * 1000)
#define SUSPEND_EXIT_WAIT_MS 30000
#define SUSPEND_STATUS_MS 5000
#define SUSPEND_POLL_US 100000

static void suspend_path(const char *dir, const char *file, char *buf,
			 size_t len)
{
	fs_path(buf, len, "%s/%s", dir, file);
}

static json_t *suspend_record_load(const char *dir)
{
	char path[PATH_MAX];
	json_t *j = NULL;

	suspend_path(dir, SUSPEND_RECORD, path, sizeof(path));
	if (jsonio_load_file(path, &j, NULL) < 0)
		return NULL;
	return j;
}

static int suspend_record_save(const char *dir, const json_t *rec,
			       struct seam_err *e)
{
	char path[PATH_MAX];

	suspend_path(dir, SUSPEND_RECORD, path, sizeof(path));
	return jsonio_save_file(path, rec, 0644, e);
}

/* The record first, then the file (see the note at the top). */
static void suspend_forget(const char *dir, bool keep_file)
{
	char path[PATH_MAX];

	suspend_path(dir, SUSPEND_RECORD, path, sizeof(path));
	unlink(path);
	fs_fsync_parent(path);
	if (keep_file)
		return;
	suspend_path(dir, SUSPEND_FILE, path, sizeof(path));
	unlink(path);
	fs_fsync_parent(path);
}

bool hostd_vm_suspended(const char *dir)
{
	char rec[PATH_MAX], snap[PATH_MAX];

	suspend_path(dir, SUSPEND_RECORD, rec, sizeof(rec));
	suspend_path(dir, SUSPEND_FILE, snap, sizeof(snap));
	return access(rec, F_OK) == 0 && access(snap, R_OK) == 0;
}

json_t *hostd_vm_suspend_describe(const char *dir)
{
	json_t *rec = suspend_record_load(dir);

	return rec ? rec : json_object();
}

void hostd_vm_suspend_discard(const char *dir)
{
	suspend_forget(dir, false);
}

/* The reply's error, or what the client's exit status says. */
static const char *suspend_why(const json_t *reply, int status, char *buf,
			       size_t len)
{
	const char *why = json_string_value(json_object_get(reply, "error"));

	if (why)
		return why;
	snprintf(buf, len,
		 reply ? "the vmx answered without \"ok\""
		       : "the vmx client gave no reply (status %d)",
		 status);
	return buf;
}

/* After the reply: the vmx ends by itself (status 9); it is made to. */
static void suspend_wait_exit(const struct vm_runtime *rt)
{
	if (vm_proc_wait_gone(rt, SUSPEND_EXIT_WAIT_MS))
		return;
	log_warnx("vmx pid %d still runs after its snapshot; killing it",
		  (int)rt->pid);
	kill(rt->pid, SIGKILL);
	vm_proc_wait_gone(rt, 5000);
}

int hostd_vm_suspend(struct hostd *h, const char *name, struct seam_err *e)
{
	char dir[PATH_MAX], snap[PATH_MAX], when[40], why[128];
	const char *args[] = {"snapshot", snap, NULL};
	struct vm_runtime rt;
	json_t *rec, *reply = NULL;
	enum vm_power p;
	int rc, st = -1;

	if ((rc = vmstore_load(h->state, name, &(struct vm_config){0}, e)) < 0)
		return rc;
	p = hostd_vm_power_state(h, name, &rt);
	if (p != VM_POWER_RUNNING)
		return err_set(e, EBUSY,
			       "VM '%s' is %s: only a running VM can be "
			       "suspended",
			       name, vm_power_name(p));
	vmstore_dir(h->state, name, dir, sizeof(dir));
	suspend_path(dir, SUSPEND_FILE, snap, sizeof(snap));
	vm_proc_now(when, sizeof(when));
	rec = json_pack("{s:s,s:s,s:s,s:s}", "snapshot", snap, "vmx", rt.vmx,
			"vmx_version", rt.vmx_version, "requested", when);
	rc = suspend_record_save(dir, rec, e);
	if (rc == 0)
		rc = vmxctl_client(
		    rt.vmx, rt.control, args,
		    hostd_env_long("SEAM_HOSTD_SNAPSHOT_TIMEOUT_MS",
				   SUSPEND_SNAPSHOT_MS),
		    &reply, &st, e);
	if (rc == 0 && !json_is_true(json_object_get(reply, "ok")))
		rc = err_set(e, EIO, "snapshot of VM '%s' failed: %s", name,
			     suspend_why(reply, st, why, sizeof(why)));
	if (rc < 0) {
		if (access(snap, R_OK) != 0)
			suspend_forget(dir, true);
		json_decref(rec);
		json_decref(reply);
		evlog_emit(h->events, "vm.suspend_failed", name, "%s",
			   e ? e->msg : "snapshot failed");
		return rc;
	}
	suspend_wait_exit(&rt);
	vm_proc_now(when, sizeof(when));
	json_object_set_new(rec, "suspended", json_string(when));
	json_object_set(rec, "bytes", json_object_get(reply, "bytes"));
	json_object_set(rec, "time_ms", json_object_get(reply, "time_ms"));
	rc = suspend_record_save(dir, rec, e);
	if (rc == 0)
		vm_runtime_remove(dir);
	if (rc == 0)
		evlog_emit(h->events, "vm.suspended", name,
			   "VM %s suspended to %s (%lld bytes in %lld ms)",
			   name, snap,
			   (long long)json_integer_value(
			       json_object_get(reply, "bytes")),
			   (long long)json_integer_value(
			       json_object_get(reply, "time_ms")));
	json_decref(rec);
	json_decref(reply);
	return rc;
}

/* The last non-empty line of the VM's vmx.log: why a restore ended. */
static void suspend_vmx_said(const char *dir, char *buf, size_t len)
{
	char path[PATH_MAX], *text = NULL, *end, *line;
	size_t n = 0;

	snprintf(buf, len, "the vmx ended");
	suspend_path(dir, "vmx.log", path, sizeof(path));
	if (fs_read_file(path, 1 << 20, &text, &n, NULL) < 0)
		return;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	end = text + n;
	*end = '\0';
	line = strrchr(text, '\n');
	line = line ? line + 1 : text;
	if (*line)
		snprintf(buf, len, "%s", line);
	free(text);
}

/*
 * Wait until the restored VM answers `status` (0), or its process is gone
 * or the deadline passed (-errno, the reason in e).
 */
static int suspend_wait_running(const char *dir, const struct vm_runtime *rt,
				struct seam_err *e)
{
	long left =
	    hostd_env_long("SEAM_HOSTD_RESTORE_TIMEOUT_MS", SUSPEND_RESTORE_MS);
	const char *args[] = {"status", NULL};
	char said[512];
	int st;

	for (; left > 0; left -= SUSPEND_POLL_US / 1000) {
		if (vm_proc_state(rt) != VM_POWER_RUNNING) {
			suspend_vmx_said(dir, said, sizeof(said));
			return err_set(e, EIO, "%s", said);
		}
		if (access(rt->control, F_OK) == 0 &&
		    vmxctl_client(rt->vmx, rt->control, args, SUSPEND_STATUS_MS,
				  NULL, &st, NULL) == 0 &&
		    st == 0)
			return 0;
		usleep(SUSPEND_POLL_US);
	}
	kill(rt->pid, SIGKILL);
	return err_set(e, ETIMEDOUT,
		       "it did not answer within the restore "
		       "timeout");
}

int hostd_vm_resume(struct hostd *h, const char *name, struct seam_err *e)
{
	char dir[PATH_MAX], vmx[PATH_MAX], ver[256], snap[PATH_MAX];
	struct vm_proc_spec spec;
	struct vm_runtime rt;
	struct seam_err why = {0};
	int rc;

	rc = hostd_vmx_active(h, vmx, sizeof(vmx), ver, sizeof(ver), e);
	if (rc < 0)
		return rc;
	vmstore_dir(h->state, name, dir, sizeof(dir));
	suspend_path(dir, SUSPEND_FILE, snap, sizeof(snap));
	/* The snapshot holds the kernel, command line, RAM and vCPUs. */
	spec = (struct vm_proc_spec){.dir = dir,
				     .vmx = vmx,
				     .name = name,
				     .vmx_version = ver,
				     .restore = snap};
	vm_runtime_remove(dir);
	rc = vm_proc_start(&spec, &rt, &why);
	if (rc == 0)
		rc = suspend_wait_running(dir, &rt, &why);
	if (rc < 0) {
		vm_runtime_remove(dir);
		rc = err_set(e, rc == -ETIMEDOUT ? ETIMEDOUT : EIO,
			     "VM '%s' could not be restored from %s by vmx "
			     "%s: %s; it stays suspended and its snapshot is "
			     "kept",
			     name, snap, ver, why.msg);
		evlog_emit(h->events, "vm.resume_failed", name, "%s",
			   e ? e->msg : why.msg);
		return rc;
	}
	suspend_forget(dir, false);
	hostd_vm_refresh_version(h, name, SUSPEND_STATUS_MS, NULL);
	evlog_emit(h->events, "vm.resumed", name,
		   "VM %s resumed from its snapshot (vmx %s, pid %d)", name,
		   ver, (int)rt.pid);
	return 0;
}
