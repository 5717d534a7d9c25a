/*
 * args.h — parsing seam-vmx's command line, pure and unit-tested.
 *
 * Every check that can be made without creating anything is made here, so a
 * bad command line fails before a socket, a file or a process exists.
 */
#ifndef SEAM_VMX_ARGS_H
#define SEAM_VMX_ARGS_H

#include <limits.h>
#include <stdint.h>

#include "err.h"
#include "vmx.h"

/* "256M", "4G", "65536", "512k", "1GiB": a size in bytes. */
int args_parse_size(const char *s, uint64_t *out, struct seam_err *e);
/* `run` options (argv after "run") into cfg; checks ranges and lengths. */
int args_parse_run(int argc, char **argv, struct vmx_config *cfg,
		   struct seam_err *e);

/*
 * Where a VM comes from when it does not boot: a snapshot file (--restore)
 * or a live migration (--incoming ADDR:PORT --token T). Then --kernel is
 * not needed (the stream carries the configuration); with --restore,
 * --name, --serial-log and --control default to the snapshot's.
 */
struct vmx_source {
	char restore[PATH_MAX];
	char incoming[128];
	char token[64];
};

int args_parse_run_source(int argc, char **argv, struct vmx_config *cfg,
			  struct vmx_source *src, struct seam_err *e);

#endif
