/*
 * keeper.c — `seam-vmx run`.
 *
 * Why a keeper: FSR replaces the process that owns the KVM VM, and rollback
 * must work even when the new binary dies at once. So the process the
 * supervisor starts never owns a VM: it checks the arguments, creates what
 * outlives any one VMM binary (the control socket listener, the serial log,
 * guest RAM as a memfd), and runs the VM in a child, the worker. Its PID and
 * exit status are the VM's. On a worker's request it spawns a successor from
 * any binary (FSR); when the current worker exits it exits with the same
 * status (unless the worker handed the VM over), removing the socket.
 * Workers die with it (PR_SET_PDEATHSIG). It maps no guest RAM and stays a
 * few hundred KiB of private memory.
 *
 * Everything that can be checked is checked before anything is created: a
 * bad command line exits 2 and leaves no file, socket or process.
 */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "elfload.h"
#include "incoming.h"
#include "keeperproto.h"
#include "keepsrc.h"
#include "log.h"
#include "vm.h"
#include "worker.h"

struct keeper {
	struct vmx_book book;
	struct vmx_fds fds; /* the worker-side fds of the current worker */
	int sigfd;
	pid_t current;		   /* the worker that owns the VM */
	int current_sock;	   /* keeper's end of its socketpair */
	struct keeper_spawn spawn; /* a successor being started (FSR) */
	int term_sent;
	int stream_fd; /* --restore / --incoming: where the VM comes from */
	int live;      /* --incoming */
};

static int keeper_usage_fail(const char *msg)
{
	fprintf(stderr, "seam-vmx run: %s\n", msg);
	return VMX_EXIT_USAGE;
}

static int keeper_check_kernel(const struct vmx_config *cfg, void **img,
			       size_t *len, struct seam_err *e)
{
	struct gmem gm;
	uint64_t entry;
	int r;

	r = elf_read_file(cfg->kernel, VMX_KERNEL_MAX, img, len, e);
	if (r < 0)
		return r;
	gmem_layout(&gm, NULL, cfg->mem_bytes);
	r = elf_load(*img, *len, &gm, &entry, e);
	if (r < 0) {
		char msg[sizeof(e->msg)];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		free(*img);
		*img = NULL;
		return err_set(e, -r, "--kernel: '%s': %s", cfg->kernel, msg);
	}
	return 0;
}

/* Refuse a path a live VM answers on; remove a stale socket file. */
static int keeper_check_socket(const char *path, struct seam_err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, ENAMETOOLONG, "--control: path too long");
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0
				       : err_sys(e, "--control: '%s'", path);
	if (!S_ISSOCK(st.st_mode))
		return err_set(e, EEXIST,
			       "--control: '%s' exists and is not "
			       "a socket",
			       path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, "socket");
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0)
		return err_set(e, EADDRINUSE,
			       "--control: '%s' is in use by "
			       "a running VM",
			       path);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_sys(e, "--control: cannot remove stale '%s'", path);
	log_debug("removed stale control socket %s", path);
	return 0;
}

static int keeper_listen(const char *path, struct seam_err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_sys(e, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 64) < 0) {
		int r = err_sys(e, "--control: cannot listen on '%s'", path);
		close(fd);
		return r;
	}
	return fd;
}

static int keeper_create_ram(uint64_t size, struct seam_err *e)
{
	int fd = memfd_create("seam-ram", MFD_CLOEXEC);

	if (fd < 0)
		return err_sys(e, "memfd_create");
	if (ftruncate(fd, (off_t)size) < 0) {
		int r = err_sys(e, "guest RAM: ftruncate to %llu bytes",
				(unsigned long long)size);
		close(fd);
		return r;
	}
	return fd;
}

static int keeper_open_serial(const char *path, struct seam_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		return err_sys(e, "--serial-log: cannot open '%s'", path);
	return fd;
}

static int keeper_block_signals(struct seam_err *e)
{
	sigset_t s;
	int fd;

	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGHUP);
	sigprocmask(SIG_BLOCK, &s, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return err_sys(e, "signalfd");
	return fd;
}

