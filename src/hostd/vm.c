/*
 * vm.c — hostd's VMs: configurations (vmstore) + processes (vm_proc).
 *
 * The policy (maintenance modes) is checked by the API layer under the same
 * lock; this file does the mechanics and reports each change as an event.
 * Which vmx a VM starts from: --vmx / config.json "vmx_path" when set (a
 * development host), else the active revision of the `vmx` component — the
 * revision directory itself is recorded in the VM's runtime file, so a later
 * switch of `active` does not change what a running VM is said to run.
 * Power-on of a suspended VM is a resume (vm_suspend.c).
 */
#include "hostd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compstore.h"
#include "fsutil.h"
#include "log.h"
#include "vm_proc.h"
#include "vmstore.h"
#include "vmxctl.h"

#define HOSTD_STOP_TIMEOUT_MS 10000
#define HOSTD_MONITOR_PERIOD_MS 1000

int hostd_vmx_active(struct hostd *h, char *path, size_t plen, char *ver,
		     size_t vlen, struct seam_err *e)
{
	char rev[256];

	if (h->vmx_path[0]) {
		snprintf(path, plen, "%s", h->vmx_path);
		snprintf(ver, vlen, "unmanaged");
		return 0;
	}
	if (compstore_active(h->comp_root, "vmx", rev, sizeof(rev)) == 0) {
		snprintf(path, plen, "%s/vmx/%s/bin/seam-vmx", h->comp_root,
			 rev);
		snprintf(ver, vlen, "%s", rev);
		return 0;
	}
	return err_set(e, EBUSY,
		       "no vmx to start: the component store has no active "
		       "'vmx' revision and no vmx_path is configured");
}

static int hostd_kernel_resolve(struct hostd *h, const struct vm_config *c,
				char *path, size_t len, struct seam_err *e)
{
	char rev[256];

	if (c->kernel[0])
		snprintf(path, len, "%s", c->kernel);
	else if (h->default_kernel[0])
		snprintf(path, len, "%s", h->default_kernel);
	else if (compstore_active(h->comp_root, "guest-tools", rev,
				  sizeof(rev)) == 0)
		snprintf(path, len, "%s/guest-tools/%s/bin/seam-guest",
			 h->comp_root, rev);
	else
		return err_set(e, EBUSY,
			       "VM '%s' names no kernel and the host has no "
			       "default (guest-tools component or "
			       "default_kernel)",
			       c->name);
	return 0;
}

/*
 * A live process: running; else a suspend record with its snapshot:
 * suspended; else a runtime record: crashed; else stopped (vm_suspend.c
 * says why in this order).
 */
enum vm_power hostd_vm_power_state(struct hostd *h, const char *name,
				   struct vm_runtime *rt)
{
	char dir[PATH_MAX];
	bool has_rt;

	vmstore_dir(h->state, name, dir, sizeof(dir));
	has_rt = vm_runtime_load(dir, rt, NULL) == 0;
	if (has_rt && vm_proc_state(rt) == VM_POWER_RUNNING)
		return VM_POWER_RUNNING;
	if (hostd_vm_suspended(dir))
		return VM_POWER_SUSPENDED;
	return has_rt ? VM_POWER_CRASHED : VM_POWER_STOPPED;
}

json_t *hostd_vm_describe(struct hostd *h, const char *name, struct seam_err *e)
{
	struct vm_config c;
	struct vm_runtime rt;
	enum vm_power p;
	json_t *j;

	if (vmstore_load(h->state, name, &c, e) < 0)
		return NULL;
	j = vm_config_to_json(&c);
	p = hostd_vm_power_state(h, name, &rt);
	json_object_set_new(j, "state", json_string(vm_power_name(p)));
	if (p == VM_POWER_STOPPED || p == VM_POWER_SUSPENDED) {
		json_object_set_new(j, "vmx_version", json_null());
		if (p == VM_POWER_SUSPENDED) {
			char dir[PATH_MAX];

			vmstore_dir(h->state, name, dir, sizeof(dir));
			json_object_set_new(j, "suspended",
					    hostd_vm_suspend_describe(dir));
		}
		return j;
	}
	json_object_set_new(j, "vmx_version", json_string(rt.vmx_version));
	json_object_set_new(j, "vmx", json_string(rt.vmx));
	json_object_set_new(j, "pid", json_integer(rt.pid));
	json_object_set_new(j, "started", json_string(rt.started));
	if (p == VM_POWER_CRASHED && rt.crashed[0])
		json_object_set_new(j, "crashed", json_string(rt.crashed));
	if (json_object_get(h->migrating_out, name))
		json_object_set(j, "migrating_to",
				json_object_get(h->migrating_out, name));
	return j;
}

json_t *hostd_vm_list(struct hostd *h)
{
	json_t *names = vmstore_names(h->state), *arr = json_array(), *v;
	size_t i;

	json_array_foreach(names, i, v)
	{
		json_t *d = hostd_vm_describe(h, json_string_value(v), NULL);

		if (d)
			json_array_append_new(arr, d);
	}
	json_decref(names);
	return arr;
}

