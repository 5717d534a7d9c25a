/*
 * statefmt.c — see statefmt.h.
 *
 * The payload of most sections is the in-memory struct itself: the file is
 * made and read by builds of this source on the same host (FSR, snapshot),
 * the kernel structures are a stable ABI, and the exact-length check per
 * section version catches any layout change. Should a struct change, its
 * section version goes up and the old version keeps a decoder here.
 *
 * Validation mirrors what KVM checks (or would choke on) so that a bad
 * state fails here, with words, before the first ioctl.
 */
#include "statefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

struct statefmt_header {
	char magic[8];
	uint32_t version;
	uint32_t nsections;
	uint64_t total;
	uint64_t reserved;
};

struct statefmt_shdr {
	uint32_t id;
	uint16_t version;
	uint16_t flags;
	uint32_t index;
	uint32_t length;
};

struct statefmt_book_v1 {
	struct vmx_book book;
	uint32_t paused;
	uint32_t tsc_khz;
};

struct statefmt_control_hdr_v1 {
	uint32_t nconns;
	int32_t requester;
};

/* ---- writing ------------------------------------------------------------ */

struct statefmt_out {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nsections;
};

static int statefmt_reserve(struct statefmt_out *o, size_t n)
{
	if (o->len + n <= o->cap)
		return 0;
	while (o->cap < o->len + n)
		o->cap = o->cap ? o->cap * 2 : 65536;
	o->buf = realloc(o->buf, o->cap);
	return o->buf ? 0 : -ENOMEM;
}

static int statefmt_put(struct statefmt_out *o, uint32_t id, uint32_t index,
			const void *a, size_t alen, const void *b, size_t blen)
{
	struct statefmt_shdr h = {.id = id, .version = 1,
				  .flags = STATEFMT_MANDATORY, .index = index,
				  .length = (uint32_t)(alen + blen)};
	size_t pad = (8 - (alen + blen) % 8) % 8;

	if (statefmt_reserve(o, sizeof(h) + alen + blen + pad) < 0)
		return -ENOMEM;
	memcpy(o->buf + o->len, &h, sizeof(h));
	o->len += sizeof(h);
	memcpy(o->buf + o->len, a, alen);
	o->len += alen;
	if (blen)
		memcpy(o->buf + o->len, b, blen);
	o->len += blen;
	memset(o->buf + o->len, 0, pad);
	o->len += pad;
	o->nsections++;
	return 0;
}

static int statefmt_put_control(struct statefmt_out *o,
				const struct vmx_saved *s)
{
	struct statefmt_control_hdr_v1 h = {.nconns = s->nconns,
					    .requester = s->requester};
	size_t n = sizeof(h);
	uint8_t *tmp;
	int r;

	for (uint32_t i = 0; i < s->nconns; i++)
		n += 4 + s->conn[i].len;
	tmp = malloc(n);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, &h, sizeof(h));
	n = sizeof(h);
	for (uint32_t i = 0; i < s->nconns; i++) {
		memcpy(tmp + n, &s->conn[i].len, 4);
		memcpy(tmp + n + 4, s->conn[i].data, s->conn[i].len);
		n += 4 + s->conn[i].len;
	}
	r = statefmt_put(o, STATEFMT_CONTROL, 0, tmp, n, NULL, 0);
	free(tmp);
	return r;
}

int statefmt_write(const struct vmx_saved *s, uint8_t **buf, size_t *len,
		   struct seam_err *e)
{
	struct statefmt_out o = {0};
	struct statefmt_header h = {.version = STATEFMT_VERSION};
	struct statefmt_book_v1 book = {.book = s->book, .paused = s->paused,
					.tsc_khz = s->tsc_khz};
	int r;

