/*
 * syscall.c — see sys.h. The kernel side is in isr.S (isr_syscall): it is
 * three instructions long for the sleep call, which is all that runs per
 * wait in emulated kernel mode.
 */
#include "sys.h"

#include "guest.h"
#include "guest_abi.h"
#include "io.h"

static void sys_call(uint64_t nr)
{
	__asm__ volatile("int $0x80" : "+a"(nr) : : "memory");
}

void sys_sleep(void)
{
	sys_call(SYS_SLEEP);
}

void sys_halt(void)
{
	for (;;)
		sys_call(SYS_HALT);
}

void sys_triple_fault(void)
{
	for (;;)
		sys_call(SYS_TRIPLE_FAULT);
}

void guest_exit(uint32_t status)
{
	outl(SEAM_PORT_EXIT, status);
	sys_halt();
}
