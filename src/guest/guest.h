/*
 * guest.h — what the parts of seam-guest share.
 *
 * The guest has two halves. The kernel half (entry64.S, pvh.S, isr.S, cpu.c,
 * pic_pit.c, trap.c) runs at CPL 0 and does only set-up and three tiny
 * interrupt paths: guest kernel mode is emulated on the development machines
 * at about a million instructions per second. The user half (user.c and the
 * workloads) runs at CPL 3 with IOPL 3, natively, and does everything else:
 * parsing the command line, the clock, the console, the workloads.
 *
 * Memory: the image is linked at 1 MiB; kernel and user stacks are in .bss;
 * workload memory is carved out of RAM from 16 MiB up (boot.c). Paging is an
 * identity map with user-accessible writable 2 MiB pages (either the VMM's or
 * the one pvh.S builds), so user mode can read the PVH start structure too.
 */
#ifndef GUEST_H
#define GUEST_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#define GUEST_VERSION "1.0"
#define GUEST_MAX_CPUS 8
#define GUEST_KSTACK_SIZE 8192
#define GUEST_DFSTACK_SIZE 4096
#define GUEST_USTACK_SIZE 32768

/* GDT selectors: kernel code/data, user data/code, then one TSS per CPU. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1B
#define SEL_UCODE 0x23
#define SEL_TSS0 0x28

/* Interrupt vectors. */
#define VEC_DOUBLE_FAULT 8
#define VEC_PIC_BASE 32	  /* IRQ0 (PIT) .. IRQ15 */
#define VEC_APIC_TIMER 64 /* the x2APIC timer of the secondary vCPUs */
#define VEC_SYSCALL 0x80
#define VEC_APIC_SPURIOUS 0xFF

/* System calls (int $0x80, number in RAX). */
#define SYS_SLEEP 0	   /* sti; hlt: wait for the next interrupt */
#define SYS_HALT 1	   /* cli; hlt forever */
#define SYS_TRIPLE_FAULT 2 /* load an empty IDT and fault */

/* Exit statuses written to SEAM_PORT_EXIT. */
#define GUEST_EXIT_OK 0
#define GUEST_EXIT_PANIC 1
#define GUEST_EXIT_USAGE 2
#define GUEST_EXIT_EXCEPTION 3

#ifndef __ASSEMBLER__
/* Kernel half: entry64.S, isr.S, cpu.c, pic_pit.c, trap.c. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

extern uint8_t boot_via_pvh; /* set by pvh.S: only low 4 GiB is mapped */
extern uint8_t cpu_has_timer[GUEST_MAX_CPUS];

void kernel_main(uint64_t cpu, uint64_t start_info);
void trap_handle(struct trap_frame *f);
void pic_pit_init(void);
int apic_timer_init(void);
void apic_virtual_wire(void);

/* entry64.S and isr.S */
void cpu_load_gdt(void);
void cpu_enter_user(void (*entry)(uint64_t, uint64_t), uint64_t rsp,
		    uint64_t arg0, uint64_t arg1);
void isr_timer(void);
void isr_apic_timer(void);
void isr_syscall(void);
void isr_ignore(void);
extern const uint64_t isr_exception_table[32];

/* User half. */
__attribute__((noreturn)) void user_main(uint64_t cpu, uint64_t start_info);

#endif /* __ASSEMBLER__ */
#endif
