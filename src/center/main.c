/*
 * main.c — seam-center: command line, start-up and shutdown.
 *
 *   seam-center --state DIR --listen ADDR:PORT [--admin-token-file F]
 *               [--poll-ms N] [--web-dir DIR] [--debug]
 *
 * Start-up: state directory (secret, TLS identity, store with migrations,
 * depot sweep), the first admin on a fresh store (its token printed once
 * as admin_token=..., unless --admin-token-file gives it), the listening
 * socket, the API, the host poller. Then it prints listen=, port= and
 * thumbprint= lines on stdout (port 0 picks a free port) and serves until
 * SIGTERM or SIGINT. Shutdown: stop the poller and event streams, stop the
 * server, wait for tasks, close the store. A SIGKILL at any point loses
 * nothing committed: every change is a store transaction.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "center.h"
#include "log.h"
#include "web.h"

struct center_opts {
	const char *state;
	const char *listen;
	const char *token_file;
	const char *web_dir;
	long poll_ms;
	bool debug;
};

static void center_usage(FILE *f)
{
	fprintf(f, "usage: seam-center --state DIR --listen ADDR:PORT "
		   "[--admin-token-file FILE] [--poll-ms N] [--web-dir DIR] "
		   "[--debug]\n");
}

static void center_parse(int argc, char **argv, struct center_opts *o)
{
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"listen", required_argument, NULL, 'l'},
	    {"admin-token-file", required_argument, NULL, 't'},
	    {"poll-ms", required_argument, NULL, 'p'},
	    {"web-dir", required_argument, NULL, 'w'},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int ch;

	o->poll_ms = 1000;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->state = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 't':
			o->token_file = optarg;
			break;
		case 'p':
			o->poll_ms = strtol(optarg, &end, 10);
			if (*end || o->poll_ms < 50 || o->poll_ms > 600000)
				fatalx("--poll-ms '%s': 50 to 600000", optarg);
			break;
		case 'w':
			o->web_dir = optarg;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'h':
			center_usage(stdout);
			exit(0);
		default:
			center_usage(stderr);
			exit(2);
		}
	}
	if (!o->state || !o->listen || optind != argc) {
		center_usage(stderr);
		exit(2);
	}
}

static void center_print_listen(const char *listen, uint16_t port,
				const char *thumb)
{
	const char *colon = strrchr(listen, ':');

	printf("listen=%.*s:%u\n", (int)(colon ? colon - listen : 0), listen,
	       port);
	printf("port=%u\n", port);
	printf("thumbprint=%s\n", thumb);
	fflush(stdout);
}

/* The address hosts reach the depot at (a wildcard listen: loopback). */
static void center_set_url(struct center *c, const char *listen,
			   uint16_t port)
{
	const char *colon = strrchr(listen, ':');
	int n = colon ? (int)(colon - listen) : 0;

	if (n == 0 || (n == 7 && !strncmp(listen, "0.0.0.0", 7)))
		snprintf(c->url, sizeof(c->url), "https://127.0.0.1:%u", port);
	else
		snprintf(c->url, sizeof(c->url), "https://%.*s:%u", n, listen,
			 port);
}

int main(int argc, char **argv)
{
	struct center_opts o = {0};
	struct center c = {0};
	struct seam_err e = {0};
	sigset_t set;
	uint16_t port;
	int fd, sig;

	center_parse(argc, argv, &o);
	log_init("center", o.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c.poll_ms = o.poll_ms;
	if (web_init(o.web_dir, &e) < 0)
		fatalx("%s", e.msg);
	if (center_open(&c, o.state, &e) < 0)
		fatalx("%s", e.msg);
	if (center_bootstrap_admin(&c, o.token_file, &e) < 0)
		fatalx("%s", e.msg);
	if (httpd_listen(o.listen, &fd, &port, &e) < 0)
		fatalx("%s", e.msg);
	if (api_start(&c, fd, &e) < 0)
		fatalx("%s", e.msg);
	center_set_url(&c, o.listen, port);
	if (hostlink_poller_start(&c, &e) < 0)
		fatalx("%s", e.msg);
	center_event(&c, "center.started", 0, 0, NULL, 0, NULL,
		     "seam-center %s started (schema %d)", CENTER_VERSION,
		     store_schema_version(c.st));
	center_print_listen(o.listen, port, c.tls->thumbprint);
	lcm_resume_all(&c);
	log_info("listening on port %u", port);
	while (sigwait(&set, &sig) != 0)
		;
	log_info("signal %d: stopping", sig);
	center_event(&c, "center.stopping", 0, 0, NULL, 0, NULL,
		     "seam-center stopping (signal %d)", sig);
	hostlink_poller_stop(&c);
	api_stop(&c);
	center_tasks_wait(&c);
	hostlink_pool_clear();
	center_close(&c);
	return 0;
}
