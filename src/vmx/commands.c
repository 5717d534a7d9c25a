/*
 * commands.c — one handler per control command (vmx_proto.h).
 *
 * Handlers run in the control thread, one at a time. Each returns its reply;
 * anything that must happen after the reply is on the wire (ending the VM
 * for `stop`) is returned in *after.
 */
#include <errno.h>

#include "control.h"
#include "fsr.h"
#include "log.h"

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
	case VMX_CMD_FSR:
		return fsr_command(c, conn, req, after);
	case VMX_CMD_SNAPSHOT:
	case VMX_CMD_MIGRATE:
	default:
		return control_error("command \"%s\" is not implemented",
				     proto_cmd_name(req->cmd));
	}
}
