/*
 * elfload.c — see elfload.h.
 *
 * Only what a statically linked kernel needs: PT_LOAD segments copied to
 * their p_paddr, the rest of each segment (memsz > filesz) zeroed, e_entry as
 * the 64-bit entry point. Everything else (notes, relocations, symbols) is
 * ignored. Arithmetic on file-supplied values is checked for overflow.
 */
#include "elfload.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int elf_check_header(const Elf64_Ehdr *eh, size_t len,
			    struct seam_err *e)
{
	if (len < SELFMAG || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return err_set(e, ENOEXEC, "not an ELF file");
	if (len < sizeof(*eh))
		return err_set(e, ENOEXEC, "truncated ELF header");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return err_set(e, ENOEXEC, "not a 64-bit ELF file");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return err_set(e, ENOEXEC, "not a little-endian ELF file");
	if (eh->e_machine != EM_X86_64)
		return err_set(e, ENOEXEC, "not an x86-64 ELF file "
			       "(e_machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return err_set(e, ENOEXEC, "not an ELF executable (e_type %u)",
			       eh->e_type);
	if (eh->e_phnum == 0)
		return err_set(e, ENOEXEC, "ELF file has no program headers");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return err_set(e, ENOEXEC, "ELF program header size %u",
			       eh->e_phentsize);
	if (eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return err_set(e, ENOEXEC, "truncated ELF program headers");
	return 0;
}

static int elf_check_segment(const Elf64_Phdr *ph, unsigned int i, size_t len,
			     const struct gmem *gm, struct seam_err *e)
{
	if (ph->p_filesz > ph->p_memsz)
		return err_set(e, ENOEXEC, "ELF segment %u: filesz > memsz", i);
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return err_set(e, ENOEXEC, "ELF segment %u: truncated file", i);
	if (ph->p_paddr < ELF_LOAD_MIN)
		return err_set(e, ENOEXEC, "ELF segment %u: loads at %#llx, "
			       "below 1 MiB", i,
			       (unsigned long long)ph->p_paddr);
	if (!gmem_contains(gm, ph->p_paddr, ph->p_memsz))
		return err_set(e, ENOEXEC, "ELF segment %u: [%#llx, +%#llx) "
			       "is outside guest RAM", i,
			       (unsigned long long)ph->p_paddr,
			       (unsigned long long)ph->p_memsz);
	return 0;
}

static int elf_in_segment(const Elf64_Phdr *ph, uint64_t addr)
{
	return addr >= ph->p_vaddr && addr - ph->p_vaddr < ph->p_memsz;
}

static void elf_copy_segment(const uint8_t *img, const Elf64_Phdr *ph,
			     const struct gmem *gm)
{
	uint8_t *dst = gmem_ptr(gm, ph->p_paddr, ph->p_memsz);

	if (!dst)
		return;
	memcpy(dst, img + ph->p_offset, ph->p_filesz);
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
}

int elf_load(const void *img, size_t len, const struct gmem *gm,
	     uint64_t *entry, struct seam_err *e)
{
	const Elf64_Ehdr *eh = img;
	const Elf64_Phdr *ph;
	unsigned int loads = 0;
	int entry_ok = 0, r;

	r = elf_check_header(eh, len, e);
	if (r < 0)
		return r;
	ph = (const Elf64_Phdr *)((const uint8_t *)img + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		r = elf_check_segment(&ph[i], i, len, gm, e);
		if (r < 0)
			return r;
		loads++;
		entry_ok |= elf_in_segment(&ph[i], eh->e_entry);
	}
	if (!loads)
		return err_set(e, ENOEXEC, "ELF file has no PT_LOAD segment");
	if (!entry_ok)
		return err_set(e, ENOEXEC, "ELF entry point %#llx is not in "
			       "a loaded segment",
			       (unsigned long long)eh->e_entry);
	for (unsigned int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			elf_copy_segment(img, &ph[i], gm);
	*entry = eh->e_entry;
	return 0;
}

int elf_read_file(const char *path, size_t max, void **img, size_t *len,
		  struct seam_err *e)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "--kernel: cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, EINVAL, "--kernel: '%s' is not a regular "
			       "file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return err_set(e, EFBIG, "--kernel: '%s' is larger than %zu "
			       "bytes", path, max);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return err_set(e, ENOMEM, "--kernel: out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			free(buf);
			close(fd);
			return err_set(e, EIO, "--kernel: cannot read '%s'",
				       path);
		}
		got += (size_t)n;
	}
	close(fd);
	*img = buf;
	*len = got;
	return 0;
}
