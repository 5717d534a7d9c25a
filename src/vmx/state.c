/*
 * state.c — getting a VM's complete state out of KVM and the devices into a
 * struct vmx_saved, and setting it into another VM (FSR, snapshots).
 *
 * Order, learnt from Firecracker's and QEMU's save/restore code and KVM's
 * API documentation:
 *  - Save: vCPUs are parked (vcpu.c: no I/O half done). Per vCPU, MP state
 *    first (getting it may process pending events), then regs, sregs,
 *    XSAVE, XCRs, debug registers, LAPIC, MSRs, events.
 *  - Restore: the VM-wide devices (PIT, clock, PIC, IOAPIC) first; per
 *    vCPU CPUID, MP state, regs, sregs (before the LAPIC: APIC base), XSAVE,
 *    XCRs, debug registers, LAPIC (before the MSRs: setting the LAPIC resets
 *    the TSC deadline), MSRs with the TSC first and the TSC deadline last,
 *    and events last (after regs).
 *  - Time: the guest TSC and the KVM clock are advanced by the host time
 *    that passed between save and restore, so the guest's clocks see the
 *    pause as it really was. Every vCPU gets the same TSC value, which KVM
 *    treats as a synchronisation: the vCPUs stay in step.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vm.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

struct msr_one {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e;
};

static int state_msr_readable(struct vm *vm, uint32_t index)
{
	struct msr_one m = {.hdr.nmsrs = 1, .e.index = index};

	return ioctl(vm->vcpus[0].fd, KVM_GET_MSRS, &m) == 1;
}

/* The MSRs to carry: KVM's list, minus any vCPU 0 cannot read, TSC first
 * and TSC deadline last. */
int vm_probe_msrs(struct vm *vm, struct seam_err *e)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	struct kvm_msr_list *list;
	int deadline = 0;

	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 &&
	    errno != E2BIG)
		return err_sys(e, "KVM_GET_MSR_INDEX_LIST");
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return err_set(e, ENOMEM, "MSR list");
	list->nmsrs = probe.nmsrs;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return err_sys(e, "KVM_GET_MSR_INDEX_LIST");
	}
	vm->nmsrs = 0;
	vm->msr_index[vm->nmsrs++] = MSR_IA32_TSC;
	for (uint32_t i = 0; i < list->nmsrs; i++) {
		uint32_t idx = list->indices[i];
		if (idx == MSR_IA32_TSC || vm->nmsrs >= VMX_MSRS_MAX - 1 ||
		    !state_msr_readable(vm, idx))
			continue;
		if (idx == MSR_IA32_TSC_DEADLINE) {
			deadline = 1;
			continue;
		}
		vm->msr_index[vm->nmsrs++] = idx;
	}
	if (deadline)
		vm->msr_index[vm->nmsrs++] = MSR_IA32_TSC_DEADLINE;
	free(list);
	return 0;
}

#define STATE_GET(fd, req, arg, what, idx)                                     \
	do {                                                                   \
		if (ioctl(fd, req, arg) < 0)                                   \
			return err_sys(e, "%s on vCPU %u", what, idx);         \
	} while (0)

static int state_save_vcpu(struct vm *vm, struct vcpu *v,
			   struct vmx_vcpu_state *s, struct seam_err *e)
{
	int n;

	memset(s, 0, sizeof(*s));
	STATE_GET(v->fd, KVM_GET_MP_STATE, &s->mp_state, "KVM_GET_MP_STATE",
		  v->index);
	STATE_GET(v->fd, KVM_GET_REGS, &s->regs, "KVM_GET_REGS", v->index);
	STATE_GET(v->fd, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS", v->index);
	STATE_GET(v->fd, KVM_GET_XSAVE, &s->xsave, "KVM_GET_XSAVE", v->index);
	STATE_GET(v->fd, KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS", v->index);
	STATE_GET(v->fd, KVM_GET_DEBUGREGS, &s->debugregs, "KVM_GET_DEBUGREGS",
		  v->index);
	STATE_GET(v->fd, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC", v->index);
	s->msrs.hdr.nmsrs = vm->nmsrs;
	for (uint32_t i = 0; i < vm->nmsrs; i++)
		s->msrs.e[i].index = vm->msr_index[i];
	n = ioctl(v->fd, KVM_GET_MSRS, &s->msrs);
	if (n < 0 || (uint32_t)n != vm->nmsrs)
		return err_set(e, EIO,
			       "KVM_GET_MSRS on vCPU %u: read %d of "
			       "%u (MSR %#x)",
			       v->index, n, vm->nmsrs,
			       n >= 0 ? vm->msr_index[n] : 0);
	STATE_GET(v->fd, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS",
		  v->index);
	return 0;
}

static int state_save_vm(struct vm *vm, struct vmx_vm_state *s,
			 struct seam_err *e)
{
	memset(s, 0, sizeof(*s));
	s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->pic_master) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->pic_slave) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->ioapic) < 0)
		return err_sys(e, "KVM_GET_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &s->pit) < 0)
		return err_sys(e, "KVM_GET_PIT2");
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &s->clock) < 0)
		return err_sys(e, "KVM_GET_CLOCK");
	return 0;
}

