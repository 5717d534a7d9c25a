/*
 * control.h — the control socket server, one thread in the worker.
 *
 * The thread polls the listening socket (created by the keeper, inherited by
 * every worker) and up to VMX_PROTO_CLIENTS_MAX connections, frames lines
 * (proto.c), and hands each request to commands.c. Requests run one at a
 * time, in this thread: pause, resume and FSR need no other locking against
 * each other. Connections are plain fds so that FSR can pass them, unread
 * bytes and all, to the next worker.
 */
#ifndef SEAM_VMX_CONTROL_H
#define SEAM_VMX_CONTROL_H

#include <jansson.h>
#include <pthread.h>

#include "proto.h"
#include "vm.h"

struct control_conn {
	int fd;
	struct proto_buf in;
};

struct control {
	struct vm *vm;
	int listener;
	int wake_fd; /* eventfd: asks the thread to stop */
	int stopping;
	pthread_t thread;
	int started;
	struct control_conn *conns[VMX_PROTO_CLIENTS_MAX];
};

/* What a command asks the server to do once its reply is written. */
enum cmd_after {
	CMD_AFTER_NOTHING = 0,
	CMD_AFTER_END,	    /* end the VM with status 0 (`stop`) */
	CMD_AFTER_EXIT,	    /* this worker is done (FSR handed over) */
	CMD_AFTER_SNAPSHOT, /* the VM is in a file: end (VMX_EXIT_SNAPSHOT) */
	CMD_AFTER_MIGRATED, /* the VM runs elsewhere (VMX_EXIT_MIGRATED) */
};

int control_start(struct control *c, struct vm *vm, int listener,
		  struct seam_err *e);
/* Adopt an already open connection (FSR: from the previous worker). */
int control_adopt(struct control *c, int fd);
/* FSR: the open connections (fds in fds[], unread bytes in s). */
int control_export(struct control *c, struct control_conn *requester,
		   struct vmx_saved *s, int *fds, int max);
int control_adopt_pending(struct control *c, int fd, const char *data,
			  size_t len);
int control_reply(struct control_conn *conn, json_t *reply);
json_t *control_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* commands.c: run one request; returns the reply (owned). */
json_t *cmd_dispatch(struct control *c, struct control_conn *conn,
		     const struct vmx_request *req, enum cmd_after *after);

#endif
