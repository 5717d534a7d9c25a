/*
 * snapshot.h — `snapshot PATH`: write the VM to a file and end it (see
 * snapshot.c; `run --restore` reads it back, incoming.c).
 */
#ifndef SEAM_VMX_SNAPSHOT_H
#define SEAM_VMX_SNAPSHOT_H

#include "control.h"

json_t *snapshot_command(struct control *c, const struct vmx_request *req,
			 enum cmd_after *after);

#endif