static void keeper_cleanup(struct keeper *k)
{
	struct stat st;

	/* Remove the socket only if it is still the one we created. */
	if (lstat(k->book.cfg.control, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(k->book.cfg.control);
}

/* Fork the first worker; it boots the VM from the kernel image. */
static int keeper_fork_first(struct keeper *k, const void *img, size_t len,
			     struct seam_err *e)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, "socketpair");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_sys(e, "fork");
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != k->book.keeper_pid)
			_exit(VMX_EXIT_FAILURE);
		close(sv[0]);
		close(k->sigfd);
		k->fds.keeper = sv[1];
		if (k->stream_fd >= 0)
			worker_main_incoming(&k->book, &k->fds, k->stream_fd,
					     k->live);
		worker_main_boot(&k->book, &k->fds, img, len);
	}
	close(sv[1]);
	if (k->stream_fd >= 0)
		close(k->stream_fd); /* the worker's alone now */
	k->stream_fd = -1;
	k->current = pid;
	k->current_sock = sv[0];
	return 0;
}

/* Serve every message the current worker has queued, without waiting. */
static void keeper_drain(struct keeper *k)
{
	struct pollfd p = {.fd = k->current_sock, .events = POLLIN};

	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		if (keeper_spawn_request(k->current_sock, &k->spawn, &k->book,
					 &k->fds) < 0)
			break;
}

static int keeper_status_code(pid_t pid, int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		log_warnx("worker %d killed by signal %d", (int)pid,
			  WTERMSIG(status));
		return VMX_EXIT_WORKER_DIED;
	}
	return VMX_EXIT_WORKER_DIED;
}

/* A child ended. Returns an exit status for the keeper, or -1 to go on. */
static int keeper_child_exited(struct keeper *k, pid_t pid, int status)
{
	int code = keeper_status_code(pid, status);

	if (pid == k->spawn.pid) {
		keeper_spawn_exited(&k->spawn, code);
		return -1;
	}
	if (pid != k->current)
		return -1;
	if (code == VMX_EXIT_HANDED_OVER)
		keeper_drain(k); /* its COMMIT may still be queued */
	if (code == VMX_EXIT_HANDED_OVER && k->spawn.committed) {
		k->current = k->spawn.pid;
		close(k->current_sock);
		k->current_sock = k->spawn.sock;
		keeper_spawn_reset(&k->spawn);
		log_debug("worker %d took over the VM", (int)k->current);
		return -1;
	}
	if (code == VMX_EXIT_HANDED_OVER)
		code = VMX_EXIT_WORKER_DIED;
	return code;
}

static int keeper_reap(struct keeper *k)
{
	int status, code = -1;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int c = keeper_child_exited(k, pid, status);
		if (c >= 0)
			code = c;
	}
	return code;
}

static int keeper_signal(struct keeper *k)
{
	struct signalfd_siginfo si;

	while (read(k->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int code = keeper_reap(k);
			if (code >= 0)
				return code;
			continue;
		}
		log_info("signal %u: stopping the VM", si.ssi_signo);
		kill(k->current, k->term_sent ? SIGKILL : SIGTERM);
		k->term_sent = 1;
	}
	return -1;
}

static int keeper_loop(struct keeper *k)
{
	int sock_open = 1;

	for (;;) {
		struct pollfd p[2] = {
		    {.fd = k->sigfd, .events = POLLIN},
		    {.fd = sock_open ? k->current_sock : -1, .events = POLLIN},
		};
		int code, cur = k->current_sock;

		if (poll(p, 2, -1) < 0)
			continue;
		/* Messages first: a COMMIT precedes its sender's SIGCHLD. */
		if (p[1].revents &&
		    keeper_spawn_request(k->current_sock, &k->spawn, &k->book,
					 &k->fds) < 0)
			sock_open = 0; /* the worker is going; see SIGCHLD */
		if (p[0].revents) {
			code = keeper_signal(k);
			if (code >= 0)
				return code;
			if (k->current_sock != cur)
				sock_open = 1; /* a successor took over */
		}
	}
}

