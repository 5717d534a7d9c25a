/*
 * keeperproto.c — see keeperproto.h: the keeper's side of a spawn, and the
 * message helpers both sides use.
 */
#include "keeperproto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "log.h"

int keeper_msg_send(int sock, const struct keeper_msg *m, int fd)
{
	return fdpass_send(sock, m, sizeof(*m), &fd, fd >= 0 ? 1 : 0);
}

int keeper_msg_recv(int sock, struct keeper_msg *m, int *fd)
{
	int nfds = 0, r;

	r = fdpass_recv(sock, m, sizeof(*m), fd, fd ? 1 : 0, &nfds, -1);
	if (fd && nfds == 0)
		*fd = -1;
	if (r == 0)
		m->path[sizeof(m->path) - 1] = '\0';
	return r;
}

void keeper_spawn_reset(struct keeper_spawn *s)
{
	s->pid = 0;
	s->sock = -1;
	s->committed = 0;
}

void keeper_spawn_exited(struct keeper_spawn *s, int code)
{
	log_debug("successor %d exited with %d before taking over",
		  (int)s->pid, code);
	if (s->sock >= 0)
		close(s->sock);
	keeper_spawn_reset(s);
}

/*
 * Put the fds at their fixed numbers, close-on-exec cleared. All are first
 * copied above the fixed range, so that placing one can never close
 * another that still sits at a fixed number.
 */
static int keeper_place_fds(const int *src, int n)
{
	int tmp[8];

	for (int i = 0; i < n; i++) {
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 100);
		if (tmp[i] < 0)
			return -1;
	}
	for (int i = 0; i < n; i++)
		if (dup2(tmp[i], KEEPER_FD_RAM + i) < 0)
			return -1;
	for (int i = 0; i < n; i++)
		close(tmp[i]);
	return 0;
}

static __attribute__((noreturn)) void
keeper_exec_child(const char *path, const struct vmx_fds *fds, int handover,
		  int ksock, int errfd)
{
	char *argv[] = {(char *)path, "worker", NULL};
	/* in the order of KEEPER_FD_RAM .. KEEPER_FD_HANDOVER */
	const int src[] = {fds->ram, fds->serial, fds->listener, ksock,
			   handover};
	sigset_t none;
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (keeper_place_fds(src, 5) < 0)
		err = errno;
	else {
		execv(path, argv);
		err = errno;
	}
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* Fork and exec path; returns the pid or -errno (exec's own error). */
static pid_t keeper_spawn(const char *path, const struct vmx_fds *fds,
			  int handover, struct keeper_spawn *s)
{
	int ep[2], sv[2], err = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		err = errno;
		close(sv[0]);
		close(sv[1]);
		return -err;
	}
	pid = fork();
	if (pid == 0)
		keeper_exec_child(path, fds, handover, sv[1], ep[1]);
	err = pid < 0 ? errno : 0;
	close(ep[1]);
	close(sv[1]);
	if (pid > 0 && read(ep[0], &err, sizeof(err)) == sizeof(err)) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ep[0]);
	if (pid < 0) {
		close(sv[0]);
		return -(err ? err : EIO);
	}
	s->pid = pid;
	s->sock = sv[0];
	s->committed = 0;
	return pid;
}

static void keeper_spawn_abort(struct keeper_spawn *s)
{
	if (!s->pid)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	if (s->sock >= 0)
		close(s->sock);
	keeper_spawn_reset(s);
}

int keeper_spawn_request(int sock, struct keeper_spawn *s,
			 const struct vmx_book *book,
			 const struct vmx_fds *fds)
{
	struct keeper_msg m, reply = {.type = KEEPER_MSG_SPAWNED};
	int fd = -1, r;

	(void)book;
	r = keeper_msg_recv(sock, &m, &fd);
	if (r == -ECONNRESET)
		return -1;
	if (r < 0) {
		log_warnx("bad message from the worker: %s", strerror(-r));
		return 0;
	}
	switch (m.type) {
	case KEEPER_MSG_SPAWN:
		if (s->pid) {
			reply.error = EBUSY;
		} else {
			pid_t pid = keeper_spawn(m.path, fds, fd, s);
			reply.pid = pid > 0 ? pid : 0;
			reply.error = pid > 0 ? 0 : (int)-pid;
		}
		if (fd >= 0)
			close(fd);
		keeper_msg_send(sock, &reply, -1);
		break;
	case KEEPER_MSG_COMMIT:
		s->committed = 1;
		break;
	case KEEPER_MSG_ABORT:
		keeper_spawn_abort(s);
		break;
	default:
		if (fd >= 0)
			close(fd);
		log_warnx("unknown message %u from the worker", m.type);
		break;
	}
	return 0;
}
