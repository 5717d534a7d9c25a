/*
 * pvport.h — the paravirtual I/O ports of guest_abi.h, plus the few legacy
 * ports a PC guest touches (i8042 reset, POST code), as a pure state machine.
 *
 * pvport_io() answers a port access and says what the VM must do next
 * (nothing, or end because the guest shut down or asked for a reset). The
 * only state that must survive FSR is the version string's read index.
 */
#ifndef SEAM_VMX_PVPORT_H
#define SEAM_VMX_PVPORT_H

#include <stdint.h>

struct pvport_state {
	uint32_t version_idx; /* next byte of the version string */
	/*
	 * The version string latched by the last rewind: a guest reading it
	 * byte by byte across an FSR finishes the string it began (the old
	 * binary's), never a splice of two. Empty: use the VMM's own.
	 */
	char version[32];
};

/* Constant facts the ports report (not saved: the VMM knows them). */
struct pvport_info {
	const char *version;
	uint32_t ncpus;
	uint32_t tsc_khz;
};

enum pvport_action {
	PVPORT_NONE = 0,
	PVPORT_SHUTDOWN, /* SEAM_PORT_EXIT written; *status holds the value */
	PVPORT_RESET,	 /* 0xFE to the i8042 command port */
	PVPORT_UNHANDLED /* not one of ours */
};

/* After a restore: a read in progress keeps its string, else forget it. */
void pvport_restored(struct pvport_state *s);

/* data: the bytes of the access (size 1, 2 or 4), in and out. */
enum pvport_action pvport_io(struct pvport_state *s,
			     const struct pvport_info *info, uint16_t port,
			     int is_write, unsigned int size, uint8_t *data,
			     uint32_t *status);

#endif
