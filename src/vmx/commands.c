/*
 * commands.c — one handler per control command (vmx_proto.h).
 *
 * Handlers run in the control thread, one at a time. Each returns its reply;
 * anything that must happen after the reply is on the wire (ending the VM
 * for `stop`) is returned in *after.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "control.h"
#include "fsr.h"
#include "log.h"
#include "migrate.h"
#include "snapshot.h"

static json_t *cmd_status(struct control *c)
{
	struct vm *vm = c->vm;
	uint64_t up = (vmx_now_ns() - vm->book.start_mono_ns) / 1000000ULL;

	return json_pack("{s:b, s:s, s:s, s:i, s:s, s:i, s:I, s:I}", "ok", 1,
			 "state", vm->paused ? "paused" : "running", "name",
			 vm->book.cfg.name, "pid", (int)vm->book.keeper_pid,
			 "version", SEAM_VMX_VERSION, "vcpus", (int)vm->nvcpus,
			 "mem_bytes", (json_int_t)vm->book.cfg.mem_bytes,
			 "uptime_ms", (json_int_t)up);
}

static json_t *cmd_pause(struct control *c)
{
	if (!c->vm->paused) {
		vm_pause(c->vm);
		c->vm->paused = 1;
		log_info("paused");
	}
	return json_pack("{s:b, s:s}", "ok", 1, "state", "paused");
}

static json_t *cmd_resume(struct control *c)
{
	if (c->vm->paused) {
		c->vm->paused = 0;
		vm_resume(c->vm);
		log_info("resumed");
	}
	return json_pack("{s:b, s:s}", "ok", 1, "state", "running");
}

static json_t *cmd_stop(struct control *c, enum cmd_after *after)
{
	log_info("stop requested on the control socket");
	*after = CMD_AFTER_END;
	return json_pack("{s:b, s:s}", "ok", 1, "state", "stopping");
}

static json_t *cmd_regs_vcpu(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} tsc = {.hdr.nmsrs = 1, .e.index = 0x10};
	struct kvm_mp_state mp = {0};
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0 ||
	    ioctl(v->fd, KVM_GET_MSRS, &tsc) != 1)
		return json_pack("{s:s}", "error", strerror(errno));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:I}",
			 "rip", (json_int_t)r.rip, "rsp", (json_int_t)r.rsp,
			 "rflags", (json_int_t)r.rflags, "cr0",
			 (json_int_t)s.cr0, "cr3", (json_int_t)s.cr3, "cr4",
			 (json_int_t)s.cr4, "efer", (json_int_t)s.efer, "cs",
			 (int)s.cs.selector, "mp_state", (int)mp.mp_state,
			 "tsc", (json_int_t)tsc.e.data);
}

/* Diagnostics: every vCPU's main registers (paused for the reading). */
static json_t *cmd_regs(struct control *c)
{
	json_t *arr = json_array();
	int was_paused = c->vm->paused;

	if (!was_paused)
		vm_pause(c->vm);
	for (unsigned int i = 0; i < c->vm->nvcpus; i++)
		json_array_append_new(arr, cmd_regs_vcpu(&c->vm->vcpus[i]));
	if (!was_paused)
		vm_resume(c->vm);
	return json_pack("{s:b, s:o, s:i}", "ok", 1, "vcpus", arr, "tsc_khz",
			 (int)c->vm->tsc_khz);
}

json_t *cmd_dispatch(struct control *c, struct control_conn *conn,
		     const struct vmx_request *req, enum cmd_after *after)
{
	switch (req->cmd) {
	case VMX_CMD_STATUS:
		return cmd_status(c);
	case VMX_CMD_PAUSE:
		return cmd_pause(c);
	case VMX_CMD_RESUME:
		return cmd_resume(c);
	case VMX_CMD_STOP:
		return cmd_stop(c, after);
	case VMX_CMD_REGS:
		return cmd_regs(c);
	case VMX_CMD_FSR:
		return fsr_command(c, conn, req, after);
	case VMX_CMD_SNAPSHOT:
		return snapshot_command(c, req, after);
	case VMX_CMD_MIGRATE:
		return migrate_command(c, req, after);
	default:
		return control_error("command \"%s\" is not implemented",
				     proto_cmd_name(req->cmd));
	}
}
