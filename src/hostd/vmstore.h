/*
 * vmstore.h — the VM configurations a host keeps.
 *
 * One directory per VM, STATE/vms/NAME/, holding config.json (what the
 * operator asked for, validated here), and at run time the vmx's control
 * socket, logs and runtime.json (vm_proc.h). A directory without config.json
 * is not a VM (a create interrupted by a crash) and is ignored. A delete
 * renames the directory aside before removing it, so a VM is either there
 * whole or gone.
 *
 * Validation is here, with messages naming the field: a name is 1-63 of
 * [a-z0-9_.-] starting with a letter or digit; mem is a size ("512M",
 * "2G") or an integer of MiB, 16 MiB to 1 TiB; vcpus 1 to 64; cmdline up
 * to 1024 printable characters; kernel an absolute path when given.
 */
#ifndef SEAM_HOSTD_VMSTORE_H
#define SEAM_HOSTD_VMSTORE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "jsonio.h"

#define VM_NAME_MAX 64
#define VM_CMDLINE_MAX 1025
#define VM_MEM_MIN_MIB 16
#define VM_MEM_MAX_MIB (1024 * 1024)
#define VM_VCPUS_MAX 64

struct vm_config {
	char name[VM_NAME_MAX];
	uint64_t mem_mib;
	unsigned vcpus;
	char cmdline[VM_CMDLINE_MAX];
	char kernel[PATH_MAX]; /* "" = the host's default guest kernel */
	bool fault_tolerance;
	bool passthrough;
	bool pod;
	char created[40];
};

/* The fields a create request may hold. */
extern const struct jsonio_field vm_config_fields[];

int vm_name_check(const char *name, struct seam_err *e);
/* Parse "512M", "2G", "1048576K" or a bare MiB count. */
int vm_mem_parse(const char *s, uint64_t *mib, struct seam_err *e);
/* Validate a create request (already field-checked) into c. */
int vm_config_from_json(const json_t *in, struct vm_config *c,
			struct seam_err *e);
json_t *vm_config_to_json(const struct vm_config *c);

/* Paths: STATE/vms/NAME[/file]. */
void vmstore_dir(const char *state, const char *name, char *buf, size_t len);

/* Create (-EEXIST when a VM of that name exists), load, list, delete. */
int vmstore_create(const char *state, const struct vm_config *c,
		   struct seam_err *e);
int vmstore_load(const char *state, const char *name, struct vm_config *c,
		 struct seam_err *e);
/* Names of every VM, sorted; an array of strings. */
json_t *vmstore_names(const char *state);
int vmstore_delete(const char *state, const char *name, struct seam_err *e);

#endif
