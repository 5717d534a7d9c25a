/*
 * config.h — seamctl's configuration file: which center, which token, and
 * the pinned certificate thumbprint.
 *
 * The file is JSON, {"server", "token", "thumbprint"}, at $SEAMCTL_CONFIG or
 * ~/.config/seam/seamctl.json ($XDG_CONFIG_HOME honoured). It holds a bearer
 * token, so it is written 0600 in a 0700 directory, aside and renamed (a
 * crash never leaves half a file), and a file others can read is refused
 * on load rather than used.
 */
#ifndef SEAM_CTL_CONFIG_H
#define SEAM_CTL_CONFIG_H

#include <stddef.h>

#include "err.h"

struct ctl_config {
	char server[512];
	char token[600];
	char thumbprint[128];
};

/* The path seamctl uses when --config is not given. 0 or -ENAMETOOLONG. */
int ctl_config_default_path(char *buf, size_t n);
/* Load; a missing file is ENOENT with "not logged in" in e. */
int ctl_config_load(const char *path, struct ctl_config *cfg,
		    struct seam_err *e);
/* Save (creating the directory 0700), 0600, written aside and renamed. */
int ctl_config_save(const char *path, const struct ctl_config *cfg,
		    struct seam_err *e);

#endif
