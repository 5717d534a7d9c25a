/*
 * gmem.h — guest physical memory as the VMM sees it.
 *
 * Guest RAM is one memfd mapped once into the worker. Its first
 * min(size, 3 GiB) bytes are guest-physical [0, low); the rest appear at
 * SEAM_RAM_HIGH_BASE (4 GiB), above the hole where a PC keeps its devices.
 * gmem_ptr() is the only way the VMM turns a guest address into a pointer:
 * it refuses any range that is not wholly inside one of the two regions, so
 * a guest (or an ELF file) can never make the VMM touch memory outside RAM.
 */
#ifndef SEAM_VMX_GMEM_H
#define SEAM_VMX_GMEM_H

#include <stddef.h>
#include <stdint.h>

struct gmem {
	uint8_t *base;	   /* host mapping of the whole memfd */
	uint64_t size;	   /* total bytes of guest RAM */
	uint64_t low_size; /* bytes below the hole */
};

/* Fill the layout for size bytes of RAM (base may be NULL for checks). */
void gmem_layout(struct gmem *gm, uint8_t *base, uint64_t size);
/* Host pointer for [gpa, gpa+len), or NULL when not wholly inside RAM. */
void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len);
/* Whether [gpa, gpa+len) is wholly inside one RAM region. */
int gmem_contains(const struct gmem *gm, uint64_t gpa, uint64_t len);
/* Highest guest-physical address + 1. */
uint64_t gmem_end(const struct gmem *gm);

#endif
