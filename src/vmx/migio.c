/*
 * migio.c — the VM stream on an fd (see migstream.h for the format).
 *
 * The writer walks guest RAM (or the pages a dirty bitmap names) and
 * coalesces runs: consecutive zero pages become one ZERO marker, consecutive
 * data pages one PAGES frame of at most MIG_FRAME_PAGES_MAX pages, sent with
 * one writev (header and payload straight from guest RAM, no copy). The
 * reader validates every header (migstream.c) before it touches RAM, reads
 * payloads straight into guest RAM, punches zero pages out of the memfd,
 * and hands the STATE frame to statefmt_read — the FSR state format with
 * its validation, unchanged.
 *
 * Sockets get SO_SNDTIMEO/SO_RCVTIMEO, so a peer that stops answering is a
 * timeout, never a hang. A short stream is -EPIPE with the byte count, so
 * "truncated" reads the same from a file and from a cut connection.
 */
#include "migio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "statefmt.h"

uint64_t vmx_now_ns(void);

int mig_io_timeout_ms(void)
{
	const char *s = getenv(MIG_IO_TIMEOUT_ENV);
	int v = s ? atoi(s) : 0;

	return v > 0 ? v : MIG_IO_TIMEOUT_MS;
}

const char *mig_test_knob(const char *name)
{
	const char *faults = getenv("SEAM_VMX_TEST_FAULTS");

	if (!faults || strcmp(faults, "1") != 0)
		return NULL;
	return getenv(name);
}

