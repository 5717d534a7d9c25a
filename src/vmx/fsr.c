/*
 * fsr.c — fast suspend-resume: moving a running VM onto another seam-vmx
 * binary (issue 3).
 *
 * Three processes take part: the keeper (keeper.c), which holds guest RAM,
 * the serial log and the control listener and spawns workers; the old
 * worker, which runs the VM and gets the `fsr` request; the new worker, a
 * child of the keeper exec'd from the requested binary. The old and the new
 * worker talk over a SOCK_SEQPACKET "handover" socketpair:
 *
 *   old                               new
 *   SPAWN(path) ──keeper──> fork+exec `PATH worker`
 *   BOOK (configuration) ───────────> vm_init + vm_create (KVM VM, slots,
 *                                      irqchip, PIT, vCPUs and their
 *                                      threads, parked): all of it
 *   <─────────────────────────────── READY   before the pause
 *   T0: pause vCPUs, save state
 *   STATE (state memfd + control
 *   connections, SCM_RIGHTS) ───────> validate, restore; vCPUs still parked
 *   <─────────────────────────────── RESTORED   (or FAILED(reason))
 *   GO ─────────────────────────────> start vCPUs: T1
 *   COMMIT ──keeper
 *   <─────────────────────────────── RESUMED(T1)
 *   reply ok with stun = T1 - T0 to the requester
 *   DONE ───────────────────────────> start the control thread
 *   exit(VMX_EXIT_HANDED_OVER): the old VM is torn down after the pause
 *
 * Rollback: until GO is sent nothing of the old VM has changed: the state
 * was only read, and the new VM's vCPUs cannot have run, because they start
 * only on GO. Any failure before that — the binary cannot be executed, the
 * successor fails, dies, times out or rejects the state — makes the old
 * worker ask the keeper to kill the successor, resume its own vCPUs and
 * reply "rolled_back" with the reason. A successor that loses the handover
 * before GO exits without running a single guest instruction.
 *
 * GO is the commit point. Had the successor started its vCPUs on its own
 * after restoring (and said RESUMED), an old worker that timed out in that
 * moment would resume its saved vCPU state over guest RAM the successor had
 * already changed. After GO there is no way back: should the successor die
 * before confirming RESUMED, the VM is down (the keeper ends with the
 * worker-died status, which a supervisor reports as a crash), and the reply
 * says "failed_after_commit"; the old vCPUs are never run again.

 * Test-only fault injection ("fail_stage"), accepted only when the VM was
 * started with SEAM_VMX_TEST_FAULTS=1: exit_at_start (the successor exits
 * before building its VM), exit_before_restore (after receiving the state),
 * restore (fails in the middle of restoring vCPU 0), unknown_section (the
 * old worker adds an unknown mandatory section to the state),
 * stall_before_restored (the successor restores, then stays silent for
 * twice the hand-over timeout: the old worker's timeout at the last moment
 * before the commit point).
 */
#include "fsr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "keeperproto.h"
#include "log.h"
#include "statefmt.h"
#include "worker.h"

enum fsr_msg_type {
	FSR_MSG_BOOK = 1,
	FSR_MSG_READY,
	FSR_MSG_STATE,
	FSR_MSG_RESUMED,
	FSR_MSG_FAILED,
	FSR_MSG_DONE,
	FSR_MSG_RESTORED,
	FSR_MSG_GO,
};

struct fsr_msg {
	uint32_t type;
	uint32_t nconns;
	uint64_t t_ns;
	char version[32];
	char fail_stage[32];
	char error[512];
	struct vmx_book book;
};

static const char *const fsr_stages[] = {"exit_at_start", "exit_before_restore",
					 "restore", "unknown_section",
					 "stall_before_restored"};

/* The old worker keeps its handover socket until fsr_finish(). */
static int fsr_done_fd = -1;

static int fsr_timeout_ms(void)
{
	const char *s = getenv(FSR_TIMEOUT_ENV);
	int v = s ? atoi(s) : 0;

	return v > 0 ? v : FSR_TIMEOUT_MS;
}

static int fsr_send(int sock, uint32_t type, const struct fsr_msg *tmpl,
		    const int *fds, int nfds)
{
	struct fsr_msg *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	if (tmpl)
		*m = *tmpl;
	m->type = type;
	snprintf(m->version, sizeof(m->version), "%s", SEAM_VMX_VERSION);
	r = fdpass_send(sock, m, sizeof(*m), fds, nfds);
	free(m);
	return r;
}

/* ---- the old worker ----------------------------------------------------- */

