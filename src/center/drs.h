/*
 * drs.h — DRS placement: which host takes a new VM.
 *
 * The host with the most free memory wins: memory_mib from its attributes
 * minus the memory of the VMs it runs. Hosts that are disconnected or in any
 * maintenance mode are never chosen, nor a host whose free memory is below
 * what the VM needs. Ties go to the host with fewer VMs, then to the name
 * first in order, so placement is deterministic. Pure: hosts are the JSON
 * rows store_host_list_full() returns (inventory included). Issue 7 adds
 * remediation order and evacuation plans here.
 */
#ifndef SEAM_CENTER_DRS_H
#define SEAM_CENTER_DRS_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"

/* Free memory of a host row, in MiB (negative when overcommitted). */
int64_t drs_free_mib(const json_t *host);
/* The chosen host row (borrowed from hosts), or NULL with e set. */
const json_t *drs_place(const json_t *hosts, int64_t mem_mib,
			struct seam_err *e);

#endif
