/*
 * vmstore.c — see vmstore.h.
 */
#include "vmstore.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"

const struct jsonio_field vm_config_fields[] = {
    {"name", JSONIO_STRING, true},
    {"mem", JSONIO_STRING_OR_INTEGER, true},
    {"vcpus", JSONIO_INTEGER, true},
    {"cmdline", JSONIO_STRING, false},
    {"kernel", JSONIO_STRING, false},
    {"fault_tolerance", JSONIO_BOOL, false},
    {"passthrough", JSONIO_BOOL, false},
    {"pod", JSONIO_BOOL, false},
    {NULL, 0, false},
};

int vm_name_check(const char *name, struct seam_err *e)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= VM_NAME_MAX)
		return err_set(e, EINVAL, "VM name must be 1 to %d characters",
			       VM_NAME_MAX - 1);
	if (!islower((unsigned char)name[0]) &&
	    !isdigit((unsigned char)name[0]))
		return err_set(e, EINVAL,
			       "VM name '%s' must start with a lowercase "
			       "letter or a digit",
			       name);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!islower(ch) && !isdigit(ch) && ch != '-' && ch != '_' &&
		    ch != '.')
			return err_set(e, EINVAL,
				       "VM name '%.64s' may hold only a-z, "
				       "0-9, '-', '_' and '.'",
				       name);
	}
	return 0;
}

int vm_mem_parse(const char *s, uint64_t *mib, struct seam_err *e)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || v > VM_MEM_MAX_MIB * 1024ULL * 1024)
		goto bad;
	if (!strcmp(end, "") || !strcmp(end, "M") || !strcmp(end, "MiB"))
		*mib = v;
	else if (!strcmp(end, "G") || !strcmp(end, "GiB"))
		*mib = v * 1024;
	else if ((!strcmp(end, "K") || !strcmp(end, "KiB")) && v % 1024 == 0)
		*mib = v / 1024;
	else
		goto bad;
	if (*mib < VM_MEM_MIN_MIB || *mib > VM_MEM_MAX_MIB)
		return err_set(e, EINVAL,
			       "field 'mem': %s is outside %d MiB to %d GiB", s,
			       VM_MEM_MIN_MIB, VM_MEM_MAX_MIB / 1024);
	return 0;
bad:
	return err_set(e, EINVAL,
		       "field 'mem': '%.64s' is not a size such as 512M or 2G",
		       s);
}

static int vm_mem_from_json(const json_t *v, uint64_t *mib, struct seam_err *e)
{
	char buf[32];

	if (json_is_string(v))
		return vm_mem_parse(json_string_value(v), mib, e);
	if (json_integer_value(v) < 0)
		return err_set(e, EINVAL, "field 'mem' must not be negative");
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	return vm_mem_parse(buf, mib, e);
}

static int vm_cmdline_check(const char *s, struct seam_err *e)
{
	size_t i, n = strlen(s);

	if (n >= VM_CMDLINE_MAX)
		return err_set(e, EINVAL,
			       "field 'cmdline' is longer than %d characters",
			       VM_CMDLINE_MAX - 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return err_set(e, EINVAL,
				       "field 'cmdline' holds a non-printable "
				       "character at offset %zu",
				       i);
	return 0;
}

static bool vm_flag(const json_t *in, const char *name)
{
	return json_is_true(json_object_get(in, name));
}

int vm_config_from_json(const json_t *in, struct vm_config *c,
			struct seam_err *e)
{
	const char *name = json_string_value(json_object_get(in, "name"));
	const char *cmdline = json_string_value(json_object_get(in, "cmdline"));
	const char *kernel = json_string_value(json_object_get(in, "kernel"));
	json_int_t vcpus = json_integer_value(json_object_get(in, "vcpus"));
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = jsonio_check_fields(in, vm_config_fields, e)) < 0 ||
	    (rc = vm_name_check(name, e)) < 0 ||
	    (rc = vm_mem_from_json(json_object_get(in, "mem"), &c->mem_mib,
				   e)) < 0)
		return rc;
	if (vcpus < 1 || vcpus > VM_VCPUS_MAX)
		return err_set(e, EINVAL, "field 'vcpus' must be 1 to %d",
			       VM_VCPUS_MAX);
	if (cmdline && (rc = vm_cmdline_check(cmdline, e)) < 0)
		return rc;
	if (kernel && (kernel[0] != '/' || strlen(kernel) >= PATH_MAX))
		return err_set(e, EINVAL,
			       "field 'kernel' must be an absolute path");
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->cmdline, sizeof(c->cmdline), "%s", cmdline ? cmdline : "");
	snprintf(c->kernel, sizeof(c->kernel), "%s", kernel ? kernel : "");
	c->vcpus = (unsigned)vcpus;
	c->fault_tolerance = vm_flag(in, "fault_tolerance");
	c->passthrough = vm_flag(in, "passthrough");
	c->pod = vm_flag(in, "pod");
	return 0;
}

