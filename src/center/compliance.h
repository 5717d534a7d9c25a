/*
 * compliance.h — how far a host is from its image, and what fixing it costs.
 *
 * DESIGN §4: the center compares a host's reported inventory — the active
 * revision of every component, the installed base image, and the vmx
 * version each running VM actually runs — with the host's image, and
 * reports a status (compliant, non_compliant, incompatible, unknown) and an
 * impact: none, partial_maintenance_mode (the live path: VMs keep running
 * and move onto the new vmx by FSR) or maintenance_mode + reboot (the
 * classic path), with a reason for every finding.
 *
 * The live path is possible when the base image and every component that
 * changes list the host's current version in live_patch_from, the host has
 * no attribute the policy makes ineligible (tpm, dpu by default), nothing
 * is removed or newly installed, and every running VM that must FSR can:
 * VMs flagged fault_tolerance, passthrough or pod cannot, and are named.
 *
 * Pure: inputs are JSON documents (hostd's /inventory reply, the effective
 * image of image_effective()), so the whole rule set is unit-tested.
 */
#ifndef SEAM_CENTER_COMPLIANCE_H
#define SEAM_CENTER_COMPLIANCE_H

#include <jansson.h>
#include <stdbool.h>

struct compliance_input {
	const json_t *inventory; /* hostd /inventory; NULL when never seen */
	bool connected;
	const json_t *image;	  /* image_effective(); NULL: see why */
	const char *image_name;	  /* for the result */
	const char *image_error;  /* why there is no image */
	const json_t *ineligible; /* attribute names, e.g. ["tpm","dpu"] */
};

/*
 * {"status", "impact", "reboot", "live_patchable", "image",
 *  "reasons": [{"code", "message", "component"?, "vm"?}],
 *  "details": {"changes": [...], "fsr_vms": [...], "blocking_vms": [...]}}
 */
json_t *compliance_compute(const struct compliance_input *in);

#endif
