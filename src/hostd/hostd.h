/*
 * hostd.h — the state of one seam-hostd process, shared by its modules.
 *
 * STATE/ (the --state directory, 0700):
 *
 *   hostd.lock          held (flock) by the running hostd, with its pid
 *   secret              the host secret, the bearer token of every request;
 *                       printed by `init` as the enrollment token
 *   host.json           the host's id
 *   config.json         optional: attribute overrides, vmx path, kernel
 *   image.json          the installed base image (image.c)
 *   tls/                cert.pem + key.pem (tls.h)
 *   maintenance.json    the maintenance mode (maint.h)
 *   events.jsonl        the event log (evlog.h)
 *   vms/NAME/           one VM (vmstore.h, vm_proc.h); a suspended one
 *                       holds suspended.json + suspend.snap (vm_suspend.c)
 *   components/         the component store (compstore.h); a revision
 *                       holds bin/ and scripts/ as its payload unpacks,
 *                       and release.json when staged by POST /stage
 *   staged/VERSION.json a staged target image (stage.c)
 *   apply.json          the journal of the last apply (apply.c)
 *   apply-vms.tsv       the VM list the scripts read (SEAM_VM_LIST)
 *
 * One mutex (`lock`) serialises everything that reads or changes VMs,
 * maintenance mode and components: requests that change state are rare and
 * short, and one lock makes the maintenance rules race-free (no VM can be
 * powered on between "no VM runs" and "mode is full"). The event log has its
 * own lock so event readers never wait for a state change.
 */
#ifndef SEAM_HOSTD_H
#define SEAM_HOSTD_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

#include "err.h"
#include "evlog.h"
#include "httpd.h"
#include "maint.h"
#include "tls.h"
#include "vm_proc.h"

#define HOSTD_VERSION "1.0.0.0"
#define HOSTD_SECRET_HEX 64
/* Room below PATH_MAX for the names a state directory holds. */
#define HOSTD_STATE_MAX 3072

struct hostd {
	char state[HOSTD_STATE_MAX];
	char comp_root[HOSTD_STATE_MAX + 16];
	char vmx_path[PATH_MAX]; /* --vmx / config; "" = component store */
	char default_kernel[PATH_MAX];
	char secret[HOSTD_SECRET_HEX + 1];
	char host_id[40];
	struct tls_identity *tls;
	struct evlog *events;
	json_t *config;
	/* migrate.c: VM name -> "ADDR:PORT" while it migrates out (NULL until
	 * the first migration); GET /vms/{name} shows it as migrating_to */
	json_t *migrating_out;
	pthread_mutex_t lock;
	enum maint_mode maint;
	struct httpd *httpd;
	pthread_t monitor;
	bool monitor_running;
	int lock_fd;	  /* STATE/hostd.lock, flock'ed; -1 when not held */
	char version[64]; /* the hostd revision this process runs */
	/* apply.c: one stage or apply at a time; the apply runs in a thread */
	bool busy;
	bool applying;
	bool apply_thread_started;
	pthread_t apply_thread;
	bool reexec_pending; /* hostd's own live patch: re-exec when asked */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
};

/* Create what a state directory needs (idempotent). */
int hostd_state_init(const char *state, struct seam_err *e);
/* Open an initialised state directory into h. */
int hostd_open(struct hostd *h, const char *state, struct seam_err *e);
void hostd_close(struct hostd *h);
/*
 * Take STATE/hostd.lock: one hostd (or one installing init) per state
 * directory. Released by hostd_close() and by execve() (the fd is CLOEXEC,
 * so no vmx ever inherits it).
 */
int hostd_lock_state(struct hostd *h, struct seam_err *e);

/* A positive number from the environment (test and tuning knobs), or def. */
long hostd_env_long(const char *name, long def);

/* VMs (vm.c). Callers hold h->lock. */
json_t *hostd_vm_describe(struct hostd *h, const char *name,
			  struct seam_err *e);
json_t *hostd_vm_list(struct hostd *h);
int hostd_vm_create(struct hostd *h, const json_t *req, struct seam_err *e);
int hostd_vm_delete(struct hostd *h, const char *name, struct seam_err *e);
int hostd_vm_power_on(struct hostd *h, const char *name, struct seam_err *e);
/* Power on; with incoming ("ADDR:PORT") + token, as a migration target. */
int hostd_vm_start(struct hostd *h, const char *name, const char *incoming,
		   const char *token, struct seam_err *e);
