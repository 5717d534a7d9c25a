/*
 * guest_abi.h — the contract between seam-vmx (the VMM) and seam-guest.
 *
 * Included by both sides; it must stay freestanding (stdint.h only).
 *
 * Boot. seam-guest is an ELF64 executable linked to run at physical address
 * SEAM_GUEST_LOAD_ADDR with paging identity-mapped. It has two entry points:
 *
 *  - e_entry, the 64-bit entry, which seam-vmx uses. seam-vmx loads every
 *    PT_LOAD segment at its p_paddr, and puts every vCPU straight into long
 *    mode (KVM_SET_SREGS): CR0 = PE|PG|ET|NE|WP, CR4 = PAE (+OSFXSR,
 *    OSXMMEXCPT, OSXSAVE when XSAVE is offered), EFER = LME|LMA|SCE (+NXE),
 *    CR3 = SEAM_BOOT_PML4, a flat 64-bit code segment (selector 0x08) and data
 *    segments (0x10), RFLAGS = 0x2 (interrupts off), RBX = the physical address
 *    of a struct hvm_start_info (the PVH structure, version 1, with the
 *    command line and an E820-style memory map) and RSI = the vCPU index
 *    (0 = boot CPU). RSP is undefined: the guest sets its own stack. The boot
 *    page tables identity-map every byte of guest RAM with 2 MiB pages,
 *    user-accessible and writable; the guest may keep them.
 *    All vCPUs start at e_entry at once; there is no INIT/SIPI dance.
 *
 *  - the PVH entry (Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY), 32-bit protected
 *    mode, paging off, EBX = hvm_start_info: how QEMU (-M microvm -kernel)
 *    starts the same ELF. Only the boot CPU runs there.
 *
 * Paravirtual I/O ports answered by seam-vmx (under QEMU nothing answers and
 * reads return all ones; the guest must cope):
 *
 *  SEAM_PORT_VERSION (8-bit): a write of any value rewinds; each read returns
 *    the next byte of the VMM's version string ("1.0.0.0100"), then 0.
 *  SEAM_PORT_NCPUS (8-bit read): the number of vCPUs the VM has.
 *  SEAM_PORT_TSC_KHZ (32-bit read): the guest TSC frequency in kHz.
 *  SEAM_PORT_EXIT (32-bit write): the guest shuts down; the value is its
 *    status. seam-vmx ends with exit status 0 and logs the guest's status.
 *
 * Also recognised as a reset request: a write of 0xFE to port 0x64 (i8042).
 *
 * Interrupts the guest relies on. vCPU 0 takes PIT channel 0 (about 1 kHz)
 * through the legacy PIC, remapped to vectors 32..47, via LINT0 in ExtINT
 * mode as KVM's reset leaves the boot vCPU's local APIC. The other vCPUs
 * switch their local APIC to x2APIC mode (so CPUID leaf 1 must offer x2APIC,
 * as KVM_GET_SUPPORTED_CPUID does; without it they poll) and run its
 * periodic timer on vector 64, 1,000,000 counts at divide-by-1 (about 1 ms
 * at KVM's 1 GHz APIC bus), to wake from `hlt`. So a suspend-resume must
 * carry each vCPU's APIC base (sregs.apic_base, x2APIC bit included) and
 * local APIC state (KVM_GET/SET_LAPIC) besides the PIC and PIT.
 * Other guest-side facts: user mode (CPL 3, IOPL 3) does the port I/O, the
 * guest needs CR4.TSD, SMEP and SMAP clear (it clears them itself) and
 * uses no SSE/x87 state; the exit status of an exception is 3, of an
 * unknown command-line option 2, of panic=MS 1.
 */
#ifndef SEAM_GUEST_ABI_H
#define SEAM_GUEST_ABI_H

#include <stdint.h>

#define SEAM_GUEST_LOAD_ADDR 0x100000ULL /* 1 MiB */

/* Low memory the VMM uses at boot; the guest must not load below 1 MiB. */
#define SEAM_BOOT_GDT 0x1000ULL
#define SEAM_BOOT_START_INFO 0x2000ULL
#define SEAM_BOOT_MEMMAP 0x2100ULL	/* up to 16 entries */
#define SEAM_BOOT_CMDLINE 0x3000ULL	/* NUL-terminated */
#define SEAM_BOOT_CMDLINE_MAX 4096
#define SEAM_BOOT_PML4 0x10000ULL
#define SEAM_BOOT_PDPT 0x11000ULL
#define SEAM_BOOT_PD 0x12000ULL		/* 8 pages: up to 8 GiB mapped */
#define SEAM_BOOT_PD_PAGES 8

/* Guest RAM layout: RAM below the PCI hole, the rest from 4 GiB up. */
#define SEAM_RAM_LOW_MAX 0xC0000000ULL	/* 3 GiB */
#define SEAM_RAM_HIGH_BASE 0x100000000ULL /* 4 GiB */

#define SEAM_PORT_VERSION 0x0E00
#define SEAM_PORT_NCPUS 0x0E01
#define SEAM_PORT_TSC_KHZ 0x0E04
#define SEAM_PORT_EXIT 0x0E08
#define SEAM_PORT_FIRST 0x0E00
#define SEAM_PORT_LAST 0x0E0B

#define SEAM_UART_BASE 0x3F8
#define SEAM_UART_IRQ 4
#define SEAM_I8042_PORT 0x64
#define SEAM_I8042_RESET 0xFE

/* The PVH start structure (xen/include/public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC 0x336ec578U

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;	/* 1 */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

#define HVM_MEMMAP_TYPE_RAM 1
#define HVM_MEMMAP_TYPE_RESERVED 2

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#endif
