/*
 * kvm-smoke.c — prove that the /dev/kvm in front of us really runs guests.
 *
 * The kvm box (tests/kvmbox/run) offers a nested SVM /dev/kvm inside QEMU
 * TCG. Before anyone debugs the VMM there, this program checks the box
 * does what the VMM needs, in the order the VMM does it: API version 12,
 * the capabilities Seam relies on, a VM whose guest memory is one memfd
 * (MAP_SHARED, as FSR hands it to the next binary) in a single slot of
 * 4 GiB by default, created before the in-kernel irqchip and PIT, then two
 * vCPUs, each in its own thread, running real-mode code that does
 * `mov $0x42+id,%al; out %al,$0x10; hlt`. Each must come back to us as a
 * KVM_EXIT_IO on port 0x10 carrying its byte. It prints one line a fact
 * (name=value) and exits 0 only if all of it held.
 *
 * --bench then measures what tests inside the box can expect: the rate of
 * a guest loop (dec/jnz) and the cost of one port-I/O exit to user space.
 *
 * Usage: kvm-smoke [--mem-mib N] [--vcpus N] [--bench]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SMOKE_PORT 0x10
#define SMOKE_CODE_BASE 0x1000
#define SMOKE_CODE_STRIDE 0x100
#define SMOKE_MAX_VCPUS 8
#define SMOKE_BENCH_BASE 0x2000
#define SMOKE_BENCH_LOOPS 10000000u
#define SMOKE_BENCH_EXITS 2000

struct smoke_cap {
	const char *name;
	long id;
};

static const struct smoke_cap smoke_caps[] = {
	{ "KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP },
	{ "KVM_CAP_PIT2", KVM_CAP_PIT2 },
	{ "KVM_CAP_XSAVE", KVM_CAP_XSAVE },
	{ "KVM_CAP_XCRS", KVM_CAP_XCRS },
	{ "KVM_CAP_VCPU_EVENTS", KVM_CAP_VCPU_EVENTS },
	{ "KVM_CAP_DEBUGREGS", KVM_CAP_DEBUGREGS },
	{ "KVM_CAP_ADJUST_CLOCK", KVM_CAP_ADJUST_CLOCK },
	{ "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2", KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 },
	{ "KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT },
	{ "KVM_CAP_GET_TSC_KHZ", KVM_CAP_GET_TSC_KHZ },
};

/* Reported, not required. */
static const struct smoke_cap smoke_caps_info[] = {
	{ "KVM_CAP_SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR },
	{ "KVM_CAP_MP_STATE", KVM_CAP_MP_STATE },
	{ "KVM_CAP_KVMCLOCK_CTRL", KVM_CAP_KVMCLOCK_CTRL },
	{ "KVM_CAP_IRQFD", KVM_CAP_IRQFD },
	{ "KVM_CAP_IOEVENTFD", KVM_CAP_IOEVENTFD },
	{ "KVM_CAP_READONLY_MEM", KVM_CAP_READONLY_MEM },
	{ "KVM_CAP_XSAVE2", KVM_CAP_XSAVE2 },
	{ "KVM_CAP_TSC_CONTROL", KVM_CAP_TSC_CONTROL },
	{ "KVM_CAP_DIRTY_LOG_RING", KVM_CAP_DIRTY_LOG_RING },
	{ "KVM_CAP_NR_VCPUS", KVM_CAP_NR_VCPUS },
	{ "KVM_CAP_MAX_VCPUS", KVM_CAP_MAX_VCPUS },
	{ "KVM_CAP_NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS },
};

struct smoke_vcpu {
	int id;
	int fd;
	struct kvm_run *run;
	int ok;
	char msg[160];
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fail(const char *what)
{
	printf("error=%s: %s\n", what, strerror(errno));
	return 1;
}

static int caps_report(int kvm)
{
	size_t i;
	int missing = 0;

	for (i = 0; i < sizeof(smoke_caps) / sizeof(smoke_caps[0]); i++) {
		int r = ioctl(kvm, KVM_CHECK_EXTENSION, smoke_caps[i].id);

		printf("%s=%d\n", smoke_caps[i].name, r);
		if (r <= 0)
			missing++;
	}
	for (i = 0; i < sizeof(smoke_caps_info) / sizeof(smoke_caps_info[0]);
	     i++)
		printf("%s=%d\n", smoke_caps_info[i].name,
		       ioctl(kvm, KVM_CHECK_EXTENSION, smoke_caps_info[i].id));
	return missing;
}

static int msr_list_report(int kvm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };

	if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &probe) == 0 || errno == E2BIG) {
		printf("KVM_GET_MSR_INDEX_LIST.nmsrs=%u\n", probe.nmsrs);
		return 0;
	}
	return fail("KVM_GET_MSR_INDEX_LIST");
}