struct fsr_old {
	struct control *c;
	struct vm *vm;
	int hv;		 /* handover socket */
	int spawned;	 /* the keeper started a successor */
	int paused_here; /* we paused the vCPUs (undo on rollback) */
	char version_after[32];
	char reason[600];
};

static json_t *fsr_rolled_back(struct fsr_old *f)
{
	log_warnx("fsr rolled back: %s", f->reason);
	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "ok", 0, "result",
			 "rolled_back", "error", "fsr rolled back", "reason",
			 f->reason, "version_before", SEAM_VMX_VERSION,
			 "version_after", SEAM_VMX_VERSION);
}

static void fsr_reason(struct fsr_old *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fsr_reason(struct fsr_old *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

/*
 * Wait until the successor is gone: its end of the handover socket closes
 * only when it exits (it closes it itself only after DONE, which a rolled
 * back FSR never sends). Whatever it still sent is dropped. Its vCPUs never
 * ran (no GO was sent), so this is not for guest RAM's sake: the reply
 * "rolled_back" promises that nothing of the attempt is left.
 */
static void fsr_wait_successor_gone(struct fsr_old *f)
{
	struct fsr_msg m;
	int r;

	do
		r = fdpass_recv(f->hv, &m, sizeof(m), NULL, 0, NULL,
				fsr_timeout_ms());
	while (r == 0 || r == -EPROTO);
	if (r == -ETIMEDOUT)
		log_warnx("fsr rollback: the new binary did not exit within "
			  "%d ms of the abort; resuming anyway",
			  fsr_timeout_ms());
}

/*
 * Undo everything before the commit point: have the keeper kill the
 * successor, wait until it is gone, run our own vCPUs again.
 */
static json_t *fsr_rollback(struct fsr_old *f)
{
	struct keeper_msg m = {.type = KEEPER_MSG_ABORT};

	if (f->spawned)
		keeper_msg_send(f->vm->fds.keeper, &m, -1);
	if (f->hv >= 0) {
		if (f->spawned)
			fsr_wait_successor_gone(f);
		close(f->hv);
	}
	f->hv = -1;
	if (f->paused_here)
		vm_resume(f->vm);
	return fsr_rolled_back(f);
}

static int fsr_spawn(struct fsr_old *f, const char *path)
{
	struct keeper_msg m = {.type = KEEPER_MSG_SPAWN};
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fsr_reason(f, "socketpair: %s", strerror(errno));
		return -1;
	}
	snprintf(m.path, sizeof(m.path), "%s", path);
	r = keeper_msg_send(f->vm->fds.keeper, &m, sv[1]);
	close(sv[1]);
	if (r == 0)
		r = keeper_msg_recv(f->vm->fds.keeper, &m, NULL);
	if (r < 0 || m.type != KEEPER_MSG_SPAWNED) {
		close(sv[0]);
		fsr_reason(f, "the keeper did not answer: %s", strerror(-r));
		return -1;
	}
	if (m.error) {
		close(sv[0]);
		fsr_reason(f, "cannot execute %s: %s", path, strerror(m.error));
		return -1;
	}
	f->spawned = 1;
	f->hv = sv[0];
	log_debug("fsr: successor %d started from %s", m.pid, path);
	return 0;
}

/* Wait for a message of the given type from the successor. */
static int fsr_expect(struct fsr_old *f, uint32_t type, struct fsr_msg *m,
		      const char *step)
{
	int r =
	    fdpass_recv(f->hv, m, sizeof(*m), NULL, 0, NULL, fsr_timeout_ms());

	if (r == -ETIMEDOUT) {
		fsr_reason(f,
			   "the new binary did not answer within %d ms "
			   "(%s)",
			   fsr_timeout_ms(), step);
		return -1;
	}
	if (r < 0) {
		fsr_reason(f,
			   "the new binary exited or closed the handover "
			   "(%s)",
			   step);
		return -1;
	}
	if (m->type == FSR_MSG_FAILED) {
		m->error[sizeof(m->error) - 1] = '\0';
		fsr_reason(f, "the new binary failed (%s): %s", step, m->error);
		return -1;
	}
	if (m->type != type) {
		fsr_reason(f, "unexpected message %u from the new binary (%s)",
			   m->type, step);
		return -1;
	}
	m->version[sizeof(m->version) - 1] = '\0';
	snprintf(f->version_after, sizeof(f->version_after), "%s", m->version);
	return 0;
}

/* Write the state into fd (a memfd made before the pause). */
static int fsr_state_memfd(struct fsr_old *f, const struct vmx_saved *s, int fd)
{
	struct seam_err e;
	uint8_t *buf;
	size_t len, off = 0;

	if (statefmt_write(s, &buf, &len, &e) < 0) {
		fsr_reason(f, "%s", e.msg);
		close(fd);
		return -1;
	}
	while (fd >= 0 && off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n <= 0) {
			close(fd);
			fd = -1;
			break;
		}
		off += (size_t)n;
	}
	free(buf);
	if (fd < 0)
		fsr_reason(f, "cannot write the state memfd: %s",
			   strerror(errno));
	return fd;
}

