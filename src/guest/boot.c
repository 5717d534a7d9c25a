/*
 * boot.c — see boot.h. The start structure and everything it points to are
 * trusted only as far as their sizes: the command line is copied up to its
 * buffer, the map up to BOOT_MAX_RAM RAM entries.
 */
#include "boot.h"

#define BOOT_PAGE 4096ULL

static void boot_copy_cmdline(struct boot_info *b, uint64_t paddr)
{
	const char *s = (const char *)(uintptr_t)paddr;
	unsigned int i;

	b->cmdline[0] = '\0';
	if (!paddr || paddr >= b->map_limit)
		return;
	for (i = 0; i + 1 < sizeof(b->cmdline) && s[i]; i++)
		b->cmdline[i] = s[i];
	b->cmdline[i] = '\0';
}

static void boot_read_map(struct boot_info *b, const struct hvm_start_info *si)
{
	const struct hvm_memmap_table_entry *e;
	uint32_t i;

	if (si->version < 1 || !si->memmap_paddr ||
	    si->memmap_paddr >= b->map_limit)
		return;
	e = (const struct hvm_memmap_table_entry *)(uintptr_t)si->memmap_paddr;
	for (i = 0; i < si->memmap_entries && i < 128; i++) {
		if (e[i].type != HVM_MEMMAP_TYPE_RAM)
			continue;
		b->ram_bytes += e[i].size;
		if (b->nram < BOOT_MAX_RAM) {
			b->ram[b->nram].base = e[i].addr;
			b->ram[b->nram].size = e[i].size;
			b->nram++;
		}
	}
}

void boot_read(struct boot_info *b, uint64_t start_info, int pvh)
{
	const struct hvm_start_info *si;

	b->valid = 0;
	b->ram_bytes = 0;
	b->nram = 0;
	b->cmdline[0] = '\0';
	/* pvh.S maps 4 GiB; seam-vmx's tables map every byte of RAM. */
	b->map_limit = pvh ? 1ULL << 32 : ~0ULL;
	b->alloc_next = BOOT_ALLOC_BASE;
	if (!start_info || start_info >= (1ULL << 32))
		return;
	si = (const struct hvm_start_info *)(uintptr_t)start_info;
	if (si->magic != HVM_START_MAGIC)
		return;
	b->valid = 1;
	boot_copy_cmdline(b, si->cmdline_paddr);
	boot_read_map(b, si);
}

/* Where a block of size could start in range r, or 0 if it cannot. */
static uint64_t boot_fit(const struct boot_info *b, const struct boot_range *r,
			 uint64_t size)
{
	uint64_t start = r->base > b->alloc_next ? r->base : b->alloc_next;
	uint64_t end = r->base + r->size;

	start = (start + BOOT_PAGE - 1) & ~(BOOT_PAGE - 1);
	if (end > b->map_limit)
		end = b->map_limit;
	if (start >= end || end - start < size)
		return 0;
	return start;
}

uint64_t boot_alloc(struct boot_info *b, uint64_t size)
{
	uint64_t best = 0, s;
	unsigned int i;

	for (i = 0; i < b->nram; i++) {
		s = boot_fit(b, &b->ram[i], size);
		if (s && (!best || s < best))
			best = s;
	}
	if (best)
		b->alloc_next = best + size;
	return best;
}

uint64_t boot_largest_free(const struct boot_info *b)
{
	uint64_t best = 0, start, end;
	unsigned int i;

	for (i = 0; i < b->nram; i++) {
		start = boot_fit(b, &b->ram[i], 0);
		end = b->ram[i].base + b->ram[i].size;
		if (end > b->map_limit)
			end = b->map_limit;
		if (start && end - start > best)
			best = end - start;
	}
	return best;
}