static void code_write(uint8_t *mem, int id)
{
	uint8_t *p = mem + SMOKE_CODE_BASE + id * SMOKE_CODE_STRIDE;

	p[0] = 0xb0; /* mov $imm8, %al */
	p[1] = (uint8_t)(0x42 + id);
	p[2] = 0xe6; /* out %al, $imm8 */
	p[3] = SMOKE_PORT;
	p[4] = 0xf4; /* hlt */
}

static int vcpu_real_mode(struct smoke_vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = SMOKE_CODE_BASE + v->id * SMOKE_CODE_STRIDE;
	regs.rflags = 0x2;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	/* With the in-kernel irqchip, APs wait for INIT/SIPI; wake them. */
	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
		return fail("KVM_SET_MP_STATE");
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct smoke_vcpu *v = arg;
	struct kvm_run *run = v->run;
	uint8_t want = (uint8_t)(0x42 + v->id);
	uint8_t got;

	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		snprintf(v->msg, sizeof(v->msg), "KVM_RUN: %s", strerror(errno));
		return NULL;
	}
	if (run->exit_reason != KVM_EXIT_IO) {
		snprintf(v->msg, sizeof(v->msg),
			 "exit_reason=%u (want KVM_EXIT_IO), hw=%llx",
			 run->exit_reason,
			 (unsigned long long)run->hw.hardware_exit_reason);
		return NULL;
	}
	got = *((uint8_t *)run + run->io.data_offset);
	if (run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != SMOKE_PORT || got != want) {
		snprintf(v->msg, sizeof(v->msg),
			 "io dir=%u port=%#x byte=%#x (want out %#x %#x)",
			 run->io.direction, run->io.port, got, SMOKE_PORT, want);
		return NULL;
	}
	snprintf(v->msg, sizeof(v->msg), "KVM_EXIT_IO out port=%#x byte=%#x",
		 SMOKE_PORT, got);
	v->ok = 1;
	return NULL;
}

static void bench_code_write(uint8_t *mem)
{
	static const uint8_t code[] = {
		0x66, 0xb9, 0, 0, 0, 0, /* mov $SMOKE_BENCH_LOOPS, %ecx */
		0x66, 0x49,		/* 1: dec %ecx */
		0x75, 0xfc,		/* jnz 1b */
		0xe6, 0x11,		/* out %al, $0x11 */
		0xe6, 0x12,		/* 2: out %al, $0x12 */
		0xeb, 0xfc,		/* jmp 2b */
	};
	uint32_t n = SMOKE_BENCH_LOOPS;

	memcpy(mem + SMOKE_BENCH_BASE, code, sizeof(code));
	memcpy(mem + SMOKE_BENCH_BASE + 2, &n, sizeof(n));
}

static int bench_run_to_port(struct smoke_vcpu *v, uint16_t port)
{
	if (ioctl(v->fd, KVM_RUN, 0) < 0)
		return fail("KVM_RUN (bench)");
	if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != port) {
		printf("error=bench: exit_reason=%u port=%#x, want io %#x\n",
		       v->run->exit_reason, v->run->io.port, port);
		return 1;
	}
	return 0;
}

/* On vCPU 0, after the smoke test: loop rate, then the cost of an exit. */
static int bench_run(struct smoke_vcpu *v, uint8_t *mem)
{
	struct kvm_regs regs;
	double t;
	int i;

	bench_code_write(mem);
	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return fail("KVM_GET_REGS");
	regs.rip = SMOKE_BENCH_BASE;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	t = now_ms();
	if (bench_run_to_port(v, 0x11))
		return 1;
	t = now_ms() - t;
	printf("bench_loop_iterations=%u\nbench_loop_ms=%.1f\n"
	       "bench_loop_mips=%.1f\n", SMOKE_BENCH_LOOPS, t,
	       2.0 * SMOKE_BENCH_LOOPS / t / 1e3);
	if (bench_run_to_port(v, 0x12))
		return 1;
	t = now_ms();
	for (i = 0; i < SMOKE_BENCH_EXITS; i++)
		if (bench_run_to_port(v, 0x12))
			return 1;
	printf("bench_io_exit_us=%.1f\n",
	       (now_ms() - t) * 1e3 / SMOKE_BENCH_EXITS);
	return 0;
}