json_t *vm_config_to_json(const struct vm_config *c)
{
	json_t *j = json_pack("{s:s,s:I,s:I,s:s,s:b,s:b,s:b}", "name", c->name,
			      "mem_mib", (json_int_t)c->mem_mib, "vcpus",
			      (json_int_t)c->vcpus, "cmdline", c->cmdline,
			      "fault_tolerance", c->fault_tolerance,
			      "passthrough", c->passthrough, "pod", c->pod);

	if (c->kernel[0])
		json_object_set_new(j, "kernel", json_string(c->kernel));
	if (c->created[0])
		json_object_set_new(j, "created", json_string(c->created));
	return j;
}

void vmstore_dir(const char *state, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/vms/%s", state, name);
}

static void vmstore_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A stored config as the create request it came from (+ created). */
static json_t *vmstore_config_json(const struct vm_config *c)
{
	json_t *j = vm_config_to_json(c);

	json_object_del(j, "mem_mib");
	json_object_set_new(j, "mem", json_integer((json_int_t)c->mem_mib));
	return j;
}

int vmstore_create(const char *state, const struct vm_config *c,
		   struct seam_err *e)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct vm_config stored = *c;
	json_t *j;
	int rc;

	vmstore_dir(state, c->name, dir, sizeof(dir));
	if (fs_path(path, sizeof(path), "%s/config.json", dir) < 0)
		return err_set(e, ENAMETOOLONG, "VM path too long");
	if (fs_exists(path))
		return err_set(e, EEXIST, "a VM named '%s' already exists",
			       c->name);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_sys(e, "mkdir %s", dir);
	vmstore_now(stored.created, sizeof(stored.created));
	j = vmstore_config_json(&stored);
	rc = jsonio_save_file(path, j, 0644, e);
	json_decref(j);
	return rc;
}

int vmstore_load(const char *state, const char *name, struct vm_config *c,
		 struct seam_err *e)
{
	char path[PATH_MAX];
	struct seam_err le = {0};
	json_t *j, *created;
	int rc;

	if (vm_name_check(name, NULL) < 0)
		return err_set(e, ENOENT, "no VM named '%.64s'", name);
	snprintf(path, sizeof(path), "%s/vms/%s/config.json", state, name);
	rc = jsonio_load_file(path, &j, &le);
	if (rc == -ENOENT)
		return err_set(e, ENOENT, "no VM named '%s'", name);
	if (rc < 0)
		return err_set(e, EIO, "%s", le.msg);
	created = json_incref(json_object_get(j, "created"));
	json_object_del(j, "created");
	rc = vm_config_from_json(j, c, &le);
	if (rc == 0 && json_is_string(created))
		snprintf(c->created, sizeof(c->created), "%s",
			 json_string_value(created));
	json_decref(created);
	json_decref(j);
	if (rc < 0)
		return err_set(e, EIO, "%s: %s", path, le.msg);
	return 0;
}

static int vmstore_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

json_t *vmstore_names(const char *state)
{
	char dir[PATH_MAX], path[PATH_MAX];
	json_t *arr = json_array();
	json_t **v;
	struct dirent *de;
	size_t i, n;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/vms", state);
	d = opendir(dir);
	if (!d)
		return arr;
	while ((de = readdir(d))) {
		if (vm_name_check(de->d_name, NULL) < 0)
			continue;
		if (fs_path(path, sizeof(path), "%s/%s/config.json", dir,
			    de->d_name) == 0 &&
		    fs_exists(path))
			json_array_append_new(arr, json_string(de->d_name));
	}
	closedir(d);
	n = json_array_size(arr);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return arr;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), vmstore_cmp);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
	return arr;
}

int vmstore_delete(const char *state, const char *name, struct seam_err *e)
{
	char dir[PATH_MAX], aside[PATH_MAX];

	vmstore_dir(state, name, dir, sizeof(dir));
	snprintf(aside, sizeof(aside), "%s/vms/.deleted-%s-%d", state, name,
		 (int)getpid());
	if (rename(dir, aside) < 0)
		return err_sys(e, "delete VM '%s'", name);
	fs_fsync_parent(dir);
	fs_remove_tree(aside);
	return 0;
}
