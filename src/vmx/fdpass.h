/*
 * fdpass.h — one message plus file descriptors over a unix socket
 * (SCM_RIGHTS). Used between keeper and workers, and between the old and
 * the new worker during FSR. Received fds are close-on-exec.
 */
#ifndef SEAM_VMX_FDPASS_H
#define SEAM_VMX_FDPASS_H

#include <stddef.h>

#define FDPASS_MAX 64

int fdpass_send(int sock, const void *buf, size_t len, const int *fds,
		int nfds);
/*
 * Receive one message of exactly len bytes; up to max_fds fds into fds
 * (*nfds set; extra ones are closed). timeout_ms < 0: wait forever.
 * -ECONNRESET on end of file, -ETIMEDOUT, -EPROTO on a wrong size.
 */
int fdpass_recv(int sock, void *buf, size_t len, int *fds, int max_fds,
		int *nfds, int timeout_ms);

#endif
