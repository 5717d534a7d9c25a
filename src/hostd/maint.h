/*
 * maint.h — maintenance modes of a host, and what each refuses.
 *
 *   none     everything allowed;
 *   partial  running VMs keep running (a live patch is under way): creating
 *            or powering on a VM and migrating in or out are refused;
 *   full     no VM may run (the classic path, services restart): entering
 *            is refused while any VM runs; creating, powering on and
 *            migrating in are refused.
 *
 * The rules are pure functions of (mode, operation) so they are tested
 * alone; every refusal message names the mode. The mode is persisted in
 * STATE/maintenance.json (atomically) and survives a hostd restart.
 */
#ifndef SEAM_HOSTD_MAINT_H
#define SEAM_HOSTD_MAINT_H

#include "err.h"

enum maint_mode { MAINT_NONE, MAINT_PARTIAL, MAINT_FULL };

enum maint_op {
	MAINT_OP_VM_CREATE,
	MAINT_OP_VM_POWER_ON,
	MAINT_OP_MIGRATE_IN,
	MAINT_OP_MIGRATE_OUT,
};

const char *maint_mode_name(enum maint_mode m);
int maint_mode_parse(const char *s, enum maint_mode *m, struct seam_err *e);
const char *maint_op_name(enum maint_op op);

/* 0 when op is allowed in mode, else -EBUSY with the refusal. */
int maint_check_op(enum maint_mode mode, enum maint_op op, struct seam_err *e);
/*
 * 0 when the host may go from cur to next; running_vms counts the VMs that
 * run, running_names names them (may be NULL) for the message.
 */
int maint_check_enter(enum maint_mode cur, enum maint_mode next,
		      unsigned running_vms, const char *running_names,
		      struct seam_err *e);

/* STATE/maintenance.json; a missing file is mode none. */
int maint_load(const char *state_dir, enum maint_mode *m, struct seam_err *e);
int maint_save(const char *state_dir, enum maint_mode m, struct seam_err *e);

#endif
