/*
 * boot.c — see boot.h.
 *
 * The page tables identity-map [0, end of RAM rounded up to 2 MiB) with
 * 2 MiB pages (present, writable, user): one PML4 entry, one PDPT entry per
 * GiB, and one PD page per GiB at SEAM_BOOT_PD. The hole between 3 and 4 GiB
 * is mapped too; nothing there is RAM, and the guest has no reason to touch
 * it. The GDT holds null, 64-bit code (0x08), data (0x10) and a 32-bit code
 * descriptor, the layout the PVH world also expects.
 */
#include "boot.h"

#include <errno.h>
#include <string.h>

#include "guest_abi.h"

#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_PS 0x80ULL
#define GIB (1ULL << 30)
#define MIB2 (2ULL << 20)

static const uint64_t boot_gdt[BOOT_GDT_ENTRIES] = {
	0x0000000000000000ULL, /* null */
	0x00af9b000000ffffULL, /* 0x08: 64-bit code, DPL 0, accessed */
	0x00cf93000000ffffULL, /* 0x10: data, DPL 0, accessed */
	0x00cf9b000000ffffULL, /* 0x18: 32-bit code */
};

unsigned int boot_memmap(const struct gmem *gm,
			 struct hvm_memmap_table_entry *map, unsigned int max)
{
	unsigned int n = 0;

	if (max < 4)
		return 0;
	memset(map, 0, sizeof(*map) * 4);
	map[n++] = (struct hvm_memmap_table_entry){
		.addr = 0, .size = 0xA0000, .type = HVM_MEMMAP_TYPE_RAM};
	map[n++] = (struct hvm_memmap_table_entry){
		.addr = 0xA0000, .size = 0x60000,
		.type = HVM_MEMMAP_TYPE_RESERVED};
	map[n++] = (struct hvm_memmap_table_entry){
		.addr = 0x100000, .size = gm->low_size - 0x100000,
		.type = HVM_MEMMAP_TYPE_RAM};
	if (gm->size > gm->low_size)
		map[n++] = (struct hvm_memmap_table_entry){
			.addr = SEAM_RAM_HIGH_BASE,
			.size = gm->size - gm->low_size,
			.type = HVM_MEMMAP_TYPE_RAM};
	return n;
}

static int boot_write_paging(const struct gmem *gm, struct seam_err *e)
{
	uint64_t end = (gmem_end(gm) + MIB2 - 1) & ~(MIB2 - 1);
	uint64_t gibs = (end + GIB - 1) / GIB;
	uint64_t *pml4, *pdpt, *pd;

	if (gibs > SEAM_BOOT_PD_PAGES)
		return err_set(e, E2BIG, "guest RAM ends at %#llx, beyond the "
			       "%d GiB the boot page tables map",
			       (unsigned long long)end, SEAM_BOOT_PD_PAGES);
	pml4 = gmem_ptr(gm, SEAM_BOOT_PML4, 4096);
	pdpt = gmem_ptr(gm, SEAM_BOOT_PDPT, 4096);
	pd = gmem_ptr(gm, SEAM_BOOT_PD, 4096 * SEAM_BOOT_PD_PAGES);
	if (!pml4 || !pdpt || !pd)
		return err_set(e, EINVAL, "boot page tables outside RAM");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	memset(pd, 0, 4096 * SEAM_BOOT_PD_PAGES);
	pml4[0] = SEAM_BOOT_PDPT | PTE_P | PTE_RW | PTE_US;
	for (uint64_t g = 0; g < gibs; g++)
		pdpt[g] = (SEAM_BOOT_PD + g * 4096) | PTE_P | PTE_RW | PTE_US;
	for (uint64_t a = 0; a < end; a += MIB2)
		pd[a / MIB2] = a | PTE_P | PTE_RW | PTE_US | PTE_PS;
	return 0;
}

static int boot_write_start_info(const struct gmem *gm, const char *cmdline,
				 struct seam_err *e)
{
	struct hvm_start_info *si;
	struct hvm_memmap_table_entry *map;
	size_t clen = strlen(cmdline);
	char *cl;

	if (clen >= SEAM_BOOT_CMDLINE_MAX)
		return err_set(e, E2BIG, "command line longer than %d bytes",
			       SEAM_BOOT_CMDLINE_MAX - 1);
	si = gmem_ptr(gm, SEAM_BOOT_START_INFO, sizeof(*si));
	map = gmem_ptr(gm, SEAM_BOOT_MEMMAP, 16 * sizeof(*map));
	cl = gmem_ptr(gm, SEAM_BOOT_CMDLINE, SEAM_BOOT_CMDLINE_MAX);
	if (!si || !map || !cl)
		return err_set(e, EINVAL, "boot structures outside RAM");
	memset(si, 0, sizeof(*si));
	si->magic = HVM_START_MAGIC;
	si->version = 1;
	si->cmdline_paddr = SEAM_BOOT_CMDLINE;
	si->memmap_paddr = SEAM_BOOT_MEMMAP;
	si->memmap_entries = boot_memmap(gm, map, 16);
	memset(cl, 0, SEAM_BOOT_CMDLINE_MAX);
	memcpy(cl, cmdline, clen);
	return 0;
}

int boot_write_tables(const struct gmem *gm, const char *cmdline,
		      struct seam_err *e)
{
	void *gdt = gmem_ptr(gm, SEAM_BOOT_GDT, sizeof(boot_gdt));
	int r;

	if (!gdt)
		return err_set(e, EINVAL, "boot GDT outside RAM");
	memcpy(gdt, boot_gdt, sizeof(boot_gdt));
	r = boot_write_paging(gm, e);
	if (r < 0)
		return r;
	return boot_write_start_info(gm, cmdline, e);
}

static void boot_segment(struct kvm_segment *seg, uint16_t sel, int code)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = sel;
	seg->type = code ? 0xb : 0x3; /* execute/read, accessed : rw, acc */
	seg->present = 1;
	seg->dpl = 0;
	seg->db = code ? 0 : 1;
	seg->s = 1;
	seg->l = code ? 1 : 0;
	seg->g = 1;
}

void boot_sregs(struct kvm_sregs *s, const struct boot_cpu *cpu)
{
	boot_segment(&s->cs, BOOT_SEL_CODE, 1);
	boot_segment(&s->ds, BOOT_SEL_DATA, 0);
	s->es = s->fs = s->gs = s->ss = s->ds;
	s->gdt.base = SEAM_BOOT_GDT;
	s->gdt.limit = sizeof(boot_gdt) - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = BOOT_CR0;
	s->cr3 = SEAM_BOOT_PML4;
	s->cr4 = BOOT_CR4_PAE | BOOT_CR4_OSFXSR | BOOT_CR4_OSXMMEXCPT;
	if (cpu->xsave)
		s->cr4 |= BOOT_CR4_OSXSAVE;
	s->efer = BOOT_EFER_LME | BOOT_EFER_LMA | BOOT_EFER_SCE;
	if (cpu->nx)
		s->efer |= BOOT_EFER_NXE;
}

void boot_regs(struct kvm_regs *r, uint64_t entry, unsigned int vcpu_index)
{
	memset(r, 0, sizeof(*r));
	r->rflags = 0x2;
	r->rip = entry;
	r->rbx = SEAM_BOOT_START_INFO;
	r->rsi = vcpu_index;
}
