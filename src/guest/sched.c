/*
 * sched.c — see sched.h.
 */
#include "sched.h"

#include <stddef.h>

#include "clock.h"
#include "io.h"
#include "sys.h"

void sched_run(struct task **tasks, unsigned int n, int can_sleep)
{
	/* Sleeping ends at the next tick: safe while a precise task is more
	 * than a tick away. Without spinning (clock.spin 0) it may be late. */
	uint64_t margin = clock.spin ? clock.tick_tsc + clock.tick_tsc / 4 : 0;

	for (;;) {
		uint64_t now = rdtsc(), precise = TASK_NEVER;
		struct task *first = NULL;
		unsigned int i;

		for (i = 0; i < n; i++) {
			if (!first || tasks[i]->due < first->due)
				first = tasks[i];
			if (tasks[i]->precise && tasks[i]->due < precise)
				precise = tasks[i]->due;
		}
		if (first && first->due <= now) {
			first->step(first, now);
			continue;
		}
		if (can_sleep &&
		    (precise == TASK_NEVER || precise - now > margin))
			sys_sleep();
		else
			cpu_relax();
	}
}
