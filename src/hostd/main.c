/*
 * main.c — seam-hostd: command line, start-up and shutdown sequence.
 *
 *   seam-hostd init --state DIR [--bundle FILE --base VERSION
 *                   [--trust DIR] [--accept-community]]
 *   seam-hostd --state DIR --listen ADDR:PORT [--listen-fd FD] [--vmx PATH]
 *              [--debug]
 *
 * `init` prepares the state directory and prints, one name=value per line,
 * the enrollment token (the host secret the center will present) and the
 * certificate thumbprint (which the center pins). The daemon prints
 * `listen=ADDR:PORT` and `thumbprint=HEX` on stdout once it accepts
 * connections (port 0 picks a free port), then serves until SIGTERM/SIGINT.
 * --listen-fd serves an inherited listening socket instead (a hostd that
 * re-execs itself keeps its socket, so no connection is refused).
 *
 * Order of start: state, event log, VM scan (adopt running vmx processes,
 * report crashed ones), monitor thread, server. Shutdown is the reverse;
 * VMs are left running.
 *
 * SIGHUP re-execs hostd — into the active revision of the `hostd` component
 * when there is one, else into the same binary — keeping its listening
 * socket: the server stops accepting (connections wait in the socket's
 * backlog), finishes what is in flight, and the new process, started with
 * --listen-fd, accepts them. No connection is refused; the event cursor
 * continues from the log; VMs are not touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compstore.h"
#include "fsutil.h"
#include "hostd.h"
#include "log.h"

#define HOSTD_REEXEC_GRACE_MS 5000

struct hostd_opts {
	const char *state;
	const char *listen;
	const char *bundle;
	const char *base;
	const char *vmx;
	const char *trust;
	bool accept_community;
	int listen_fd;
	bool debug;
	char self[PATH_MAX]; /* this binary, resolved at start */
};

static void hostd_usage(FILE *f)
{
	fprintf(f, "usage: seam-hostd init --state DIR [--bundle FILE --base "
		   "VERSION [--trust DIR] [--accept-community]]\n"
		   "       seam-hostd --state DIR --listen ADDR:PORT "
		   "[--listen-fd FD] [--vmx PATH] [--debug]\n");
}

static int hostd_parse(int argc, char **argv, struct hostd_opts *o)
{
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"listen", required_argument, NULL, 'l'},
	    {"listen-fd", required_argument, NULL, 'f'},
	    {"bundle", required_argument, NULL, 'b'},
	    {"base", required_argument, NULL, 'B'},
	    {"vmx", required_argument, NULL, 'x'},
	    {"trust", required_argument, NULL, 't'},
	    {"accept-community", no_argument, NULL, 'c'},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	o->listen_fd = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->state = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'f':
			o->listen_fd = (int)strtol(optarg, &end, 10);
			if (*end || o->listen_fd < 0)
				fatalx("--listen-fd '%s' is not a descriptor",
				       optarg);
			break;
		case 'b':
			o->bundle = optarg;
			break;
		case 'B':
			o->base = optarg;
			break;
		case 'x':
			o->vmx = optarg;
			break;
		case 'd':
			o->debug = true;
			break;
		case 't':
			o->trust = optarg;
			break;
		case 'c':
			o->accept_community = true;
			break;
		case 'h':
			hostd_usage(stdout);
			exit(0);
		default:
			hostd_usage(stderr);
			exit(2);
		}
	}
	if (!o->state) {
		hostd_usage(stderr);
		exit(2);
	}
	return 0;
}

