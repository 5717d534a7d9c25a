/*
 * clock.c — see clock.h.
 *
 * Calibration, when the VMM gives no frequency: PIT channel 0 is switched to
 * a one-shot count from 0xFFFF (55 ms until it wraps), and we read it back
 * (latch command, two bytes) until 30 ms of PIT time have gone, taking the
 * TSC at the first and the last read. A one-shot count, unlike the 1 kHz
 * periodic one, cannot be fooled by a vCPU descheduled for a few
 * milliseconds. Channel 0 then goes back to the rate generator.
 *
 * The tick: 1 kHz unless the command line says `hz=N` (CLOCK_HZ_MIN..1000).
 * Every tick wakes a resting vCPU: an interrupt injected and a HLT exit.
 * A VMM on real hardware does that a million times a second, but under
 * emulation (tests/kvmbox: nested SVM in TCG) six VMs at 1 kHz are more
 * than the emulated host can keep up with, and it falls behind for
 * minutes. A slower tick costs precision: with hz below 1000 the scheduler
 * no longer spins for a precise task (clock.spin is 0), so a heartbeat can
 * come up to one tick late; its sequence numbers are unaffected.
 */
#include "clock.h"

#include "guest_abi.h"
#include "io.h"
#include "uart.h"

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182ULL
#define PIT_RELOAD_1KHZ 1193 /* ~1000.15 Hz */
#define CAL_COUNTS 35795     /* 30 ms of PIT time */
#define CAL_FALLBACK_KHZ 2000000

struct clock clock;

void clock_start(void)
{
	clock.tsc0 = rdtsc();
}

static uint16_t pit_read(void)
{
	uint8_t lo, hi;

	outb(PIT_CMD, 0x00); /* latch channel 0 */
	lo = inb(PIT_CH0);
	hi = inb(PIT_CH0);
	return (uint16_t)(lo | hi << 8);
}

static void pit_set(uint8_t mode_cmd, uint16_t count)
{
	outb(PIT_CMD, mode_cmd);
	outb(PIT_CH0, count & 0xFF);
	outb(PIT_CH0, count >> 8);
}

static uint64_t clock_calibrate(void)
{
	uint64_t t0, t1;
	uint16_t c0, c;

	pit_set(0x30, 0xFFFF); /* channel 0, lo/hi, mode 0 (one-shot) */
	c0 = pit_read();
	t0 = rdtsc();
	do {
		c = pit_read();
		t1 = rdtsc();
	} while (c <= c0 && (uint16_t)(c0 - c) < CAL_COUNTS);
	pit_set(0x34, clock.reload); /* back to the rate generator */
	if (c > c0) /* wrapped: we were away for more than 55 ms */
		return 0;
	return (t1 - t0) * PIT_HZ / ((uint64_t)(c0 - c) * 1000);
}

void clock_init(uint32_t hz)
{
	uint32_t khz = inl(SEAM_PORT_TSC_KHZ);
	int i;

	clock.reload = PIT_RELOAD_1KHZ;
	clock.spin = 1;
	if (hz && hz < 1000) {
		clock.reload = (uint16_t)(PIT_HZ / hz);
		clock.spin = 0;
		pit_set(0x34, clock.reload); /* mode 2 at the new rate */
	}
	clock.source = "port";
	clock.khz = khz;
	if (khz == 0 || khz == 0xFFFFFFFF) {
		clock.source = "pit";
		clock.khz = 0;
		for (i = 0;
		     i < 3 && (clock.khz < 1000 || clock.khz > 100000000); i++)
			clock.khz = clock_calibrate();
	}
	if (clock.khz < 1000 || clock.khz > 100000000) {
		con_printf("warning: TSC calibration failed, assuming %u kHz\n",
			   CAL_FALLBACK_KHZ);
		clock.khz = CAL_FALLBACK_KHZ;
	}
	clock.tick_tsc = clock.khz * clock.reload * 1000 / PIT_HZ;
}

uint64_t clock_us(uint64_t tsc)
{
	uint64_t d = tsc - clock.tsc0;

	return d / clock.khz * 1000 + d % clock.khz * 1000 / clock.khz;
}

uint64_t clock_ms_to_tsc(uint64_t ms)
{
	return ms * clock.khz;
}
