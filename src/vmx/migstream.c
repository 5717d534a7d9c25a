/*
 * migstream.c — validating the VM stream's headers (see migstream.h).
 *
 * Every check a reader makes before a byte reaches guest RAM lives here,
 * free of I/O, so that a malformed hello or frame is refused the same way
 * from a file and from a socket, and the unit tests can feed it anything.
 * A frame is checked against the reader's position: which frames may come
 * next (nothing after END but GO, one STATE) and the RAM they may touch.
 */
#include "migstream.h"

#include <errno.h>
#include <string.h>

#include "vmx.h"

static const char *const mig_frame_names[] = {"?",     "PAGES", "ZERO",
					      "STATE", "END",	"GO"};

const char *mig_frame_name(uint32_t type)
{
	if (type == 0 || type > MIG_FRAME_GO)
		return "unknown";
	return mig_frame_names[type];
}

void mig_hello_init(struct mig_hello *h, uint64_t mem_bytes, uint32_t vcpus,
		    const char *token, uint32_t flags)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, MIG_MAGIC, sizeof(h->magic));
	h->version = MIG_VERSION;
	h->page_size = MIG_PAGE_SIZE;
	h->mem_bytes = mem_bytes;
	h->vcpus = vcpus;
	h->flags = flags;
	if (token)
		strncpy(h->token, token, sizeof(h->token) - 1);
}

int mig_check_hello(const struct mig_hello *h, struct seam_err *e)
{
	if (memcmp(h->magic, MIG_MAGIC, sizeof(h->magic)) != 0)
		return err_set(e, EPROTO,
			       "bad magic: not a seam-vmx VM stream or "
			       "snapshot");
	if (h->version != MIG_VERSION)
		return err_set(e, EPROTO,
			       "unknown stream version %u (this binary reads "
			       "version %u)",
			       h->version, MIG_VERSION);
	if (h->page_size != MIG_PAGE_SIZE)
		return err_set(e, EINVAL, "hello: page size %u, expected %u",
			       h->page_size, MIG_PAGE_SIZE);
	if (h->mem_bytes < VMX_MEM_MIN || h->mem_bytes > VMX_MEM_MAX ||
	    h->mem_bytes % VMX_MEM_ALIGN)
		return err_set(e, EINVAL,
			       "hello: guest RAM size %llu bytes is not a "
			       "multiple of 2 MiB from %llu MiB to %llu MiB",
			       (unsigned long long)h->mem_bytes,
			       VMX_MEM_MIN >> 20, VMX_MEM_MAX >> 20);
	if (h->vcpus < 1 || h->vcpus > VMX_VCPUS_MAX)
		return err_set(e, EINVAL, "hello: %u vCPUs (1 to %d)", h->vcpus,
			       VMX_VCPUS_MAX);
	if (h->flags & ~MIG_HELLO_LIVE)
		return err_set(e, EINVAL, "hello: unknown flags %#x", h->flags);
	if (!memchr(h->token, '\0', sizeof(h->token)))
		return err_set(e, EINVAL, "hello: token not terminated");
	return 0;
}

int mig_token_matches(const struct mig_hello *h, const char *token)
{
	size_t n = strlen(token);
	unsigned char diff = 0;

	if (n >= sizeof(h->token) || strnlen(h->token, sizeof(h->token)) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(h->token[i] ^ token[i]);
	return diff == 0;
}

static int mig_check_ram(const struct mig_frame *f,
			 const struct mig_reader_pos *p, struct seam_err *e)
{
	const char *name = mig_frame_name(f->type);

	if (f->npages == 0)
		return err_set(e, EINVAL, "%s frame: no pages", name);
	if (f->offset % MIG_PAGE_SIZE)
		return err_set(e, EINVAL,
			       "%s frame: offset %#llx is not page aligned",
			       name, (unsigned long long)f->offset);
	if (f->offset >= p->mem_bytes ||
	    (uint64_t)f->npages * MIG_PAGE_SIZE > p->mem_bytes - f->offset)
		return err_set(e, ERANGE,
			       "%s frame: %u pages at %#llx go past the end of "
			       "guest RAM (%llu bytes)",
			       name, f->npages, (unsigned long long)f->offset,
			       (unsigned long long)p->mem_bytes);
	if (p->got_state)
		return err_set(e, EPROTO, "%s frame after the state", name);
	return 0;
}

static int mig_check_pages(const struct mig_frame *f,
			   const struct mig_reader_pos *p, struct seam_err *e)
{
	if (f->npages > MIG_FRAME_PAGES_MAX)
		return err_set(e, EINVAL,
			       "PAGES frame: %u pages (at most %u per frame)",
			       f->npages, MIG_FRAME_PAGES_MAX);
	if (f->len != (uint64_t)f->npages * MIG_PAGE_SIZE)
		return err_set(e, EINVAL,
			       "PAGES frame: %llu payload bytes for %u pages",
			       (unsigned long long)f->len, f->npages);
	return mig_check_ram(f, p, e);
}

static int mig_check_zero(const struct mig_frame *f,
			  const struct mig_reader_pos *p, struct seam_err *e)
{
	if (f->len != 0)
		return err_set(e, EINVAL, "ZERO frame with %llu payload bytes",
			       (unsigned long long)f->len);
	return mig_check_ram(f, p, e);
}

static int mig_check_state(const struct mig_frame *f,
			   const struct mig_reader_pos *p, struct seam_err *e)
{
	if (p->got_state)
		return err_set(e, EPROTO, "a second STATE frame");
	if (f->npages != 0)
		return err_set(e, EINVAL, "STATE frame: npages must be 0");
	if (f->len == 0 || f->len > MIG_STATE_MAX)
		return err_set(e, EINVAL, "STATE frame: %llu bytes (1 to %u)",
			       (unsigned long long)f->len, MIG_STATE_MAX);
	return 0;
}

static int mig_check_bare(const struct mig_frame *f, struct seam_err *e)
{
	if (f->npages || f->offset || f->len)
		return err_set(e, EINVAL, "%s frame with arguments",
			       mig_frame_name(f->type));
	return 0;
}

int mig_check_frame(const struct mig_frame *f, struct mig_reader_pos *p,
		    struct seam_err *e)
{
	int r;

	if (p->got_end && !(p->live && f->type == MIG_FRAME_GO))
		return err_set(e, EPROTO, "%s frame after END",
			       mig_frame_name(f->type));
	switch (f->type) {
	case MIG_FRAME_PAGES:
		return mig_check_pages(f, p, e);
	case MIG_FRAME_ZERO:
		return mig_check_zero(f, p, e);
	case MIG_FRAME_STATE:
		r = mig_check_state(f, p, e);
		p->got_state |= r == 0;
		return r;
	case MIG_FRAME_END:
		r = mig_check_bare(f, e);
		if (r == 0 && !p->got_state)
			r = err_set(e, EPROTO, "END frame before the state");
		p->got_end |= r == 0;
		return r;
	case MIG_FRAME_GO:
		r = mig_check_bare(f, e);
		if (r == 0 && !(p->live && p->got_end))
			r = err_set(e, EPROTO, "GO frame before END");
		return r;
	default:
		return err_set(e, EPROTO, "unknown frame type %u", f->type);
	}
}