int hostd_vm_create(struct hostd *h, const json_t *req, struct seam_err *e)
{
	struct vm_config c;
	int rc;

	rc = vm_config_from_json(req, &c, e);
	if (rc < 0)
		return rc;
	rc = vmstore_create(h->state, &c, e);
	if (rc < 0)
		return rc;
	evlog_emit(h->events, "vm.created", c.name,
		   "VM %s created (%llu MiB, %u vCPUs)", c.name,
		   (unsigned long long)c.mem_mib, c.vcpus);
	return 0;
}

int hostd_vm_delete(struct hostd *h, const char *name, struct seam_err *e)
{
	struct vm_config c;
	struct vm_runtime rt;
	int rc;

	rc = vmstore_load(h->state, name, &c, e);
	if (rc < 0)
		return rc;
	if (hostd_vm_power_state(h, name, &rt) == VM_POWER_RUNNING)
		return err_set(e, EBUSY,
			       "VM '%s' is running; power it off first", name);
	rc = vmstore_delete(h->state, name, e);
	if (rc == 0)
		evlog_emit(h->events, "vm.deleted", name, "VM %s deleted",
			   name);
	return rc;
}

int hostd_vm_power_on(struct hostd *h, const char *name, struct seam_err *e)
{
	return hostd_vm_start(h, name, NULL, NULL, e);
}

int hostd_vm_start(struct hostd *h, const char *name, const char *incoming,
		   const char *token, struct seam_err *e)
{
	char dir[PATH_MAX], vmx[PATH_MAX], ver[256], kernel[PATH_MAX];
	struct vm_proc_spec spec;
	struct vm_config c;
	struct vm_runtime rt;
	int rc;

	if ((rc = vmstore_load(h->state, name, &c, e)) < 0)
		return rc;
	switch (hostd_vm_power_state(h, name, &rt)) {
	case VM_POWER_RUNNING:
		return err_set(e, EBUSY, "VM '%s' is already running (pid %d)",
			       name, (int)rt.pid);
	case VM_POWER_SUSPENDED:
		if (incoming)
			return err_set(e, EBUSY,
				       "VM '%s' is suspended on this host; "
				       "power it off or on first",
				       name);
		return hostd_vm_resume(h, name, e);
	default:
		break;
	}
	if ((rc = hostd_vmx_active(h, vmx, sizeof(vmx), ver, sizeof(ver), e)) <
		0 ||
	    (rc = hostd_kernel_resolve(h, &c, kernel, sizeof(kernel), e)) < 0)
		return rc;
	vmstore_dir(h->state, name, dir, sizeof(dir));
	vm_runtime_remove(dir); /* a crashed run, acknowledged by this start */
	spec = (struct vm_proc_spec){
	    .dir = dir,
	    .vmx = vmx,
	    .vmx_version = ver,
	    .name = name,
	    .kernel = kernel,
	    .cmdline = c.cmdline,
	    .mem_mib = c.mem_mib,
	    .vcpus = c.vcpus,
	    .incoming = incoming,
	    .token = token,
	};
	rc = vm_proc_start(&spec, &rt, e);
	if (rc < 0)
		return rc;
	if (incoming)
		evlog_emit(h->events, "vm.incoming", name,
			   "VM %s waits for an incoming migration on %s (vmx "
			   "%s, pid %d)",
			   name, incoming, ver, (int)rt.pid);
	else
		evlog_emit(h->events, "vm.powered_on", name,
			   "VM %s powered on (vmx %s, pid %d)", name, ver,
			   (int)rt.pid);
	return 0;
}

int hostd_vm_power_off(struct hostd *h, const char *name, bool force,
		       struct seam_err *e)
{
	char dir[PATH_MAX];
	struct vm_config c;
	struct vm_runtime rt;
	enum vm_power p;
	int rc;

	if ((rc = vmstore_load(h->state, name, &c, e)) < 0)
		return rc;
	p = hostd_vm_power_state(h, name, &rt);
	if (p == VM_POWER_STOPPED)
		return 0;
	vmstore_dir(h->state, name, dir, sizeof(dir));
	if (p == VM_POWER_SUSPENDED) {
		hostd_vm_suspend_discard(dir);
		evlog_emit(h->events, "vm.powered_off", name,
			   "VM %s powered off (it was suspended: its "
			   "snapshot is discarded)",
			   name);
		return 0;
	}
	if (p == VM_POWER_RUNNING) {
		rc = vm_proc_stop(&rt, HOSTD_STOP_TIMEOUT_MS, force, e);
		if (rc < 0)
			return rc;
	}
	vm_runtime_remove(dir);
	evlog_emit(h->events, "vm.powered_off", name, "VM %s powered off%s",
		   name, p == VM_POWER_CRASHED ? " (it had crashed)" : "");
	return 0;
}

