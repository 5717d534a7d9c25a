/*
 * keepsrc.h — where a VM that does not boot comes from: a snapshot file or
 * an incoming migration (see keepsrc.c).
 */
#ifndef SEAM_VMX_KEEPSRC_H
#define SEAM_VMX_KEEPSRC_H

#include "args.h"
#include "err.h"
#include "vmx.h"

/*
 * Validate the whole snapshot at path; fill book->cfg from it (keeping the
 * name and paths given on the command line). Returns the file, positioned
 * at the first frame, or -errno.
 */
int keepsrc_open_snapshot(const char *path, struct vmx_book *book,
			  struct seam_err *e);
/* How long --incoming waits for its source (s), and the variable that
 * overrides it; then `run` exits VMX_EXIT_INCOMING_LOST. */
#define KEEPSRC_WAIT_S 600
#define KEEPSRC_WAIT_ENV "SEAM_VMX_INCOMING_WAIT_S"

/*
 * Accept one connection on src->incoming, check its hello and token, answer
 * ACCEPT (or REFUSE); set book->cfg's RAM size and vCPUs from the hello.
 * Returns the connection, positioned at the first frame, or -errno.
 */
int keepsrc_accept_incoming(const struct vmx_source *src, struct vmx_book *book,
			    struct seam_err *e);

#endif
