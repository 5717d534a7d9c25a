/*
 * test_vmx_statefmt.c — the FSR state file: a round trip keeps every
 * field; truncated, corrupt, oversized, duplicated, unknown-mandatory and
 * out-of-range inputs are refused with a message naming section and field;
 * unknown optional sections are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "statefmt.h"

static struct vmx_saved *sample(void)
{
	struct vmx_saved *s = calloc(1, sizeof(*s));

	strcpy(s->book.cfg.name, "vm1");
	strcpy(s->book.cfg.kernel, "/k");
	strcpy(s->book.cfg.cmdline, "heartbeat=10");
	strcpy(s->book.cfg.serial_log, "/l");
	strcpy(s->book.cfg.control, "/s");
	s->book.cfg.mem_bytes = 256ULL << 20;
	s->book.cfg.vcpus = 2;
	s->book.keeper_pid = 1234;
	s->tsc_khz = 2100000;
	s->cpuid.hdr.nent = 2;
	s->cpuid.e[0].function = 1;
	s->cpuid.e[1].function = 0x80000001;
	s->vm.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->vm.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->vm.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	s->vm.pit.channels[0].mode = 2;
	s->vm.pit.channels[1].mode = 0xff;
	s->vm.saved_host_ns = 42;
	s->dev.uart.line_len = 3;
	memcpy(s->dev.uart.line, "hb ", 3);
	s->dev.pv.version_idx = 4;
	for (int i = 0; i < 2; i++) {
		s->vcpu[i].regs.rip = 0x100000 + (uint64_t)i;
		s->vcpu[i].sregs.cr0 = 0x80010031;
		s->vcpu[i].sregs.cr4 = 0x20;
		s->vcpu[i].sregs.efer = 0x500;
		s->vcpu[i].msrs.hdr.nmsrs = 1;
		s->vcpu[i].msrs.e[0].index = 0x10;
		s->vcpu[i].msrs.e[0].data = 999;
		s->vcpu[i].mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	}
	s->nconns = 2;
	s->requester = 1;
	s->conn[0].len = 0;
	s->conn[1].len = 17;
	memcpy(s->conn[1].data, "{\"cmd\":\"status\"}\n", 17);
	return s;
}

struct statefmt_shdr_t {
	uint32_t id;
	uint16_t version;
	uint16_t flags;
	uint32_t index;
	uint32_t length;
};

/* Offset of the n-th section header in buf. */
static size_t section_at(const uint8_t *buf, int n)
{
	size_t off = 32;

	for (int i = 0; i < n; i++) {
		struct statefmt_shdr_t h;
		memcpy(&h, buf + off, sizeof(h));
		off += sizeof(h) + ((h.length + 7) & ~7U);
	}
	return off;
}

static void test_round_trip(void **state)
{
	struct vmx_saved *s = sample(), *t = calloc(1, sizeof(*t));
	struct seam_err e = {0};
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(statefmt_write(s, &buf, &len, &e), 0);
	assert_memory_equal(buf, "SEAMVMXS", 8);
	assert_int_equal(statefmt_read(buf, len, t, &e), 0);
	assert_memory_equal(&t->book, &s->book, sizeof(s->book));
	assert_int_equal(t->tsc_khz, 2100000);
	assert_int_equal(t->cpuid.hdr.nent, 2);
	assert_int_equal(t->cpuid.e[1].function, 0x80000001);
	assert_memory_equal(&t->vm, &s->vm, sizeof(s->vm));
	assert_memory_equal(&t->dev, &s->dev, sizeof(s->dev));
	assert_memory_equal(&t->vcpu[1], &s->vcpu[1], sizeof(s->vcpu[1]));
	assert_int_equal(t->nconns, 2);
	assert_int_equal(t->requester, 1);
	assert_int_equal(t->conn[1].len, 17);
	assert_memory_equal(t->conn[1].data, s->conn[1].data, 17);
	free(buf);
	free(s);
	free(t);
}

static void expect_refused(const uint8_t *buf, size_t len, const char *want)
{
	struct vmx_saved *t = calloc(1, sizeof(*t));
	struct seam_err e = {0};

	assert_true(statefmt_read(buf, len, t, &e) < 0);
	if (!strstr(e.msg, want))
		fail_msg("message '%s' lacks '%s'", e.msg, want);
	free(t);
}

