/*
 * migstream.h — the VM stream: guest RAM and state as framed, versioned
 * bytes. One format for two transports: a live migration's TCP stream
 * (issue 4) and a snapshot file (issue 3 item 4), so both ends and both
 * uses share one writer and one reader, and a snapshot is simply a
 * migration that went to a file.
 *
 * Layout (little-endian, as the structs are on x86-64):
 *
 *   hello    struct mig_hello: magic "SEAMVMST", format version, page size,
 *            guest RAM bytes, vCPU count, flags, the one-time token (NUL
 *            padded; empty in a snapshot file). Nothing else is read before
 *            the hello is valid and the token matches.
 *   frames   struct mig_frame, then `len` payload bytes:
 *              PAGES  npages pages of data for RAM offset `offset`
 *              ZERO   npages zero pages at `offset` (a marker, no payload)
 *              STATE  the FSR state file (statefmt.h), len bytes; `offset`
 *                     carries the writer's CLOCK_MONOTONIC at writing, so
 *                     the reader can rebase the saved host time
 *              END    the stream is complete (after exactly one STATE)
 *            RAM offsets are offsets into the guest-RAM memfd (gmem.h), not
 *            guest-physical addresses: page aligned and inside RAM. A page
 *            may come many times (pre-copy rounds); the last one wins.
 *
 * Live migration adds the destination's answers, struct mig_reply, on the
 * same connection: ACCEPT or REFUSE after the hello, READY once the state
 * is restored (vCPUs parked), RUNNING after the source's GO (a bare
 * frame), FAILED with a reason at any point. See migrate.c for the
 * protocol's commit point.
 *
 * mig_check_*() are pure: they validate a header against what the reader
 * knows, and say what is wrong in words. They are unit-tested
 * (tests/unit/test_vmx_migstream.c).
 */
#ifndef SEAM_VMX_MIGSTREAM_H
#define SEAM_VMX_MIGSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MIG_MAGIC "SEAMVMST"
#define MIG_VERSION 1
#define MIG_PAGE_SIZE 4096U
#define MIG_TOKEN_MAX 64
/* At most this many pages per PAGES frame (1 MiB of payload). */
#define MIG_FRAME_PAGES_MAX 256U
/* A STATE frame's payload (the state file) is at most this long. */
#define MIG_STATE_MAX (64U << 20)

/* Hello flags. */
#define MIG_HELLO_LIVE 1U /* a live migration (the reader must answer) */

struct mig_hello {
	char magic[8];
	uint32_t version;
	uint32_t page_size;
	uint64_t mem_bytes;
	uint32_t vcpus;
	uint32_t flags;
	char token[MIG_TOKEN_MAX];
};

enum mig_frame_type {
	MIG_FRAME_PAGES = 1,
	MIG_FRAME_ZERO = 2,
	MIG_FRAME_STATE = 3,
	MIG_FRAME_END = 4,
	MIG_FRAME_GO = 5, /* source → destination: run the VM (live only) */
};

struct mig_frame {
	uint32_t type;
	uint32_t npages;
	uint64_t offset;
	uint64_t len;
};

enum mig_reply_type {
	MIG_REPLY_ACCEPT = 1,
	MIG_REPLY_REFUSE,
	MIG_REPLY_READY,
	MIG_REPLY_RUNNING,
	MIG_REPLY_FAILED,
};

struct mig_reply {
	uint32_t type;
	uint32_t reserved;
	char reason[248];
};

/* Where a reader is in the stream: what the next frame may be. */
struct mig_reader_pos {
	uint64_t mem_bytes;
	int live;      /* the hello said MIG_HELLO_LIVE */
	int got_state; /* a STATE frame was seen */
	int got_end;   /* END was seen: nothing more may come but GO */
};

/* Fill a hello for mem_bytes/vcpus; token may be NULL (a snapshot). */
void mig_hello_init(struct mig_hello *h, uint64_t mem_bytes, uint32_t vcpus,
		    const char *token, uint32_t flags);
/*
 * Validate a received hello: magic, version, page size, RAM size (a
 * multiple of 2 MiB within seam-vmx's limits), vCPU count, a NUL in the
 * token. Returns -EPROTO (not a stream or an unknown version) or -EINVAL.
 */
int mig_check_hello(const struct mig_hello *h, struct seam_err *e);
/* Whether the hello's token is `token` (constant time in its length). */
int mig_token_matches(const struct mig_hello *h, const char *token);
/* Validate one frame header at position p, then advance p. */
int mig_check_frame(const struct mig_frame *f, struct mig_reader_pos *p,
		    struct seam_err *e);
/* Name of a frame type for messages ("PAGES", ... or "unknown"). */
const char *mig_frame_name(uint32_t type);

#endif
