/*
 * sys.h — user mode's side of the system calls, and how the guest ends.
 *
 * Three calls through `int $0x80` (guest.h): sleep until the next interrupt,
 * halt for good, and the triple-fault test. guest_exit() writes the status
 * to SEAM_PORT_EXIT (seam-vmx ends the VM there) and halts in case nobody
 * answered (QEMU).
 */
#ifndef GUEST_SYS_H
#define GUEST_SYS_H

#include <stdint.h>

void sys_sleep(void);
__attribute__((noreturn)) void sys_halt(void);
__attribute__((noreturn)) void sys_triple_fault(void);
__attribute__((noreturn)) void guest_exit(uint32_t status);

#endif
