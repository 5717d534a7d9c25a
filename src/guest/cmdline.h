/*
 * cmdline.h — the guest's command line, e.g. "heartbeat=10,verify=32".
 *
 * Words are separated by commas or white space; each is KEY=NUMBER with a
 * decimal number from 1 to 2^31 - 1. A key seen twice takes its last value.
 * Pure C (no guest state), so the unit tests build it for the host.
 */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

struct guest_opts {
	uint32_t heartbeat_ms;	  /* 0 = off */
	uint32_t verify_mb;	  /* 0 = off */
	uint32_t dirty_mbps;	  /* 0 = off (MiB/s) */
	uint32_t dirty_mb;	  /* 0 = default */
	uint32_t shutdown_ms;	  /* 0 = never */
	uint32_t triple_fault_ms; /* 0 = never */
	uint32_t panic_ms;	  /* 0 = never */
	uint32_t fault_ms;	  /* 0 = never */
	uint32_t hz;		  /* vCPU 0's timer rate; 0 = 1000 */
};

enum cmdline_result {
	CMDLINE_OK = 0,
	CMDLINE_UNKNOWN = -1,	/* bad holds the word */
	CMDLINE_BAD_VALUE = -2, /* bad holds the word */
};

/* Parse s into *o (zeroed first); on error copy the offending word to bad. */
int cmdline_parse(const char *s, struct guest_opts *o, char *bad,
		  size_t bad_size);

#endif
