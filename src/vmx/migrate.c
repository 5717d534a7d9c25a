/*
 * migrate.c — the source of a live migration (issue 4): `migrate --to
 * ADDR:PORT --token T`, run in the control thread like every command.
 *
 *   source                                destination (keepsrc.c, incoming.c)
 *   hello(token, RAM size, vCPUs) ──────> check token, size guest RAM
 *   <───────────────────────────────────── ACCEPT (or REFUSE: reply says why)
 *   dirty logging on; round 1: all RAM    reads frames straight into RAM
 *   rounds 2..n: the pages KVM's dirty log marks, until what is left fits
 *   the downtime at the bandwidth measured so far (auto-converge: vCPUs
 *   paused for a growing share of each 100 ms while the guest dirties
 *   faster than half the bandwidth, or the rounds stop shrinking)
 *   T0: pause; the last dirty pages; STATE; END
 *   <───────────────────────────────────── READY (state restored, parked)
 *   GO ─────────────────────────────────> commit point: runs the VM
 *   <───────────────────────────────────── RUNNING: T1; downtime = T1 - T0
 *   reply ok, exit VMX_EXIT_MIGRATED
 *
 * Until GO is sent nothing of the source VM has changed but the dirty log:
 * any failure (a refused token, a write or read error, a cut connection,
 * the destination's FAILED, a timeout, --timeout-s) turns logging off,
 * resumes the vCPUs if this command paused them, and replies ok:false with
 * "result":"aborted" and the reason; the destination, left without GO,
 * exits and removes what it made. GO is the commit point because only one
 * side may ever run the VM: should the connection break after GO left, the
 * source cannot know whether it arrived, and it ends rather than risk a
 * second copy (the reply, if RUNNING never came, says "confirmed":false).
 *
 * Test-only: with SEAM_VMX_TEST_FAULTS=1, SEAM_VMX_TEST_MIG_CUT cuts the
 * connection at a chosen point: "round1_10" / "round1_50" (in the middle
 * of the first frame at 10 % or 50 % of guest RAM in the first round),
 * "switchover" (after the last pages, before the state), or "after_confirm"
 * kills this worker once RUNNING came (the source killed after the destination
 * confirmed).
 */
#include "migrate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "migio.h"

#define MIGRATE_DOWNTIME_MS 300
#define MIGRATE_TIMEOUT_S 600
#define MIGRATE_CONNECT_WAIT_MS 10000
#define MIGRATE_CONNECT_POLL_MS 50
#define MIGRATE_THROTTLE_PERIOD_MS 100
#define MIGRATE_THROTTLE_STEP 10 /* percent of each period */
#define MIGRATE_THROTTLE_MAX 90
/* A round measures the bandwidth when it sent at least this much. */
#define MIGRATE_BW_MIN_BYTES (64u << 10)

/* Auto-converge: a thread that parks the vCPUs for pct% of each period. */
struct migrate_throttle {
	struct vm *vm;
	pthread_t thread;
	int started;
	atomic_int pct;
	atomic_int stop;
};

struct migrate {
	struct vm *vm;
	struct mig_writer w;
	uint64_t *bitmap; /* pages dirty and not yet sent again */
	uint64_t *fresh;  /* what KVM's log said this time */
	uint64_t npages;
	uint64_t t_start, deadline_ns;
	unsigned int max_downtime_ms;
	double bw; /* bytes per second, measured */
	unsigned int rounds;
	int logging, paused_here, committed;
	int switchover_cut; /* tests: cut before the state */
	int go_cut;	    /* tests: cut instead of GO */
	struct migrate_throttle th;
	char reason[400];
};

