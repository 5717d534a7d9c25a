/*
 * dirty.c — keep rewriting a region at a paced rate, page by page.
 *
 * Writing page p for the g-th time fills it with words derived from (p, g)
 * and then records g in the generation table, which is itself in guest RAM.
 * A migration that loses a dirty page leaves a page whose content is of an
 * older generation than the table says, and verify's next pass finds it.
 * Pacing: pages written since the start follow the clock at the requested
 * rate (1 MB = 1 MiB = 256 pages); a backlog (after a pause) is capped at
 * 100 ms worth so the guest does not burst. Each step writes at most
 * DIRTY_STEP_PAGES and, when on schedule, asks to run again a tick later.
 */
#include "work.h"

#include "clock.h"
#include "uart.h"

#define DIRTY_PAGE 4096u
#define DIRTY_STEP_PAGES 16

static inline uint64_t dirty_word(uint64_t page, uint32_t gen, uint64_t i)
{
	return ((page << 32) | gen) ^ ((i + 1) * 0xD6E8FEB86659FD93ULL);
}

static void dirty_write_page(struct dirty *d, uint64_t p)
{
	volatile uint64_t *w =
	    (volatile uint64_t *)(uintptr_t)(d->base + p * DIRTY_PAGE);
	uint32_t g = d->gen[p] + 1;
	uint64_t i;

	if (g == 0)
		g = 1;
	for (i = 0; i < DIRTY_PAGE / 8; i++)
		w[i] = dirty_word(p, g, i);
	__atomic_store_n(&d->gen[p], g, __ATOMIC_RELEASE);
}

int dirty_check_page(const struct dirty *d, uint64_t p, uint64_t *addr,
		     uint64_t *expected, uint64_t *got)
{
	const volatile uint64_t *w =
	    (const volatile uint64_t *)(uintptr_t)(d->base + p * DIRTY_PAGE);
	uint32_t g = __atomic_load_n(&d->gen[p], __ATOMIC_ACQUIRE);
	uint64_t i;

	if (g == 0)
		return 0;
	for (i = 0; i < DIRTY_PAGE / 8; i++) {
		uint64_t want = dirty_word(p, g, i);

		if (w[i] != want) {
			*addr = d->base + p * DIRTY_PAGE + i * 8;
			*expected = want;
			*got = w[i];
			return -1;
		}
	}
	return 0;
}

/* Pages that should have been written by now. */
static uint64_t dirty_due(const struct dirty *d, uint64_t now)
{
	uint64_t us = clock_us(now) - clock_us(d->t_start);

	return us / 1000000 * d->pages_per_s +
	       us % 1000000 * d->pages_per_s / 1000000;
}

static void dirty_step(struct task *t, uint64_t now)
{
	struct dirty *d = t->ctx;
	uint64_t due = dirty_due(d, now), cap = d->pages_per_s / 10 + 1;
	unsigned int i;

	if (due > d->done + cap)
		d->done = due - cap;
	for (i = 0; i < DIRTY_STEP_PAGES && d->done < due; i++, d->done++) {
		dirty_write_page(d, d->next);
		if (++d->next == d->npages)
			d->next = 0;
	}
	t->due = d->done < due ? now : now + clock.tick_tsc;
}

void dirty_start(struct task *t, struct dirty *d, uint64_t base,
		 uint64_t npages, uint32_t *gen, uint32_t mbps, uint64_t now)
{
	uint64_t i;

	d->base = base;
	d->npages = npages;
	d->gen = gen;
	for (i = 0; i < npages; i++)
		gen[i] = 0;
	d->pages_per_s = (uint64_t)mbps * (1u << 20) / DIRTY_PAGE;
	d->t_start = now;
	d->done = 0;
	d->next = 0;
	t->ctx = d;
	t->step = dirty_step;
	t->precise = 0;
	t->due = now;
	con_printf("dirty rate=%u region_mb=%lu\n", mbps,
		   npages * DIRTY_PAGE >> 20);
}
