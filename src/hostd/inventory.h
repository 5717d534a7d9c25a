/*
 * inventory.h — what a host is: CPU, memory, KVM, TPM, DPU.
 *
 * The center decides placement and live-patch eligibility from these
 * attributes (DESIGN §4: a host with `tpm` or `dpu` may be ineligible by
 * policy), so each is detected where the machine tells (/proc/cpuinfo,
 * sysconf, /dev/kvm's KVM_CHECK_EXTENSION, /sys/class/tpm, PCI ids of known
 * DPUs) and can be overridden in STATE/config.json ("attributes"), for the
 * machines that do not tell, and for tests. Overridden keys are listed.
 */
#ifndef SEAM_HOSTD_INVENTORY_H
#define SEAM_HOSTD_INVENTORY_H

#include <jansson.h>

/* Detected attributes with overrides (borrowed object or NULL) applied. */
json_t *inventory_host_attributes(const json_t *overrides);
/* KVM part alone: {"present":false} without /dev/kvm. */
json_t *inventory_kvm(const char *dev);

#endif
