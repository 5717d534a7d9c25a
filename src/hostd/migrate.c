/*
 * migrate.c — hostd's side of a live migration (issue 4, issue 5 item 9).
 *
 * Target: `POST /vms/{name}/incoming` makes (or reuses) the VM's
 * configuration, picks a free TCP port and a one-time token, and starts
 * the VM's vmx as `seam-vmx run ... --incoming ADDR:PORT --token T`: it
 * waits for the source's state instead of booting. The reply gives the
 * source what it needs: address, port, token.
 *
 * Source: `POST /vms/{name}/migrate {"to_host", "port", "token"}` runs
 * `seam-vmx ctl SOCK migrate --to ADDR:PORT --token T` (the VM's own vmx
 * binary as the client) and waits for its JSON reply line. On success the
 * source vmx ends; hostd waits for that, forgets the VM's runtime and then
 * deletes the VM's configuration and directory itself, through the same
 * path as `DELETE /vms/{name}` (hostd_vm_delete: aside, then removed), and
 * records `vm.migrated_out` naming the target. The source forgetting the
 * VM must not depend on whoever asked for the migration (the center) still
 * being alive when it ends: otherwise a center killed mid-migration leaves
 * the VM on two hosts, running on the target and stopped here. A failed
 * or aborted migration changes nothing: the VM runs on here. The reply is
 * the vmx's, with `"source_deleted"` saying whether the configuration is
 * gone (false only when the vmx did not end in time). The maintenance rules
 * (migrating in or out refused in `partial`, in in `full`) are checked by
 * the API layer; this file does the mechanics. The state lock is not held
 * while the migration runs (it can take long): the VM is marked in
 * h->migrating_out instead (shown as `migrating_to` by GET /vms/{name},
 * so a restarted center can tell a migration in flight from one that is
 * over; a second migration of the same VM is refused meanwhile).
 */
#include "hostd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonio.h"
#include "log.h"
#include "vm_proc.h"
#include "vmstore.h"
#include "vmxctl.h"

#define MIGRATE_TIMEOUT_MS (30 * 60 * 1000)
#define MIGRATE_EXIT_WAIT_MS 30000

static int migrate_free_port(const char *addr, unsigned *port,
			     struct seam_err *e)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return err_set(e, EINVAL, "address '%s' is not an IPv4 address",
			       addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(e, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int rc = err_sys(e, "bind %s:0", addr);

		close(fd);
		return rc;
	}
	*port = ntohs(sa.sin_port);
	close(fd);
	return 0;
}

int hostd_vm_incoming(struct hostd *h, const char *name, const json_t *req,
		      json_t **out, struct seam_err *e)
{
	const char *addr =
	    json_string_value(json_object_get(req, "address")) ?: "127.0.0.1";
	unsigned char rnd[16];
	char token[33], incoming[64];
	struct vm_config c;
	unsigned port = 0;
	json_t *create;
	size_t i;
	int rc;

	if (vmstore_load(h->state, name, &c, NULL) < 0) {
		create = json_deep_copy(req);
		json_object_del(create, "address");
		json_object_set_new(create, "name", json_string(name));
		rc = hostd_vm_create(h, create, e);
		json_decref(create);
		if (rc < 0)
			return rc;
	}
	if ((rc = migrate_free_port(addr, &port, e)) < 0)
		return rc;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return err_sys(e, "getrandom");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	snprintf(incoming, sizeof(incoming), "%s:%u", addr, port);
	rc = hostd_vm_start(h, name, incoming, token, e);
	if (rc < 0)
		return rc;
	*out = json_pack("{s:s,s:s,s:i,s:s}", "name", name, "address", addr,
			 "port", (int)port, "token", token);
	return 0;
}

/* Run `vmx ctl SOCK migrate --to DEST --token T`; its reply line. */
static int migrate_run_ctl(const struct vm_runtime *rt, const char *dest,
			   const char *token, json_t **reply,
			   struct seam_err *e)
{
	const char *args[] = {"migrate", "--to", dest, "--token", token, NULL};
	int rc, st;

	rc = vmxctl_client(rt->vmx, rt->control, args, MIGRATE_TIMEOUT_MS,
			   reply, &st, e);
	if (rc < 0)
		return rc;
	if (!*reply)
		return err_set(e, EIO,
			       "seam-vmx ctl migrate gave no JSON reply "
			       "(status %d)",
			       st);
	return 0;
}

