/*
 * vm_proc.h — hostd's side of a VM's seam-vmx process.
 *
 * A VM runs in its own seam-vmx process that must outlive hostd: hostd may
 * stop, crash, or re-exec itself into a new binary, and no VM may notice.
 * So the vmx is started detached (double fork, setsid: its parent is init,
 * not hostd; stdin from /dev/null, its log to the VM's vmx.log), and what
 * hostd needs to find it again is written to the VM's runtime.json: pid,
 * the process's start time (from /proc, so a recycled pid is not mistaken
 * for the VM), control socket, and which vmx binary and version it runs.
 *
 * A VM with a runtime file is running while that process lives; when the
 * process is gone without hostd having stopped it, the VM is `crashed` —
 * reported, never restarted behind the operator's back. Powering off a
 * crashed VM acknowledges it (removes the runtime file).
 *
 * A suspended VM has no process and no runtime file: its snapshot is
 * restored by a new vmx (`run --restore`, spec->restore), which takes
 * the kernel, command line, RAM and vCPUs from the file.
 *
 * Stopping asks the vmx politely (`seam-vmx ctl SOCK stop`), waits, and
 * only with force sends SIGKILL.
 */
#ifndef SEAM_HOSTD_VM_PROC_H
#define SEAM_HOSTD_VM_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* SUSPENDED: no process, the VM waits in a snapshot file (vm_suspend.c). */
enum vm_power {
	VM_POWER_STOPPED,
	VM_POWER_RUNNING,
	VM_POWER_CRASHED,
	VM_POWER_SUSPENDED,
};

struct vm_runtime {
	pid_t pid;
	unsigned long long starttime; /* /proc/PID/stat field 22 */
	char control[108];	      /* unix socket path (sun_path) */
	char vmx[PATH_MAX];	      /* the binary it was started from */
	char vmx_version[64];
	char started[40];
	char crashed[40]; /* when hostd first saw it dead, "" = not seen */
	/* vmx_version was read from the VM itself (`status`), not assumed */
	bool version_checked;
};

struct vm_proc_spec {
	const char *dir; /* the VM's directory: logs, socket, runtime.json */
	const char *vmx;
	const char *vmx_version;
	const char *name;
	const char *kernel;
	const char *cmdline;
	uint64_t mem_mib;
	unsigned vcpus;
	/* migration target: `run --incoming ADDR:PORT --token T`; NULL = no */
	const char *incoming;
	const char *token;
	/* `run --restore PATH`: the VM continues from a snapshot; NULL = no */
	const char *restore;
};

const char *vm_power_name(enum vm_power p);

/* Start a detached vmx; rt is filled and saved in dir/runtime.json. */
int vm_proc_start(const struct vm_proc_spec *spec, struct vm_runtime *rt,
		  struct seam_err *e);
/* Running or crashed from a runtime record. */
enum vm_power vm_proc_state(const struct vm_runtime *rt);
/*
 * Ask the vmx to stop and wait up to timeout_ms for it to exit; with force,
 * SIGKILL it if it has not. -ETIMEDOUT when it still runs.
 */
int vm_proc_stop(const struct vm_runtime *rt, long timeout_ms, bool force,
		 struct seam_err *e);

/* dir/runtime.json: load (-ENOENT when absent), save, remove. */
int vm_runtime_load(const char *dir, struct vm_runtime *rt, struct seam_err *e);
int vm_runtime_save(const char *dir, const struct vm_runtime *rt,
		    struct seam_err *e);
int vm_runtime_remove(const char *dir);

/* Wait until the vmx of rt has ended; false when it still runs after
 * timeout_ms. */
bool vm_proc_wait_gone(const struct vm_runtime *rt, long timeout_ms);

/* Now, UTC, as "2026-01-31T12:00:00Z" (the times runtime.json holds). */
void vm_proc_now(char *buf, size_t len);

/* /proc/PID/stat start time; 0 when the process is gone or a zombie. */
unsigned long long vm_proc_starttime(pid_t pid);

#endif
