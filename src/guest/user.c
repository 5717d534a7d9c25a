/*
 * user.c — what the guest does, in user mode.
 *
 * vCPU 0 reads the start structure, prints the banner, parses the command
 * line, sets the clock and the workloads up, prints `ready`, and publishes
 * the configuration. Then the tasks are placed: the heartbeat and the test
 * helpers (shutdown, triple_fault, panic) always on vCPU 0; verify and dirty
 * on vCPU 1 when there is one, so heartbeats stay regular, else on vCPU 0 in
 * the same cooperative loop. The test helpers: shutdown=MS (status 0),
 * panic=MS (status 1), triple_fault=MS (empty IDT, then a fault) and
 * fault=MS (an invalid opcode in user mode: the exception path, status 3).
 * Further vCPUs halt. Every vCPU then runs its tasks for ever (sched.c).
 */
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "clock.h"
#include "cmdline.h"
#include "guest.h"
#include "guest_abi.h"
#include "io.h"
#include "sched.h"
#include "sys.h"
#include "uart.h"
#include "work.h"

#define DIRTY_DEFAULT_MB 128
#define DIRTY_PAGE 4096ULL
#define MIB ((uint64_t)1 << 20)

static struct boot_info boot;
static struct guest_opts opts;
static unsigned int ncpus;
static int config_ready;

static struct heartbeat hb;
static struct verify vf;
static struct dirty dt;
static struct task t_hb, t_verify, t_dirty, t_shutdown, t_triple, t_panic,
    t_fault;
static struct task *cpu_tasks[2][8];
static unsigned int cpu_ntasks[2];

static unsigned int read_ncpus(void)
{
	uint8_t n = inb(SEAM_PORT_NCPUS);

	if (n == 0 || n == 0xFF)
		return 1;
	return n > GUEST_MAX_CPUS ? GUEST_MAX_CPUS : n;
}

static void step_shutdown(struct task *t, uint64_t now)
{
	con_printf("shutdown\n");
	guest_exit(GUEST_EXIT_OK);
}

static void step_triple_fault(struct task *t, uint64_t now)
{
	con_printf("triple fault\n");
	sys_triple_fault();
}

static void step_panic(struct task *t, uint64_t now)
{
	con_printf("panic: requested on the command line\n");
	guest_exit(GUEST_EXIT_PANIC);
}

static void step_fault(struct task *t, uint64_t now)
{
	con_printf("fault: executing ud2\n");
	__asm__ volatile("ud2");
}

static void add_task(unsigned int cpu, struct task *t)
{
	cpu_tasks[cpu][cpu_ntasks[cpu]++] = t;
}

static void add_timer(struct task *t, uint32_t ms,
		      void (*step)(struct task *, uint64_t), uint64_t now)
{
	if (!ms)
		return;
	t->due = now + clock_ms_to_tsc(ms);
	t->precise = 0;
	t->step = step;
	add_task(0, t);
}

__attribute__((noreturn)) static void fail(const char *what, uint64_t mb)
{
	con_printf("error: %s needs %lu MiB of RAM above %lu MiB, not "
		   "available (mem_mb=%lu)\n",
		   what, mb, BOOT_ALLOC_BASE / MIB, boot.ram_bytes / MIB);
	guest_exit(GUEST_EXIT_USAGE);
}