int hostd_vm_power_off(struct hostd *h, const char *name, bool force,
		       struct seam_err *e);
/*
 * The vmx new VMs start from: --vmx / config "vmx_path", else the active
 * `vmx` revision; ver gets its version ("unmanaged" for a vmx_path).
 */
int hostd_vmx_active(struct hostd *h, char *path, size_t plen, char *ver,
		     size_t vlen, struct seam_err *e);
/* Stopped, running, crashed or suspended; rt filled when it has a process. */
enum vm_power hostd_vm_power_state(struct hostd *h, const char *name,
				   struct vm_runtime *rt);

/*
 * Suspend and resume (vm_suspend.c). Callers hold h->lock. Suspend: the
 * running VM is written to STATE/vms/NAME/suspend.snap by its vmx and ends.
 * Resume (power-on of a suspended VM): `run --restore` from the active vmx;
 * the file goes once the VM answers. Discard: power-off of a suspended VM.
 */
int hostd_vm_suspend(struct hostd *h, const char *name, struct seam_err *e);
int hostd_vm_resume(struct hostd *h, const char *name, struct seam_err *e);
/* True when the VM's directory holds a suspend record and its snapshot. */
bool hostd_vm_suspended(const char *dir);
/* The suspend record for GET (snapshot, bytes, when, from which vmx). */
json_t *hostd_vm_suspend_describe(const char *dir);
void hostd_vm_suspend_discard(const char *dir);
/*
 * Record that a running VM now runs another vmx (after FSR onto a new
 * revision, or back): what inventory reports as its vmx_version.
 */
int hostd_vm_record_vmx(struct hostd *h, const char *name, const char *vmx,
			const char *version, struct seam_err *e);
/* Running VMs: count, and names joined by ", " into buf. */
unsigned hostd_vm_running(struct hostd *h, char *buf, size_t len);
/* Adopt running vmx processes, report crashed ones (start, monitor). */
void hostd_vm_scan(struct hostd *h, bool at_start);

/* Monitor thread: watches VM processes (vm.c). */
int hostd_monitor_start(struct hostd *h);
void hostd_monitor_stop(struct hostd *h);

/* Base image from a bundle (image.c). */
struct hostd_image_opts {
	const char *bundle;
	const char *base;      /* base image version */
	const char *trust_dir; /* NULL: $SEAM_TRUST_DIR, build tree, /etc */
	bool accept_community; /* unsigned bundles too */
};
int hostd_image_install(struct hostd *h, const struct hostd_image_opts *o,
			struct seam_err *e);
json_t *hostd_image_describe(struct hostd *h);

/* The trust store bundles are checked against (config, env, defaults). */
void hostd_trust_dir(struct hostd *h, char *buf, size_t len);

/* Staging (stage.c). Callers hold h->lock. */
int hostd_stage(struct hostd *h, const json_t *req, json_t **out,
		struct seam_err *e);
int hostd_stage_check_image(const json_t *img, struct seam_err *e);
json_t *hostd_staged_load(struct hostd *h, const char *version,
			  struct seam_err *e);
json_t *hostd_staged_list(struct hostd *h);

/* Apply (apply.c). hostd_apply_start: caller holds h->lock. */
int hostd_apply_start(struct hostd *h, const json_t *req, json_t **out,
		      struct seam_err *e);
json_t *hostd_apply_describe(struct hostd *h);
/* At start: an apply the journal says was under way is interrupted. */
void hostd_apply_recover(struct hostd *h);
/* Wait for a running apply thread to end (before re-exec, at stop). */
void hostd_apply_join(struct hostd *h);
/*
 * Ask the VM what it runs (`status`) and record it; the vmx path follows
 * the version when the store holds that revision. Caller holds h->lock.
 */
int hostd_vm_refresh_version(struct hostd *h, const char *name, long timeout_ms,
			     struct seam_err *e);

/* Migration (migrate.c). */
int hostd_vm_incoming(struct hostd *h, const char *name, const json_t *req,
		      json_t **out, struct seam_err *e);
int hostd_vm_migrate(struct hostd *h, const char *name, const json_t *req,
		     json_t **out, struct seam_err *e);

/* The HTTPS API (api.c, api_events.c). */
extern const struct httpd_route hostd_routes[];
extern const size_t hostd_nroutes;
int hostd_auth(void *ctx, struct httpd_req *req);
void api_events_poll(struct httpd_req *req);
void api_events_stream(struct httpd_req *req);

#endif
