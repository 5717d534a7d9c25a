/*
 * test_vmx_elf.c — the guest kernel loader: a valid image loads where it
 * says and zeroes its bss; every malformed image is refused with a message
 * naming the problem, before anything is copied.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "elfload.h"

#define RAM (64ULL << 20)
#define LOAD 0x100000ULL

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t code[64];
};

static void image_make(struct image *im)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS64;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_ident[EI_VERSION] = EV_CURRENT;
	im->eh.e_type = ET_EXEC;
	im->eh.e_machine = EM_X86_64;
	im->eh.e_version = EV_CURRENT;
	im->eh.e_entry = LOAD + 4;
	im->eh.e_phoff = offsetof(struct image, ph);
	im->eh.e_ehsize = sizeof(Elf64_Ehdr);
	im->eh.e_phentsize = sizeof(Elf64_Phdr);
	im->eh.e_phnum = 2;
	im->ph[0].p_type = PT_LOAD;
	im->ph[0].p_offset = offsetof(struct image, code);
	im->ph[0].p_paddr = im->ph[0].p_vaddr = LOAD;
	im->ph[0].p_filesz = sizeof(im->code);
	im->ph[0].p_memsz = 8192;
	im->ph[1].p_type = PT_NOTE;
	for (unsigned int i = 0; i < sizeof(im->code); i++)
		im->code[i] = (uint8_t)(i + 1);
}

struct fixture {
	struct image im;
	uint8_t *ram;
	struct gmem gm;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	image_make(&f->im);
	f->ram = malloc(RAM);
	memset(f->ram, 0xAA, RAM);
	gmem_layout(&f->gm, f->ram, RAM);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

static int load(struct fixture *f, size_t len, struct seam_err *e)
{
	uint64_t entry = 0;

	return elf_load(&f->im, len, &f->gm, &entry, e);
}

static void test_valid(void **state)
{
	struct fixture *f = *state;
	struct seam_err e = {0};
	uint64_t entry = 0;

	assert_int_equal(elf_load(&f->im, sizeof(f->im), &f->gm, &entry, &e),
			 0);
	assert_int_equal(entry, LOAD + 4);
	assert_memory_equal(f->ram + LOAD, f->im.code, sizeof(f->im.code));
	/* bss (memsz beyond filesz) is zeroed, beyond it untouched */
	assert_int_equal(f->ram[LOAD + sizeof(f->im.code)], 0);
	assert_int_equal(f->ram[LOAD + 8191], 0);
	assert_int_equal(f->ram[LOAD + 8192], 0xAA);
}

static void test_check_only(void **state)
{
	struct fixture *f = *state;
	struct gmem gm;
	uint64_t entry;

	gmem_layout(&gm, NULL, RAM);
	assert_int_equal(elf_load(&f->im, sizeof(f->im), &gm, &entry, NULL),
			 0);
}

static void test_not_elf(void **state)
{
	struct fixture *f = *state;
	struct seam_err e = {0};

	f->im.eh.e_ident[1] = 'X';
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_string_equal(e.msg, "not an ELF file");
	assert_int_equal(f->ram[LOAD], 0xAA);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct seam_err e = {0};

	assert_true(load(f, 10, &e) < 0);
	assert_non_null(strstr(e.msg, "truncated"));
	assert_true(load(f, sizeof(Elf64_Ehdr) + 8, &e) < 0);
	assert_non_null(strstr(e.msg, "truncated ELF program headers"));
	/* segment data cut off */
	assert_true(load(f, offsetof(struct image, code) + 10, &e) < 0);
	assert_non_null(strstr(e.msg, "truncated file"));
	assert_int_equal(f->ram[LOAD], 0xAA);
}

static void test_wrong_machine(void **state)
{
	struct fixture *f = *state;
	struct seam_err e = {0};

	f->im.eh.e_machine = EM_AARCH64;
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "not an x86-64"));
	image_make(&f->im);
	f->im.eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "64-bit"));
	image_make(&f->im);
	f->im.eh.e_type = ET_DYN;
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "not an ELF executable"));
}

static void test_outside_ram(void **state)
{
	struct fixture *f = *state;
	struct seam_err e = {0};

	f->im.ph[0].p_paddr = RAM - 4096;
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "outside guest RAM"));
	f->im.ph[0].p_paddr = 0xFFFFFFFFFFFFF000ULL; /* overflow */
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "outside guest RAM"));
	f->im.ph[0].p_paddr = 0x8000; /* the boot area */
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "below 1 MiB"));
	assert_int_equal(f->ram[0x8000], 0xAA);
}

static void test_bad_segments(void **state)
{
	struct fixture *f = *state;
	struct seam_err e = {0};

	f->im.ph[0].p_filesz = f->im.ph[0].p_memsz + 1;
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "filesz > memsz"));
	image_make(&f->im);
	f->im.ph[0].p_type = PT_NULL;
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "no PT_LOAD"));
	image_make(&f->im);
	f->im.eh.e_entry = 0x500000;
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "entry point"));
	image_make(&f->im);
	f->im.eh.e_phentsize = 32;
	assert_true(load(f, sizeof(f->im), &e) < 0);
	assert_non_null(strstr(e.msg, "program header size"));
}

static void test_high_ram(void **state)
{
	struct gmem gm;

	(void)state;
	gmem_layout(&gm, NULL, 4ULL << 30);
	assert_int_equal(gm.low_size, 3ULL << 30);
	assert_true(gmem_contains(&gm, 0, 3ULL << 30));
	assert_false(gmem_contains(&gm, (3ULL << 30) - 4096, 8192));
	assert_false(gmem_contains(&gm, 3ULL << 30, 4096));
	assert_true(gmem_contains(&gm, 4ULL << 30, 1ULL << 30));
	assert_false(gmem_contains(&gm, 4ULL << 30, (1ULL << 30) + 1));
	assert_int_equal(gmem_end(&gm), 5ULL << 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_machine, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outside_ram, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_segments, setup,
						teardown),
		cmocka_unit_test(test_high_ram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
