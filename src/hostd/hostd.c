/*
 * hostd.c — opening and initialising a host's state directory.
 *
 * `init` and the first start of the daemon do the same thing: create what is
 * missing and keep what exists, so running init twice, or starting a daemon
 * on a fresh directory, is safe. The secret is 32 random bytes in hex,
 * written 0600 (aside + fsync + rename) and never logged.
 */
#include "hostd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compstore.h"
#include "fsutil.h"
#include "jsonio.h"
#include "log.h"

static const struct jsonio_field hostd_config_fields[] = {
    {"attributes", JSONIO_OBJECT, false},
    {"vmx_path", JSONIO_STRING, false},
    {"default_kernel", JSONIO_STRING, false},
    {"trust_dir", JSONIO_STRING, false},
    {NULL, 0, false},
};

static int hostd_random_hex(char *out, size_t bytes, struct seam_err *e)
{
	unsigned char r[64];
	size_t i;

	if (bytes > sizeof(r) || getrandom(r, bytes, 0) != (ssize_t)bytes)
		return err_sys(e, "getrandom");
	for (i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	explicit_bzero(r, sizeof(r));
	return 0;
}

static int hostd_secret_init(const char *state, struct seam_err *e)
{
	char path[PATH_MAX], secret[HOSTD_SECRET_HEX + 1];
	int rc;

	snprintf(path, sizeof(path), "%s/secret", state);
	if (fs_exists(path))
		return 0;
	rc = hostd_random_hex(secret, HOSTD_SECRET_HEX / 2, e);
	if (rc == 0)
		rc = fs_write_atomic(path, secret, strlen(secret), 0600, e);
	explicit_bzero(secret, sizeof(secret));
	return rc;
}

static int hostd_id_init(const char *state, struct seam_err *e)
{
	char path[PATH_MAX], hex[33], id[40];
	json_t *j;
	int rc;

	snprintf(path, sizeof(path), "%s/host.json", state);
	if (fs_exists(path))
		return 0;
	rc = hostd_random_hex(hex, 16, e);
	if (rc < 0)
		return rc;
	snprintf(id, sizeof(id), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
		 hex + 12, hex + 16, hex + 20);
	j = json_pack("{s:s}", "id", id);
	rc = jsonio_save_file(path, j, 0644, e);
	json_decref(j);
	return rc;
}

int hostd_state_init(const char *state, struct seam_err *e)
{
	struct tls_identity *id = NULL;
	char path[PATH_MAX], host[256] = "localhost";
	int rc;

	if ((rc = fs_mkdir_p(state, 0700, e)) < 0)
		return rc;
	chmod(state, 0700);
	snprintf(path, sizeof(path), "%s/vms", state);
	if ((rc = fs_mkdir_p(path, 0755, e)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/components", state);
	if ((rc = compstore_init(path, e)) < 0)
		return rc;
	if ((rc = hostd_secret_init(state, e)) < 0 ||
	    (rc = hostd_id_init(state, e)) < 0)
		return rc;
	gethostname(host, sizeof(host) - 1);
	snprintf(path, sizeof(path), "%s/tls", state);
	rc = tls_identity_load_or_create(path, host, &id, e);
	tls_identity_free(id);
	return rc;
}

static int hostd_load_secret(struct hostd *h, struct seam_err *e)
{
	char path[PATH_MAX], *buf;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/secret", h->state);
	rc = fs_read_file(path, 4096, &buf, &len, e);
	if (rc < 0)
		return rc;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (len < 32 || len > HOSTD_SECRET_HEX) {
		free(buf);
		return err_set(e, EINVAL, "%s: not a host secret", path);
	}
	snprintf(h->secret, sizeof(h->secret), "%s", buf);
	explicit_bzero(buf, len);
	free(buf);
	return 0;
}

static int hostd_load_config(struct hostd *h, struct seam_err *e)
{
	char path[PATH_MAX];
	struct seam_err ce = {0};
	const char *s;
	int rc;

	snprintf(path, sizeof(path), "%s/config.json", h->state);
	rc = jsonio_load_file(path, &h->config, e);
	if (rc == -ENOENT) {
		h->config = json_object();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (jsonio_check_fields(h->config, hostd_config_fields, &ce) < 0)
		return err_set(e, EINVAL, "%s: %s", path, ce.msg);
	if ((s = json_string_value(json_object_get(h->config, "vmx_path"))))
		snprintf(h->vmx_path, sizeof(h->vmx_path), "%s", s);
	s = json_string_value(json_object_get(h->config, "default_kernel"));
	if (s)
		snprintf(h->default_kernel, sizeof(h->default_kernel), "%s", s);
	return 0;
}

static int hostd_load_id(struct hostd *h, struct seam_err *e)
{
	char path[PATH_MAX];
	json_t *j;
	int rc;

	snprintf(path, sizeof(path), "%s/host.json", h->state);
	rc = jsonio_load_file(path, &j, e);
	if (rc < 0)
		return rc;
	snprintf(h->host_id, sizeof(h->host_id), "%s",
		 json_string_value(json_object_get(j, "id"))
		     ? json_string_value(json_object_get(j, "id"))
		     : "");
	json_decref(j);
	return 0;
}

int hostd_open(struct hostd *h, const char *state, struct seam_err *e)
{
	char path[PATH_MAX], host[256] = "localhost";
	int rc;

	memset(h, 0, sizeof(*h));
	h->lock_fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->stop_lock, NULL);
	pthread_cond_init(&h->stop_cond, NULL);
	if (strlen(state) >= HOSTD_STATE_MAX)
		return err_set(e, ENAMETOOLONG,
			       "state directory path too long");
	snprintf(h->state, sizeof(h->state), "%s", state);
	snprintf(h->comp_root, sizeof(h->comp_root), "%s/components", state);
	rc = hostd_state_init(state, e);
	if (rc < 0)
		return rc;
	gethostname(host, sizeof(host) - 1);
	snprintf(path, sizeof(path), "%s/tls", state);
	if ((rc = tls_identity_load_or_create(path, host, &h->tls, e)) < 0 ||
	    (rc = hostd_load_secret(h, e)) < 0 ||
	    (rc = hostd_load_id(h, e)) < 0 ||
	    (rc = hostd_load_config(h, e)) < 0 ||
	    (rc = maint_load(state, &h->maint, e)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/events.jsonl", state);
	return evlog_open(path, &h->events, e);
}

int hostd_lock_state(struct hostd *h, struct seam_err *e)
{
	char path[PATH_MAX], pid[32] = "";
	ssize_t n;
	int fd;

	if (fs_path(path, sizeof(path), "%s/hostd.lock", h->state) < 0)
		return err_set(e, ENAMETOOLONG, "state path too long");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, "open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		return err_set(e, EBUSY,
			       "state directory %s is in use by another "
			       "seam-hostd (pid %s)",
			       h->state, pid[0] ? pid : "?");
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		/* The pid is only for the message above. */
	}
	h->lock_fd = fd;
	return 0;
}

void hostd_close(struct hostd *h)
{
	if (h->lock_fd >= 0)
		close(h->lock_fd);
	h->lock_fd = -1;
	evlog_close(h->events);
	h->events = NULL;
	tls_identity_free(h->tls);
	h->tls = NULL;
	json_decref(h->config);
	h->config = NULL;
	json_decref(h->migrating_out);
	h->migrating_out = NULL;
	explicit_bzero(h->secret, sizeof(h->secret));
	pthread_cond_destroy(&h->stop_cond);
	pthread_mutex_destroy(&h->stop_lock);
	pthread_mutex_destroy(&h->lock);
}

long hostd_env_long(const char *name, long def)
{
	const char *s = getenv(name);
	long v = s ? strtol(s, NULL, 10) : 0;

	return v > 0 ? v : def;
}
