/*
 * test_vmx_boot.c — the boot layout of guest_abi.h: page tables map all of
 * RAM (including above the 4 GiB line) with 2 MiB user pages, the start
 * info and memory map describe RAM, the command line is copied, the
 * registers are long mode; CPUID fix-ups give each vCPU its APIC ID.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "boot.h"
#include "cpuid.h"
#include "guest_abi.h"

static uint8_t *ram_new(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/* Walk the boot page tables like the MMU for gpa; returns the PD entry. */
static uint64_t walk(const struct gmem *gm, uint64_t gpa)
{
	uint64_t *pml4 = gmem_ptr(gm, SEAM_BOOT_PML4, 4096);
	uint64_t pdpte, pde, *pdpt, *pd;

	assert_true(pml4[gpa >> 39] & 1);
	pdpt = gmem_ptr(gm, pml4[gpa >> 39] & ~0xfffULL, 4096);
	pdpte = pdpt[(gpa >> 30) & 511];
	if (!(pdpte & 1))
		return 0;
	pd = gmem_ptr(gm, pdpte & ~0xfffULL, 4096);
	pde = pd[(gpa >> 21) & 511];
	return pde;
}

static void test_tables_256m(void **state)
{
	uint64_t size = 256ULL << 20;
	uint8_t *ram = ram_new(size);
	struct gmem gm;
	struct seam_err e = {0};
	struct hvm_start_info *si;
	struct hvm_memmap_table_entry *map;
	uint64_t pde;

	(void)state;
	gmem_layout(&gm, ram, size);
	assert_int_equal(boot_write_tables(&gm, "heartbeat=10", &e), 0);
	for (uint64_t a = 0; a < size; a += 2ULL << 20) {
		pde = walk(&gm, a);
		assert_int_equal(pde & ~0xfffULL, a);
		assert_int_equal(pde & 0x87, 0x87); /* P RW US PS */
	}
	si = gmem_ptr(&gm, SEAM_BOOT_START_INFO, sizeof(*si));
	assert_int_equal(si->magic, HVM_START_MAGIC);
	assert_int_equal(si->version, 1);
	assert_int_equal(si->cmdline_paddr, SEAM_BOOT_CMDLINE);
	assert_string_equal((char *)ram + SEAM_BOOT_CMDLINE, "heartbeat=10");
	assert_int_equal(si->memmap_paddr, SEAM_BOOT_MEMMAP);
	assert_int_equal(si->memmap_entries, 3);
	map = gmem_ptr(&gm, SEAM_BOOT_MEMMAP, 3 * sizeof(*map));
	assert_int_equal(map[2].addr, 0x100000);
	assert_int_equal(map[2].addr + map[2].size, size);
	assert_int_equal(map[2].type, HVM_MEMMAP_TYPE_RAM);
	/* GDT: 64-bit code at 0x08 (L bit), data at 0x10 */
	assert_true(((uint64_t *)(ram + SEAM_BOOT_GDT))[1] & (1ULL << 53));
	assert_int_equal(((uint64_t *)(ram + SEAM_BOOT_GDT))[2] >> 40 & 0x9f,
			 0x93);
	munmap(ram, size);
}

static void test_tables_6g(void **state)
{
	uint64_t size = 6ULL << 30;
	uint8_t *ram = ram_new(size);
	struct gmem gm;
	struct seam_err e = {0};
	struct hvm_memmap_table_entry map[16];

	(void)state;
	gmem_layout(&gm, ram, size);
	assert_int_equal(boot_write_tables(&gm, "", &e), 0);
	/* RAM above 4 GiB: [4G, 7G) is mapped, and so is the low 3 GiB */
	assert_int_equal(walk(&gm, (3ULL << 30) - 4096) & ~0xfffULL,
			 (3ULL << 30) - (2ULL << 20));
	assert_int_equal(walk(&gm, 4ULL << 30) & ~0xfffULL, 4ULL << 30);
	assert_int_equal(walk(&gm, (7ULL << 30) - 1) & ~0xfffULL,
			 (7ULL << 30) - (2ULL << 20));
	assert_int_equal(walk(&gm, 7ULL << 30), 0);
	assert_int_equal(boot_memmap(&gm, map, 16), 4);
	assert_int_equal(map[3].addr, SEAM_RAM_HIGH_BASE);
	assert_int_equal(map[3].size, 3ULL << 30);
	munmap(ram, size);
}