void mig_io_set_timeouts(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int mig_writev_some(struct mig_writer *w, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t got = writev(w->fd, iov, n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		w->bytes += (uint64_t)got;
		while (n > 0 && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return 0;
}

/* Tests: write up to cut_after bytes, then break the connection. */
static int mig_write_until_cut(struct mig_writer *w, struct iovec *iov, int n)
{
	uint64_t left = w->cut_after > w->bytes ? w->cut_after - w->bytes : 0;
	int i;

	for (i = 0; i < n && left; i++) {
		if (iov[i].iov_len > left)
			iov[i].iov_len = (size_t)left;
		left -= iov[i].iov_len;
	}
	mig_writev_some(w, iov, i);
	shutdown(w->fd, SHUT_RDWR);
	return -EPIPE;
}

static int mig_writev_all(struct mig_writer *w, struct iovec *iov, int n)
{
	uint64_t total = 0;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (w->cut_after && w->bytes + total > w->cut_after)
		return mig_write_until_cut(w, iov, n);
	return mig_writev_some(w, iov, n);
}

int mig_write_all(struct mig_writer *w, const void *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

	return mig_writev_all(w, &iov, 1);
}

int mig_write_hello(struct mig_writer *w, const struct mig_hello *h)
{
	return mig_write_all(w, h, sizeof(*h));
}

int mig_write_bare(struct mig_writer *w, uint32_t type)
{
	struct mig_frame f = {.type = type};

	return mig_write_all(w, &f, sizeof(f));
}

static int mig_page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned int i = 0; i < MIG_PAGE_SIZE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return 0;
	return 1;
}

static int mig_write_run(struct mig_writer *w, const uint8_t *ram,
			 uint64_t first, uint32_t n, int zero)
{
	struct mig_frame f = {.type = zero ? MIG_FRAME_ZERO : MIG_FRAME_PAGES,
			      .npages = n,
			      .offset = first * MIG_PAGE_SIZE,
			      .len = zero ? 0 : (uint64_t)n * MIG_PAGE_SIZE};
	struct iovec iov[2] = {
	    {.iov_base = &f, .iov_len = sizeof(f)},
	    {.iov_base = zero ? NULL : (void *)(ram + f.offset),
	     .iov_len = (size_t)f.len},
	};

	if (w->cut_offset &&
	    f.offset + (uint64_t)n * MIG_PAGE_SIZE > w->cut_offset)
		w->cut_after = w->bytes + sizeof(f) / 2;
	if (zero)
		w->zero_pages += n;
	else
		w->pages += n;
	return mig_writev_all(w, iov, zero ? 1 : 2);
}

static int mig_bit(const uint64_t *bitmap, uint64_t i)
{
	return !bitmap || (bitmap[i / 64] >> (i % 64)) & 1;
}

/* Pages [from, to) that bitmap names (all when NULL), runs coalesced. */
static int mig_write_pages(struct mig_writer *w, const uint8_t *ram,
			   uint64_t from, uint64_t to, const uint64_t *bitmap)
{
	uint64_t first = 0;
	uint32_t run = 0;
	int zero = 0, r;

	for (uint64_t i = from; i < to; i++) {
		int z;

		if (bitmap && !bitmap[i / 64] && i % 64 == 0 && run == 0) {
			i += 63; /* a whole clean word */
			continue;
		}
		if (!mig_bit(bitmap, i)) {
			if (run &&
			    (r = mig_write_run(w, ram, first, run, zero)) < 0)
				return r;
			run = 0;
			continue;
		}
		z = mig_page_is_zero(ram + i * MIG_PAGE_SIZE);
		if (run && (z != zero || (!z && run == MIG_FRAME_PAGES_MAX) ||
			    run == UINT32_MAX)) {
			if ((r = mig_write_run(w, ram, first, run, zero)) < 0)
				return r;
			run = 0;
		}
		if (run == 0) {
			first = i;
			zero = z;
		}
		run++;
	}
	return run ? mig_write_run(w, ram, first, run, zero) : 0;
}

/* A hole of the memfd, pages [from, to): ZERO markers, RAM untouched. */
static int mig_write_hole(struct mig_writer *w, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t n = to - from < UINT32_MAX ? to - from : UINT32_MAX;
		int r = mig_write_run(w, NULL, from, (uint32_t)n, 1);

		if (r < 0)
			return r;
		from += n;
	}
	return 0;
}

/*
 * Every page, walking the memfd's data extents: reading a hole through a
 * shared mapping would allocate it, so holes go out as ZERO markers
 * without being touched.
 */
static int mig_write_extents(struct mig_writer *w, const uint8_t *ram,
			     uint64_t npages, int ram_fd)
{
	uint64_t page = 0;
	int r;

	while (page < npages) {
		off_t data =
		    lseek(ram_fd, (off_t)(page * MIG_PAGE_SIZE), SEEK_DATA);
		uint64_t d = data < 0 ? npages : (uint64_t)data / MIG_PAGE_SIZE;
		off_t hole;
		uint64_t h;

		if (d > npages)
			d = npages;
		if ((r = mig_write_hole(w, page, d)) < 0 || d == npages)
			return r;
		hole = lseek(ram_fd, (off_t)(d * MIG_PAGE_SIZE), SEEK_HOLE);
		h = hole < 0
			? npages
			: ((uint64_t)hole + MIG_PAGE_SIZE - 1) / MIG_PAGE_SIZE;
		if (h > npages || h <= d)
			h = npages;
		if ((r = mig_write_pages(w, ram, d, h, NULL)) < 0)
			return r;
		page = h;
	}
	return 0;
}

int mig_write_ram(struct mig_writer *w, const uint8_t *ram, uint64_t mem_bytes,
		  const uint64_t *bitmap, int ram_fd)
{
	uint64_t npages = mem_bytes / MIG_PAGE_SIZE;

	if (!bitmap && ram_fd >= 0)
		return mig_write_extents(w, ram, npages, ram_fd);
	return mig_write_pages(w, ram, 0, npages, bitmap);
}

int mig_write_state(struct mig_writer *w, const struct vmx_saved *s,
		    struct seam_err *e)
{
	struct mig_frame f = {.type = MIG_FRAME_STATE};
	struct iovec iov[2];
	uint8_t *buf;
	size_t len;
	int r;

	r = statefmt_write(s, &buf, &len, e);
	if (r < 0)
		return r;
	f.len = len;
	f.offset = vmx_now_ns();
	iov[0] = (struct iovec){.iov_base = &f, .iov_len = sizeof(f)};
	iov[1] = (struct iovec){.iov_base = buf, .iov_len = len};
	r = mig_writev_all(w, iov, 2);
	free(buf);
	if (r < 0)
		return err_set(e, -r, "writing the state: %s",
			       r == -EPIPE ? "connection lost" : strerror(-r));
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

int mig_read_full(struct mig_reader *r, void *buf, size_t len, const char *what,
		  struct seam_err *e)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(r->fd, (char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return err_set(e, ETIMEDOUT,
				       "no data for %d ms while reading %s "
				       "(at byte %llu)",
				       mig_io_timeout_ms(), what,
				       (unsigned long long)(r->bytes + off));
		if (n < 0)
			return err_sys(e, "reading %s", what);
		if (n == 0)
			return err_set(e, EPIPE,
				       "truncated: the stream ends after %llu "
				       "bytes, in %s",
				       (unsigned long long)(r->bytes + off),
				       what);
		off += (size_t)n;
	}
	r->bytes += len;
	return 0;
}

int mig_read_hello(struct mig_reader *r, struct mig_hello *h,
		   struct seam_err *e)
{
	int rc = mig_read_full(r, h, sizeof(*h), "the hello", e);

	if (rc < 0)
		return rc;
	rc = mig_check_hello(h, e);
	if (rc < 0)
		return rc;
	r->pos.mem_bytes = h->mem_bytes;
	r->pos.live = (h->flags & MIG_HELLO_LIVE) != 0;
	return 0;
}

int mig_read_frame(struct mig_reader *r, struct mig_frame *f,
		   struct seam_err *e)
{
	int rc = mig_read_full(r, f, sizeof(*f), "a frame header", e);

	if (rc < 0)
		return rc;
	return mig_check_frame(f, &r->pos, e);
}

static int mig_read_zero(struct mig_reader *r, const struct mig_frame *f)
{
	uint64_t len = (uint64_t)f->npages * MIG_PAGE_SIZE;

	if (!r->ram)
		return 0;
	if (r->ram_fd >= 0 &&
	    fallocate(r->ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)f->offset, (off_t)len) == 0)
		return 0;
	memset(r->ram + f->offset, 0, len);
	return 0;
}

static int mig_skip(struct mig_reader *r, uint64_t len, struct seam_err *e)
{
	static uint8_t sink[64 << 10];

	/* A file: seek; a short file shows at the next header. */
	if (lseek(r->fd, (off_t)len, SEEK_CUR) >= 0) {
		r->bytes += len;
		return 0;
	}
	while (len) {
		size_t n = len < sizeof(sink) ? (size_t)len : sizeof(sink);
		int rc = mig_read_full(r, sink, n, "a PAGES payload", e);
		if (rc < 0)
			return rc;
		len -= n;
	}
	return 0;
}

static int mig_read_pages(struct mig_reader *r, const struct mig_frame *f,
			  struct seam_err *e)
{
	if (!r->ram)
		return mig_skip(r, f->len, e);
	return mig_read_full(r, r->ram + f->offset, (size_t)f->len,
			     "a PAGES payload", e);
}

/* The state's host time, moved from the writer's clock to ours. */
static void mig_rebase_clock(struct vmx_saved *s, uint64_t writer_now)
{
	uint64_t age = writer_now > s->vm.saved_host_ns
			   ? writer_now - s->vm.saved_host_ns
			   : 0;
	uint64_t now = vmx_now_ns();

	s->vm.saved_host_ns = now > age ? now - age : 0;
}

static int mig_read_state(struct mig_reader *r, const struct mig_frame *f,
			  struct vmx_saved *s, struct seam_err *e)
{
	uint8_t *buf = malloc((size_t)f->len);
	int rc;

	if (!buf)
		return err_set(e, ENOMEM, "out of memory for the state");
	rc = mig_read_full(r, buf, (size_t)f->len, "the STATE frame", e);
	if (rc == 0)
		rc = statefmt_read(buf, (size_t)f->len, s, e);
	free(buf);
	if (rc < 0)
		return rc;
	if (s->book.cfg.mem_bytes != r->pos.mem_bytes)
		return err_set(e, EINVAL,
			       "state section 'book': field 'mem_bytes' (%llu) "
			       "differs from the stream's guest RAM (%llu)",
			       (unsigned long long)s->book.cfg.mem_bytes,
			       (unsigned long long)r->pos.mem_bytes);
	mig_rebase_clock(s, f->offset);
	return 0;
}

int mig_read_stream(struct mig_reader *r, struct vmx_saved *s,
		    struct seam_err *e)
{
	struct mig_frame f;
	int rc;

	for (;;) {
		rc = mig_read_frame(r, &f, e);
		if (rc < 0)
			return rc;
		switch (f.type) {
		case MIG_FRAME_PAGES:
			rc = mig_read_pages(r, &f, e);
			break;
		case MIG_FRAME_ZERO:
			rc = mig_read_zero(r, &f);
			break;
		case MIG_FRAME_STATE:
			rc = mig_read_state(r, &f, s, e);
			break;
		case MIG_FRAME_END:
			return 0;
		default:
			rc = err_set(e, EPROTO, "unexpected %s frame",
				     mig_frame_name(f.type));
		}
		if (rc < 0)
			return rc;
	}
}

/* ---- the destination's answers ------------------------------------------ */

int mig_send_reply(int fd, uint32_t type, const char *reason)
{
	struct mig_writer w = {.fd = fd};
	struct mig_reply m = {.type = type};

	if (reason)
		strncpy(m.reason, reason, sizeof(m.reason) - 1);
	return mig_write_all(&w, &m, sizeof(m));
}

int mig_recv_reply(int fd, struct mig_reply *m, struct seam_err *e)
{
	struct mig_reader r = {.fd = fd, .ram_fd = -1};
	int rc =
	    mig_read_full(&r, m, sizeof(*m), "the destination's answer", e);

	if (rc < 0)
		return rc;
	m->reason[sizeof(m->reason) - 1] = '\0';
	if (m->type < MIG_REPLY_ACCEPT || m->type > MIG_REPLY_FAILED)
		return err_set(e, EPROTO, "the destination answered %u",
			       m->type);
	return 0;
}
