/*
 * elfload.h — loading the guest kernel (an ELF64 x86-64 executable).
 *
 * The file comes from the command line: it is checked completely (header,
 * every program header, every PT_LOAD inside the file and inside guest RAM,
 * above the boot area) before a byte is copied. elf_load() with a gmem whose
 * base is NULL only checks; the keeper does that before it creates anything.
 */
#ifndef SEAM_VMX_ELFLOAD_H
#define SEAM_VMX_ELFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "gmem.h"

/* Lowest guest-physical address a PT_LOAD may use (guest_abi.h). */
#define ELF_LOAD_MIN 0x100000ULL

int elf_load(const void *img, size_t len, const struct gmem *gm,
	     uint64_t *entry, struct seam_err *e);
/* Read a whole file (at most max bytes) into a malloc'd buffer. */
int elf_read_file(const char *path, size_t max, void **img, size_t *len,
		  struct seam_err *e);

#endif
