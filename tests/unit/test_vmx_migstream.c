/*
 * test_vmx_migstream.c — the VM stream (snapshot files and migrations):
 * every hello and frame check refuses what it must with words that say
 * why; a written stream reads back into the same RAM and state; zero pages
 * travel as markers; a stream cut anywhere reads as "truncated"; a dirty
 * bitmap sends exactly its pages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "migio.h"
#include "migstream.h"

#define MEM (32ULL << 20)

/* migio.c takes the host clock from vm.c, which tests do not link. */
uint64_t vmx_now_ns(void);
uint64_t vmx_now_ns(void)
{
	return 1000000000ULL;
}

static struct mig_hello good_hello(void)
{
	struct mig_hello h;

	mig_hello_init(&h, MEM, 2, "secret", MIG_HELLO_LIVE);
	return h;
}

static void expect_hello_error(struct mig_hello *h, const char *words)
{
	struct seam_err e;

	assert_true(mig_check_hello(h, &e) < 0);
	assert_non_null(strstr(e.msg, words));
}

static void test_hello(void **state)
{
	struct mig_hello h = good_hello();
	struct seam_err e;

	(void)state;
	assert_int_equal(mig_check_hello(&h, &e), 0);
	memcpy(h.magic, "SEAMVMXS", 8);
	expect_hello_error(&h, "bad magic");
	h = good_hello();
	h.version = 2;
	expect_hello_error(&h, "unknown stream version 2");
	h = good_hello();
	h.page_size = 65536;
	expect_hello_error(&h, "page size");
	h = good_hello();
	h.mem_bytes = MEM + 4096;
	expect_hello_error(&h, "guest RAM size");
	h = good_hello();
	h.mem_bytes = 0;
	expect_hello_error(&h, "guest RAM size");
	h = good_hello();
	h.vcpus = 0;
	expect_hello_error(&h, "vCPUs");
	h = good_hello();
	h.flags = 6;
	expect_hello_error(&h, "unknown flags");
	h = good_hello();
	memset(h.token, 'x', sizeof(h.token));
	expect_hello_error(&h, "token not terminated");
}

static void test_token(void **state)
{
	struct mig_hello h = good_hello();

	(void)state;
	assert_true(mig_token_matches(&h, "secret"));
	assert_false(mig_token_matches(&h, "secreT"));
	assert_false(mig_token_matches(&h, "secre"));
	assert_false(mig_token_matches(&h, "secret2"));
	assert_false(mig_token_matches(&h, ""));
}

static int check(struct mig_reader_pos *p, uint32_t type, uint32_t n,
		 uint64_t off, uint64_t len, const char *words)
{
	struct mig_frame f = {
	    .type = type, .npages = n, .offset = off, .len = len};
	struct seam_err e = {0};
	int r = mig_check_frame(&f, p, &e);

	if (words) {
		assert_true(r < 0);
		if (!strstr(e.msg, words))
			fail_msg("'%s' does not say '%s'", e.msg, words);
	} else if (r < 0) {
		fail_msg("refused: %s", e.msg);
	}
	return r;
}

static void test_frames_ram(void **state)
{
	struct mig_reader_pos p = {.mem_bytes = MEM};

	(void)state;
	check(&p, MIG_FRAME_PAGES, 1, 0, 4096, NULL);
	check(&p, MIG_FRAME_PAGES, 256, MEM - 256 * 4096, 256 * 4096, NULL);
	check(&p, MIG_FRAME_PAGES, 257, 0, 257 * 4096, "at most 256");
	check(&p, MIG_FRAME_PAGES, 2, MEM - 4096, 8192, "past the end");
	check(&p, MIG_FRAME_PAGES, 1, MEM, 4096, "past the end");
	check(&p, MIG_FRAME_PAGES, 1, UINT64_MAX - 4095, 4096, "past the end");
	check(&p, MIG_FRAME_PAGES, 1, 100, 4096, "not page aligned");
	check(&p, MIG_FRAME_PAGES, 1, 0, 4095, "payload bytes");
	check(&p, MIG_FRAME_PAGES, 0, 0, 0, "no pages");
	check(&p, MIG_FRAME_ZERO, 8192, 0, 0, NULL);
	check(&p, MIG_FRAME_ZERO, 8193, 0, 0, "past the end");
	check(&p, MIG_FRAME_ZERO, 0xffffffffu, 4096, 0, "past the end");
	check(&p, MIG_FRAME_ZERO, 1, 0, 4096, "payload bytes");
	check(&p, 9, 0, 0, 0, "unknown frame type 9");
}

