/*
 * pic_pit.c — the timer interrupts.
 *
 * vCPU 0: the legacy PIC pair remapped to vectors 32..47 with only IRQ0
 * unmasked, and PIT channel 0 as a rate generator at about 1 kHz. Its
 * handler (isr.S) is an EOI and iretq.
 *
 * The other vCPUs never see the PIC (KVM routes it to vCPU 0 only), but they
 * need some interrupt to wake from the sleep system call, or a resting vCPU
 * would spin a host core. They use their local APIC in x2APIC mode (MSRs
 * only, no MMIO mapping needed): a periodic timer on VEC_APIC_TIMER. KVM's
 * APIC timer counts at 1 GHz, so 1,000,000 is about 1 ms; an error there
 * only stretches rests, nothing on those vCPUs needs exact wake-ups. Without
 * x2APIC the vCPU polls instead (user.c).
 *
 * Under QEMU (PVH entry) nothing has set the boot CPU's LINT0 to ExtINT as
 * KVM's reset does, so the PIC could not reach the CPU (QEMU drops PIC
 * interrupts at a masked LINT0 even with the APIC turned off). There we
 * software-enable the xAPIC and set LINT0 to ExtINT ("virtual wire"), through
 * its MMIO page, which pvh.S's 4 GiB identity map covers.
 */
#include <stdint.h>

#include "guest.h"
#include "io.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_RELOAD 1193 /* ~1000.15 Hz */

#define MSR_APIC_BASE 0x1B
#define APIC_BASE_EN (1ULL << 11)
#define APIC_BASE_EXTD (1ULL << 10)
#define XAPIC_SVR 0xF0
#define XAPIC_LVT_LINT0 0x350
#define APIC_DM_EXTINT 0x700
#define X2APIC_SVR 0x80F
#define X2APIC_LVT_TIMER 0x832
#define X2APIC_TIMER_INIT 0x838
#define X2APIC_TIMER_DIV 0x83E
#define APIC_TIMER_PERIODIC (1u << 17)
#define APIC_TIMER_COUNT 1000000

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v),
			   "d"((uint32_t)(v >> 32)));
}

void apic_virtual_wire(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	volatile uint32_t *apic;

	if (!(base & APIC_BASE_EN))
		return; /* APIC off: the PIC goes straight to the CPU */
	apic = (volatile uint32_t *)(uintptr_t)(base & 0xFFFFF000);
	apic[XAPIC_SVR / 4] = 0x100 | VEC_APIC_SPURIOUS;
	apic[XAPIC_LVT_LINT0 / 4] = APIC_DM_EXTINT;
}

void pic_pit_init(void)
{
	outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, VEC_PIC_BASE);
	outb(PIC2_DATA, VEC_PIC_BASE + 8);
	outb(PIC1_DATA, 0x04); /* slave on IRQ2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01); /* 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xFE); /* IRQ0 only */
	outb(PIC2_DATA, 0xFF);
	outb(PIT_CMD, 0x34); /* channel 0, lo/hi, mode 2 */
	outb(PIT_CH0, PIT_RELOAD & 0xFF);
	outb(PIT_CH0, PIT_RELOAD >> 8);
}

static int cpu_has_x2apic(void)
{
	uint32_t a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (c >> 21) & 1;
}

int apic_timer_init(void)
{
	uint64_t base;

	if (!cpu_has_x2apic())
		return -1;
	base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_EN)) /* disabled -> x2APIC is not allowed */
		wrmsr(MSR_APIC_BASE, base |= APIC_BASE_EN);
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
	wrmsr(X2APIC_SVR, 0x100 | VEC_APIC_SPURIOUS);
	wrmsr(X2APIC_TIMER_DIV, 0xB); /* divide by 1 */
	wrmsr(X2APIC_LVT_TIMER, APIC_TIMER_PERIODIC | VEC_APIC_TIMER);
	wrmsr(X2APIC_TIMER_INIT, APIC_TIMER_COUNT);
	return 0;
}