/*
 * The VM runs on the target now: forget it here, runtime and
 * configuration, so that it is never on two hosts. Called with the state
 * lock held. A vmx that did not end keeps its configuration (deleting it
 * under a live process would lose the VM's record of it).
 */
static void migrate_forget_source(struct hostd *h, const char *name,
				  const char *dir, const struct vm_runtime *rt,
				  const char *dest, json_t *reply)
{
	struct seam_err de = {0};
	bool deleted = false;
	json_t *ev;

	if (vm_proc_state(rt) != VM_POWER_RUNNING) {
		vm_runtime_remove(dir);
		deleted = hostd_vm_delete(h, name, &de) == 0;
	} else {
		err_set(&de, EBUSY, "its vmx (pid %d) did not end",
			(int)rt->pid);
	}
	if (!deleted)
		log_warnx("VM %s migrated to %s; its configuration stays "
			  "here: %s",
			  name, dest, de.msg);
	json_object_set_new(reply, "source_deleted", json_boolean(deleted));
	ev = json_pack("{s:s,s:s,s:s,s:b}", "type", "vm.migrated_out", "vm",
		       name, "target", dest, "source_deleted", deleted);
	json_object_set_new(ev, "message",
			    json_sprintf("VM %s migrated to %s; %s", name, dest,
					 deleted ? "removed from this host"
						 : "its configuration stays "
						   "here"));
	evlog_append(h->events, ev, NULL);
	json_decref(ev);
}

int hostd_vm_migrate(struct hostd *h, const char *name, const json_t *req,
		     json_t **out, struct seam_err *e)
{
	const char *to = json_string_value(json_object_get(req, "to_host"));
	const char *token = json_string_value(json_object_get(req, "token"));
	json_int_t port = json_integer_value(json_object_get(req, "port"));
	char dir[PATH_MAX], dest[300];
	struct vm_runtime rt;
	json_t *reply = NULL;
	int rc;

	if (port < 1 || port > 65535)
		return err_set(e, EINVAL, "port: 1 to 65535");
	if (strlen(to) > 255 || strchr(to, ':') || !*to)
		return err_set(e, EINVAL,
			       "to_host '%.80s': an address, without port", to);
	vmstore_dir(h->state, name, dir, sizeof(dir));
	if (vm_runtime_load(dir, &rt, NULL) < 0 ||
	    vm_proc_state(&rt) != VM_POWER_RUNNING)
		return err_set(e, EBUSY, "VM '%s' is not running", name);
	if (json_object_get(h->migrating_out, name))
		return err_set(
		    e, EBUSY, "VM '%s' is already migrating to %s", name,
		    json_string_value(json_object_get(h->migrating_out, name)));
	snprintf(dest, sizeof(dest), "%s:%d", to, (int)port);
	if (!h->migrating_out)
		h->migrating_out = json_object();
	json_object_set_new(h->migrating_out, name, json_string(dest));
	evlog_emit(h->events, "vm.migrating", name, "VM %s migrates to %s",
		   name, dest);
	pthread_mutex_unlock(&h->lock);
	rc = migrate_run_ctl(&rt, dest, token, &reply, e);
	if (rc == 0 && json_is_true(json_object_get(reply, "ok")))
		vm_proc_wait_gone(&rt, MIGRATE_EXIT_WAIT_MS);
	pthread_mutex_lock(&h->lock);
	json_object_del(h->migrating_out, name);
	if (rc < 0) {
		evlog_emit(h->events, "vm.migrate_failed", name,
			   "VM %s: migration to %s failed: %s", name, dest,
			   e ? e->msg : "");
		return rc;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *why =
		    json_string_value(json_object_get(reply, "error"))
			?: json_string_value(json_object_get(reply, "reason"));

		rc = err_set(e, EIO, "migration of VM %s to %s failed: %s",
			     name, dest, why ? why : "no reason given");
		evlog_emit(h->events, "vm.migrate_failed", name, "%s",
			   e ? e->msg : "");
		json_decref(reply);
		return rc;
	}
	migrate_forget_source(h, name, dir, &rt, dest, reply);
	*out = reply;
	return 0;
}