static int keeper_setup(struct keeper *k, const void *img, size_t len,
			struct seam_err *e)
{
	int r;

	r = keeper_check_socket(k->book.cfg.control, e);
	if (r < 0)
		return r;
	k->fds.serial = keeper_open_serial(k->book.cfg.serial_log, e);
	if (k->fds.serial < 0)
		return k->fds.serial;
	k->fds.ram = keeper_create_ram(k->book.cfg.mem_bytes, e);
	if (k->fds.ram < 0)
		return k->fds.ram;
	k->sigfd = keeper_block_signals(e);
	if (k->sigfd < 0)
		return k->sigfd;
	k->fds.listener = keeper_listen(k->book.cfg.control, e);
	if (k->fds.listener < 0)
		return k->fds.listener;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	r = keeper_fork_first(k, img, len, e);
	if (r < 0)
		keeper_cleanup(k);
	return r;
}

/*
 * keepsrc.c says EBADMSG for a refused stream, EINVAL for a bad ADDR:PORT,
 * ETIMEDOUT when no source came.
 */
static int keeper_stream_fail(struct seam_err *e)
{
	fprintf(stderr, "seam-vmx run: %s\n", e->msg);
	if (e->code == EBADMSG)
		return VMX_EXIT_BAD_STREAM;
	if (e->code == EINVAL || e->code == ENOENT)
		return VMX_EXIT_USAGE;
	if (e->code == ETIMEDOUT)
		return VMX_EXIT_INCOMING_LOST;
	return VMX_EXIT_FAILURE;
}

/*
 * Where the VM comes from: a kernel (checked, loaded), a snapshot (checked
 * whole) or an incoming migration (accepted, hello and token checked).
 * Returns -1 when it may go on, else the exit status.
 */
static int keeper_open_source(struct keeper *k, const struct vmx_source *src,
			      void **img, size_t *len)
{
	struct seam_err e = {0};

	if (src->restore[0]) {
		k->stream_fd =
		    keepsrc_open_snapshot(src->restore, &k->book, &e);
		return k->stream_fd < 0 ? keeper_stream_fail(&e) : -1;
	}
	if (src->incoming[0]) {
		if (keeper_check_socket(k->book.cfg.control, &e) < 0)
			return keeper_usage_fail(e.msg);
		k->live = 1;
		k->stream_fd = keepsrc_accept_incoming(src, &k->book, &e);
		return k->stream_fd < 0 ? keeper_stream_fail(&e) : -1;
	}
	if (keeper_check_kernel(&k->book.cfg, img, len, &e) < 0)
		return keeper_usage_fail(e.msg);
	return -1;
}

int keeper_main(int argc, char **argv)
{
	static struct keeper k;
	struct seam_err e = {0};
	struct vmx_source src;
	void *img = NULL;
	size_t len = 0;
	int code;

	k.stream_fd = -1;
	if (args_parse_run_source(argc, argv, &k.book.cfg, &src, &e) < 0)
		return keeper_usage_fail(e.msg);
	code = keeper_open_source(&k, &src, &img, &len);
	if (code >= 0)
		return code;
	k.book.keeper_pid = getpid();
	k.book.start_mono_ns = vmx_now_ns();
	k.fds = (struct vmx_fds){-1, -1, -1, -1};
	k.current_sock = -1;
	keeper_spawn_reset(&k.spawn);
	if (keeper_setup(&k, img, len, &e) < 0) {
		free(img);
		fprintf(stderr, "seam-vmx run: %s\n", e.msg);
		return e.code == EADDRINUSE || e.code == ENAMETOOLONG ||
			       e.code == EEXIST
			   ? VMX_EXIT_USAGE
			   : VMX_EXIT_FAILURE;
	}
	free(img);
	code = keeper_loop(&k);
	keeper_cleanup(&k);
	log_debug("VM %s ended with status %d", k.book.cfg.name, code);
	return code;
}