int vmx_state_save(struct vm *vm, struct vmx_saved *s, struct seam_err *e)
{
	int r;

	s->book = vm->book;
	s->paused = (uint32_t)vm->paused;
	s->tsc_khz = vm->tsc_khz;
	s->cpuid = vm->cpuid;
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		if (i == 0)
			s->vm.saved_host_ns = vmx_now_ns();
		r = state_save_vcpu(vm, &vm->vcpus[i], &s->vcpu[i], e);
		if (r < 0)
			return r;
	}
	{
		uint64_t host_ns = s->vm.saved_host_ns;
		r = state_save_vm(vm, &s->vm, e);
		s->vm.saved_host_ns = host_ns;
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&vm->dev_lock);
	s->dev = vm->dev;
	pthread_mutex_unlock(&vm->dev_lock);
	return 0;
}

static uint64_t state_elapsed_tsc(const struct vmx_saved *s, uint32_t khz,
				  uint64_t now)
{
	uint64_t ns = now > s->vm.saved_host_ns ? now - s->vm.saved_host_ns : 0;

	return (uint64_t)((unsigned __int128)ns * khz / 1000000ULL);
}

/*
 * The interrupt controllers before the PIT that feeds them. KVM_SET_PIT2
 * restarts channel 0 at once, and KVM's PIT (in reinject mode) fires its
 * next tick only after the guest acknowledged the last one. A tick that
 * lands in a PIC which is then overwritten by KVM_SET_IRQCHIP is lost,
 * and if the restored PIC holds no IRQ 0 of its own, no acknowledgement
 * ever comes: the guest's timer is dead, and a halted guest never wakes.
 */
static int state_restore_vm(struct vm *vm, const struct vmx_saved *s,
			    uint64_t elapsed_ns, struct seam_err *e)
{
	struct vmx_vm_state v = s->vm;

	if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &v.pic_master) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &v.pic_slave) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &v.ioapic) < 0)
		return err_sys(e, "KVM_SET_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &v.pit) < 0)
		return err_sys(e, "KVM_SET_PIT2");
	v.clock.clock += elapsed_ns;
	v.clock.flags = 0;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &v.clock) < 0)
		return err_sys(e, "KVM_SET_CLOCK");
	return 0;
}

#define STATE_SET(fd, req, arg, what, idx)                                     \
	do {                                                                   \
		if (ioctl(fd, req, arg) < 0)                                   \
			return err_sys(e, "%s on vCPU %u", what, idx);         \
	} while (0)

static int state_restore_msrs(struct vcpu *v, const struct vmx_msrs *saved,
			      uint64_t tsc, struct seam_err *e)
{
	struct vmx_msrs m = *saved;
	int n;

	for (uint32_t i = 0; i < m.hdr.nmsrs; i++)
		if (m.e[i].index == MSR_IA32_TSC)
			m.e[i].data = tsc;
	n = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (n < 0 || (uint32_t)n != m.hdr.nmsrs)
		return err_set(
		    e, EINVAL,
		    "KVM_SET_MSRS on vCPU %u refused "
		    "MSR %#x",
		    v->index,
		    n >= 0 && (uint32_t)n < m.hdr.nmsrs ? m.e[n].index : 0);
	return 0;
}

