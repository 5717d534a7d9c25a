/*
 * config.c — see config.h.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "jsonio.h"

int ctl_config_default_path(char *buf, size_t n)
{
	const char *env = getenv("SEAMCTL_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int len;

	if (env && env[0])
		len = snprintf(buf, n, "%s", env);
	else if (xdg && xdg[0])
		len = snprintf(buf, n, "%s/seam/seamctl.json", xdg);
	else
		len = snprintf(buf, n, "%s/.config/seam/seamctl.json",
			       home && home[0] ? home : ".");
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

static int config_take(const json_t *o, const char *k, char *dst, size_t n,
		       const char *path, struct seam_err *e)
{
	const json_t *v = json_object_get(o, k);

	dst[0] = '\0';
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= n)
		return err_set(e, EINVAL,
			       "%s: field '%s' must be a string "
			       "of at most %zu characters",
			       path, k, n - 1);
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int ctl_config_load(const char *path, struct ctl_config *cfg,
		    struct seam_err *e)
{
	struct stat st;
	json_t *o = NULL;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return err_set(e, ENOENT,
				       "not logged in (no %s): run 'seamctl "
				       "login --server URL --token TOKEN'",
				       path);
		return err_sys(e, "stat %s", path);
	}
	if (st.st_mode & 077)
		return err_set(e, EPERM,
			       "%s holds a token but others may read it "
			       "(mode %03o): chmod 600 it",
			       path, (unsigned)(st.st_mode & 0777));
	rc = jsonio_load_file(path, &o, e);
	if (rc < 0)
		return rc;
	if (!json_is_object(o))
		rc = err_set(e, EINVAL, "%s is not a JSON object", path);
	if (rc == 0)
		rc = config_take(o, "server", cfg->server, sizeof(cfg->server),
				 path, e);
	if (rc == 0)
		rc = config_take(o, "token", cfg->token, sizeof(cfg->token),
				 path, e);
	if (rc == 0)
		rc = config_take(o, "thumbprint", cfg->thumbprint,
				 sizeof(cfg->thumbprint), path, e);
	json_decref(o);
	return rc;
}

int ctl_config_save(const char *path, const struct ctl_config *cfg,
		    struct seam_err *e)
{
	char dir[PATH_MAX], *slash;
	json_t *o;
	int rc;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return err_set(e, ENAMETOOLONG, "config path too long");
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = fs_mkdir_p(dir, 0700, e);
		if (rc < 0)
			return rc;
	}
	o = json_pack("{s:s,s:s,s:s}", "server", cfg->server, "token",
		      cfg->token, "thumbprint", cfg->thumbprint);
	if (!o)
		return err_set(e, ENOMEM, "config: no memory");
	rc = jsonio_save_file(path, o, 0600, e);
	json_decref(o);
	return rc;
}
