/*
 * worker.h — the process that owns a KVM VM (see keeper.c for the other).
 */
#ifndef SEAM_VMX_WORKER_H
#define SEAM_VMX_WORKER_H

#include <stddef.h>

#include "vmx.h"

/* The first worker, forked by the keeper: boots the kernel image. */
__attribute__((noreturn)) void worker_main_boot(const struct vmx_book *book,
						const struct vmx_fds *fds,
						const void *img, size_t len);

struct vm;
/* Block the signals a worker handles itself; install the vCPU kick. */
void worker_block_signals(void);
/* Wait for the end of the VM; returns its exit status. */
int worker_wait(struct vm *vm);

#endif