static void test_frames_order(void **state)
{
	struct mig_reader_pos p = {.mem_bytes = MEM};
	struct mig_reader_pos live = {.mem_bytes = MEM, .live = 1};

	(void)state;
	check(&p, MIG_FRAME_END, 0, 0, 0, "END frame before the state");
	check(&p, MIG_FRAME_STATE, 0, 0, 0, "STATE frame: 0 bytes");
	check(&p, MIG_FRAME_STATE, 0, 0, MIG_STATE_MAX + 1ULL, "STATE frame");
	check(&p, MIG_FRAME_STATE, 1, 0, 100, "npages must be 0");
	check(&p, MIG_FRAME_STATE, 0, 123, 100, NULL);
	check(&p, MIG_FRAME_STATE, 0, 0, 100, "a second STATE");
	check(&p, MIG_FRAME_PAGES, 1, 0, 4096, "after the state");
	check(&p, MIG_FRAME_END, 0, 1, 0, "with arguments");
	check(&p, MIG_FRAME_END, 0, 0, 0, NULL);
	check(&p, MIG_FRAME_ZERO, 1, 0, 0, "after END");
	check(&p, MIG_FRAME_GO, 0, 0, 0, "GO frame after END");
	check(&live, MIG_FRAME_GO, 0, 0, 0, "GO frame before END");
	check(&live, MIG_FRAME_STATE, 0, 0, 100, NULL);
	check(&live, MIG_FRAME_END, 0, 0, 0, NULL);
	check(&live, MIG_FRAME_GO, 0, 0, 0, NULL);
	assert_string_equal(mig_frame_name(MIG_FRAME_ZERO), "ZERO");
	assert_string_equal(mig_frame_name(77), "unknown");
}

/* ---- a whole stream through a memfd ---------------------------------------
 */

static struct vmx_saved *sample_state(void)
{
	struct vmx_saved *s = calloc(1, sizeof(*s));

	strcpy(s->book.cfg.name, "vm1");
	strcpy(s->book.cfg.kernel, "/k");
	strcpy(s->book.cfg.serial_log, "/l");
	strcpy(s->book.cfg.control, "/s");
	s->book.cfg.mem_bytes = MEM;
	s->book.cfg.vcpus = 1;
	s->tsc_khz = 2100000;
	s->cpuid.hdr.nent = 1;
	s->vm.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->vm.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->vm.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	s->vm.saved_host_ns = 900000000ULL; /* 0.1 s before "now" */
	s->vcpu[0].mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	s->vcpu[0].regs.rip = 0x100000;
	s->vcpu[0].xcrs.nr_xcrs = 1;
	s->vcpu[0].msrs.hdr.nmsrs = 1;
	s->vcpu[0].msrs.e[0].index = 0x10;
	s->requester = -1;
	return s;
}

static uint8_t *sample_ram(void)
{
	uint8_t *ram = calloc(1, MEM);

	for (uint64_t p = 0; p < MEM / 4096; p += 7)
		memset(ram + p * 4096, (int)(p % 251) + 1, 4096);
	return ram;
}

/* Write hello, RAM (pages in bitmap), state, END; returns the memfd. */
static int write_stream(const uint8_t *ram, const uint64_t *bitmap,
			struct mig_writer *w)
{
	struct vmx_saved *s = sample_state();
	struct mig_hello h;
	struct seam_err e;

	w->fd = memfd_create("stream", 0);
	mig_hello_init(&h, MEM, 1, NULL, 0);
	assert_int_equal(mig_write_hello(w, &h), 0);
	assert_int_equal(mig_write_ram(w, ram, MEM, bitmap, -1), 0);
	assert_int_equal(mig_write_state(w, s, &e), 0);
	assert_int_equal(mig_write_bare(w, MIG_FRAME_END), 0);
	free(s);
	lseek(w->fd, 0, SEEK_SET);
	return w->fd;
}

static int read_stream(int fd, uint8_t *ram, struct vmx_saved *s,
		       struct seam_err *e)
{
	struct mig_reader r = {.fd = fd, .ram = ram, .ram_fd = -1};
	struct mig_hello h;
	int rc = mig_read_hello(&r, &h, e);

	return rc < 0 ? rc : mig_read_stream(&r, s, e);
}

