/*
 * state.h — everything of a running VM that fast suspend-resume carries
 * from one seam-vmx binary to the next, as plain structs.
 *
 * These are the in-memory forms. statefmt.c turns them into the versioned,
 * sectioned state file (one section per struct, vCPU sections repeated), and
 * back, validating every field before it reaches KVM. Keeping them apart
 * from the live objects (struct vm, struct vcpu) is what makes save and
 * restore two plain functions each: get everything into these, set
 * everything from these.
 */
#ifndef SEAM_VMX_STATE_H
#define SEAM_VMX_STATE_H

#include <linux/kvm.h>
#include <stdint.h>

#include "cpuid.h"
#include "pvport.h"
#include "vmx_proto.h"
#include "uart.h"
#include "vmx.h"

#define VMX_MSRS_MAX 128

struct vmx_msrs {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[VMX_MSRS_MAX];
};

/* One vCPU, in the order KVM wants it back (see vmx_state_restore). */
struct vmx_vcpu_state {
	struct kvm_mp_state mp_state;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave; /* includes the legacy FPU area */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct vmx_msrs msrs; /* KVM_GET_MSR_INDEX_LIST, TSC included */
	struct kvm_vcpu_events events;
	uint64_t tsc_deadline; /* MSR_IA32_TSC_DEADLINE, restored last */
};

/* The VM-wide in-kernel devices and clock. */
struct vmx_vm_state {
	struct kvm_irqchip pic_master;
	struct kvm_irqchip pic_slave;
	struct kvm_irqchip ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	uint64_t saved_host_ns; /* CLOCK_MONOTONIC when the vCPUs stopped */
};

/* The devices seam-vmx emulates itself. */
struct vmx_dev_state {
	struct uart_state uart;
	struct pvport_state pv;
};

/* A control connection's bytes read but not yet handled. */
struct vmx_saved_conn {
	uint32_t len;
	char data[VMX_PROTO_LINE_MAX];
};

/* Everything FSR hands over; the state file holds one, sectioned. */
struct vmx_saved {
	struct vmx_book book;
	uint32_t paused; /* `pause` was in force */
	uint32_t tsc_khz;
	struct cpuid_table cpuid; /* as KVM reported it (before fix-ups) */
	struct vmx_vm_state vm;
	struct vmx_dev_state dev;
	struct vmx_vcpu_state vcpu[VMX_VCPUS_MAX];
	uint32_t nconns; /* connections passed with the state, in order */
	int32_t requester; /* which of them asked for the FSR, or -1 */
	struct vmx_saved_conn conn[VMX_PROTO_CLIENTS_MAX];
	/* Tests only: add a mandatory section no binary knows. */
	uint32_t test_unknown_section;
};

#endif
