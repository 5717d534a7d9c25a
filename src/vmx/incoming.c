/*
 * incoming.c — a worker whose VM comes from a stream instead of a boot: a
 * snapshot file (`run --restore`) or a live migration (`run --incoming`).
 *
 * The keeper has already read and checked the stream's hello (and, for a
 * migration, the token: nothing reaches guest RAM before that), sized guest
 * RAM from it, and forked this worker with the stream positioned at the
 * first frame. The worker builds its KVM VM and parks its vCPU threads
 * first, so that for a migration all of that happens while the source still
 * runs; then it reads the frames straight into guest RAM, validates and
 * restores the state, and runs.
 *
 * A live migration adds a hand-shake at the end (migrate.c has the source's
 * half): READY once the state is restored, then the source's GO, the commit
 * point, then RUNNING once the vCPUs run. Without GO (a cut connection, a
 * source that gave up or timed out) the worker exits: the VM runs on at the
 * source. Exit statuses: VMX_EXIT_BAD_STREAM when the stream is malformed
 * or its state is refused, VMX_EXIT_INCOMING_LOST when it stops short.
 */
#include "incoming.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "migio.h"
#include "worker.h"

static struct vm incoming_vm;
static struct control incoming_control;

/* Whether an error means the stream stopped (rather than was malformed). */
static int incoming_lost(int code)
{
	return code == EPIPE || code == ETIMEDOUT || code == ECONNRESET ||
	       code == EIO;
}

static __attribute__((noreturn)) void
incoming_fail(int sfd, int live, int status, const struct seam_err *e)
{
	log_warnx("%s: %s", live ? "incoming migration" : "restore", e->msg);
	if (live)
		mig_send_reply(sfd, MIG_REPLY_FAILED, e->msg);
	_exit(status);
}

/* The VM's identity here: ours; everything else: the stream's. */
static void incoming_merge_book(struct vmx_saved *s,
				const struct vmx_book *local)
{
	struct vmx_config *c = &s->book.cfg;

	memcpy(c->name, local->cfg.name, sizeof(c->name));
	memcpy(c->serial_log, local->cfg.serial_log, sizeof(c->serial_log));
	memcpy(c->control, local->cfg.control, sizeof(c->control));
	s->book.keeper_pid = local->keeper_pid;
	s->book.start_mono_ns = local->start_mono_ns;
	s->nconns = 0;
	s->requester = -1;
}

static void incoming_read(struct vm *vm, int sfd, int live, struct vmx_saved *s)
{
	struct mig_reader r = {
	    .fd = sfd,
	    .pos = {.mem_bytes = vm->book.cfg.mem_bytes, .live = live},
	    .ram = vm->gm.base,
	    .ram_fd = vm->fds.ram};
	struct seam_err e;
	int rc = mig_read_stream(&r, s, &e);

	if (rc < 0)
		incoming_fail(sfd, live,
			      live && incoming_lost(-rc)
				  ? VMX_EXIT_INCOMING_LOST
				  : VMX_EXIT_BAD_STREAM,
			      &e);
	if (s->book.cfg.vcpus != vm->nvcpus) {
		err_set(&e, EINVAL,
			"state section 'book': field 'vcpus' (%u) differs "
			"from the stream's hello (%u)",
			s->book.cfg.vcpus, vm->nvcpus);
		incoming_fail(sfd, live, VMX_EXIT_BAD_STREAM, &e);
	}
	log_debug("incoming: %llu bytes read", (unsigned long long)r.bytes);
}

/* Live: READY, then wait for the source's GO (the commit point). */
static void incoming_wait_go(int sfd)
{
	struct mig_reader r = {.fd = sfd,
			       .pos = {.live = 1, .got_state = 1, .got_end = 1},
			       .ram_fd = -1};
	struct mig_frame f;
	struct seam_err e;

	if (mig_send_reply(sfd, MIG_REPLY_READY, NULL) < 0) {
		err_set(&e, EPIPE, "the source is gone before READY");
		incoming_fail(sfd, 1, VMX_EXIT_INCOMING_LOST, &e);
	}
	if (mig_read_frame(&r, &f, &e) < 0 || f.type != MIG_FRAME_GO) {
		log_warnx("incoming migration: no GO from the source: %s",
			  e.msg);
		_exit(VMX_EXIT_INCOMING_LOST);
	}
}

void worker_main_incoming(const struct vmx_book *book,
			  const struct vmx_fds *fds, int sfd, int live)
{
	struct vm *vm = &incoming_vm;
	struct vmx_saved *s = calloc(1, sizeof(*s));
	struct seam_err e;

	worker_block_signals();
	if (!s) {
		err_set(&e, ENOMEM, "out of memory for the state");
		incoming_fail(sfd, live, VMX_EXIT_FAILURE, &e);
	}
	if (vm_init(vm, book, fds, &e) < 0 || vm_create(vm, &e) < 0)
		incoming_fail(sfd, live, VMX_EXIT_FAILURE, &e);
	vm->pause_req = 1;
	if (vm_start(vm, &e) < 0)
		incoming_fail(sfd, live, VMX_EXIT_FAILURE, &e);
	incoming_read(vm, sfd, live, s);
	if (live && mig_test_knob(MIG_DEST_ENV) &&
	    strcmp(mig_test_knob(MIG_DEST_ENV), "die_final") == 0)
		raise(SIGKILL);
	incoming_merge_book(s, book);
	if (vmx_state_restore(vm, s, "", &e) < 0)
		incoming_fail(sfd, live, VMX_EXIT_BAD_STREAM, &e);
	vm->book = s->book;
	free(s);
	if (live)
		incoming_wait_go(sfd);
	if (!vm->paused)
		vm_resume(vm);
	if (live)
		mig_send_reply(sfd, MIG_REPLY_RUNNING, NULL);
	close(sfd);
	if (control_start(&incoming_control, vm, fds->listener, &e) < 0)
		fatalx("%s", e.msg);
	log_info("VM %s %s: %u vCPU(s), %llu MiB, version %s",
		 vm->book.cfg.name, live ? "migrated in" : "restored",
		 vm->nvcpus, (unsigned long long)(vm->book.cfg.mem_bytes >> 20),
		 SEAM_VMX_VERSION);
	_exit(worker_wait(vm));
}
