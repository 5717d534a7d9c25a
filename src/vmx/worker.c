/*
 * worker.c — the worker's main thread: build the VM, start it, then wait
 * for the end.
 *
 * Threads of a worker: one per vCPU (vcpu.c), the control thread
 * (control.c) and this main thread, which only waits for an end request
 * (eventfd from a vCPU or a command) or a termination signal, writes out
 * the console's last partial line and exits with the VM's status. The KVM
 * VM is torn down by the exit itself. SIGUSR1 (the vCPU kick) is blocked
 * everywhere but in the vCPU threads, so it never interrupts anything else.
 */
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "vm.h"

int vcpu_install_kick_handler(void);

static struct vm worker_vm;
static struct control worker_control;

void worker_block_signals(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGHUP);
	sigaddset(&s, SIGCHLD);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	signal(SIGPIPE, SIG_IGN);
	vcpu_install_kick_handler();
}

int worker_wait(struct vm *vm)
{
	struct signalfd_siginfo si;
	struct pollfd p[2];
	sigset_t s;
	int sfd;

	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGHUP);
	sfd = signalfd(-1, &s, SFD_CLOEXEC);
	for (;;) {
		p[0] = (struct pollfd){.fd = vm->end_fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		if (p[1].revents && read(sfd, &si, sizeof(si)) > 0) {
			log_info("signal %u: ending the VM", si.ssi_signo);
			vm_request_end(vm, VMX_EXIT_OK);
		}
	}
	/* The VM goes on elsewhere (FSR, snapshot, migration): its partial
	 * console line is in the saved UART state and ends over there. */
	if (vm->end_code != VMX_EXIT_HANDED_OVER &&
	    vm->end_code != VMX_EXIT_SNAPSHOT &&
	    vm->end_code != VMX_EXIT_MIGRATED)
		vm_flush_console(vm);
	return vm->end_code;
}

static __attribute__((noreturn)) void worker_fail(struct seam_err *e)
{
	log_warnx("%s", e->msg);
	_exit(VMX_EXIT_FAILURE);
}

void worker_main_boot(const struct vmx_book *book, const struct vmx_fds *fds,
		      const void *img, size_t len)
{
	struct vm *vm = &worker_vm;
	struct seam_err e;
	int code;

	worker_block_signals();
	if (vm_init(vm, book, fds, &e) < 0 || vm_create(vm, &e) < 0 ||
	    vm_boot(vm, img, len, &e) < 0 || vm_start(vm, &e) < 0 ||
	    control_start(&worker_control, vm, fds->listener, &e) < 0)
		worker_fail(&e);
	log_info("VM %s running: %u vCPU(s), %llu MiB, version %s",
		 book->cfg.name, vm->nvcpus,
		 (unsigned long long)(book->cfg.mem_bytes >> 20),
		 SEAM_VMX_VERSION);
	code = worker_wait(vm);
	_exit(code);
}
