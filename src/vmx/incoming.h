/*
 * incoming.h — a worker restoring its VM from a snapshot file or a live
 * migration's stream (see incoming.c).
 */
#ifndef SEAM_VMX_INCOMING_H
#define SEAM_VMX_INCOMING_H

#include "vmx.h"

/* sfd is positioned after the hello; live: a migration (hand-shake). */
__attribute__((noreturn)) void worker_main_incoming(const struct vmx_book *book,
						    const struct vmx_fds *fds,
						    int sfd, int live);

#endif
