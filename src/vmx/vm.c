/*
 * vm.c — creating the KVM VM and booting it (see vm.h for the life cycle).
 *
 * Order matters on these hosts (PLATFORM.md): memory slots are registered
 * before KVM_CREATE_IRQCHIP, where they cost microseconds instead of
 * milliseconds. TSS and identity-map addresses are set before any vCPU
 * exists (Intel needs them; AMD ignores them). Every vCPU's CPUID is set
 * before its first KVM_RUN, as KVM requires.
 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "elfload.h"
#include "log.h"

#define VM_TSS_ADDR 0xfffbd000ULL
#define VM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define VM_SLOT_LOW 0
#define VM_SLOT_HIGH 1

uint64_t vmx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int vm_init(struct vm *vm, const struct vmx_book *book,
	    const struct vmx_fds *fds, struct seam_err *e)
{
	memset(vm, 0, sizeof(*vm));
	vm->book = *book;
	vm->fds = *fds;
	vm->kvm_fd = vm->vm_fd = vm->end_fd = -1;
	vm->nvcpus = book->cfg.vcpus;
	for (unsigned int i = 0; i < VMX_VCPUS_MAX; i++)
		vm->vcpus[i].fd = -1;
	pthread_mutex_init(&vm->dev_lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	uart_init(&vm->dev.uart);
	vm->start_mono_ns = vmx_now_ns();
	vm->end_fd = eventfd(0, EFD_CLOEXEC);
	if (vm->end_fd < 0)
		return err_sys(e, "eventfd");
	return 0;
}

static int vm_open_kvm(struct vm *vm, struct seam_err *e)
{
	int v;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return err_sys(e, "cannot open /dev/kvm");
	v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION)
		return err_set(e, ENOTSUP, "KVM API version %d, need %d", v,
			       KVM_API_VERSION);
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size <= 0)
		return err_sys(e, "KVM_GET_VCPU_MMAP_SIZE");
	return 0;
}

static int vm_get_cpuid(struct vm *vm, struct seam_err *e)
{
	vm->cpuid.hdr.nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &vm->cpuid) < 0)
		return err_sys(e, "KVM_GET_SUPPORTED_CPUID");
	cpuid_features(&vm->cpuid, &vm->cpu);
	return 0;
}

static int vm_map_ram(struct vm *vm, struct seam_err *e)
{
	uint64_t size = vm->book.cfg.mem_bytes;
	struct stat st;
	void *p;

	if (fstat(vm->fds.ram, &st) < 0 || (uint64_t)st.st_size != size)
		return err_set(e, EINVAL, "guest RAM memfd is not %llu bytes",
			       (unsigned long long)size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 vm->fds.ram, 0);
	if (p == MAP_FAILED)
		return err_sys(e, "mmap of %llu bytes of guest RAM",
			       (unsigned long long)size);
	madvise(p, size, MADV_DONTDUMP);
	gmem_layout(&vm->gm, p, size);
	return 0;
}

static int vm_set_slot(struct vm *vm, uint32_t slot, uint32_t flags,
		       uint64_t gpa, uint64_t size, uint8_t *host,
		       struct seam_err *e)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return err_sys(e, "KVM_SET_USER_MEMORY_REGION slot %u", slot);
	return 0;
}

static int vm_set_slots(struct vm *vm, uint32_t flags, struct seam_err *e)
{
	struct gmem *gm = &vm->gm;
	int r;

	r = vm_set_slot(vm, VM_SLOT_LOW, flags, 0, gm->low_size, gm->base, e);
	if (r < 0 || gm->size == gm->low_size)
		return r;
	return vm_set_slot(vm, VM_SLOT_HIGH, flags, SEAM_RAM_HIGH_BASE,
			   gm->size - gm->low_size, gm->base + gm->low_size, e);
}

int vm_dirty_log_enable(struct vm *vm, int on, struct seam_err *e)
{
	return vm_set_slots(vm, on ? KVM_MEM_LOG_DIRTY_PAGES : 0, e);
}

/*
 * The low slot's pages are RAM pages [0, low); the high slot's follow. The
 * low size is a multiple of 2 MiB, so the high slot's bits start on a
 * 64-bit word and KVM can write both straight into one bitmap.
 */
