/*
 * entry64.S — the 64-bit entry (ELF e_entry) and two helpers of cpu.c.
 *
 * seam-vmx starts every vCPU here, already in long mode with an identity
 * map: RBX = struct hvm_start_info, RSI = vCPU index, RSP undefined. pvh.S
 * jumps here too after its own switch to long mode. The only job is to find
 * this vCPU's kernel stack (kstacks + (index + 1) * size) and call
 * kernel_main(); a vCPU whose index is out of range parks with interrupts
 * off.
 */
#include "guest.h"

	.section .text.entry, "ax"
	.code64
	.globl entry64
	.type entry64, @function
entry64:
	cli
	cld
	cmp	$GUEST_MAX_CPUS, %rsi
	jae	1f
	lea	1(%rsi), %rax
	imul	$GUEST_KSTACK_SIZE, %rax
	lea	kstacks(%rip), %rsp
	add	%rax, %rsp
	mov	%rsi, %rdi
	mov	%rbx, %rsi
	call	kernel_main
1:	cli
	hlt
	jmp	1b
	.size entry64, . - entry64

/* Load our GDT, reload the data segments and CS (by a far return). */
	.text
	.globl cpu_load_gdt
	.type cpu_load_gdt, @function
cpu_load_gdt:
	lgdt	gdt_ptr(%rip)
	mov	$SEL_KDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	push	$SEL_KCODE
	lea	1f(%rip), %rax
	push	%rax
	lretq
1:	ret
	.size cpu_load_gdt, . - cpu_load_gdt

/*
 * cpu_enter_user(entry, rsp, arg0, arg1): iretq to CPL 3 with IF = 1 and
 * IOPL = 3 (RFLAGS 0x3202); entry(arg0, arg1) must never return.
 */
	.globl cpu_enter_user
	.type cpu_enter_user, @function
cpu_enter_user:
	mov	$SEL_UDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	push	$SEL_UDATA
	push	%rsi
	push	$0x3202
	push	$SEL_UCODE
	push	%rdi
	mov	%rdx, %rdi
	mov	%rcx, %rsi
	iretq
	.size cpu_enter_user, . - cpu_enter_user

	.section .note.GNU-stack, "", @progbits