	if (statefmt_reserve(&o, sizeof(h)) < 0)
		return err_set(e, ENOMEM, "state: out of memory");
	o.len = sizeof(h);
	r = statefmt_put(&o, STATEFMT_BOOK, 0, &book, sizeof(book), NULL, 0);
	if (!r)
		r = statefmt_put(&o, STATEFMT_CPUID, 0, &s->cpuid.hdr,
				 sizeof(s->cpuid.hdr), s->cpuid.e,
				 s->cpuid.hdr.nent * sizeof(s->cpuid.e[0]));
	if (!r)
		r = statefmt_put(&o, STATEFMT_VM, 0, &s->vm, sizeof(s->vm),
				 NULL, 0);
	if (!r)
		r = statefmt_put(&o, STATEFMT_DEV, 0, &s->dev, sizeof(s->dev),
				 NULL, 0);
	for (uint32_t i = 0; !r && i < s->book.cfg.vcpus; i++)
		r = statefmt_put(&o, STATEFMT_VCPU, i, &s->vcpu[i],
				 sizeof(s->vcpu[i]), NULL, 0);
	if (!r)
		r = statefmt_put_control(&o, s);
	if (!r && s->test_unknown_section)
		r = statefmt_put(&o, STATEFMT_TEST_UNKNOWN, 0, "test", 4, NULL,
				 0);
	if (r < 0) {
		free(o.buf);
		return err_set(e, ENOMEM, "state: out of memory");
	}
	memcpy(h.magic, STATEFMT_MAGIC, 8);
	h.nsections = o.nsections;
	h.total = o.len;
	memcpy(o.buf, &h, sizeof(h));
	*buf = o.buf;
	*len = o.len;
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

struct statefmt_seen {
	int book, cpuid, vm, dev, control;
	int vcpu[VMX_VCPUS_MAX];
};

#define BAD(sec, ...) err_set(e, EINVAL, "state section '" sec "': " __VA_ARGS__)

static int statefmt_check_book(const struct vmx_saved *s, struct seam_err *e)
{
	const struct vmx_config *c = &s->book.cfg;

	if (!memchr(c->name, 0, sizeof(c->name)) || !c->name[0])
		return BAD("book", "field 'name' is not a string");
	if (!memchr(c->kernel, 0, sizeof(c->kernel)) ||
	    !memchr(c->cmdline, 0, sizeof(c->cmdline)) ||
	    !memchr(c->serial_log, 0, sizeof(c->serial_log)) ||
	    !memchr(c->control, 0, sizeof(c->control)))
		return BAD("book", "a path field is not a string");
	if (c->vcpus < 1 || c->vcpus > VMX_VCPUS_MAX)
		return BAD("book", "field 'vcpus' is %u", c->vcpus);
	if (c->mem_bytes < VMX_MEM_MIN || c->mem_bytes > VMX_MEM_MAX ||
	    c->mem_bytes % VMX_MEM_ALIGN)
		return BAD("book", "field 'mem_bytes' is %llu",
			   (unsigned long long)c->mem_bytes);
	if (s->paused > 1)
		return BAD("book", "field 'paused' is %u", s->paused);
	return 0;
}

static int statefmt_check_sregs(const struct kvm_sregs *r, unsigned int i,
				struct seam_err *e)
{
	if ((r->cr0 & 0x80000000ULL) && !(r->cr0 & 1))
		return BAD("vcpu", "vCPU %u field 'sregs.cr0': PG without PE",
			   i);
	if ((r->efer & (1ULL << 10)) &&
	    (!(r->efer & (1ULL << 8)) || !(r->cr0 & 0x80000000ULL) ||
	     !(r->cr4 & (1ULL << 5))))
		return BAD("vcpu", "vCPU %u field 'sregs.efer': long mode "
			   "active without LME, paging and PAE", i);
	if (r->cr0 >> 32)
		return BAD("vcpu", "vCPU %u field 'sregs.cr0': reserved bits",
			   i);
	return 0;
}

static int statefmt_check_vcpu(const struct vmx_vcpu_state *v, unsigned int i,
			       struct seam_err *e)
{
	if (v->mp_state.mp_state > KVM_MP_STATE_SIPI_RECEIVED + 5)
		return BAD("vcpu", "vCPU %u field 'mp_state' is %u", i,
			   v->mp_state.mp_state);
	if (v->msrs.hdr.nmsrs > VMX_MSRS_MAX)
		return BAD("vcpu", "vCPU %u field 'msrs.nmsrs' is %u", i,
			   v->msrs.hdr.nmsrs);
	if (v->xcrs.nr_xcrs > KVM_MAX_XCRS)
		return BAD("vcpu", "vCPU %u field 'xcrs.nr_xcrs' is %u", i,
			   v->xcrs.nr_xcrs);
	if (v->events.exception.injected > 1 ||
	    v->events.exception.nr >= 32)
		return BAD("vcpu", "vCPU %u field 'events.exception'", i);
	if (v->events.interrupt.injected > 1 || v->events.nmi.injected > 1 ||
	    v->events.nmi.pending > 1)
		return BAD("vcpu", "vCPU %u field 'events.interrupt/nmi'", i);
	if (v->debugregs.flags)
		return BAD("vcpu", "vCPU %u field 'debugregs.flags'", i);
	return statefmt_check_sregs(&v->sregs, i, e);
}

static int statefmt_check_vm(const struct vmx_vm_state *v, struct seam_err *e)
{
	if (v->pic_master.chip_id != KVM_IRQCHIP_PIC_MASTER)
		return BAD("vm", "field 'pic_master.chip_id' is %u",
			   v->pic_master.chip_id);
	if (v->pic_slave.chip_id != KVM_IRQCHIP_PIC_SLAVE)
		return BAD("vm", "field 'pic_slave.chip_id' is %u",
			   v->pic_slave.chip_id);
	if (v->ioapic.chip_id != KVM_IRQCHIP_IOAPIC)
		return BAD("vm", "field 'ioapic.chip_id' is %u",
			   v->ioapic.chip_id);
	for (int c = 0; c < 3; c++)
		if (v->pit.channels[c].mode > 5 &&
		    v->pit.channels[c].mode != 0xff) /* unused */
			return BAD("vm", "field 'pit.channels[%d].mode' is %u",
				   c, v->pit.channels[c].mode);
	return 0;
}

static int statefmt_check_dev(const struct vmx_dev_state *d,
			      struct seam_err *e)
{
	if (d->uart.line_len > UART_LINE_MAX)
		return BAD("dev", "field 'uart.line_len' is %u",
			   d->uart.line_len);
	if (d->pv.version_idx > 256)
		return BAD("dev", "field 'pv.version_idx' is %u",
			   d->pv.version_idx);
	return 0;
}

static int statefmt_read_cpuid(const uint8_t *p, uint32_t len,
			       struct vmx_saved *s, struct seam_err *e)
{
	struct kvm_cpuid2 hdr;