static void test_cmdline_too_long(void **state)
{
	uint64_t size = 64ULL << 20;
	uint8_t *ram = ram_new(size);
	char *cl = malloc(SEAM_BOOT_CMDLINE_MAX + 1);
	struct gmem gm;
	struct seam_err e = {0};

	(void)state;
	memset(cl, 'x', SEAM_BOOT_CMDLINE_MAX);
	cl[SEAM_BOOT_CMDLINE_MAX] = '\0';
	gmem_layout(&gm, ram, size);
	assert_true(boot_write_tables(&gm, cl, &e) < 0);
	assert_non_null(strstr(e.msg, "command line"));
	free(cl);
	munmap(ram, size);
}

static void test_sregs_regs(void **state)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct boot_cpu cpu = {.xsave = 1, .nx = 1};

	(void)state;
	memset(&s, 0, sizeof(s));
	boot_sregs(&s, &cpu);
	assert_int_equal(s.cr0 & 0x80000001ULL, 0x80000001ULL);
	assert_int_equal(s.cr3, SEAM_BOOT_PML4);
	assert_true(s.cr4 & BOOT_CR4_PAE);
	assert_true(s.cr4 & BOOT_CR4_OSXSAVE);
	assert_int_equal(s.efer & (BOOT_EFER_LME | BOOT_EFER_LMA | BOOT_EFER_NXE),
			 BOOT_EFER_LME | BOOT_EFER_LMA | BOOT_EFER_NXE);
	assert_int_equal(s.cs.selector, 0x08);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.ss.selector, 0x10);
	cpu.xsave = cpu.nx = 0;
	boot_sregs(&s, &cpu);
	assert_false(s.cr4 & BOOT_CR4_OSXSAVE);
	assert_false(s.efer & BOOT_EFER_NXE);
	boot_regs(&r, 0x100123, 1);
	assert_int_equal(r.rip, 0x100123);
	assert_int_equal(r.rbx, SEAM_BOOT_START_INFO);
	assert_int_equal(r.rsi, 1);
	assert_int_equal(r.rflags, 2);
}

static void test_cpuid(void **state)
{
	struct cpuid_table t;
	struct boot_cpu cpu;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.hdr.nent = 3;
	t.e[0] = (struct kvm_cpuid_entry2){.function = 1, .ebx = 0xff00aa55,
					   .ecx = 1U << 26};
	t.e[1] = (struct kvm_cpuid_entry2){.function = 0xb, .edx = 7,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX};
	t.e[2] = (struct kvm_cpuid_entry2){.function = 0x80000001,
					   .edx = 1U << 20};
	cpuid_fixup(&t, 1, 2);
	assert_int_equal(t.e[0].ebx, 0x0102aa55);
	assert_true(t.e[0].ecx & (1U << 31));
	assert_true(t.e[0].edx & (1U << 28));
	assert_int_equal(t.e[1].edx, 1);
	assert_ptr_equal(cpuid_find(&t, 0xb, 0), &t.e[1]);
	assert_null(cpuid_find(&t, 0xb, 1));
	cpuid_features(&t, &cpu);
	assert_int_equal(cpu.xsave, 1);
	assert_int_equal(cpu.nx, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_256m),
		cmocka_unit_test(test_tables_6g),
		cmocka_unit_test(test_cmdline_too_long),
		cmocka_unit_test(test_sregs_regs),
		cmocka_unit_test(test_cpuid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