static void migrate_reason(struct migrate *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void migrate_reason(struct migrate *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
}

static void migrate_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- auto-converge ------------------------------------------------------- */

static void *migrate_throttle_main(void *arg)
{
	struct migrate_throttle *t = arg;

	while (!atomic_load(&t->stop)) {
		int pct = atomic_load(&t->pct);

		if (pct > 0) {
			vm_pause(t->vm);
			migrate_sleep_ms(MIGRATE_THROTTLE_PERIOD_MS * pct /
					 100);
			vm_resume(t->vm);
		}
		migrate_sleep_ms(MIGRATE_THROTTLE_PERIOD_MS * (100 - pct) /
				 100);
	}
	return NULL;
}

static void migrate_throttle_up(struct migrate *m)
{
	struct migrate_throttle *t = &m->th;
	int pct = atomic_load(&t->pct);

	if (m->vm->paused || pct >= MIGRATE_THROTTLE_MAX)
		return;
	if (!t->started) {
		t->vm = m->vm;
		if (pthread_create(&t->thread, NULL, migrate_throttle_main,
				   t) != 0)
			return;
		t->started = 1;
	}
	atomic_store(&t->pct, pct + MIGRATE_THROTTLE_STEP);
	log_info("migrate: throttling the vCPUs to %d%% pause",
		 pct + MIGRATE_THROTTLE_STEP);
}

static void migrate_throttle_stop(struct migrate_throttle *t)
{
	if (!t->started)
		return;
	atomic_store(&t->stop, 1);
	pthread_join(t->thread, NULL);
	t->started = 0;
}

/* ---- connection ---------------------------------------------------------- */

/*
 * A destination started a moment ago (hostd starts it, then tells the
 * source) may not listen yet: a refused connection is tried again for a
 * while.
 */
static int migrate_connect_retry(int fd, const struct sockaddr_in *sa)
{
	for (int waited = 0;; waited += MIGRATE_CONNECT_POLL_MS) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		if (errno != ECONNREFUSED || waited >= MIGRATE_CONNECT_WAIT_MS)
			return -1;
		migrate_sleep_ms(MIGRATE_CONNECT_POLL_MS);
	}
}

static int migrate_connect(struct migrate *m, const char *to)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *colon = strrchr(to, ':');
	char host[64];
	int fd, one = 1;
	long port;

	port = colon ? strtol(colon + 1, NULL, 10) : 0;
	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - to) : 0, to);
	sa.sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		migrate_reason(m, "\"to\": '%s' is not an IPv4 ADDR:PORT", to);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		migrate_reason(m, "socket: %s", strerror(errno));
		return -1;
	}
	mig_io_set_timeouts(fd, mig_io_timeout_ms());
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (migrate_connect_retry(fd, &sa) < 0) {
		migrate_reason(m, "cannot connect to %s: %s", to,
			       strerror(errno));
		close(fd);
		return -1;
	}
	m->w.fd = fd;
	return 0;
}

/* Wait for one answer of the given type; FAILED/REFUSE carry a reason. */
static int migrate_expect(struct migrate *m, uint32_t type, const char *step)
{
	struct mig_reply r;
	struct seam_err e;

	if (mig_recv_reply(m->w.fd, &r, &e) < 0) {
		migrate_reason(m, "no answer from the destination (%s): %s",
			       step, e.msg);
		return -1;
	}
	if (r.type == MIG_REPLY_REFUSE || r.type == MIG_REPLY_FAILED) {
		migrate_reason(m, "the destination %s (%s): %s",
			       r.type == MIG_REPLY_REFUSE ? "refused"
							  : "failed",
			       step, r.reason);
		return -1;
	}
	if (r.type != type) {
		migrate_reason(m,
			       "unexpected answer %u from the destination "
			       "(%s)",
			       r.type, step);
		return -1;
	}
	return 0;
}

static int migrate_hello(struct migrate *m, const char *token)
{
	struct mig_hello h;
	int r;

	mig_hello_init(&h, m->vm->book.cfg.mem_bytes, m->vm->nvcpus, token,
		       MIG_HELLO_LIVE);
	r = mig_write_hello(&m->w, &h);
	if (r < 0) {
		migrate_reason(m, "sending the hello: %s", strerror(-r));
		return -1;
	}
	return migrate_expect(m, MIG_REPLY_ACCEPT, "hello");
}

/* ---- pre-copy ------------------------------------------------------------ */

/* Send the pages in bitmap (all when NULL); the pending set is then empty. */
static int migrate_send(struct migrate *m, const uint64_t *bitmap,
			const char *what)
{
	uint64_t t0 = vmx_now_ns(), b0 = m->w.bytes;
	int r = mig_write_ram(&m->w, m->vm->gm.base, m->vm->gm.size, bitmap,
			      m->vm->fds.ram);
	uint64_t ns = vmx_now_ns() - t0;

	memset(m->bitmap, 0, m->npages / 8);
	if (r < 0) {
		migrate_reason(m, "sending %s: %s", what,
			       r == -EPIPE ? "connection lost" : strerror(-r));
		return -1;
	}
	if (ns > 0 && m->w.bytes - b0 >= MIGRATE_BW_MIN_BYTES)
		m->bw = (double)(m->w.bytes - b0) * 1e9 / (double)ns;
	m->rounds++;
	log_debug("migrate: round %u (%s): %llu bytes in %llu ms", m->rounds,
		  what, (unsigned long long)(m->w.bytes - b0),
		  (unsigned long long)(ns / 1000000));
	return 0;
}