/*
 * Pause, save, hand the state over. Returns 0 when the successor has
 * restored it and waits for GO; T0 (the pause) in *t0_ns.
 */
static int fsr_transfer(struct fsr_old *f, struct control_conn *conn,
			const char *stage, uint64_t *t0_ns)
{
	uint64_t t0, t_paused, t_saved;
	int fds[VMX_PROTO_CLIENTS_MAX + 1], nconns, fd, r;
	struct vmx_saved *s = calloc(1, sizeof(*s));
	struct seam_err e;
	struct fsr_msg m;

	fd = memfd_create("seam-state", MFD_CLOEXEC);
	if (!s || fd < 0) {
		fsr_reason(f, "out of memory");
		free(s);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	t0 = vmx_now_ns();
	if (!f->vm->paused) {
		vm_pause(f->vm);
		f->paused_here = 1;
	}
	t_paused = vmx_now_ns();
	r = vmx_state_save(f->vm, s, &e);
	t_saved = vmx_now_ns();
	if (r < 0) {
		fsr_reason(f, "saving the state: %s", e.msg);
		free(s);
		close(fd);
		return -1;
	}
	s->test_unknown_section = strcmp(stage, "unknown_section") == 0;
	nconns = control_export(f->c, conn, s, fds + 1, VMX_PROTO_CLIENTS_MAX);
	fd = fsr_state_memfd(f, s, fd);
	free(s);
	if (fd < 0)
		return -1;
	fds[0] = fd;
	memset(&m, 0, sizeof(m));
	m.nconns = (uint32_t)nconns;
	r = fsr_send(f->hv, FSR_MSG_STATE, &m, fds, nconns + 1);
	close(fd);
	log_debug("fsr: pause %llu us, save %llu us, write+send %llu us",
		  (unsigned long long)(t_paused - t0) / 1000,
		  (unsigned long long)(t_saved - t_paused) / 1000,
		  (unsigned long long)(vmx_now_ns() - t_saved) / 1000);
	if (r < 0) {
		fsr_reason(f, "cannot send the state: %s", strerror(-r));
		return -1;
	}
	if (fsr_expect(f, FSR_MSG_RESTORED, &m, "restoring the state") < 0)
		return -1;
	*t0_ns = t0;
	return 0;
}

/*
 * Past the point of no return: let the successor start its vCPUs and tell
 * the keeper it owns the VM. Returns 0 once the successor confirmed that
 * its vCPUs run, with the stun time; -1 (reason set) when it did not.
 */
static int fsr_commit(struct fsr_old *f, uint64_t t0, uint64_t *stun_ns)
{
	struct keeper_msg km = {.type = KEEPER_MSG_COMMIT};
	struct fsr_msg m;
	int r;

	r = fsr_send(f->hv, FSR_MSG_GO, NULL, NULL, 0);
	keeper_msg_send(f->vm->fds.keeper, &km, -1);
	if (r < 0) {
		fsr_reason(f, "the new binary is gone");
		return -1;
	}
	if (fsr_expect(f, FSR_MSG_RESUMED, &m, "starting its vCPUs") < 0)
		return -1;
	*stun_ns = m.t_ns > t0 ? m.t_ns - t0 : 0;
	return 0;
}

static json_t *fsr_failed_after_commit(struct fsr_old *f)
{
	log_warnx("fsr failed after the commit point: %s", f->reason);
	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "ok", 0, "result",
			 "failed_after_commit", "error",
			 "fsr failed after the commit point; the VM belongs to "
			 "the new binary",
			 "reason", f->reason, "version_before",
			 SEAM_VMX_VERSION, "version_after", f->version_after);
}

