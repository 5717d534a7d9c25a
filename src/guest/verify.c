/*
 * verify.c — fill a region with a pattern, then check it over and over.
 *
 * Word w at address a holds mix(a ^ seed): recomputable from the address
 * alone, different at every address, and different from one boot to the
 * next (the seed is the boot TSC), so stale memory from an earlier run
 * cannot pass. Each step does VERIFY_CHUNK bytes, which keeps a one-vCPU
 * guest's heartbeat on time. After each full pass (plus, with dirty on, a
 * check of every dirty page against its generation) it prints
 * `verify ok pass=N` and rests about as long as the pass took (50% duty),
 * so that many guests on a 2-core host leave it usable. The first mismatch
 * prints `verify FAIL addr=.. expected=.. got=..` and verification stops;
 * the other tasks carry on.
 */
#include "work.h"

#include "clock.h"
#include "uart.h"

#define VERIFY_CHUNK (64u << 10)
#define VERIFY_DIRTY_PAGES 16

static inline uint64_t verify_word(uint64_t addr, uint64_t seed)
{
	uint64_t x = (addr ^ seed) * 0x9E3779B97F4A7C15ULL;

	return x ^ (x >> 29);
}

static void verify_fill(struct verify *v)
{
	uint64_t a = v->base + v->pos, end = a + VERIFY_CHUNK;
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)a;

	for (; a < end; a += 8)
		*p++ = verify_word(a, v->seed);
}

static void verify_fail(struct task *t, uint64_t addr, uint64_t expected,
			uint64_t got)
{
	struct verify *v = t->ctx;

	con_printf("verify FAIL addr=0x%lx expected=0x%016lx got=0x%016lx\n",
		   addr, expected, got);
	v->phase = VERIFY_FAILED;
	t->due = TASK_NEVER;
}

/* Check one chunk; 0 if it matched. */
static int verify_check(struct task *t)
{
	struct verify *v = t->ctx;
	uint64_t a = v->base + v->pos, end = a + VERIFY_CHUNK;
	const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)a;

	for (; a < end; a += 8, p++) {
		uint64_t want = verify_word(a, v->seed), got = *p;

		if (got != want) {
			verify_fail(t, a, want, got);
			return -1;
		}
	}
	return 0;
}

static int verify_check_dirty(struct task *t)
{
	struct verify *v = t->ctx;
	uint64_t i, addr, want, got;

	for (i = 0; i < VERIFY_DIRTY_PAGES && v->pos < v->dirty->npages;
	     i++, v->pos++) {
		if (dirty_check_page(v->dirty, v->pos, &addr, &want, &got)) {
			verify_fail(t, addr, want, got);
			return -1;
		}
	}
	return 0;
}

static void verify_pass_done(struct task *t, uint64_t now)
{
	struct verify *v = t->ctx;

	v->pass++;
	con_printf("verify ok pass=%lu\n", v->pass);
	v->phase = VERIFY_REST;
	t->due = now + (now - v->t_pass);
}

static void verify_step(struct task *t, uint64_t now)
{
	struct verify *v = t->ctx;

	switch (v->phase) {
	case VERIFY_FILL:
		verify_fill(v);
		v->pos += VERIFY_CHUNK;
		if (v->pos >= v->size) {
			v->phase = VERIFY_CHECK;
			v->pos = 0;
		}
		break;
	case VERIFY_CHECK:
		if (verify_check(t))
			return;
		v->pos += VERIFY_CHUNK;
		if (v->pos >= v->size) {
			v->pos = 0;
			v->phase = v->dirty ? VERIFY_DIRTY : VERIFY_CHECK;
			if (!v->dirty)
				verify_pass_done(t, now);
		}
		break;
	case VERIFY_DIRTY:
		if (verify_check_dirty(t))
			return;
		if (v->pos >= v->dirty->npages)
			verify_pass_done(t, now);
		break;
	case VERIFY_REST:
		v->phase = VERIFY_CHECK;
		v->pos = 0;
		v->t_pass = now;
		break;
	case VERIFY_FAILED:
		t->due = TASK_NEVER;
		break;
	}
}

void verify_start(struct task *t, struct verify *v, uint64_t base,
		  uint64_t size, struct dirty *d, uint64_t now)
{
	v->base = base;
	v->size = size;
	v->seed = clock.tsc0 | 1;
	v->phase = VERIFY_FILL;
	v->pos = 0;
	v->pass = 0;
	v->t_pass = now;
	v->dirty = d;
	t->ctx = v;
	t->step = verify_step;
	t->precise = 0;
	t->due = now;
}
