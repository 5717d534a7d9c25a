/*
 * vmx_proto.h — the control protocol of seam-vmx, shared by its server (the
 * VMM), its own client (`seam-vmx ctl`) and seam-hostd.
 *
 * Transport: a unix SOCK_STREAM socket (the path given by `run --control`).
 * Framing: JSON lines. Each request is one JSON object on one line, ending
 * with '\n', at most VMX_PROTO_LINE_MAX bytes including the newline. Each
 * request gets exactly one reply line, in order. A client may keep its
 * connection open for many requests; several clients may be connected.
 *
 * Requests ("cmd" selects; other members are the arguments):
 *   {"cmd":"status"}
 *   {"cmd":"pause"}          stop all vCPUs (idempotent)
 *   {"cmd":"resume"}         let them run again (idempotent)
 *   {"cmd":"stop"}           reply, then end the VM (the keeper exits 0
 *                            and removes the socket)
 *   {"cmd":"fsr","binary":PATH}     fast suspend-resume onto PATH
 *   {"cmd":"snapshot","path":PATH}  the VM to a file, then it ends
 *   {"cmd":"migrate","to":"ADDR:PORT","token":T
 *    [,"max_downtime_ms":N][,"timeout_s":N]}  live migration; then it ends
 *   {"cmd":"regs"}           diagnostics: each vCPU's rip, rsp, rflags,
 *                            cr0/cr3/cr4/efer, cs, mp_state, TSC
 *
 * Replies:
 *   {"ok":true, ...}                      success, with the command's fields
 *   {"ok":false,"error":"what failed"}    failure; the VM carries on
 *
 * status fields: "state" ("running" | "paused"), "name", "pid" (the
 * keeper's: the VM's PID as a supervisor sees it), "version" (of the
 * seam-vmx binary now running the VM), "vcpus", "mem_bytes", "uptime_ms".
 * fsr fields: "result" ("ok" | "rolled_back"), "stun_us", "version_before",
 * "version_after"; when rolled back, "reason". (fsr replies ok:true with
 * result "rolled_back": the VM runs on; the FSR did not happen.)
 * snapshot fields: "path", "bytes", "time_ms".
 * migrate fields: "downtime_ms", "total_ms", "bytes_sent", "rounds",
 * "throttled" (the highest auto-converge step, 0: none); a failed
 * migration replies ok:false with "error" and "result":"aborted" — the VM
 * runs on here.
 *
 * Errors: a line that is not JSON, not an object, lacks "cmd", or names an
 * unknown command gets {"ok":false,...} and the connection stays open. A
 * line longer than VMX_PROTO_LINE_MAX gets {"ok":false,...} and the server
 * closes that connection (it cannot find the next line boundary safely).
 */
#ifndef SEAM_VMX_PROTO_H
#define SEAM_VMX_PROTO_H

#include <limits.h>

#define VMX_PROTO_LINE_MAX 4096
#define VMX_PROTO_CLIENTS_MAX 32

enum vmx_cmd {
	VMX_CMD_STATUS,
	VMX_CMD_PAUSE,
	VMX_CMD_RESUME,
	VMX_CMD_STOP,
	VMX_CMD_FSR,
	VMX_CMD_SNAPSHOT,
	VMX_CMD_MIGRATE,
	VMX_CMD_REGS,
	VMX_CMD_COUNT
};

/* Wire names, indexed by enum vmx_cmd. */
#define VMX_PROTO_CMD_NAMES                                                    \
	{                                                                      \
		"status", "pause", "resume", "stop", "fsr", "snapshot",        \
		    "migrate", "regs"                                          \
	}

#define VMX_PROTO_TOKEN_MAX 64

struct vmx_request {
	enum vmx_cmd cmd;
	char path[PATH_MAX]; /* fsr: "binary"; snapshot: "path"; migrate: "to" */
	/* fsr: test-only fault injection ("fail_stage"), see docs. */
	char fail_stage[32];
	/* migrate */
	char token[VMX_PROTO_TOKEN_MAX];
	unsigned int max_downtime_ms; /* 0: the default */
	unsigned int timeout_s;	      /* 0: the default */
};

#endif
