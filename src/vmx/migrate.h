/*
 * migrate.h — `migrate`: the source side of a live migration (see
 * migrate.c; the destination is keepsrc.c and incoming.c).
 */
#ifndef SEAM_VMX_MIGRATE_H
#define SEAM_VMX_MIGRATE_H

#include "control.h"

json_t *migrate_command(struct control *c, const struct vmx_request *req,
			enum cmd_after *after);

#endif
