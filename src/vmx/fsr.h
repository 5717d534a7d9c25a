/*
 * fsr.h — fast suspend-resume: the old worker's side (fsr_command) and the
 * new worker's side (fsr_worker_main). See fsr.c.
 */
#ifndef SEAM_VMX_FSR_H
#define SEAM_VMX_FSR_H

#include "control.h"

json_t *fsr_command(struct control *c, struct control_conn *conn,
		    const struct vmx_request *req, enum cmd_after *after);

#endif
