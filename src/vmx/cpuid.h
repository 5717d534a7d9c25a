/*
 * cpuid.h — the CPUID a vCPU sees: KVM_GET_SUPPORTED_CPUID, fixed up per
 * vCPU (APIC IDs, logical processor counts, the hypervisor bit). Pure.
 */
#ifndef SEAM_VMX_CPUID_H
#define SEAM_VMX_CPUID_H

#include <linux/kvm.h>

#include "boot.h"

#define CPUID_MAX_ENTRIES 256

struct cpuid_table {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 e[CPUID_MAX_ENTRIES];
};

void cpuid_fixup(struct cpuid_table *t, unsigned int vcpu_index,
		 unsigned int ncpus);
struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t fn,
				    uint32_t index);
void cpuid_features(const struct cpuid_table *t, struct boot_cpu *cpu);

#endif
