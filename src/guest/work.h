/*
 * work.h — the workloads, each a task for sched.c.
 *
 * heartbeat: a line every interval, scheduled by deadline (no drift).
 * verify:    fill a region with a pattern of (address, seed), then check it
 *            pass after pass, resting as long as each pass took.
 * dirty:     rewrite pages of another region at a paced rate; a generation
 *            table says what each page must hold, and verify checks that
 *            too after each of its passes.
 * All state is in guest memory, so it survives suspend-resume and migration
 * with the rest of the guest.
 */
#ifndef GUEST_WORK_H
#define GUEST_WORK_H

#include <stdint.h>

#include "sched.h"

struct heartbeat {
	uint64_t interval; /* TSC ticks */
	uint64_t seq;
};

struct dirty {
	uint64_t base; /* region, page aligned */
	uint64_t npages;
	uint32_t *gen; /* generation of each page, 0 = never written */
	uint64_t pages_per_s;
	uint64_t t_start; /* TSC when pacing began */
	uint64_t done;	  /* pages written since t_start */
	uint64_t next;	  /* next page to write */
};

enum verify_phase {
	VERIFY_FILL,
	VERIFY_CHECK,
	VERIFY_DIRTY,
	VERIFY_REST,
	VERIFY_FAILED,
};

struct verify {
	uint64_t base, size, seed;
	enum verify_phase phase;
	uint64_t pos; /* bytes (FILL, CHECK) or pages (DIRTY) done */
	uint64_t pass;
	uint64_t t_pass;     /* TSC when this pass began */
	struct dirty *dirty; /* also checked each pass, or NULL */
};

void heartbeat_start(struct task *t, struct heartbeat *h, uint32_t ms,
		     uint64_t now);
void verify_start(struct task *t, struct verify *v, uint64_t base,
		  uint64_t size, struct dirty *d, uint64_t now);
void dirty_start(struct task *t, struct dirty *d, uint64_t base,
		 uint64_t npages, uint32_t *gen, uint32_t mbps, uint64_t now);

/* Check page p against the table; 0 if fine, else fills the mismatch. */
int dirty_check_page(const struct dirty *d, uint64_t p, uint64_t *addr,
		     uint64_t *expected, uint64_t *got);

#endif
