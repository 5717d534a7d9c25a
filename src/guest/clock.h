/*
 * clock.h — the monotonic clock: the TSC, converted with a known frequency.
 *
 * The frequency comes from SEAM_PORT_TSC_KHZ when seam-vmx answers it, else
 * from a calibration against PIT channel 0 (QEMU). The TSC keeps counting
 * across a fast suspend-resume or migration if the VMM carries it over, and
 * tsc0 (the boot time stamp) lives in guest memory, so t_us stays monotonic
 * with it. All of this runs in user mode: RDTSC and the PIT ports are
 * allowed there (CR4.TSD clear, IOPL 3).
 */
#ifndef GUEST_CLOCK_H
#define GUEST_CLOCK_H

#include <stdint.h>

struct clock {
	uint64_t tsc0;	    /* TSC at boot */
	uint64_t khz;	    /* TSC ticks per millisecond */
	uint64_t tick_tsc;  /* one timer tick (~1 ms) in TSC ticks */
	const char *source; /* "port" or "pit" */
	uint16_t reload;    /* PIT channel 0's count: the tick */
	int spin;	    /* spin for precise tasks (1 kHz tick only) */
};

#define CLOCK_HZ_MIN 20 /* the PIT's count is 16 bits */

extern struct clock clock;

void clock_start(void);
/* Calibrate if need be, and set vCPU 0's tick to hz (0: 1 kHz). */
void clock_init(uint32_t hz);
uint64_t clock_us(uint64_t tsc);
uint64_t clock_ms_to_tsc(uint64_t ms);

#endif
