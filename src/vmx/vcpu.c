/*
 * vcpu.c — the vCPU threads: KVM_RUN, exits, and parking for pause.
 *
 * Stopping a vCPU: vm_pause() sets pause_req, then for each vCPU sets
 * kvm_run->immediate_exit and sends it SIGUSR1 (whose handler does nothing;
 * the signal only makes KVM_RUN return -EINTR). A vCPU in the guest leaves
 * at once; one in user space handling an exit re-enters KVM_RUN, which
 * completes the pending I/O (the guest state is then consistent, as KVM's
 * API doc requires before saving it) and returns -EINTR because of
 * immediate_exit. Only after such a -EINTR does a vCPU look at pause_req and
 * park: a parked vCPU never has an I/O half done, so its state can be saved
 * and restored elsewhere.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vm.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_install_kick_handler(void);
int vcpu_install_kick_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

/* Wait while a pause is asked for; dead vCPUs stay here for good. */
static void vcpu_park(struct vcpu *v, int forever)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (vm->pause_req || forever)
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->pause_lock);
}

static int vcpu_pause_requested(struct vm *vm)
{
	int r;

	pthread_mutex_lock(&vm->pause_lock);
	r = vm->pause_req;
	pthread_mutex_unlock(&vm->pause_lock);
	return r;
}

static void vcpu_dump_restored(const struct vcpu *v)
{
	const struct kvm_vcpu_events *ev = &v->restored.ev;

	if (!v->restored.valid)
		return;
	log_warnx("vCPU %u: %llu KVM_RUN since it was restored from rip=%#llx "
		  "rsp=%#llx rflags=%#llx cs=%#x ss=%#x tr=%#x@%#llx mp=%u "
		  "irq_bitmap=%#llx:%#llx:%#llx:%#llx",
		  v->index, (unsigned long long)v->runs,
		  (unsigned long long)v->restored.rip,
		  (unsigned long long)v->restored.rsp,
		  (unsigned long long)v->restored.rflags, v->restored.cs,
		  v->restored.ss, v->restored.tr,
		  (unsigned long long)v->restored.tr_base, v->restored.mp_state,
		  (unsigned long long)v->restored.intr_bitmap[0],
		  (unsigned long long)v->restored.intr_bitmap[1],
		  (unsigned long long)v->restored.intr_bitmap[2],
		  (unsigned long long)v->restored.intr_bitmap[3]);
	log_warnx("vCPU %u: restored events: exception injected=%u "
		  "pending=%u nr=%u has_error=%u error=%#x; interrupt "
		  "injected=%u nr=%u soft=%u shadow=%#x; nmi injected=%u "
		  "pending=%u masked=%u; flags=%#x",
		  v->index, ev->exception.injected, ev->exception.pending,
		  ev->exception.nr, ev->exception.has_error_code,
		  ev->exception.error_code, ev->interrupt.injected,
		  ev->interrupt.nr, ev->interrupt.soft, ev->interrupt.shadow,
		  ev->nmi.injected, ev->nmi.pending, ev->nmi.masked, ev->flags);
}

/*
 * A vCPU that ends the VM (triple fault, failed entry, internal error)
 * leaves its registers and pending events in the log, at warning level:
 * they are what tells a bad restore from a guest bug.
 */
static void vcpu_dump(struct vcpu *v)
{
	struct kvm_vcpu_events ev;
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
		log_warn("vCPU %u: cannot read its state", v->index);
		return;
	}
	log_warnx("vCPU %u: rip=%#llx rsp=%#llx rflags=%#llx rax=%#llx "
		  "rbx=%#llx rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx",
		  v->index, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
		  r.rsi, r.rdi);
	log_warnx("vCPU %u: cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx "
		  "efer=%#llx cs=%#x ss=%#x idt=%#llx+%#x",
		  v->index, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector,
		  s.ss.selector, s.idt.base, s.idt.limit);
	log_warnx("vCPU %u: exception injected=%u pending=%u nr=%u "
		  "error=%#x; interrupt injected=%u nr=%u; nmi injected=%u "
		  "pending=%u; shadow=%#x",
		  v->index, ev.exception.injected, ev.exception.pending,
		  ev.exception.nr, ev.exception.error_code,
		  ev.interrupt.injected, ev.interrupt.nr, ev.nmi.injected,
		  ev.nmi.pending, ev.interrupt.shadow);
	vcpu_dump_restored(v);
}

static int vcpu_internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	vcpu_dump(v);
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		log_warnx("vCPU %u: KVM emulation failure; VM ends", v->index);
		return VMX_EXIT_EMULATION;
	}
	log_warnx("vCPU %u: KVM internal error (suberror %u); VM ends",
		  v->index, run->internal.suberror);
	return VMX_EXIT_KVM_ERROR;
}

static int vcpu_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		log_info("vCPU %u: guest powered off", v->index);
		return VMX_EXIT_OK;
	case KVM_SYSTEM_EVENT_RESET:
		log_info("vCPU %u: guest reset; treated as power-off",
			 v->index);
		return VMX_EXIT_OK;
	default:
		log_warnx("vCPU %u: system event %u; VM ends", v->index,
			  v->run->system_event.type);
		return VMX_EXIT_KVM_ERROR;
	}
}

/* Handle one exit; returns -1 to keep running or an exit status. */
static int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		dev_handle_io(v);
		return -1;
	case KVM_EXIT_MMIO:
		dev_handle_mmio(v);
		return -1;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return -1;
	case KVM_EXIT_SHUTDOWN:
		vcpu_dump(v);
		log_warnx("vCPU %u: triple fault; VM ends", v->index);
		return VMX_EXIT_TRIPLE_FAULT;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_dump(v);
		log_warnx("vCPU %u: VM entry failed (reason %#llx); VM ends",
			  v->index,
			  (unsigned long long)
			      run->fail_entry.hardware_entry_failure_reason);
		return VMX_EXIT_KVM_ERROR;
	case KVM_EXIT_INTERNAL_ERROR:
		return vcpu_internal_error(v);
	case KVM_EXIT_SYSTEM_EVENT:
		return vcpu_system_event(v);
	default:
		vcpu_dump(v);
		log_warnx("vCPU %u: unexpected KVM exit %u; VM ends", v->index,
			  run->exit_reason);
		return VMX_EXIT_KVM_ERROR;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick;
	int code = -1;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (vcpu_pause_requested(v->vm))
		vcpu_park(v, 0); /* restored from a paused VM */
	while (code < 0) {
		v->runs++;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				log_warn("vCPU %u: KVM_RUN", v->index);
				code = VMX_EXIT_KVM_ERROR;
				break;
			}
			__atomic_store_n(&v->run->immediate_exit, 0,
					 __ATOMIC_SEQ_CST);
			if (vcpu_pause_requested(v->vm))
				vcpu_park(v, 0);
			continue;
		}
		code = vcpu_handle_exit(v);
	}
	vm_request_end(v->vm, code);
	vcpu_park(v, 1);
	return NULL;
}

int vm_start(struct vm *vm, struct seam_err *e)
{
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (r)
			return err_set(e, r, "cannot start vCPU %u thread", i);
		v->started = 1;
	}
	return 0;
}

void vm_pause(struct vm *vm)
{
	unsigned int started = 0;

	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_req = 1;
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		started++;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->parked < started)
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_req = 0;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}
