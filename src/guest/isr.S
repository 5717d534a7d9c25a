/*
 * isr.S — interrupt entry points.
 *
 * Everything here runs in emulated kernel mode, so the hot paths are a
 * handful of instructions: the PIT tick is an EOI and iretq (5
 * instructions), the x2APIC tick an EOI by wrmsr (9), the sleep system call
 * `sti; hlt; iretq`. Exceptions save the registers and call trap_handle(),
 * which prints one line and shuts the guest down; they never return.
 */
#include "guest.h"

	.text
	.code64

	.globl isr_timer
	.type isr_timer, @function
isr_timer:
	push	%rax
	mov	$0x20, %al
	out	%al, $0x20
	pop	%rax
	iretq
	.size isr_timer, . - isr_timer

	.globl isr_apic_timer
	.type isr_apic_timer, @function
isr_apic_timer:
	push	%rax
	push	%rcx
	push	%rdx
	mov	$0x80B, %ecx	/* x2APIC EOI */
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq
	.size isr_apic_timer, . - isr_apic_timer

	.globl isr_ignore
	.type isr_ignore, @function
isr_ignore:
	iretq
	.size isr_ignore, . - isr_ignore

/* int $0x80, number in EAX; see SYS_* in guest.h. */
	.globl isr_syscall
	.type isr_syscall, @function
isr_syscall:
	test	%eax, %eax
	jnz	1f
	sti
	hlt
	iretq
1:	cmp	$SYS_HALT, %eax
	jne	3f
2:	cli
	hlt
	jmp	2b
3:	cmp	$SYS_TRIPLE_FAULT, %eax
	jne	4f
	lidt	idt_null(%rip)
	ud2
4:	iretq
	.size isr_syscall, . - isr_syscall

/* Exceptions: CPU pushes an error code for 8, 10-14, 17, 21, 29, 30. */
.macro EXC vec
	.p2align 4
exc_\vec:
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	push	$0
	.endif
	push	$\vec
	jmp	exc_common
.endm

.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC \v
.endr

exc_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	trap_handle
1:	cli
	hlt
	jmp	1b

	.section .rodata
	.p2align 3
	.globl isr_exception_table
isr_exception_table:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	exc_\v
.endr
idt_null:
	.word	0
	.quad	0

	.section .note.GNU-stack, "", @progbits