static void test_truncated_and_corrupt(void **state)
{
	struct vmx_saved *s = sample();
	struct seam_err e = {0};
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(statefmt_write(s, &buf, &len, &e), 0);
	expect_refused(buf, 10, "truncated header");
	expect_refused(buf, len - 8, "truncated");
	buf[0] = 'X';
	expect_refused(buf, len, "bad magic");
	buf[0] = 'S';
	buf[8] = 9; /* format version */
	expect_refused(buf, len, "format version 9 unknown");
	buf[8] = 1;
	free(buf);
	free(s);
}

static void test_section_errors(void **state)
{
	struct vmx_saved *s = sample();
	struct seam_err e = {0};
	struct statefmt_shdr_t h;
	uint8_t *buf;
	size_t len, off;

	(void)state;
	/* an unknown mandatory section */
	s->test_unknown_section = 1;
	assert_int_equal(statefmt_write(s, &buf, &len, &e), 0);
	expect_refused(buf, len, "unknown and mandatory");
	/* the same, optional: skipped */
	off = section_at(buf, 7); /* book cpuid vm dev vcpu vcpu control */
	memcpy(&h, buf + off, sizeof(h));
	assert_int_equal(h.id, STATEFMT_TEST_UNKNOWN);
	h.flags = 0;
	memcpy(buf + off, &h, sizeof(h));
	{
		struct vmx_saved *t = calloc(1, sizeof(*t));
		assert_int_equal(statefmt_read(buf, len, t, &e), 0);
		free(t);
	}
	/* a section claiming more than the file holds */
	off = section_at(buf, 2);
	memcpy(&h, buf + off, sizeof(h));
	h.length += 4096;
	memcpy(buf + off, &h, sizeof(h));
	expect_refused(buf, len, "section 'vm': oversized");
	h.length = 0x10000000;
	memcpy(buf + off, &h, sizeof(h));
	expect_refused(buf, len, "runs past the end");
	free(buf);
	/* a short VM section (length says less; the rest looks like junk) */
	s->test_unknown_section = 0;
	assert_int_equal(statefmt_write(s, &buf, &len, &e), 0);
	off = section_at(buf, 2);
	memcpy(&h, buf + off, sizeof(h));
	h.length -= 8;
	memcpy(buf + off, &h, sizeof(h));
	expect_refused(buf, len, "section 'vm': short");
	h.length += 8;
	h.version = 7;
	memcpy(buf + off, &h, sizeof(h));
	expect_refused(buf, len, "version 7 unknown");
	free(buf);
	free(s);
}

static void write_expect(struct vmx_saved *s, const char *want)
{
	struct seam_err e = {0};
	uint8_t *buf;
	size_t len;

	assert_int_equal(statefmt_write(s, &buf, &len, &e), 0);
	expect_refused(buf, len, want);
	free(buf);
}

static void test_field_errors(void **state)
{
	struct vmx_saved *s;

	(void)state;
	s = sample();
	s->vcpu[1].sregs.efer = 0x400; /* LMA without LME */
	write_expect(s, "vCPU 1 field 'sregs.efer'");
	free(s);
	s = sample();
	s->vcpu[0].msrs.hdr.nmsrs = 100000;
	write_expect(s, "field 'msrs.nmsrs'");
	free(s);
	s = sample();
	s->vm.ioapic.chip_id = 0;
	write_expect(s, "field 'ioapic.chip_id'");
	free(s);
	s = sample();
	s->dev.uart.line_len = 9999;
	write_expect(s, "field 'uart.line_len'");
	free(s);
	s = sample();
	s->book.cfg.mem_bytes = 12345;
	write_expect(s, "field 'mem_bytes'");
	free(s);
	s = sample();
	s->vcpu[0].events.exception.nr = 77;
	write_expect(s, "field 'events.exception'");
	free(s);
	s = sample();
	s->requester = 5;
	write_expect(s, "field 'requester'");
	free(s);
}

static void test_missing_vcpu(void **state)
{
	struct vmx_saved *s = sample();
	struct seam_err e = {0};
	struct statefmt_shdr_t h;
	uint8_t *buf;
	size_t len, off;

	(void)state;
	assert_int_equal(statefmt_write(s, &buf, &len, &e), 0);
	/* turn vCPU 1's section into a second vCPU 0 */
	off = section_at(buf, 5);
	memcpy(&h, buf + off, sizeof(h));
	assert_int_equal(h.index, 1);
	h.index = 0;
	memcpy(buf + off, &h, sizeof(h));
	expect_refused(buf, len, "appears twice");
	free(buf);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_and_corrupt),
		cmocka_unit_test(test_section_errors),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_missing_vcpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