/*
 * Add what KVM's log says (reading it clears it) to the pages still to be
 * sent; *ndirty is how many those are.
 */
static int migrate_dirty(struct migrate *m, uint64_t *ndirty)
{
	struct seam_err e;
	uint64_t n = 0;

	if (vm_dirty_log_get(m->vm, m->fresh, &e) < 0) {
		migrate_reason(m, "%s", e.msg);
		return -1;
	}
	for (uint64_t i = 0; i < m->npages / 64; i++) {
		m->bitmap[i] |= m->fresh[i];
		n += (uint64_t)__builtin_popcountll(m->bitmap[i]);
	}
	*ndirty = n;
	return 0;
}

/*
 * Whether what is dirty can go within the downtime at the bandwidth. Before
 * any round was long enough to measure it, only a few pages do.
 */
static int migrate_fits(const struct migrate *m, uint64_t ndirty)
{
	double bytes = (double)ndirty * MIG_PAGE_SIZE;

	if (m->bw <= 0)
		return bytes <= MIGRATE_BW_MIN_BYTES;
	return bytes * 1000.0 / m->bw <= m->max_downtime_ms;
}

/* Rounds until the rest fits the downtime; throttle when it cannot. */
static int migrate_precopy(struct migrate *m)
{
	uint64_t ndirty, prev = UINT64_MAX, t_round = vmx_now_ns();

	if (migrate_send(m, NULL, "guest RAM (round 1)") < 0)
		return -1;
	for (;;) {
		double secs = (double)(vmx_now_ns() - t_round) / 1e9;

		if (vmx_now_ns() > m->deadline_ns) {
			migrate_reason(m,
				       "not done within the timeout "
				       "(--timeout-s) after %u rounds",
				       m->rounds);
			return -1;
		}
		if (migrate_dirty(m, &ndirty) < 0)
			return -1;
		if (migrate_fits(m, ndirty))
			return 0;
		if ((secs > 0 &&
		     (double)ndirty * MIG_PAGE_SIZE / secs > m->bw / 2) ||
		    (m->rounds > 4 && ndirty >= prev))
			migrate_throttle_up(m);
		prev = ndirty;
		t_round = vmx_now_ns();
		if (migrate_send(m, m->bitmap, "dirty pages") < 0)
			return -1;
	}
}

/* ---- switch-over --------------------------------------------------------- */

static int migrate_send_state(struct migrate *m)
{
	struct vmx_saved *s = calloc(1, sizeof(*s));
	struct seam_err e;
	int r;

	if (!s) {
		migrate_reason(m, "out of memory");
		return -1;
	}
	r = vmx_state_save(m->vm, s, &e);
	s->nconns = 0;
	s->requester = -1;
	if (r == 0)
		r = mig_write_state(&m->w, s, &e);
	free(s);
	if (r == 0 && mig_write_bare(&m->w, MIG_FRAME_END) < 0)
		r = err_set(&e, EPIPE, "sending END: connection lost");
	if (r < 0) {
		migrate_reason(m, "%s", e.msg);
		return -1;
	}
	return 0;
}

/* Pause, send the rest and the state; READY. Returns T0 or 0. */
static uint64_t migrate_switchover(struct migrate *m)
{
	uint64_t t0, ndirty;

	migrate_throttle_stop(&m->th);
	t0 = vmx_now_ns();
	if (!m->vm->paused) {
		vm_pause(m->vm);
		m->paused_here = 1;
	}
	if (migrate_dirty(m, &ndirty) < 0 ||
	    migrate_send(m, m->bitmap, "the last dirty pages") < 0)
		return 0;
	if (m->switchover_cut)
		m->w.cut_after = m->w.bytes;
	if (migrate_send_state(m) < 0 ||
	    migrate_expect(m, MIG_REPLY_READY, "restoring the state") < 0)
		return 0;
	return t0;
}

/* ---- the command ----------------------------------------------------------
 */

static void migrate_cleanup(struct migrate *m)
{
	struct seam_err e;

	migrate_throttle_stop(&m->th);
	if (!m->committed && m->logging &&
	    vm_dirty_log_enable(m->vm, 0, &e) < 0)
		log_warnx("migrate: %s", e.msg);
	if (!m->committed && m->paused_here)
		vm_resume(m->vm);
	if (m->w.fd >= 0)
		close(m->w.fd);
	m->w.fd = -1;
	free(m->bitmap);
	free(m->fresh);
	m->bitmap = m->fresh = NULL;
}

