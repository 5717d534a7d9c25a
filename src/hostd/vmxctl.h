/*
 * vmxctl.h — hostd as a client of a VM's control socket.
 *
 * hostd speaks the vmx control protocol (src/lib/vmx_proto.h, the same JSON
 * lines `seam-vmx ctl SOCK ...` sends) directly on the VM's unix socket
 * rather than spawning the ctl client: one connection, one request line,
 * one reply line, bounded by a timeout. That is what asks a VM which vmx it
 * really runs (`status`) and what moves it onto another binary (`fsr`).
 */
#ifndef SEAM_HOSTD_VMXCTL_H
#define SEAM_HOSTD_VMXCTL_H

#include <jansson.h>

#include "err.h"

/*
 * Send req (borrowed) to the VM at sock and wait up to timeout_ms for the
 * reply line, parsed into *reply (owned). -errno when the socket cannot be
 * reached or no whole reply arrives; an {"ok":false} reply is returned as
 * a reply, not an error.
 */
int vmxctl_request(const char *sock, const json_t *req, long timeout_ms,
		   json_t **reply, struct seam_err *e);
/* The version the VM's binary reports in `status`, into buf. */
int vmxctl_version(const char *sock, long timeout_ms, char *buf, size_t len,
		   struct seam_err *e);

/*
 * Run `vmx ctl sock args...` (args NULL-terminated) and wait up to
 * timeout_ms for it. *status: its exit status (-1 when it was killed at the
 * deadline); *reply (may be NULL): its first output line as a JSON object,
 * or NULL when it printed none. -errno only when it could not be run.
 */
int vmxctl_client(const char *vmx, const char *sock, const char *const args[],
		  long timeout_ms, json_t **reply, int *status,
		  struct seam_err *e);

#endif
