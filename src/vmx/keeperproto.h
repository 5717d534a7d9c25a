/*
 * keeperproto.h — messages between a worker and its keeper, over a
 * SOCK_SEQPACKET socketpair (one message per packet, fds by SCM_RIGHTS).
 *
 * Only FSR uses it. The current worker asks the keeper to spawn a successor
 * from a binary path (KEEPER_MSG_SPAWN, with the successor's end of a
 * handover socketpair attached); the keeper forks, gives the child guest
 * RAM, the serial log, the control listener, the handover socket and a new
 * keeper socketpair at fixed fd numbers, and execs the binary in `worker`
 * mode; it answers KEEPER_MSG_SPAWNED (pid, or the errno of a failed exec,
 * reported through a close-on-exec pipe). Once the successor has confirmed
 * that it runs the VM, the old worker sends KEEPER_MSG_COMMIT and exits with
 * VMX_EXIT_HANDED_OVER; the keeper then makes the successor current. If the
 * old worker sends KEEPER_MSG_ABORT (rollback), or a successor exits before
 * the commit, the keeper kills and reaps it and the old worker stays current.
 */
#ifndef SEAM_VMX_KEEPERPROTO_H
#define SEAM_VMX_KEEPERPROTO_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmx.h"

/* Fixed fd numbers in an exec'd worker (consecutive, in this order). */
#define KEEPER_FD_RAM 3
#define KEEPER_FD_SERIAL 4
#define KEEPER_FD_LISTENER 5
#define KEEPER_FD_KEEPER 6
#define KEEPER_FD_HANDOVER 7

enum keeper_msg_type {
	KEEPER_MSG_SPAWN = 1, /* worker → keeper: path; fd: handover end */
	KEEPER_MSG_SPAWNED,   /* keeper → worker: pid or error */
	KEEPER_MSG_COMMIT,    /* worker → keeper: the successor runs the VM */
	KEEPER_MSG_ABORT,     /* worker → keeper: kill the successor */
};

struct keeper_msg {
	uint32_t type;
	int32_t pid;
	int32_t error; /* positive errno, 0 */
	char path[PATH_MAX];
};

/* A successor being started. */
struct keeper_spawn {
	pid_t pid; /* 0: none */
	int sock;  /* keeper's end of the successor's socketpair */
	int committed;
};

void keeper_spawn_reset(struct keeper_spawn *s);
/* A successor exited before it took over. */
void keeper_spawn_exited(struct keeper_spawn *s, int code);
/* Serve one message of the current worker; -1 when its end closed. */
int keeper_spawn_request(int sock, struct keeper_spawn *s,
			 const struct vmx_book *book,
			 const struct vmx_fds *fds);

/* Send/receive one message with at most one fd. */
int keeper_msg_send(int sock, const struct keeper_msg *m, int fd);
int keeper_msg_recv(int sock, struct keeper_msg *m, int *fd);

#endif
