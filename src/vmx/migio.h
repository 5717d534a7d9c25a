/*
 * migio.h — writing and reading the VM stream (migstream.h) on an fd: a
 * snapshot file or a migration's TCP connection. See migio.c.
 */
#ifndef SEAM_VMX_MIGIO_H
#define SEAM_VMX_MIGIO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "migstream.h"
#include "state.h"

/* How long one read or write may block on a socket (ms), and its env. */
#define MIG_IO_TIMEOUT_MS 30000
#define MIG_IO_TIMEOUT_ENV "SEAM_MIG_IO_TIMEOUT_MS"

struct mig_writer {
	int fd;
	uint64_t bytes;	     /* written so far */
	uint64_t cut_after;  /* tests: fail once this many bytes went (0: no) */
	uint64_t cut_offset; /* tests: fail in the first frame that reaches
				this RAM offset (0: no) */
	uint64_t pages;	     /* data pages written */
	uint64_t zero_pages;
};

struct mig_reader {
	int fd;
	struct mig_reader_pos pos;
	uint8_t *ram; /* guest RAM mapping (NULL: skip RAM payloads) */
	int ram_fd;   /* the memfd, for punching zero pages (-1: memset) */
	uint64_t bytes;
};

int mig_io_timeout_ms(void);
/*
 * Tests only: the value of a fault-injection variable, honoured only when
 * SEAM_VMX_TEST_FAULTS=1 (NULL otherwise). MIG_CUT_ENV (source): round1_10,
 * round1_50, switchover, before_go, after_confirm; MIG_DEST_ENV (destination):
 * die_final (the worker is killed once the last round is in).
 */
#define MIG_CUT_ENV "SEAM_VMX_TEST_MIG_CUT"
#define MIG_DEST_ENV "SEAM_VMX_TEST_MIG_DEST"
const char *mig_test_knob(const char *name);
/* Apply the I/O timeout to a socket (no-op on files). */
void mig_io_set_timeouts(int fd, int ms);

int mig_write_all(struct mig_writer *w, const void *buf, size_t len);
int mig_write_hello(struct mig_writer *w, const struct mig_hello *h);
int mig_write_bare(struct mig_writer *w, uint32_t type);
/*
 * Write the pages of ram (mem_bytes long) whose bit is set in bitmap
 * (every page when bitmap is NULL), zero pages as ZERO markers. With no
 * bitmap and ram_fd >= 0 (the memfd behind ram), holes of the memfd are
 * sent as markers without being read.
 */
int mig_write_ram(struct mig_writer *w, const uint8_t *ram, uint64_t mem_bytes,
		  const uint64_t *bitmap, int ram_fd);
/* The state, serialised with statefmt_write, as a STATE frame. */
int mig_write_state(struct mig_writer *w, const struct vmx_saved *s,
		    struct seam_err *e);

/* Read exactly len bytes; a short stream is -EPIPE ("truncated"). */
int mig_read_full(struct mig_reader *r, void *buf, size_t len, const char *what,
		  struct seam_err *e);
int mig_read_hello(struct mig_reader *r, struct mig_hello *h,
		   struct seam_err *e);
/* Read and validate one frame header. */
int mig_read_frame(struct mig_reader *r, struct mig_frame *f,
		   struct seam_err *e);
/*
 * Read frames up to and including END: RAM into r->ram, the state into s
 * (validated by statefmt_read, its host time rebased to this host's clock).
 */
int mig_read_stream(struct mig_reader *r, struct vmx_saved *s,
		    struct seam_err *e);

/* Live migration: the destination's answers (struct mig_reply). */
int mig_send_reply(int fd, uint32_t type, const char *reason);
int mig_recv_reply(int fd, struct mig_reply *m, struct seam_err *e);

#endif