static int hostd_cmd_init(const struct hostd_opts *o)
{
	struct seam_err e = {0};
	char fmt[TLS_THUMBPRINT_FMT_SIZE];
	struct hostd h;

	if (!!o->bundle != !!o->base)
		fatalx("init: --bundle and --base go together");
	if (o->bundle && access(o->bundle, R_OK) < 0)
		fatal("init: bundle %s", o->bundle);
	if (hostd_open(&h, o->state, &e) < 0 ||
	    (o->bundle && hostd_lock_state(&h, &e) < 0))
		fatalx("init: %s", e.msg);
	if (o->bundle &&
	    hostd_image_install(&h,
				&(struct hostd_image_opts){
				    .bundle = o->bundle,
				    .base = o->base,
				    .trust_dir = o->trust,
				    .accept_community = o->accept_community},
				&e) < 0) {
		hostd_close(&h);
		fatalx("init: %s", e.msg);
	}
	tls_thumbprint_format(h.tls->thumbprint, fmt, sizeof(fmt));
	printf("enrollment_token=%s\n", h.secret);
	printf("thumbprint=%s\n", h.tls->thumbprint);
	printf("thumbprint_sha256=%s\n", fmt);
	printf("host_id=%s\n", h.host_id);
	fflush(stdout);
	hostd_close(&h);
	return 0;
}

static void hostd_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int hostd_serve_socket(const struct hostd_opts *o, int *fd,
			      uint16_t *port, struct seam_err *e)
{
	if (o->listen_fd >= 0) {
		*fd = o->listen_fd;
		return httpd_socket_port(*fd, port) < 0
			   ? err_sys(e,
				     "--listen-fd %d is not a "
				     "listening socket",
				     *fd)
			   : 0;
	}
	if (!o->listen)
		return err_set(e, EINVAL, "--listen ADDR:PORT is required");
	return httpd_listen(o->listen, fd, port, e);
}

/* "listen=ADDR:PORT" with the port actually bound (port 0 picks one). */
static void hostd_print_listen(const struct hostd_opts *o, uint16_t port)
{
	const char *colon = o->listen ? strrchr(o->listen, ':') : NULL;

	if (colon)
		printf("listen=%.*s:%u\n", (int)(colon - o->listen), o->listen,
		       port);
	else
		printf("listen=fd%d:%u\n", o->listen_fd, port);
	printf("port=%u\n", port);
}

/* What to re-exec: the active `hostd` component, else this binary. */
static void hostd_reexec_binary(struct hostd *h, const struct hostd_opts *o,
				char *buf, size_t len)
{
	char rev[256];

	if (compstore_active(h->comp_root, "hostd", rev, sizeof(rev)) == 0 &&
	    fs_path(buf, len, "%s/hostd/%s/bin/seam-hostd", h->comp_root,
		    rev) == 0 &&
	    access(buf, X_OK) == 0)
		return;
	snprintf(buf, len, "%s", o->self);
}

/*
 * Replace this process by a new hostd serving the same socket. Returns only
 * when the new binary is not there (nothing was torn down); a failing
 * execve() after the teardown is fatal.
 */
static void hostd_reexec(struct hostd *h, const struct hostd_opts *o)
{
	char bin[PATH_MAX], fdarg[16];
	const char *argv[16];
	int fd, n = 0;

	hostd_apply_join(h);
	hostd_reexec_binary(h, o, bin, sizeof(bin));
	if (access(bin, X_OK) < 0) {
		log_warn("SIGHUP: cannot re-exec %s", bin);
		return;
	}
	log_info("SIGHUP: re-exec %s keeping the listening socket", bin);
	evlog_emit(h->events, "host.reexec", NULL, "seam-hostd re-execs %s",
		   bin);
	evlog_shutdown(h->events);
	fd = httpd_stop_keep_socket(h->httpd, HOSTD_REEXEC_GRACE_MS);
	h->httpd = NULL;
	hostd_monitor_stop(h);
	if (fd < 0 || fcntl(fd, F_SETFD, 0) < 0)
		fatalx("re-exec: lost the listening socket");
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	argv[n++] = bin;
	argv[n++] = "--state";
	argv[n++] = o->state;
	argv[n++] = "--listen-fd";
	argv[n++] = fdarg;
	if (o->listen) {
		argv[n++] = "--listen";
		argv[n++] = o->listen;
	}
	if (o->vmx) {
		argv[n++] = "--vmx";
		argv[n++] = o->vmx;
	}
	if (o->debug)
		argv[n++] = "--debug";
	argv[n] = NULL;
	hostd_close(h);
	execv(bin, (char *const *)argv);
	fatal("re-exec %s", bin);
}

