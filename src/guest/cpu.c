/*
 * cpu.c — descriptor tables, per-CPU set-up, and the drop to user mode.
 *
 * One GDT for all vCPUs: kernel code/data, user data/code, then a 64-bit TSS
 * descriptor per vCPU (its RSP0 is the vCPU's kernel stack, used when an
 * interrupt or `int $0x80` arrives from user mode; its IST 1 the stack of
 * the double-fault handler). One IDT, built by vCPU 0
 * while the others wait for idt_ready: exceptions, the PIT tick, the x2APIC
 * tick, the system call gate (DPL 3) and do-nothing gates for spurious PIC
 * vectors. Each vCPU then leaves for user mode and never comes back except
 * through an interrupt gate. Instruction count matters here (kernel mode is
 * emulated): the whole set-up is a few thousand instructions.
 */
#include <stdint.h>

#include "guest.h"
#include "io.h"

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct tss {
	uint32_t rsv0;
	uint64_t rsp[3];
	uint64_t rsv1;
	uint64_t ist[7];
	uint64_t rsv2;
	uint16_t rsv3;
	uint16_t iomap;
} __attribute__((packed));

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t attr;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t rsv;
};

#define GDT_ENTRIES (5 + 2 * GUEST_MAX_CPUS)
#define IDT_GATE_KERNEL 0x8E /* present, DPL 0, interrupt gate */
#define IDT_GATE_USER 0xEE   /* present, DPL 3, interrupt gate */
#define TSS_TYPE_AVAIL 0x89  /* present, 64-bit TSS, available */

static uint64_t gdt[GDT_ENTRIES] = {
    0,
    0x00AF9A000000FFFFULL, /* 0x08 kernel code, 64-bit */
    0x00CF92000000FFFFULL, /* 0x10 kernel data */
    0x00CFF2000000FFFFULL, /* 0x18 user data, DPL 3 */
    0x00AFFA000000FFFFULL, /* 0x20 user code, 64-bit, DPL 3 */
};

/* Used by entry64.S (64-bit lgdt) and pvh.S (32-bit lgdt: 6 bytes). */
const struct desc_ptr gdt_ptr = {sizeof(gdt) - 1, (uint64_t)gdt};

static struct idt_gate idt[256];
static const struct desc_ptr idt_ptr = {sizeof(idt) - 1, (uint64_t)idt};
static struct tss tss[GUEST_MAX_CPUS] __attribute__((aligned(16)));
static volatile int idt_ready;

uint8_t kstacks[GUEST_MAX_CPUS][GUEST_KSTACK_SIZE] __attribute__((aligned(16)));
/* A double fault gets a stack of its own (IST 1): when the first fault
 * came from a bad kernel stack, it still reaches trap_handle() and prints,
 * instead of becoming a triple fault that says nothing. */
static uint8_t dfstacks[GUEST_MAX_CPUS][GUEST_DFSTACK_SIZE]
    __attribute__((aligned(16)));
static uint8_t ustacks[GUEST_MAX_CPUS][GUEST_USTACK_SIZE]
    __attribute__((aligned(16)));
uint8_t boot_via_pvh;
uint8_t cpu_has_timer[GUEST_MAX_CPUS];

static void idt_set(unsigned int vec, uint64_t fn, uint8_t attr)
{
	struct idt_gate *g = &idt[vec];

	g->off_lo = (uint16_t)fn;
	g->sel = SEL_KCODE;
	g->ist = 0;
	g->attr = attr;
	g->off_mid = (uint16_t)(fn >> 16);
	g->off_hi = (uint32_t)(fn >> 32);
	g->rsv = 0;
}

static void idt_build(void)
{
	unsigned int v;

	for (v = 0; v < 32; v++)
		idt_set(v, isr_exception_table[v], IDT_GATE_KERNEL);
	idt[VEC_DOUBLE_FAULT].ist = 1;
	idt_set(VEC_PIC_BASE, (uint64_t)isr_timer, IDT_GATE_KERNEL);
	for (v = VEC_PIC_BASE + 1; v < VEC_PIC_BASE + 16; v++)
		idt_set(v, (uint64_t)isr_ignore, IDT_GATE_KERNEL);
	idt_set(VEC_APIC_TIMER, (uint64_t)isr_apic_timer, IDT_GATE_KERNEL);
	idt_set(VEC_APIC_SPURIOUS, (uint64_t)isr_ignore, IDT_GATE_KERNEL);
	idt_set(VEC_SYSCALL, (uint64_t)isr_syscall, IDT_GATE_USER);
}

static void tss_load(unsigned int cpu)
{
	uint64_t base = (uint64_t)&tss[cpu];
	uint64_t limit = sizeof(struct tss) - 1;
	unsigned int slot = SEL_TSS0 / 8 + 2 * cpu;

	tss[cpu].rsp[0] = (uint64_t)&kstacks[cpu][GUEST_KSTACK_SIZE];
	tss[cpu].ist[0] = (uint64_t)&dfstacks[cpu][GUEST_DFSTACK_SIZE];
	tss[cpu].iomap = sizeof(struct tss); /* no bitmap: IOPL 3 decides */
	gdt[slot] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
		    ((uint64_t)TSS_TYPE_AVAIL << 40) |
		    (((limit >> 16) & 0xF) << 48) |
		    (((base >> 24) & 0xFF) << 56);
	gdt[slot + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(slot * 8));
}

/*
 * CR4 as the guest needs it, whichever entry set it: TSD clear (RDTSC in user
 * mode), SMEP and SMAP clear (every page is user-accessible, the kernel's
 * own included).
 */
#define CR4_TSD (1ULL << 2)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)

static void cr4_fixup(void)
{
	uint64_t cr4, bad = CR4_TSD | CR4_SMEP | CR4_SMAP;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	if (cr4 & bad)
		__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 & ~bad));
}

void kernel_main(uint64_t cpu, uint64_t start_info)
{
	cpu_load_gdt();
	tss_load((unsigned int)cpu);
	if (cpu == 0) {
		idt_build();
		if (boot_via_pvh)
			apic_virtual_wire();
		pic_pit_init();
		__atomic_store_n(&idt_ready, 1, __ATOMIC_RELEASE);
	} else {
		while (!__atomic_load_n(&idt_ready, __ATOMIC_ACQUIRE))
			cpu_relax();
	}
	__asm__ volatile("lidt %0" : : "m"(idt_ptr));
	cr4_fixup();
	cpu_has_timer[cpu] = cpu == 0 ? 1 : apic_timer_init() == 0;
	/* As if called: RSP + 8 aligned to 16 at the entry of user_main. */
	cpu_enter_user(user_main,
		       (uint64_t)&ustacks[cpu][GUEST_USTACK_SIZE] - 8, cpu,
		       start_info);
}
