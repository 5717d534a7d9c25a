/*
 * sched.h — one vCPU's cooperative loop over its tasks.
 *
 * A task has a due time (TSC) and a step function that does a small piece of
 * work (one heartbeat line, 64 KiB of verification, a few dirty pages) and
 * sets the next due time. The loop always runs the task due first. When
 * nothing is due it sleeps in the kernel (`int $0x80`, woken by the next
 * ~1 ms tick) as long as the next *precise* deadline is more than a tick
 * away, and spins only for the last part of a tick: an idle guest does not
 * burn a host core, and heartbeats keep their schedule. Tasks that are not
 * precise (verify rests, dirty pacing) are simply run at the first wake-up
 * after they are due.
 */
#ifndef GUEST_SCHED_H
#define GUEST_SCHED_H

#include <stdint.h>

#define TASK_NEVER UINT64_MAX

struct task {
	uint64_t due;
	int precise;
	void (*step)(struct task *t, uint64_t now);
	void *ctx;
};

/* Run tasks[0..n) for ever; can_sleep is 0 on a vCPU with no timer. */
__attribute__((noreturn)) void sched_run(struct task **tasks, unsigned int n,
					 int can_sleep);

#endif