static int fsr_check_request(const struct vmx_request *req, char *err,
			     size_t cap)
{
	int known = 0;

	if (!req->fail_stage[0])
		return 0;
	if (!getenv(FSR_FAULTS_ENV) || strcmp(getenv(FSR_FAULTS_ENV), "1")) {
		snprintf(err, cap,
			 "fail_stage is for tests: start the VM "
			 "with %s=1",
			 FSR_FAULTS_ENV);
		return -1;
	}
	for (size_t i = 0; i < sizeof(fsr_stages) / sizeof(fsr_stages[0]); i++)
		known |= strcmp(req->fail_stage, fsr_stages[i]) == 0;
	if (!known) {
		snprintf(err, cap, "unknown fail_stage \"%s\"",
			 req->fail_stage);
		return -1;
	}
	return 0;
}

json_t *fsr_command(struct control *c, struct control_conn *conn,
		    const struct vmx_request *req, enum cmd_after *after)
{
	struct fsr_old f = {.c = c, .vm = c->vm, .hv = -1};
	struct fsr_msg m;
	uint64_t t0, stun_ns;
	char err[256];

	if (fsr_check_request(req, err, sizeof(err)) < 0)
		return control_error("%s", err);
	if (fsr_spawn(&f, req->path) < 0)
		return fsr_rolled_back(&f);
	memset(&m, 0, sizeof(m));
	m.book = f.vm->book;
	snprintf(m.fail_stage, sizeof(m.fail_stage), "%s", req->fail_stage);
	if (fsr_send(f.hv, FSR_MSG_BOOK, &m, NULL, 0) < 0) {
		fsr_reason(&f, "the new binary is gone");
		return fsr_rollback(&f);
	}
	if (fsr_expect(&f, FSR_MSG_READY, &m, "creating its VM") < 0)
		return fsr_rollback(&f);
	if (fsr_transfer(&f, conn, req->fail_stage, &t0) < 0)
		return fsr_rollback(&f);
	fsr_done_fd = f.hv;
	*after = CMD_AFTER_EXIT;
	if (fsr_commit(&f, t0, &stun_ns) < 0)
		return fsr_failed_after_commit(&f);
	log_info("fsr: VM %s now runs on %s (%s), stun %llu us",
		 f.vm->book.cfg.name, req->path, f.version_after,
		 (unsigned long long)(stun_ns / 1000));
	return json_pack("{s:b, s:s, s:I, s:s, s:s}", "ok", 1, "result", "ok",
			 "stun_us", (json_int_t)(stun_ns / 1000),
			 "version_before", SEAM_VMX_VERSION, "version_after",
			 f.version_after);
}

void fsr_finish(struct vm *vm)
{
	if (fsr_done_fd >= 0) {
		fsr_send(fsr_done_fd, FSR_MSG_DONE, NULL, NULL, 0);
		close(fsr_done_fd);
		fsr_done_fd = -1;
	}
	vm_request_end(vm, VMX_EXIT_HANDED_OVER);
}

/* ---- the new worker ----------------------------------------------------- */

static struct vm fsr_vm;
static struct control fsr_control;

static __attribute__((noreturn)) void fsr_fail(int hv, const char *msg)
{
	struct fsr_msg *m = calloc(1, sizeof(*m));

	log_warnx("fsr: %s", msg);
	if (m) {
		snprintf(m->error, sizeof(m->error), "%s", msg);
		fsr_send(hv, FSR_MSG_FAILED, m, NULL, 0);
	}
	_exit(VMX_EXIT_FAILURE);
}

static int fsr_read_state(int fd, struct vmx_saved *s, struct seam_err *e)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int r;

	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (64 << 20))
		return err_set(e, EINVAL, "state memfd has a bad size");
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return err_set(e, ENOMEM, "out of memory for the state");
	while (off < (size_t)st.st_size) {
		ssize_t n =
		    pread(fd, buf + off, (size_t)st.st_size - off, (off_t)off);
		if (n <= 0) {
			free(buf);
			return err_set(e, EIO, "cannot read the state memfd");
		}
		off += (size_t)n;
	}
	r = statefmt_read(buf, off, s, e);
	free(buf);
	return r;
}

