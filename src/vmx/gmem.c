/*
 * gmem.c — see gmem.h.
 */
#include "gmem.h"

#include "guest_abi.h"

void gmem_layout(struct gmem *gm, uint8_t *base, uint64_t size)
{
	gm->base = base;
	gm->size = size;
	gm->low_size = size < SEAM_RAM_LOW_MAX ? size : SEAM_RAM_LOW_MAX;
}

uint64_t gmem_end(const struct gmem *gm)
{
	if (gm->size <= gm->low_size)
		return gm->low_size;
	return SEAM_RAM_HIGH_BASE + (gm->size - gm->low_size);
}

/* Offset into the memfd of [gpa, gpa+len), or -1. */
static int64_t gmem_offset(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t high = gm->size - gm->low_size;

	if (gpa + len < gpa)
		return -1;
	if (gpa + len <= gm->low_size)
		return (int64_t)gpa;
	if (gpa >= SEAM_RAM_HIGH_BASE && gpa - SEAM_RAM_HIGH_BASE <= high &&
	    len <= high - (gpa - SEAM_RAM_HIGH_BASE))
		return (int64_t)(gm->low_size + (gpa - SEAM_RAM_HIGH_BASE));
	return -1;
}

int gmem_contains(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	return gmem_offset(gm, gpa, len) >= 0;
}

void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	int64_t off = gmem_offset(gm, gpa, len);

	if (off < 0 || !gm->base)
		return NULL;
	return gm->base + off;
}
