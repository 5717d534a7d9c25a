/*
 * vmx.h — what every part of seam-vmx shares: the VM's configuration, the
 * exit statuses, the version string.
 *
 * seam-vmx runs as two kinds of process (see keeper.c and worker.c): a small
 * long-lived keeper, whose PID and exit status are the VM's, and a worker
 * that owns the KVM VM. The configuration is parsed once, by the keeper, into
 * struct vmx_config; a forked worker inherits it, an exec'd worker (FSR) gets
 * it back from the saved state.
 */
#ifndef SEAM_VMX_H
#define SEAM_VMX_H

#include <limits.h>
#include <stdint.h>
#include <sys/un.h>

#include "guest_abi.h"

#ifndef SEAM_VMX_VERSION
#define SEAM_VMX_VERSION "0.0.0.0"
#endif

/*
 * Exit statuses of `seam-vmx run` (the keeper), documented in
 * docs/vmx-control.md. 0: the guest shut down (PV exit port, i8042 reset,
 * ACPI-less power-off) or `stop` was asked.
 */
enum vmx_exit {
	VMX_EXIT_OK = 0,
	VMX_EXIT_FAILURE = 1,	   /* set-up failed (no /dev/kvm, ...) */
	VMX_EXIT_USAGE = 2,	   /* bad arguments: nothing was created */
	VMX_EXIT_TRIPLE_FAULT = 3, /* KVM_EXIT_SHUTDOWN */
	VMX_EXIT_KVM_ERROR = 4,	   /* KVM_EXIT_INTERNAL_ERROR, FAIL_ENTRY */
	VMX_EXIT_EMULATION = 5,	   /* internal error: emulation failure */
	VMX_EXIT_WORKER_DIED = 6,  /* the worker was killed or crashed */
	/* --restore / --incoming: the snapshot or the stream was refused
	 * (bad magic, unknown version, truncated, a section or frame that
	 * fails validation, RAM size mismatch, wrong token). */
	VMX_EXIT_BAD_STREAM = 7,
	/* --incoming: the migration did not complete (connection broken or
	 * silent, the source gave up); the VM runs on at the source. */
	VMX_EXIT_INCOMING_LOST = 8,
	VMX_EXIT_SNAPSHOT = 9,	/* `snapshot` wrote the VM to a file */
	VMX_EXIT_MIGRATED = 10, /* `migrate`: the VM runs on elsewhere */
	/* A worker that handed its VM to a successor (FSR) exits with this;
	 * the keeper never does. */
	VMX_EXIT_HANDED_OVER = 64,
};

#define VMX_NAME_MAX 64
#define VMX_VCPUS_MAX 8
#define VMX_MEM_MIN (32ULL << 20)
/* The boot page tables map 8 GiB; RAM above 3 GiB sits above the hole. */
#define VMX_MEM_MAX (SEAM_RAM_LOW_MAX + (8ULL << 30) - SEAM_RAM_HIGH_BASE)
#define VMX_MEM_ALIGN (2ULL << 20)
#define VMX_KERNEL_MAX (64ULL << 20)

struct vmx_config {
	char name[VMX_NAME_MAX + 1];
	char kernel[PATH_MAX];
	char cmdline[SEAM_BOOT_CMDLINE_MAX];
	char serial_log[PATH_MAX];
	char control[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t mem_bytes;
	unsigned int vcpus;
};

/* The fds a worker is given by the keeper. */
struct vmx_fds {
	int ram;      /* guest RAM memfd */
	int serial;   /* serial log, O_APPEND */
	int listener; /* control socket, listening */
	int keeper;   /* SOCK_SEQPACKET to the keeper */
};

/* Bookkeeping that lives as long as the VM (across FSR). */
struct vmx_book {
	struct vmx_config cfg;
	int32_t keeper_pid;
	uint64_t start_mono_ns; /* when `run` started (CLOCK_MONOTONIC) */
};

#endif
