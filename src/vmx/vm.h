/*
 * vm.h — the worker's live VM: the KVM objects, guest RAM, the vCPU
 * threads, the emulated devices and the pause machinery.
 *
 * Life of a worker's VM, in the order the functions are called:
 *   vm_create()    KVM VM, memory slots (before the irqchip: PLATFORM.md),
 *                  irqchip, PIT, vCPUs with CPUID. No guest state yet.
 *   vm_boot()      a fresh boot: kernel, boot tables, boot registers.
 *     or state restore (FSR, snapshot): vmx_state_restore() in state.c.
 *   vm_start()     one thread per vCPU; they run until paused or the end.
 *   vm_pause() / vm_resume()   stop and park every vCPU, let them go on.
 *   vm_request_end()           a vCPU, the control socket or a signal asks
 *                              the worker to end with a status.
 * This split is what FSR needs: a successor creates its VM before the
 * predecessor pauses, and restores state instead of booting.
 */
#ifndef SEAM_VMX_VM_H
#define SEAM_VMX_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuid.h"
#include "err.h"
#include "gmem.h"
#include "state.h"
#include "vmx.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
	uint64_t runs; /* KVM_RUN calls; what a fatal exit logs */
	/* What this vCPU was restored from (FSR, snapshot, migration): a
	 * fatal exit logs it, to tell a bad restore from a guest bug. */
	struct {
		int valid;
		uint64_t rip, rsp, rflags;
		uint16_t cs, ss, tr;
		uint64_t tr_base;
		uint32_t mp_state;
		uint64_t intr_bitmap[4];
		struct kvm_vcpu_events ev;
	} restored;
};

struct vm {
	struct vmx_book book;
	struct vmx_fds fds;
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct gmem gm;
	struct cpuid_table cpuid; /* as KVM reported it, before fix-ups */
	struct boot_cpu cpu;
	uint32_t tsc_khz;
	unsigned int nvcpus;
	struct vcpu vcpus[VMX_VCPUS_MAX];
	uint32_t msr_index[VMX_MSRS_MAX]; /* MSRs saved for FSR */
	uint32_t nmsrs;

	/* Devices: one lock, held for each port access. */
	pthread_mutex_t dev_lock;
	struct vmx_dev_state dev;
	int uart_irq;
	unsigned long unknown_io;

	/* Pause: vCPUs park while pause_req is set. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	int pause_req;
	unsigned int parked;
	int paused; /* what `status` reports (a `pause` command) */

	/* End: the first request wins; the worker's main thread acts. */
	atomic_int end_requested;
	int end_code;
	int end_fd; /* eventfd */
	uint64_t start_mono_ns;
};

int vm_init(struct vm *vm, const struct vmx_book *book,
	    const struct vmx_fds *fds, struct seam_err *e);
int vm_create(struct vm *vm, struct seam_err *e);
int vm_boot(struct vm *vm, const void *img, size_t len, struct seam_err *e);
int vm_start(struct vm *vm, struct seam_err *e);
/* Stop every vCPU and wait until all are parked outside KVM_RUN. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
void vm_request_end(struct vm *vm, int code);
/* Migration: KVM's dirty-page log on guest RAM, one bit per RAM page
 * (memfd offset / 4096); reading it clears it. */
int vm_dirty_log_enable(struct vm *vm, int on, struct seam_err *e);
int vm_dirty_log_get(struct vm *vm, uint64_t *bitmap, struct seam_err *e);
/* Write out a partial console line (at the end). */
void vm_flush_console(struct vm *vm);

/* state.c: KVM and devices to struct vmx_saved and back. */
int vm_probe_msrs(struct vm *vm, struct seam_err *e);
int vmx_state_save(struct vm *vm, struct vmx_saved *s, struct seam_err *e);
int vmx_state_restore(struct vm *vm, const struct vmx_saved *s,
		      const char *fail_stage, struct seam_err *e);

/* devices.c: one port or MMIO exit of a vCPU. */
void dev_handle_io(struct vcpu *vcpu);
void dev_handle_mmio(struct vcpu *vcpu);

uint64_t vmx_now_ns(void);

#endif
