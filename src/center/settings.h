/*
 * settings.h — the center's settings: global values, per-cluster overrides.
 *
 * What the lifecycle engine (issue 7) reads: live_patch (disable | auto |
 * enforce), drs_automation (manual | partially_automated |
 * fully_automated), parallel_remediation {enabled, max_hosts},
 * failure_action {action: fail | retry, retry_count, retry_delay_s},
 * tolerated_failures, power_policy (power_off | suspend | do_not_change),
 * live_patch_ineligible (host attributes that rule out live patch),
 * min_acceptance (lowest acceptance level the depot accepts), and
 * host_timeout_ms. A cluster stores only what it overrides; the effective
 * value is default <- global <- cluster, merged key by key (objects field by
 * field). Validation refuses unknown keys and wrong types or values by
 * name. Pure functions.
 */
#ifndef SEAM_CENTER_SETTINGS_H
#define SEAM_CENTER_SETTINGS_H

#include <jansson.h>

#include "err.h"

json_t *settings_defaults(void);
/* Check a (partial) settings object. */
int settings_validate(const json_t *s, struct seam_err *e);
/* Merge `over` into a copy of `base`, objects field by field. */
json_t *settings_merge(const json_t *base, const json_t *over);
/* default <- global <- cluster. */
json_t *settings_effective(const json_t *global, const json_t *cluster);

#endif