static int memory_add(int vm, uint64_t size, uint8_t **out)
{
	struct kvm_userspace_memory_region region;
	int fd = memfd_create("kvm-smoke", MFD_CLOEXEC);
	void *mem;
	double t;

	if (fd < 0)
		return fail("memfd_create");
	printf("memfd_create=ok\n");
	if (ftruncate(fd, (off_t)size) < 0)
		return fail("ftruncate memfd");
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		return fail("mmap memfd MAP_SHARED");
	close(fd);
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	t = now_ms();
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	printf("memslot_mib=%llu\nmemslot_ms=%.3f\n",
	       (unsigned long long)(size >> 20), now_ms() - t);
	/* Touch the last page: the whole slot is backed. */
	((volatile uint8_t *)mem)[size - 1] = 1;
	*out = mem;
	return 0;
}

static int vm_devices_add(int vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	double t;

	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		return fail("KVM_SET_TSS_ADDR");
	t = now_ms();
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	printf("KVM_CREATE_IRQCHIP=ok\ncreate_irqchip_ms=%.3f\n", now_ms() - t);
	t = now_ms();
	if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		return fail("KVM_CREATE_PIT2");
	printf("KVM_CREATE_PIT2=ok\ncreate_pit2_ms=%.3f\n", now_ms() - t);
	return 0;
}

static int vcpus_run(int kvm, int vm, uint8_t *mem, int n, int bench)
{
	struct smoke_vcpu v[SMOKE_MAX_VCPUS];
	pthread_t th[SMOKE_MAX_VCPUS];
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	int i, bad = 0;
	double t;

	if (size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	for (i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].id = i;
		code_write(mem, i);
		t = now_ms();
		v[i].fd = ioctl(vm, KVM_CREATE_VCPU, i);
		if (v[i].fd < 0)
			return fail("KVM_CREATE_VCPU");
		printf("create_vcpu%d_ms=%.3f\n", i, now_ms() - t);
		v[i].run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
				MAP_SHARED, v[i].fd, 0);
		if (v[i].run == MAP_FAILED)
			return fail("mmap kvm_run");
		if (vcpu_real_mode(&v[i]))
			return 1;
	}
	t = now_ms();
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, vcpu_thread, &v[i]) != 0)
			return fail("pthread_create");
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("vcpus_run_ms=%.3f\n", now_ms() - t);
	for (i = 0; i < n; i++) {
		printf("vcpu%d=%s %s\n", i, v[i].ok ? "ok" : "FAIL", v[i].msg);
		bad += !v[i].ok;
	}
	if (bad)
		return 1;
	return bench ? bench_run(&v[0], mem) : 0;
}

int main(int argc, char **argv)
{
	uint64_t mem_mib = 4096;
	int nvcpus = 2, bench = 0, i, kvm, vm, api, missing;
	uint8_t *mem = NULL;
	double t;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mem-mib") && i + 1 < argc)
			mem_mib = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
			nvcpus = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bench"))
			bench = 1;
		else {
			fprintf(stderr,
				"usage: kvm-smoke [--mem-mib N] [--vcpus N] "
				"[--bench]\n");
			return 2;
		}
	}
	if (nvcpus < 1 || nvcpus > SMOKE_MAX_VCPUS || mem_mib < 1) {
		fprintf(stderr, "kvm-smoke: bad --vcpus or --mem-mib\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	printf("KVM_GET_API_VERSION=%d\n", api);
	if (api != KVM_API_VERSION) {
		printf("error=API version %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	missing = caps_report(kvm);
	if (msr_list_report(kvm))
		return 1;

	t = now_ms();
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	printf("create_vm_ms=%.3f\n", now_ms() - t);
	/* Slot before irqchip: far cheaper in that order (PLATFORM.md). */
	if (memory_add(vm, mem_mib << 20, &mem) || vm_devices_add(vm))
		return 1;
	if (vcpus_run(kvm, vm, mem, nvcpus, bench))
		return 1;
	if (missing) {
		printf("error=%d required capabilities missing\n", missing);
		return 1;
	}
	printf("result=ok\n");
	return 0;
}