	if (len < sizeof(hdr))
		return BAD("cpuid", "short (%u bytes)", len);
	memcpy(&hdr, p, sizeof(hdr));
	if (hdr.nent > CPUID_MAX_ENTRIES)
		return BAD("cpuid", "field 'nent' is %u", hdr.nent);
	if (len != sizeof(hdr) + hdr.nent * sizeof(s->cpuid.e[0]))
		return BAD("cpuid", "length %u does not match %u entries", len,
			   hdr.nent);
	s->cpuid.hdr = hdr;
	memcpy(s->cpuid.e, p + sizeof(hdr), hdr.nent * sizeof(s->cpuid.e[0]));
	return 0;
}

static int statefmt_read_control(const uint8_t *p, uint32_t len,
				 struct vmx_saved *s, struct seam_err *e)
{
	struct statefmt_control_hdr_v1 h;
	size_t off = sizeof(h);

	if (len < sizeof(h))
		return BAD("control", "short (%u bytes)", len);
	memcpy(&h, p, sizeof(h));
	if (h.nconns > VMX_PROTO_CLIENTS_MAX)
		return BAD("control", "field 'nconns' is %u", h.nconns);
	if (h.requester < -1 || h.requester >= (int32_t)h.nconns)
		return BAD("control", "field 'requester' is %d", h.requester);
	s->nconns = h.nconns;
	s->requester = h.requester;
	for (uint32_t i = 0; i < h.nconns; i++) {
		uint32_t n;
		if (len - off < 4)
			return BAD("control", "short (connection %u)", i);
		memcpy(&n, p + off, 4);
		if (n > VMX_PROTO_LINE_MAX || len - off - 4 < n)
			return BAD("control", "field 'conn[%u].len' is %u", i,
				   n);
		s->conn[i].len = n;
		memcpy(s->conn[i].data, p + off + 4, n);
		off += 4 + n;
	}
	if (off != len)
		return BAD("control", "%zu bytes left over", len - off);
	return 0;
}

static int statefmt_exact(const char *name, uint32_t len, size_t want,
			  struct seam_err *e)
{
	if (len != want)
		return err_set(e, EINVAL, "state section '%s': %s (%u bytes, "
			       "want %zu)", name, len < want ? "short" :
			       "oversized", len, want);
	return 0;
}

static int statefmt_dup(int *seen, const char *name, struct seam_err *e)
{
	if ((*seen)++)
		return err_set(e, EINVAL, "state section '%s' appears twice",
			       name);
	return 0;
}

static int statefmt_section(const struct statefmt_shdr *h, const uint8_t *p,
			    struct vmx_saved *s, struct statefmt_seen *seen,
			    struct seam_err *e)
{
	struct statefmt_book_v1 book;
	int r;

