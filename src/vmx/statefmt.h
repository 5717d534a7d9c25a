/*
 * statefmt.h — the state file: struct vmx_saved as bytes, and back.
 *
 * Layout (all little-endian, as the structs are on x86-64):
 *   header   magic "SEAMVMXS", u32 format version, u32 section count,
 *            u64 total length (header included), u64 reserved (0)
 *   section  u32 id, u16 version, u16 flags (bit 0: mandatory),
 *            u32 index (the vCPU for vCPU sections, else 0), u32 length,
 *            then length bytes, padded with zeros to 8 bytes
 * Sections: BOOK (configuration and bookkeeping), CPUID, VM (PIC, IOAPIC,
 * PIT, KVM clock, host time at save), DEV (UART, PV ports), VCPU (one per
 * vCPU), CONTROL (open control connections' unread bytes). Each known
 * (id, version) has one exact length; a reader refuses a short or
 * oversized section, an unknown mandatory one, a duplicate, a missing one,
 * and any field KVM would reject, naming the section and the field.
 * Optional sections it does not know are skipped. A binary keeps reading
 * every older version of a section it knows (statefmt.c, one decoder per
 * version); only version 1 exists so far.
 */
#ifndef SEAM_VMX_STATEFMT_H
#define SEAM_VMX_STATEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "state.h"

#define STATEFMT_MAGIC "SEAMVMXS"
#define STATEFMT_VERSION 1

enum statefmt_section {
	STATEFMT_BOOK = 1,
	STATEFMT_CPUID = 2,
	STATEFMT_VM = 3,
	STATEFMT_DEV = 4,
	STATEFMT_VCPU = 5,
	STATEFMT_CONTROL = 6,
	STATEFMT_TEST_UNKNOWN = 0x7ffe, /* written only on a test's request */
};

#define STATEFMT_MANDATORY 1

/* Serialise s into a malloc'd buffer. */
int statefmt_write(const struct vmx_saved *s, uint8_t **buf, size_t *len,
		   struct seam_err *e);
/* Parse and validate buf into s (fully overwritten). */
int statefmt_read(const uint8_t *buf, size_t len, struct vmx_saved *s,
		  struct seam_err *e);

#endif
