/*
 * boot.h — what the guest learns at boot from struct hvm_start_info.
 *
 * Both entries hand over a PVH start structure: the command line and an
 * E820-style memory map. boot_read() copies what the guest needs (it runs in
 * user mode; the identity map makes the structure readable there).
 * boot_alloc() hands out workload memory from the RAM ranges, upwards from
 * BOOT_ALLOC_BASE (16 MiB, well above the image and its stacks), never past
 * what the page tables map.
 */
#ifndef GUEST_BOOT_H
#define GUEST_BOOT_H

#include <stdint.h>

#include "guest_abi.h"

#define BOOT_MAX_RAM 32
#define BOOT_ALLOC_BASE ((uint64_t)16 << 20)

struct boot_range {
	uint64_t base;
	uint64_t size;
};

struct boot_info {
	int valid; /* the start structure had the right magic */
	char cmdline[SEAM_BOOT_CMDLINE_MAX];
	uint64_t ram_bytes; /* all RAM in the map */
	struct boot_range ram[BOOT_MAX_RAM];
	unsigned int nram;
	uint64_t map_limit;  /* first address the page tables do not map */
	uint64_t alloc_next; /* boot_alloc's cursor */
};

void boot_read(struct boot_info *b, uint64_t start_info, int pvh);
uint64_t boot_alloc(struct boot_info *b, uint64_t size);
uint64_t boot_largest_free(const struct boot_info *b);

#endif