static void test_round_trip(void **state)
{
	uint8_t *ram = sample_ram(), *back = malloc(MEM);
	struct vmx_saved *s = calloc(1, sizeof(*s));
	struct mig_writer w = {0};
	struct seam_err e;
	int fd;

	(void)state;
	memset(back, 0xee, MEM); /* ZERO markers must clear this */
	fd = write_stream(ram, NULL, &w);
	assert_int_equal(w.pages + w.zero_pages, MEM / 4096);
	assert_int_equal(w.pages, (MEM / 4096 + 6) / 7);
	assert_true(w.bytes < w.pages * 4096 + 4096 * 64);
	assert_int_equal(read_stream(fd, back, s, &e), 0);
	assert_memory_equal(ram, back, MEM);
	assert_string_equal(s->book.cfg.name, "vm1");
	assert_int_equal(s->vcpu[0].regs.rip, 0x100000);
	/* the host time is rebased: as old as it was when written */
	assert_int_equal(s->vm.saved_host_ns, 900000000ULL);
	close(fd);
	free(ram);
	free(back);
	free(s);
}

static void test_truncated(void **state)
{
	uint8_t *ram = sample_ram(), *back = malloc(MEM);
	struct vmx_saved *s = calloc(1, sizeof(*s));
	struct mig_writer w = {0};
	struct seam_err e;
	int fd = write_stream(ram, NULL, &w);
	uint8_t *all = malloc(w.bytes);

	(void)state;
	assert_int_equal(read(fd, all, w.bytes), (ssize_t)w.bytes);
	close(fd);
	for (uint64_t cut = 0; cut < w.bytes; cut += w.bytes / 97 + 1) {
		fd = memfd_create("cut", 0);
		assert_int_equal(write(fd, all, cut), (ssize_t)cut);
		lseek(fd, 0, SEEK_SET);
		assert_true(read_stream(fd, back, s, &e) < 0);
		if (!strstr(e.msg, "truncated"))
			fail_msg("cut at %llu: %s", (unsigned long long)cut,
				 e.msg);
		close(fd);
	}
	free(all);
	free(ram);
	free(back);
	free(s);
}

static void test_dirty_bitmap(void **state)
{
	uint8_t *ram = sample_ram();
	uint64_t *bitmap = calloc(MEM / 4096 / 64, 8);
	struct mig_writer w = {0};
	int fd;

	(void)state;
	bitmap[0] = 0x5;	  /* pages 0 (data) and 2 (zero) */
	bitmap[100] = 1ULL << 63; /* page 6463 */
	fd = write_stream(ram, bitmap, &w);
	assert_int_equal(w.pages + w.zero_pages, 3);
	close(fd);
	free(ram);
	free(bitmap);
}

/* A memfd's holes go as markers and are not read (so not allocated). */
static void test_extents(void **state)
{
	int fd = memfd_create("ram", 0), out = memfd_create("out", 0);
	uint8_t *back = malloc(MEM), *ram;
	struct vmx_saved *s = calloc(1, sizeof(*s));
	struct mig_writer w = {.fd = out};
	struct mig_hello h;
	struct seam_err e;
	struct stat st0, st1;

	(void)state;
	assert_int_equal(ftruncate(fd, MEM), 0);
	ram = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	memset(ram + 4096, 0x11, 4096);
	memset(ram + (MEM - 3 * 4096), 0x22, 2 * 4096);
	fstat(fd, &st0);
	mig_hello_init(&h, MEM, 1, NULL, 0);
	assert_int_equal(mig_write_hello(&w, &h), 0);
	assert_int_equal(mig_write_ram(&w, ram, MEM, NULL, fd), 0);
	fstat(fd, &st1);
	assert_int_equal(st0.st_blocks, st1.st_blocks);
	assert_int_equal(w.pages, 3);
	assert_int_equal(w.pages + w.zero_pages, MEM / 4096);
	free(s);
	s = sample_state();
	assert_int_equal(mig_write_state(&w, s, &e), 0);
	assert_int_equal(mig_write_bare(&w, MIG_FRAME_END), 0);
	lseek(out, 0, SEEK_SET);
	memset(back, 0xee, MEM);
	assert_int_equal(read_stream(out, back, s, &e), 0);
	assert_memory_equal(ram, back, MEM);
	munmap(ram, MEM);
	close(fd);
	close(out);
	free(back);
	free(s);
}

static void test_cut_after(void **state)
{
	struct mig_writer w = {.cut_after = 10};
	char buf[64] = {0};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	w.fd = p[1];
	assert_int_equal(mig_write_all(&w, buf, sizeof(buf)), -EPIPE);
	assert_int_equal(w.bytes, 10);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello),
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_frames_ram),
	    cmocka_unit_test(test_frames_order),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_dirty_bitmap),
	    cmocka_unit_test(test_extents),
	    cmocka_unit_test(test_cut_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
