/*
 * pvh.S — the PVH entry, so that QEMU (-M microvm -kernel) can start the
 * same ELF that seam-vmx starts at e_entry.
 *
 * QEMU finds the entry in an ELF note (name "Xen", type
 * XEN_ELFNOTE_PHYS32_ENTRY = 18) in a PT_NOTE segment and jumps there in
 * 32-bit protected mode, paging off, EBX = struct hvm_start_info. We build
 * an identity map of the low 4 GiB with 2 MiB pages, user-accessible and
 * writable like seam-vmx's boot tables, switch to long mode, and continue
 * in entry64 as vCPU 0. The tables live in .bss, which the ELF loader
 * zero-fills; only the entries we use are written.
 */
#include "guest.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_PS 0x80
#define PVH_PD_PAGES 4 /* 4 x 512 x 2 MiB = 4 GiB */

	.section .note.Xen, "a", @note
	.p2align 2
	.long	2f - 1f
	.long	4f - 3f
	.long	XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz	"Xen"
2:	.p2align 2
3:	.quad	pvh_start32
4:	.p2align 2

	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
	.type pvh_start32, @function
pvh_start32:
	cli
	cld
	/* Page directories: 2048 entries of 2 MiB, 0 .. 4 GiB. */
	mov	$pvh_pd, %edi
	mov	$(PTE_P | PTE_W | PTE_U | PTE_PS), %eax
	xor	%ecx, %ecx
1:	mov	%eax, (%edi, %ecx, 8)
	add	$0x200000, %eax
	inc	%ecx
	cmp	$(512 * PVH_PD_PAGES), %ecx
	jb	1b
	/* PDPT entries 0..3 point at the page directories. */
	mov	$pvh_pdpt, %edi
	mov	$(pvh_pd + PTE_P + PTE_W + PTE_U), %eax
	xor	%ecx, %ecx
2:	mov	%eax, (%edi, %ecx, 8)
	add	$4096, %eax
	inc	%ecx
	cmp	$PVH_PD_PAGES, %ecx
	jb	2b
	movl	$(pvh_pdpt + PTE_P + PTE_W + PTE_U), pvh_pml4
	/* PAE, CR3, EFER.LME, then paging: compatibility mode. */
	mov	%cr4, %eax
	or	$0x20, %eax
	mov	%eax, %cr4
	mov	$pvh_pml4, %eax
	mov	%eax, %cr3
	mov	$0xC0000080, %ecx
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax
	mov	%eax, %cr0
	movb	$1, boot_via_pvh
	lgdt	gdt_ptr
	ljmp	$SEL_KCODE, $pvh_start64

	.code64
pvh_start64:
	mov	%ebx, %ebx	/* zero-extend the start_info address */
	xor	%esi, %esi	/* vCPU 0 */
	jmp	entry64
	.size pvh_start32, . - pvh_start32

	.section .bss.pvh, "aw", @nobits
	.p2align 12
pvh_pml4:
	.skip	4096
pvh_pdpt:
	.skip	4096
pvh_pd:
	.skip	4096 * PVH_PD_PAGES

	.section .note.GNU-stack, "", @progbits