/* Keep what a later fatal exit of this vCPU should show (vcpu.c). */
static void state_note_restored(struct vcpu *v, const struct vmx_vcpu_state *s)
{
	v->restored.valid = 1;
	v->restored.rip = s->regs.rip;
	v->restored.rsp = s->regs.rsp;
	v->restored.rflags = s->regs.rflags;
	v->restored.cs = s->sregs.cs.selector;
	v->restored.ss = s->sregs.ss.selector;
	v->restored.tr = s->sregs.tr.selector;
	v->restored.tr_base = s->sregs.tr.base;
	v->restored.mp_state = s->mp_state.mp_state;
	memcpy(v->restored.intr_bitmap, s->sregs.interrupt_bitmap,
	       sizeof(v->restored.intr_bitmap));
	v->restored.ev = s->events;
	v->runs = 0;
}

static int state_restore_vcpu(struct vm *vm, struct vcpu *v,
			      const struct vmx_saved *all, uint64_t tsc,
			      const char *fail_stage, struct seam_err *e)
{
	const struct vmx_vcpu_state *s = &all->vcpu[v->index];
	struct cpuid_table t = all->cpuid;
	struct kvm_vcpu_events ev = s->events;
	struct kvm_debugregs dr = s->debugregs;
	struct kvm_xcrs xcrs = s->xcrs;

	/* The same host gives the same CPUID: set it only if it differs. */
	if (memcmp(&all->cpuid, &vm->cpuid, sizeof(vm->cpuid)) != 0) {
		cpuid_fixup(&t, v->index, vm->nvcpus);
		STATE_SET(v->fd, KVM_SET_CPUID2, &t, "KVM_SET_CPUID2",
			  v->index);
	}
	STATE_SET(v->fd, KVM_SET_MP_STATE, &s->mp_state, "KVM_SET_MP_STATE",
		  v->index);
	STATE_SET(v->fd, KVM_SET_REGS, &s->regs, "KVM_SET_REGS", v->index);
	if (fail_stage && strcmp(fail_stage, "restore") == 0)
		return err_set(e, EINTR,
			       "fault injected in the middle of "
			       "restoring vCPU %u",
			       v->index);
	STATE_SET(v->fd, KVM_SET_SREGS, &s->sregs, "KVM_SET_SREGS", v->index);
	STATE_SET(v->fd, KVM_SET_XSAVE, &s->xsave, "KVM_SET_XSAVE", v->index);
	xcrs.flags = 0;
	STATE_SET(v->fd, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS", v->index);
	dr.flags = 0;
	STATE_SET(v->fd, KVM_SET_DEBUGREGS, &dr, "KVM_SET_DEBUGREGS", v->index);
	STATE_SET(v->fd, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC", v->index);
	if (state_restore_msrs(v, &s->msrs, tsc, e) < 0)
		return -EINVAL;
	ev.flags |=
	    KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	STATE_SET(v->fd, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS",
		  v->index);
	state_note_restored(v, s);
	return 0;
}

static uint64_t state_saved_tsc(const struct vmx_saved *s)
{
	const struct vmx_msrs *m = &s->vcpu[0].msrs;

	for (uint32_t i = 0; i < m->hdr.nmsrs; i++)
		if (m->e[i].index == MSR_IA32_TSC)
			return m->e[i].data;
	return 0;
}

int vmx_state_restore(struct vm *vm, const struct vmx_saved *s,
		      const char *fail_stage, struct seam_err *e)
{
	uint64_t now = vmx_now_ns(), tsc;
	uint64_t elapsed =
	    now > s->vm.saved_host_ns ? now - s->vm.saved_host_ns : 0;
	int r;

	if (s->book.cfg.vcpus != vm->nvcpus)
		return err_set(e, EINVAL, "state has %u vCPUs, this VM %u",
			       s->book.cfg.vcpus, vm->nvcpus);
	if (s->tsc_khz != vm->tsc_khz)
		log_warnx("TSC frequency was %u kHz, is %u kHz", s->tsc_khz,
			  vm->tsc_khz);
	tsc = state_saved_tsc(s) + state_elapsed_tsc(s, s->tsc_khz, now);
	r = state_restore_vm(vm, s, elapsed, e);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		r = state_restore_vcpu(vm, &vm->vcpus[i], s, tsc, fail_stage,
				       e);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&vm->dev_lock);
	vm->dev = s->dev;
	pvport_restored(&vm->dev.pv);
	vm->uart_irq = 0; /* the new VM's line is low; raised on next access */
	pthread_mutex_unlock(&vm->dev_lock);
	vm->cpuid = s->cpuid;
	vm->paused = (int)s->paused;
	return 0;
}