/*
 * The version this process runs: the revision when the binary is a hostd
 * revision of the component store (a live-patched hostd), else the one
 * compiled in.
 */
static void hostd_self_version(struct hostd *h, const char *self)
{
	char root[PATH_MAX], prefix[PATH_MAX + 16];
	const char *rest, *slash;
	size_t n;

	snprintf(h->version, sizeof(h->version), "%s", HOSTD_VERSION);
	if (!realpath(h->comp_root, root))
		return;
	n = (size_t)snprintf(prefix, sizeof(prefix), "%s/hostd/", root);
	if (strncmp(self, prefix, n))
		return;
	rest = self + n;
	slash = strchr(rest, '/');
	if (slash && !strcmp(slash, "/bin/seam-hostd") &&
	    (size_t)(slash - rest) < sizeof(h->version))
		snprintf(h->version, sizeof(h->version), "%.*s",
			 (int)(slash - rest), rest);
}

static int hostd_cmd_serve(const struct hostd_opts *o)
{
	struct seam_err e = {0};
	struct httpd_config cfg = {0};
	struct hostd h;
	sigset_t set;
	uint16_t port = 0;
	int fd = -1, sig = 0;

	hostd_block_signals(&set);
	if (hostd_open(&h, o->state, &e) < 0 || hostd_lock_state(&h, &e) < 0)
		fatalx("%s", e.msg);
	if (o->vmx)
		snprintf(h.vmx_path, sizeof(h.vmx_path), "%s", o->vmx);
	hostd_self_version(&h, o->self);
	if (hostd_serve_socket(o, &fd, &port, &e) < 0)
		fatalx("%s", e.msg);
	evlog_emit(h.events, "host.started", NULL,
		   "seam-hostd %s started (maintenance mode %s)", h.version,
		   maint_mode_name(h.maint));
	pthread_mutex_lock(&h.lock);
	hostd_apply_recover(&h);
	hostd_vm_scan(&h, true);
	pthread_mutex_unlock(&h.lock);
	if (hostd_monitor_start(&h) < 0)
		fatalx("cannot start the VM monitor thread");
	cfg = (struct httpd_config){
	    .routes = hostd_routes,
	    .nroutes = hostd_nroutes,
	    .cert_pem = h.tls->cert_pem,
	    .key_pem = h.tls->key_pem,
	    .listen_fd = fd,
	    .auth = hostd_auth,
	    .ctx = &h,
	};
	if (httpd_start(&cfg, &h.httpd, &e) < 0)
		fatalx("%s", e.msg);
	hostd_print_listen(o, port);
	printf("thumbprint=%s\n", h.tls->thumbprint);
	fflush(stdout);
	log_info("serving https on port %u, state %s", port, h.state);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		hostd_reexec(&h, o);
	log_info("signal %d: stopping (VMs keep running)", sig);
	hostd_apply_join(&h);
	evlog_emit(h.events, "host.stopping", NULL, "seam-hostd stopping");
	evlog_shutdown(h.events);
	httpd_stop(h.httpd);
	hostd_monitor_stop(&h);
	hostd_close(&h);
	return 0;
}

int main(int argc, char **argv)
{
	struct hostd_opts o = {0};
	bool init = argc > 1 && !strcmp(argv[1], "init");

	log_init("hostd", LOG_LEVEL_INFO);
	if (init) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	hostd_parse(argc, argv, &o);
	if (!realpath("/proc/self/exe", o.self))
		snprintf(o.self, sizeof(o.self), "%s", argv[0]);
	if (o.debug)
		log_set_level(LOG_LEVEL_DEBUG);
	return init ? hostd_cmd_init(&o) : hostd_cmd_serve(&o);
}