static json_t *migrate_aborted(struct migrate *m)
{
	migrate_cleanup(m);
	log_warnx("migrate aborted, the VM runs on here: %s", m->reason);
	return json_pack("{s:b, s:s, s:s, s:I, s:i}", "ok", 0, "result",
			 "aborted", "error", m->reason, "bytes_sent",
			 (json_int_t)m->w.bytes, "rounds", (int)m->rounds);
}

/* Tests only: where to cut the connection. */
static void migrate_test_cut(struct migrate *m)
{
	const char *cut = mig_test_knob(MIG_CUT_ENV);
	uint64_t ram = m->vm->gm.size;

	if (!cut)
		return;
	if (strcmp(cut, "round1_10") == 0)
		m->w.cut_offset = ram / 10;
	else if (strcmp(cut, "round1_50") == 0)
		m->w.cut_offset = ram / 2;
	else if (strcmp(cut, "switchover") == 0)
		m->switchover_cut = 1;
	else if (strcmp(cut, "before_go") == 0)
		m->go_cut = 1;
}

static int migrate_init(struct migrate *m, const struct vmx_request *req)
{
	unsigned int timeout_s =
	    req->timeout_s ? req->timeout_s : MIGRATE_TIMEOUT_S;

	m->w.fd = -1;
	m->t_start = vmx_now_ns();
	m->deadline_ns = m->t_start + (uint64_t)timeout_s * 1000000000ULL;
	m->max_downtime_ms =
	    req->max_downtime_ms ? req->max_downtime_ms : MIGRATE_DOWNTIME_MS;
	m->npages = m->vm->gm.size / MIG_PAGE_SIZE;
	m->bitmap = calloc(m->npages / 64, sizeof(uint64_t));
	m->fresh = calloc(m->npages / 64, sizeof(uint64_t));
	if (!m->bitmap || !m->fresh) {
		migrate_reason(m, "out of memory for the dirty bitmap");
		return -1;
	}
	return 0;
}

static int migrate_start_logging(struct migrate *m)
{
	struct seam_err e;

	if (vm_dirty_log_enable(m->vm, 1, &e) < 0) {
		migrate_reason(m, "%s", e.msg);
		return -1;
	}
	m->logging = 1;
	return 0;
}

static json_t *migrate_done(struct migrate *m, uint64_t t0,
			    enum cmd_after *after)
{
	uint64_t t1;
	int confirmed;

	m->committed = 1;
	confirmed = migrate_expect(m, MIG_REPLY_RUNNING, "starting") == 0;
	t1 = vmx_now_ns();
	if (confirmed && mig_test_knob(MIG_CUT_ENV) &&
	    strcmp(mig_test_knob(MIG_CUT_ENV), "after_confirm") == 0)
		raise(SIGKILL);
	if (!confirmed)
		log_warnx("migrate: GO sent but not confirmed: %s", m->reason);
	migrate_cleanup(m);
	*after = CMD_AFTER_MIGRATED;
	log_info("migrate: VM %s handed over: downtime %llu ms, %u rounds, "
		 "%llu bytes",
		 m->vm->book.cfg.name,
		 (unsigned long long)((t1 - t0) / 1000000ULL), m->rounds,
		 (unsigned long long)m->w.bytes);
	return json_pack(
	    "{s:b, s:s, s:b, s:f, s:I, s:I, s:i, s:i}", "ok", 1, "result", "ok",
	    "confirmed", confirmed, "downtime_ms", (double)(t1 - t0) / 1e6,
	    "total_ms", (json_int_t)((t1 - m->t_start) / 1000000ULL),
	    "bytes_sent", (json_int_t)m->w.bytes, "rounds", (int)m->rounds,
	    "throttled", (int)atomic_load(&m->th.pct));
}

json_t *migrate_command(struct control *c, const struct vmx_request *req,
			enum cmd_after *after)
{
	struct migrate m = {.vm = c->vm};
	uint64_t t0;

	if (migrate_init(&m, req) < 0 || migrate_connect(&m, req->path) < 0)
		return migrate_aborted(&m);
	migrate_test_cut(&m);
	if (migrate_hello(&m, req->token) < 0 ||
	    migrate_start_logging(&m) < 0 || migrate_precopy(&m) < 0)
		return migrate_aborted(&m);
	t0 = migrate_switchover(&m);
	if (!t0)
		return migrate_aborted(&m);
	if (m.go_cut)
		m.w.cut_after = m.w.bytes;
	if (mig_write_bare(&m.w, MIG_FRAME_GO) < 0) {
		migrate_reason(&m, "connection lost before GO");
		return migrate_aborted(&m);
	}
	return migrate_done(&m, t0, after);
}
