/*
 * maint.c — see maint.h.
 */
#include "maint.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "jsonio.h"

static const char *const maint_names[] = {
    [MAINT_NONE] = "none",
    [MAINT_PARTIAL] = "partial",
    [MAINT_FULL] = "full",
};

static const char *const maint_op_names[] = {
    [MAINT_OP_VM_CREATE] = "creating a VM",
    [MAINT_OP_VM_POWER_ON] = "powering on a VM",
    [MAINT_OP_MIGRATE_IN] = "migrating a VM in",
    [MAINT_OP_MIGRATE_OUT] = "migrating a VM out",
};

const char *maint_mode_name(enum maint_mode m)
{
	return (unsigned)m <= MAINT_FULL ? maint_names[m] : "?";
}

const char *maint_op_name(enum maint_op op)
{
	return (unsigned)op <= MAINT_OP_MIGRATE_OUT ? maint_op_names[op] : "?";
}

int maint_mode_parse(const char *s, enum maint_mode *m, struct seam_err *e)
{
	int i;

	for (i = MAINT_NONE; i <= MAINT_FULL; i++) {
		if (!strcmp(s, maint_names[i])) {
			*m = (enum maint_mode)i;
			return 0;
		}
	}
	return err_set(e, EINVAL,
		       "maintenance mode '%.64s' is not one of none, partial, "
		       "full",
		       s);
}

static bool maint_refuses(enum maint_mode mode, enum maint_op op)
{
	switch (mode) {
	case MAINT_NONE:
		return false;
	case MAINT_PARTIAL:
		return true;
	case MAINT_FULL:
		/* No VM runs here: evacuating further is harmless. */
		return op != MAINT_OP_MIGRATE_OUT;
	}
	return true;
}

int maint_check_op(enum maint_mode mode, enum maint_op op, struct seam_err *e)
{
	if (!maint_refuses(mode, op))
		return 0;
	return err_set(e, EBUSY,
		       "host is in %s maintenance mode: %s is refused",
		       maint_mode_name(mode), maint_op_name(op));
}

int maint_check_enter(enum maint_mode cur, enum maint_mode next,
		      unsigned running_vms, const char *running_names,
		      struct seam_err *e)
{
	if (next != MAINT_FULL || cur == MAINT_FULL || running_vms == 0)
		return 0;
	return err_set(e, EBUSY,
		       "cannot enter full maintenance mode: %u VM%s running "
		       "(%s); power off or migrate %s first",
		       running_vms, running_vms == 1 ? " is" : "s are",
		       running_names ? running_names : "",
		       running_vms == 1 ? "it" : "them");
}

int maint_load(const char *state_dir, enum maint_mode *m, struct seam_err *e)
{
	static const struct jsonio_field fields[] = {
	    {"mode", JSONIO_STRING, true},
	    {"since", JSONIO_STRING, false},
	    {NULL, 0, false},
	};
	char path[PATH_MAX];
	json_t *j;
	int rc;

	*m = MAINT_NONE;
	snprintf(path, sizeof(path), "%s/maintenance.json", state_dir);
	rc = jsonio_load_file(path, &j, e);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = jsonio_check_fields(j, fields, e);
	if (rc == 0)
		rc = maint_mode_parse(
		    json_string_value(json_object_get(j, "mode")), m, e);
	json_decref(j);
	return rc;
}

int maint_save(const char *state_dir, enum maint_mode m, struct seam_err *e)
{
	char path[PATH_MAX];
	json_t *j;
	int rc;

	snprintf(path, sizeof(path), "%s/maintenance.json", state_dir);
	j = json_pack("{s:s}", "mode", maint_mode_name(m));
	rc = jsonio_save_file(path, j, 0644, e);
	json_decref(j);
	return rc;
}
