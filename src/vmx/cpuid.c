/*
 * cpuid.c — see cpuid.h.
 *
 * KVM reports what it can virtualise; the VMM decides the topology. Each
 * vCPU gets its index as its (x2)APIC ID in leaf 1 EBX[31:24] and in the
 * extended topology leaves 0xB/0x1F EDX, the logical processor count in leaf
 * 1 EBX[23:16] (with HTT), and the hypervisor bit in leaf 1 ECX[31].
 */
#include "cpuid.h"

#include <stddef.h>

#define CPUID_1_ECX_XSAVE (1U << 26)
#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define CPUID_1_EDX_HTT (1U << 28)
#define CPUID_80000001_EDX_NX (1U << 20)

struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t fn,
				    uint32_t index)
{
	for (uint32_t i = 0; i < t->hdr.nent && i < CPUID_MAX_ENTRIES; i++) {
		struct kvm_cpuid_entry2 *e = &t->e[i];
		if (e->function != fn)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != index)
			continue;
		return e;
	}
	return NULL;
}

void cpuid_fixup(struct cpuid_table *t, unsigned int vcpu_index,
		 unsigned int ncpus)
{
	for (uint32_t i = 0; i < t->hdr.nent && i < CPUID_MAX_ENTRIES; i++) {
		struct kvm_cpuid_entry2 *e = &t->e[i];

		switch (e->function) {
		case 1:
			e->ebx &= 0x0000ffffU;
			e->ebx |= (uint32_t)vcpu_index << 24;
			e->ebx |= (uint32_t)(ncpus & 0xff) << 16;
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 0xb:
		case 0x1f:
			e->edx = vcpu_index;
			break;
		default:
			break;
		}
	}
}

void cpuid_features(const struct cpuid_table *t, struct boot_cpu *cpu)
{
	cpu->xsave = 0;
	cpu->nx = 0;
	for (uint32_t i = 0; i < t->hdr.nent && i < CPUID_MAX_ENTRIES; i++) {
		const struct kvm_cpuid_entry2 *e = &t->e[i];
		if (e->function == 1)
			cpu->xsave = !!(e->ecx & CPUID_1_ECX_XSAVE);
		if (e->function == 0x80000001)
			cpu->nx = !!(e->edx & CPUID_80000001_EDX_NX);
	}
}
