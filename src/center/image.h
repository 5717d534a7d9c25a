/*
 * image.h — cluster images: definition, validation, selectors, digest.
 *
 * A cluster image is the desired software of a set of hosts (DESIGN §3): a
 * base image version, an optional add-on, and components added or removed.
 * A cluster holds one or more images; each has a host selector, and every
 * host of the cluster must match exactly one.
 *
 * Everything here is pure: it works on JSON documents (the definition, a
 * view of the depot as store_depot_view() gives it, hosts' names and
 * attributes) and never touches the store or the network, so the rules are
 * unit-tested on their own.
 *
 * The stored (normalised) definition:
 *   {"base": "1.0.0.0100",
 *    "addon": {"name": "acme", "version": "1.2.0.0"} | null,
 *    "components": {"add": {"name": "version", ...}, "remove": ["name"]}}
 * Versions are rewritten to the depot's own spelling, so "1.0.0.100" given
 * by a user is stored as the depot's "1.0.0.0100". Its digest is the
 * SHA-256 of its canonical form (compact JSON, keys sorted).
 *
 * A selector: {"hosts": ["h1", ...], "attributes": {"tpm": false, ...}};
 * both parts must match when both are given; null or {} matches every host.
 * An attribute matches when the host's attribute equals the value (a string
 * value ending in '*' matches a prefix).
 */
#ifndef SEAM_CENTER_IMAGE_H
#define SEAM_CENTER_IMAGE_H

#include <jansson.h>
#include <stdbool.h>

#include "err.h"

#define IMAGE_DIGEST_HEX 65
#define IMAGE_EXPORT_KIND "seam-cluster-image"

/*
 * Check a definition as a client sent it ({base, addon?, components?})
 * against the depot view; *out gets the normalised definition.
 */
int image_validate(const json_t *def, const json_t *view, json_t **out,
		   struct seam_err *e);
/*
 * The software the image means: {"base": <base image row>,
 * "addon": <row or null>, "components": {name: <component row>}}.
 */
int image_effective(const json_t *def, const json_t *view, json_t **out,
		    struct seam_err *e);
/* Every component at or above the cluster's lowest accepted level. */
int image_check_acceptance(const json_t *eff, const char *min_level,
			   struct seam_err *e);
void image_digest(const json_t *def, char out[IMAGE_DIGEST_HEX]);

int image_selector_validate(const json_t *sel, struct seam_err *e);
bool image_selector_match(const json_t *sel, const char *host,
			  const json_t *attributes);
/*
 * images: [{name, selector}], hosts: [{name, attributes}]. *out gets
 * {host: image name}. Refused when a host matches two images or none, or
 * when several images leave a selector empty.
 */
int image_assign(const json_t *images, const json_t *hosts, json_t **out,
		 struct seam_err *e);

/* Export document, and its check on import (digest must match). */
json_t *image_export(const json_t *image);
int image_import_check(const json_t *doc, struct seam_err *e);

/* Version helpers over text (numeric, field by field). */
int image_version_cmp(const char *a, const char *b);
bool image_version_in(const char *v, const json_t *list);

#endif
