/*
 * trap.c — what an exception does: one line on the UART, then shut down.
 *
 * The guest has no recovery story: any exception is a bug or a test (the
 * triple-fault test never gets here, its IDT is empty). The line names the
 * vector, RIP, error code and CR2, and the exit status is
 * GUEST_EXIT_EXCEPTION; seam-vmx logs it and ends. Under QEMU nothing
 * answers the exit port, so the vCPU halts with interrupts off.
 */
#include <stdint.h>

#include "fmt.h"
#include "guest.h"
#include "guest_abi.h"
#include "io.h"
#include "uart.h"

void trap_handle(struct trap_frame *f)
{
	char line[160];
	uint64_t cr2;
	uint16_t tr;
	size_t n;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	__asm__ volatile("str %0" : "=r"(tr));
	n = fmt_buf(line, sizeof(line),
		    "exception vec=%lu cpu=%lu rip=0x%lx err=0x%lx cr2=0x%lx "
		    "rsp=0x%lx cs=0x%lx\n",
		    f->vector, (uint64_t)(tr - SEL_TSS0) / 16, f->rip, f->error,
		    cr2, f->rsp, f->cs);
	uart_write(line, n);
	outl(SEAM_PORT_EXIT, GUEST_EXIT_EXCEPTION);
	for (;;)
		__asm__ volatile("cli; hlt");
}
