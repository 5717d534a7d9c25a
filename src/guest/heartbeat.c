/*
 * heartbeat.c — `hb seq=N t_us=T vmx=VERSION` every interval.
 *
 * Deadlines advance by exactly one interval, so the schedule never drifts;
 * after a long stop (a paused VM) missed deadlines are skipped rather than
 * printed in a burst, and seq still grows by one per line. The VMM version
 * is read afresh each time from SEAM_PORT_VERSION (a write rewinds it, then
 * one byte per read until 0): after a fast suspend-resume onto a new seam-vmx
 * binary the next heartbeat names the new version.
 */
#include "work.h"

#include "clock.h"
#include "guest_abi.h"
#include "io.h"
#include "uart.h"

#define VERSION_MAX 32

static void heartbeat_version(char *buf)
{
	unsigned int n = 0;

	outb(SEAM_PORT_VERSION, 0);
	insb(SEAM_PORT_VERSION, buf, VERSION_MAX);
	while (n < VERSION_MAX) {
		uint8_t c = (uint8_t)buf[n];

		if (c == 0 || c < 0x20 || c > 0x7E)
			break;
		n++;
	}
	if (n == 0) { /* nobody answered (0xFF) or garbage */
		buf[0] = 'n', buf[1] = 'o', buf[2] = 'n', buf[3] = 'e';
		n = 4;
	}
	buf[n] = '\0';
}

static void heartbeat_step(struct task *t, uint64_t now)
{
	struct heartbeat *h = t->ctx;
	char version[VERSION_MAX + 1];

	heartbeat_version(version);
	h->seq++;
	con_printf("hb seq=%lu t_us=%lu vmx=%s\n", h->seq, clock_us(rdtsc()),
		   version);
	t->due += h->interval;
	if (t->due <= now)
		t->due += ((now - t->due) / h->interval + 1) * h->interval;
}

void heartbeat_start(struct task *t, struct heartbeat *h, uint32_t ms,
		     uint64_t now)
{
	h->interval = clock_ms_to_tsc(ms);
	h->seq = 0;
	t->ctx = h;
	t->step = heartbeat_step;
	t->precise = 1;
	t->due = now + h->interval;
}