int vm_dirty_log_get(struct vm *vm, uint64_t *bitmap, struct seam_err *e)
{
	struct kvm_dirty_log d = {.slot = VM_SLOT_LOW, .dirty_bitmap = bitmap};
	uint64_t low_pages = vm->gm.low_size / 4096;

	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0)
		return err_sys(e, "KVM_GET_DIRTY_LOG on the low slot");
	if (vm->gm.size == vm->gm.low_size)
		return 0;
	d = (struct kvm_dirty_log){.slot = VM_SLOT_HIGH,
				   .dirty_bitmap = bitmap + low_pages / 64};
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0)
		return err_sys(e, "KVM_GET_DIRTY_LOG on the high slot");
	return 0;
}

static int vm_create_devices(struct vm *vm, struct seam_err *e)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_sys(e, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_sys(e, "KVM_CREATE_PIT2");
	return 0;
}

static int vm_create_vcpu(struct vm *vm, unsigned int i, struct seam_err *e)
{
	struct vcpu *v = &vm->vcpus[i];
	struct cpuid_table t = vm->cpuid;
	void *run;

	v->vm = vm;
	v->index = i;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
	if (v->fd < 0)
		return err_sys(e, "KVM_CREATE_VCPU %u", i);
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   v->fd, 0);
	if (run == MAP_FAILED)
		return err_sys(e, "mmap of vCPU %u's kvm_run", i);
	v->run = run;
	cpuid_fixup(&t, i, vm->nvcpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, &t) < 0)
		return err_sys(e, "KVM_SET_CPUID2 on vCPU %u", i);
	return 0;
}

int vm_create(struct vm *vm, struct seam_err *e)
{
	uint64_t tss = VM_IDENTITY_MAP_ADDR;
	int r, khz;

	r = vm_open_kvm(vm, e);
	if (r < 0)
		return r;
	r = vm_get_cpuid(vm, e);
	if (r < 0)
		return r;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return err_sys(e, "KVM_CREATE_VM");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VM_TSS_ADDR) < 0)
		return err_sys(e, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &tss) < 0)
		return err_sys(e, "KVM_SET_IDENTITY_MAP_ADDR");
	r = vm_map_ram(vm, e);
	if (r < 0)
		return r;
	r = vm_set_slots(vm, 0, e);
	if (r < 0)
		return r;
	r = vm_create_devices(vm, e);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		r = vm_create_vcpu(vm, i, e);
		if (r < 0)
			return r;
	}
	khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	return vm_probe_msrs(vm, e);
}

static int vm_boot_vcpu(struct vm *vm, struct vcpu *v, uint64_t entry,
			struct seam_err *e)
{
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return err_sys(e, "KVM_GET_SREGS on vCPU %u", v->index);
	boot_sregs(&sregs, &vm->cpu);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return err_sys(e, "KVM_SET_SREGS on vCPU %u", v->index);
	boot_regs(&regs, entry, v->index);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return err_sys(e, "KVM_SET_REGS on vCPU %u", v->index);
	/* Application processors would wait for INIT/SIPI otherwise. */
	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
		return err_sys(e, "KVM_SET_MP_STATE on vCPU %u", v->index);
	return 0;
}

int vm_boot(struct vm *vm, const void *img, size_t len, struct seam_err *e)
{
	uint64_t entry;
	int r;

	r = elf_load(img, len, &vm->gm, &entry, e);
	if (r < 0)
		return r;
	r = boot_write_tables(&vm->gm, vm->book.cfg.cmdline, e);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		r = vm_boot_vcpu(vm, &vm->vcpus[i], entry, e);
		if (r < 0)
			return r;
	}
	log_debug("booted %s: entry %#llx, %u vCPU(s), %llu MiB",
		  vm->book.cfg.name, (unsigned long long)entry, vm->nvcpus,
		  (unsigned long long)(vm->book.cfg.mem_bytes >> 20));
	return 0;
}

void vm_request_end(struct vm *vm, int code)
{
	int expected = 0;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->end_requested, &expected, 1))
		return;
	vm->end_code = code;
	if (write(vm->end_fd, &one, sizeof(one)) < 0)
		log_warn("eventfd write");
}
