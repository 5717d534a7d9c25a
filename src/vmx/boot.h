/*
 * boot.h — the state a vCPU starts from (guest_abi.h "Boot").
 *
 * Pure functions: they write the boot tables into guest RAM (through a
 * struct gmem) and fill KVM register structures, so they are unit-tested
 * without /dev/kvm. The worker calls them only for a fresh boot; a VM that
 * comes from FSR or a snapshot restores its saved state instead.
 */
#ifndef SEAM_VMX_BOOT_H
#define SEAM_VMX_BOOT_H

#include <linux/kvm.h>
#include <stdint.h>

#include "err.h"
#include "gmem.h"
#include "guest_abi.h"

/* Features of the vCPU that change the boot state (from CPUID). */
struct boot_cpu {
	int xsave; /* CPUID.1:ECX.XSAVE: set CR4.OSXSAVE */
	int nx;	   /* CPUID.80000001h:EDX.NX: set EFER.NXE */
};

#define BOOT_CR0 0x80010031ULL /* PG | WP | NE | ET | PE */
#define BOOT_CR4_PAE (1ULL << 5)
#define BOOT_CR4_OSFXSR (1ULL << 9)
#define BOOT_CR4_OSXMMEXCPT (1ULL << 10)
#define BOOT_CR4_OSXSAVE (1ULL << 18)
#define BOOT_EFER_SCE (1ULL << 0)
#define BOOT_EFER_LME (1ULL << 8)
#define BOOT_EFER_LMA (1ULL << 10)
#define BOOT_EFER_NXE (1ULL << 11)
#define BOOT_SEL_CODE 0x08
#define BOOT_SEL_DATA 0x10
#define BOOT_GDT_ENTRIES 4

/* GDT, page tables, hvm_start_info, memory map and command line. */
int boot_write_tables(const struct gmem *gm, const char *cmdline,
		      struct seam_err *e);
/* Long-mode segment and control registers, on top of KVM's reset state. */
void boot_sregs(struct kvm_sregs *s, const struct boot_cpu *cpu);
void boot_regs(struct kvm_regs *r, uint64_t entry, unsigned int vcpu_index);
/* The memory map handed to the guest; returns the number of entries. */
unsigned int boot_memmap(const struct gmem *gm,
			 struct hvm_memmap_table_entry *map, unsigned int max);

#endif
