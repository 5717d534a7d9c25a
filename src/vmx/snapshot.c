/*
 * snapshot.c — `snapshot PATH`: the VM to a file, then the VM ends
 * (issue 3 item 4; the lifecycle manager's "suspend" power policy).
 *
 * The file is the VM stream of migstream.h written to disk: a hello without
 * token, guest RAM (zero pages as markers, so an idle guest's file is
 * small), the FSR state and END — `run --restore PATH` reads it with the
 * same reader a migration's destination uses. It is written aside (a
 * temporary beside PATH, afile.h), fsync'd and renamed, and its directory
 * fsync'd: PATH is either
 * the old file or a complete new one. Until the rename nothing of the VM
 * has changed (the vCPUs were only paused), so any failure resumes the VM
 * and replies with the reason; after it the reply says ok and the VM ends
 * with VMX_EXIT_SNAPSHOT.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "log.h"
#include "migio.h"

/* Hello, RAM, state, END into fd. */
static int snapshot_write(struct vm *vm, const struct vmx_saved *s, int fd,
			  uint64_t *bytes, struct seam_err *e)
{
	struct mig_writer w = {.fd = fd};
	struct mig_hello h;
	int r;

	mig_hello_init(&h, vm->book.cfg.mem_bytes, vm->nvcpus, NULL, 0);
	r = mig_write_hello(&w, &h);
	if (r == 0)
		r = mig_write_ram(&w, vm->gm.base, vm->gm.size, NULL,
				  vm->fds.ram);
	if (r < 0)
		return err_set(e, -r, "writing guest RAM: %s", strerror(-r));
	r = mig_write_state(&w, s, e);
	if (r < 0)
		return r;
	r = mig_write_bare(&w, MIG_FRAME_END);
	if (r < 0)
		return err_set(e, -r, "writing END: %s", strerror(-r));
	*bytes = w.bytes;
	return 0;
}

/* The file, aside then renamed into place (afile.h). */
static int snapshot_file(struct vm *vm, const struct vmx_saved *s,
			 const char *path, uint64_t *bytes, struct seam_err *e)
{
	struct afile f;
	int r;

	r = afile_open(&f, path, 0600, e);
	if (r < 0)
		return r;
	r = snapshot_write(vm, s, f.af_fd, bytes, e);
	if (r < 0) {
		afile_abort(&f);
		return r;
	}
	return afile_commit(&f, e);
}

json_t *snapshot_command(struct control *c, const struct vmx_request *req,
			 enum cmd_after *after)
{
	struct vm *vm = c->vm;
	struct vmx_saved *s = calloc(1, sizeof(*s));
	uint64_t t0 = vmx_now_ns(), bytes = 0;
	int paused_here = !vm->paused, r;
	struct seam_err e;

	if (!s)
		return control_error("out of memory");
	if (paused_here)
		vm_pause(vm);
	r = vmx_state_save(vm, s, &e);
	s->nconns = 0;
	s->requester = -1;
	if (r == 0)
		r = snapshot_file(vm, s, req->path, &bytes, &e);
	free(s);
	if (r < 0) {
		if (paused_here)
			vm_resume(vm);
		log_warnx("snapshot to %s failed: %s", req->path, e.msg);
		return control_error("snapshot failed: %s", e.msg);
	}
	*after = CMD_AFTER_SNAPSHOT;
	log_info("VM %s saved to %s (%llu bytes): ending", vm->book.cfg.name,
		 req->path, (unsigned long long)bytes);
	return json_pack("{s:b, s:s, s:I, s:I}", "ok", 1, "path", req->path,
			 "bytes", (json_int_t)bytes, "time_ms",
			 (json_int_t)((vmx_now_ns() - t0) / 1000000ULL));
}