int hostd_vm_record_vmx(struct hostd *h, const char *name, const char *vmx,
			const char *version, struct seam_err *e)
{
	char dir[PATH_MAX];
	struct vm_runtime rt;

	if (hostd_vm_power_state(h, name, &rt) != VM_POWER_RUNNING)
		return err_set(e, EBUSY, "VM '%s' is not running", name);
	if (fs_path(rt.vmx, sizeof(rt.vmx), "%s", vmx) < 0 ||
	    fs_path(rt.vmx_version, sizeof(rt.vmx_version), "%s", version) < 0)
		return err_set(e, ENAMETOOLONG, "vmx path or version too long");
	rt.version_checked = true;
	vmstore_dir(h->state, name, dir, sizeof(dir));
	return vm_runtime_save(dir, &rt, e);
}

int hostd_vm_refresh_version(struct hostd *h, const char *name, long timeout_ms,
			     struct seam_err *e)
{
	char dir[PATH_MAX], ver[64], path[PATH_MAX];
	struct vm_runtime rt;
	int rc;

	if (hostd_vm_power_state(h, name, &rt) != VM_POWER_RUNNING)
		return 0;
	rc = vmxctl_version(rt.control, timeout_ms, ver, sizeof(ver), e);
	if (rc < 0)
		return rc;
	if (rt.version_checked && !strcmp(ver, rt.vmx_version))
		return 0;
	if (strcmp(ver, rt.vmx_version) &&
	    fs_path(path, sizeof(path), "%s/vmx/%s/bin/seam-vmx", h->comp_root,
		    ver) == 0 &&
	    access(path, X_OK) == 0)
		snprintf(rt.vmx, sizeof(rt.vmx), "%s", path);
	snprintf(rt.vmx_version, sizeof(rt.vmx_version), "%s", ver);
	rt.version_checked = true;
	vmstore_dir(h->state, name, dir, sizeof(dir));
	return vm_runtime_save(dir, &rt, e);
}

unsigned hostd_vm_running(struct hostd *h, char *buf, size_t len)
{
	json_t *names = vmstore_names(h->state), *v;
	struct vm_runtime rt;
	unsigned n = 0;
	size_t i, used = 0;

	if (len)
		buf[0] = '\0';
	json_array_foreach(names, i, v)
	{
		const char *name = json_string_value(v);

		if (hostd_vm_power_state(h, name, &rt) != VM_POWER_RUNNING)
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 n ? ", " : "", name);
		n++;
	}
	json_decref(names);
	return n;
}

void hostd_vm_scan(struct hostd *h, bool at_start)
{
	json_t *names = vmstore_names(h->state), *v;
	char dir[PATH_MAX];
	struct vm_runtime rt;
	size_t i;

	json_array_foreach(names, i, v)
	{
		const char *name = json_string_value(v);
		enum vm_power p = hostd_vm_power_state(h, name, &rt);

		vmstore_dir(h->state, name, dir, sizeof(dir));
		if (p == VM_POWER_RUNNING &&
		    (at_start || !rt.version_checked) && !h->applying &&
		    hostd_vm_refresh_version(h, name, at_start ? 2000 : 300,
					     NULL) == 0)
			hostd_vm_power_state(h, name, &rt);
		if (p == VM_POWER_RUNNING && at_start) {
			evlog_emit(h->events, "vm.adopted", name,
				   "VM %s still runs (vmx %s, pid %d)", name,
				   rt.vmx_version, (int)rt.pid);
		} else if (p == VM_POWER_CRASHED && !rt.crashed[0]) {
			vm_proc_now(rt.crashed, sizeof(rt.crashed));
			vm_runtime_save(dir, &rt, NULL);
			evlog_emit(h->events, "vm.crashed", name,
				   "VM %s crashed: vmx pid %d is gone", name,
				   (int)rt.pid);
		}
	}
	json_decref(names);
}

static void *hostd_monitor_main(void *arg)
{
	struct hostd *h = arg;
	struct timespec dl;

	pthread_mutex_lock(&h->stop_lock);
	while (!h->stopping) {
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += HOSTD_MONITOR_PERIOD_MS / 1000;
		pthread_cond_timedwait(&h->stop_cond, &h->stop_lock, &dl);
		if (h->stopping)
			break;
		pthread_mutex_unlock(&h->stop_lock);
		pthread_mutex_lock(&h->lock);
		hostd_vm_scan(h, false);
		pthread_mutex_unlock(&h->lock);
		pthread_mutex_lock(&h->stop_lock);
	}
	pthread_mutex_unlock(&h->stop_lock);
	return NULL;
}

int hostd_monitor_start(struct hostd *h)
{
	int rc = pthread_create(&h->monitor, NULL, hostd_monitor_main, h);

	h->monitor_running = rc == 0;
	return -rc;
}

void hostd_monitor_stop(struct hostd *h)
{
	if (!h->monitor_running)
		return;
	pthread_mutex_lock(&h->stop_lock);
	h->stopping = true;
	pthread_cond_broadcast(&h->stop_cond);
	pthread_mutex_unlock(&h->stop_lock);
	pthread_join(h->monitor, NULL);
	h->monitor_running = false;
}