static void fsr_new_fds(struct vmx_fds *fds)
{
	*fds = (struct vmx_fds){.ram = KEEPER_FD_RAM,
				.serial = KEEPER_FD_SERIAL,
				.listener = KEEPER_FD_LISTENER,
				.keeper = KEEPER_FD_KEEPER};
	for (int fd = KEEPER_FD_RAM; fd <= KEEPER_FD_HANDOVER; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Receive the state and the connections; restore; start the vCPUs. */
static void fsr_new_restore(struct vm *vm, int hv, const char *stage,
			    struct vmx_saved *s, int *conns, int *nconns)
{
	int fds[VMX_PROTO_CLIENTS_MAX + 1], nfds = 0;
	uint64_t t_got, t_read;
	struct seam_err e;
	struct fsr_msg m;

	if (fdpass_recv(hv, &m, sizeof(m), fds, VMX_PROTO_CLIENTS_MAX + 1,
			&nfds, -1) < 0 ||
	    m.type != FSR_MSG_STATE || nfds < 1)
		fsr_fail(hv, "no state from the old binary");
	if (strcmp(stage, "exit_before_restore") == 0)
		_exit(VMX_EXIT_FAILURE);
	t_got = vmx_now_ns();
	if (fsr_read_state(fds[0], s, &e) < 0)
		fsr_fail(hv, e.msg);
	t_read = vmx_now_ns();
	close(fds[0]);
	if (s->nconns != (uint32_t)(nfds - 1))
		fsr_fail(hv, "state and passed connections disagree");
	if (s->book.cfg.mem_bytes != vm->book.cfg.mem_bytes)
		fsr_fail(hv, "state section 'book': field 'mem_bytes' differs "
			     "from guest RAM");
	if (vmx_state_restore(vm, s, stage, &e) < 0)
		fsr_fail(hv, e.msg);
	log_debug("fsr: read+check %llu us, restore %llu us",
		  (unsigned long long)(t_read - t_got) / 1000,
		  (unsigned long long)(vmx_now_ns() - t_read) / 1000);
	vm->book = s->book;
	for (int i = 1; i < nfds; i++)
		conns[i - 1] = fds[i];
	*nconns = nfds - 1;
}

int fsr_worker_main(void)
{
	int conns[VMX_PROTO_CLIENTS_MAX], nconns = 0, hv = KEEPER_FD_HANDOVER;
	struct vm *vm = &fsr_vm;
	struct vmx_saved *s = calloc(1, sizeof(*s));
	struct vmx_fds fds;
	struct seam_err e;
	struct fsr_msg m;
	char stage[32];
	uint64_t t1;

	fsr_new_fds(&fds);
	worker_block_signals();
	if (!s ||
	    fdpass_recv(hv, &m, sizeof(m), NULL, 0, NULL, fsr_timeout_ms()) <
		0 ||
	    m.type != FSR_MSG_BOOK)
		fsr_fail(hv, "no configuration from the old binary");
	snprintf(stage, sizeof(stage), "%s", m.fail_stage);
	if (strcmp(stage, "exit_at_start") == 0)
		_exit(VMX_EXIT_FAILURE);
	/* Everything that can happen before the pause does: the VM, and the
	 * vCPU threads, parked until the state is in. */
	if (vm_init(vm, &m.book, &fds, &e) < 0 || vm_create(vm, &e) < 0)
		fsr_fail(hv, e.msg);
	vm->pause_req = 1;
	if (vm_start(vm, &e) < 0)
		fsr_fail(hv, e.msg);
	fsr_send(hv, FSR_MSG_READY, NULL, NULL, 0);
	fsr_new_restore(vm, hv, stage, s, conns, &nconns);
	if (strcmp(stage, "stall_before_restored") == 0)
		nanosleep(&(struct timespec){.tv_sec = fsr_timeout_ms() / 500,
					     .tv_nsec = fsr_timeout_ms() % 500 *
							2000000L},
			  NULL);
	fsr_send(hv, FSR_MSG_RESTORED, NULL, NULL, 0);
	/* Not one guest instruction before GO: without it the old binary
	 * takes the VM back, and we only leave. */
	if (fdpass_recv(hv, &m, sizeof(m), NULL, 0, NULL, -1) < 0 ||
	    m.type != FSR_MSG_GO)
		_exit(VMX_EXIT_FAILURE);
	if (!vm->paused)
		vm_resume(vm);
	t1 = vmx_now_ns();
	memset(&m, 0, sizeof(m));
	m.t_ns = t1;
	fsr_send(hv, FSR_MSG_RESUMED, &m, NULL, 0);
	/* Wait until the old binary has replied to the request. */
	fdpass_recv(hv, &m, sizeof(m), NULL, 0, NULL, -1);
	close(hv);
	for (int i = 0; i < nconns; i++)
		control_adopt_pending(&fsr_control, conns[i], s->conn[i].data,
				      s->conn[i].len);
	free(s);
	if (control_start(&fsr_control, vm, fds.listener, &e) < 0)
		fatalx("%s", e.msg);
	log_debug("fsr: VM %s resumed on %s", vm->book.cfg.name,
		  SEAM_VMX_VERSION);
	_exit(worker_wait(vm));
}