/* Regions: verify first, then the dirty region and its generation table. */
static void setup_memory_work(unsigned int cpu, uint64_t now)
{
	uint64_t vbase = 0, dbase, gen, mb, npages;

	if (opts.verify_mb) {
		vbase = boot_alloc(&boot, (uint64_t)opts.verify_mb * MIB);
		if (!vbase)
			fail("verify", opts.verify_mb);
	}
	if (opts.dirty_mbps) {
		mb = opts.dirty_mb;
		if (!mb) { /* default, or what RAM allows */
			mb = boot_largest_free(&boot) / MIB;
			mb = mb > DIRTY_DEFAULT_MB + 1 ? DIRTY_DEFAULT_MB
						       : (mb > 1 ? mb - 1 : 0);
		}
		npages = mb * MIB / DIRTY_PAGE;
		dbase = npages ? boot_alloc(&boot, mb * MIB) : 0;
		gen = dbase ? boot_alloc(&boot, npages * 4) : 0;
		if (!gen)
			fail("dirty", mb + 1);
		dirty_start(&t_dirty, &dt, dbase, npages,
			    (uint32_t *)(uintptr_t)gen, opts.dirty_mbps, now);
		add_task(cpu, &t_dirty);
	}
	if (opts.verify_mb) {
		verify_start(&t_verify, &vf, vbase,
			     (uint64_t)opts.verify_mb * MIB,
			     opts.dirty_mbps ? &dt : NULL, now);
		add_task(cpu, &t_verify);
	}
}

static void parse_cmdline(void)
{
	char bad[64];
	int r = cmdline_parse(boot.cmdline, &opts, bad, sizeof(bad));

	if (r == CMDLINE_UNKNOWN) {
		con_printf("error: unknown option '%s'\n", bad);
		guest_exit(GUEST_EXIT_USAGE);
	}
	if (r != CMDLINE_OK) {
		con_printf("error: bad value in '%s' (want a number >= 1)\n",
			   bad);
		guest_exit(GUEST_EXIT_USAGE);
	}
	if (opts.hz && (opts.hz < CLOCK_HZ_MIN || opts.hz > 1000)) {
		con_printf("error: bad value in 'hz=%u' (want %u to 1000)\n",
			   opts.hz, CLOCK_HZ_MIN);
		guest_exit(GUEST_EXIT_USAGE);
	}
}

__attribute__((noreturn)) static void bsp_main(uint64_t start_info)
{
	uint64_t now;

	uart_init();
	clock_start();
	ncpus = read_ncpus();
	boot_read(&boot, start_info, boot_via_pvh);
	con_printf("seam-guest %s cpus=%u mem_mb=%lu cmdline='%s'\n",
		   GUEST_VERSION, ncpus, (boot.ram_bytes + MIB / 2) / MIB,
		   boot.cmdline);
	if (!boot.valid)
		con_printf("warning: no PVH start info at 0x%lx\n", start_info);
	parse_cmdline();
	clock_init(opts.hz);
	con_printf("clock tsc_khz=%lu source=%s hz=%u\n", clock.khz,
		   clock.source, opts.hz ? opts.hz : 1000);
	now = rdtsc();
	if (opts.heartbeat_ms) {
		heartbeat_start(&t_hb, &hb, opts.heartbeat_ms, now);
		add_task(0, &t_hb);
	}
	add_timer(&t_shutdown, opts.shutdown_ms, step_shutdown, now);
	add_timer(&t_triple, opts.triple_fault_ms, step_triple_fault, now);
	add_timer(&t_panic, opts.panic_ms, step_panic, now);
	add_timer(&t_fault, opts.fault_ms, step_fault, now);
	setup_memory_work(ncpus > 1 ? 1 : 0, now);
	con_printf("ready\n");
	__atomic_store_n(&config_ready, 1, __ATOMIC_RELEASE);
	sched_run(cpu_tasks[0], cpu_ntasks[0], 1);
}

__attribute__((noreturn)) static void ap_main(uint64_t cpu)
{
	while (!__atomic_load_n(&config_ready, __ATOMIC_ACQUIRE))
		cpu_relax();
	if (cpu != 1 || cpu_ntasks[1] == 0)
		sys_halt();
	con_printf("cpu1 runs verify/dirty, timer=%s\n",
		   cpu_has_timer[1] ? "x2apic" : "none (polling)");
	sched_run(cpu_tasks[1], cpu_ntasks[1], cpu_has_timer[1]);
}

void user_main(uint64_t cpu, uint64_t start_info)
{
	if (cpu == 0)
		bsp_main(start_info);
	ap_main(cpu);
}