	if (h->version != 1 && h->id >= STATEFMT_BOOK &&
	    h->id <= STATEFMT_CONTROL)
		return err_set(e, EINVAL, "state section %u: version %u "
			       "unknown", h->id, h->version);
	switch (h->id) {
	case STATEFMT_BOOK:
		if ((r = statefmt_dup(&seen->book, "book", e)) < 0 ||
		    (r = statefmt_exact("book", h->length, sizeof(book), e)) < 0)
			return r;
		memcpy(&book, p, sizeof(book));
		s->book = book.book;
		s->paused = book.paused;
		s->tsc_khz = book.tsc_khz;
		return statefmt_check_book(s, e);
	case STATEFMT_CPUID:
		if ((r = statefmt_dup(&seen->cpuid, "cpuid", e)) < 0)
			return r;
		return statefmt_read_cpuid(p, h->length, s, e);
	case STATEFMT_VM:
		if ((r = statefmt_dup(&seen->vm, "vm", e)) < 0 ||
		    (r = statefmt_exact("vm", h->length, sizeof(s->vm), e)) < 0)
			return r;
		memcpy(&s->vm, p, sizeof(s->vm));
		return statefmt_check_vm(&s->vm, e);
	case STATEFMT_DEV:
		if ((r = statefmt_dup(&seen->dev, "dev", e)) < 0 ||
		    (r = statefmt_exact("dev", h->length, sizeof(s->dev), e)) <
			    0)
			return r;
		memcpy(&s->dev, p, sizeof(s->dev));
		return statefmt_check_dev(&s->dev, e);
	case STATEFMT_VCPU:
		if (h->index >= VMX_VCPUS_MAX)
			return err_set(e, EINVAL, "state section 'vcpu': "
				       "field 'index' is %u", h->index);
		if ((r = statefmt_dup(&seen->vcpu[h->index], "vcpu", e)) < 0 ||
		    (r = statefmt_exact("vcpu", h->length,
					sizeof(s->vcpu[0]), e)) < 0)
			return r;
		memcpy(&s->vcpu[h->index], p, sizeof(s->vcpu[0]));
		return statefmt_check_vcpu(&s->vcpu[h->index], h->index, e);
	case STATEFMT_CONTROL:
		if ((r = statefmt_dup(&seen->control, "control", e)) < 0)
			return r;
		return statefmt_read_control(p, h->length, s, e);
	default:
		if (h->flags & STATEFMT_MANDATORY)
			return err_set(e, EINVAL, "state section %u (version "
				       "%u) is unknown and mandatory", h->id,
				       h->version);
		return 0; /* optional and unknown: skipped */
	}
}

static int statefmt_complete(const struct vmx_saved *s,
			     const struct statefmt_seen *seen,
			     struct seam_err *e)
{
	if (!seen->book)
		return err_set(e, EINVAL, "state section 'book' is missing");
	if (!seen->cpuid)
		return err_set(e, EINVAL, "state section 'cpuid' is missing");
	if (!seen->vm)
		return err_set(e, EINVAL, "state section 'vm' is missing");
	if (!seen->dev)
		return err_set(e, EINVAL, "state section 'dev' is missing");
	for (unsigned int i = 0; i < VMX_VCPUS_MAX; i++) {
		if (i < s->book.cfg.vcpus && !seen->vcpu[i])
			return err_set(e, EINVAL, "state section 'vcpu' %u is "
				       "missing", i);
		if (i >= s->book.cfg.vcpus && seen->vcpu[i])
			return err_set(e, EINVAL, "state section 'vcpu' %u is "
				       "beyond the VM's %u vCPUs", i,
				       s->book.cfg.vcpus);
	}
	return 0;
}

int statefmt_read(const uint8_t *buf, size_t len, struct vmx_saved *s,
		  struct seam_err *e)
{
	struct statefmt_header h;
	struct statefmt_seen seen;
	size_t off = sizeof(h);
	int r;

	memset(s, 0, sizeof(*s));
	memset(&seen, 0, sizeof(seen));
	s->requester = -1;
	if (len < sizeof(h))
		return err_set(e, EINVAL, "state: truncated header (%zu "
			       "bytes)", len);
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, STATEFMT_MAGIC, 8) != 0)
		return err_set(e, EINVAL, "state: bad magic (not a seam-vmx "
			       "state)");
	if (h.version < 1 || h.version > STATEFMT_VERSION)
		return err_set(e, EINVAL, "state: format version %u unknown "
			       "(this binary reads 1 to %d)", h.version,
			       STATEFMT_VERSION);
	if (h.total != len)
		return err_set(e, EINVAL, "state: header says %llu bytes, "
			       "have %zu (truncated?)",
			       (unsigned long long)h.total, len);
	for (uint32_t i = 0; i < h.nsections; i++) {
		struct statefmt_shdr sh;
		size_t padded;

		if (len - off < sizeof(sh))
			return err_set(e, EINVAL, "state: section %u header "
				       "truncated", i);
		memcpy(&sh, buf + off, sizeof(sh));
		off += sizeof(sh);
		padded = ((size_t)sh.length + 7) & ~(size_t)7;
		if (len - off < padded)
			return err_set(e, EINVAL, "state: section %u (id %u) "
				       "runs past the end", i, sh.id);
		r = statefmt_section(&sh, buf + off, s, &seen, e);
		if (r < 0)
			return r;
		off += padded;
	}
	if (off != len)
		return err_set(e, EINVAL, "state: %zu bytes after the last "
			       "section", len - off);
	return statefmt_complete(s, &seen, e);
}
