/*
 * compliance.c — see compliance.h.
 *
 * One pass collects findings into a `struct cmp`: changes (component from ->
 * to, live or not), incompatibilities, VM findings. The verdict is derived
 * from them at the end, so each rule is one small function adding findings.
 */
#include "jsonio.h"
#include "compliance.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "image.h"

struct cmp {
	json_t *reasons;
	json_t *changes;
	json_t *fsr_vms;
	json_t *blocking_vms;
	bool incompatible;
	bool changed; /* something must change on the host */
	bool classic; /* the live path is impossible */
};

static void cmp_reason(struct cmp *c, const char *code, const char *comp,
		       const char *vm, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void cmp_reason(struct cmp *c, const char *code, const char *comp,
		       const char *vm, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r = json_pack("{s:s,s:s}", "code", code, "message", msg);
	if (comp)
		json_object_set_new(r, "component", json_string(comp));
	if (vm)
		json_object_set_new(r, "vm", json_string(vm));
	json_array_append_new(c->reasons, r);
}

/* The active version of a component on the host, or NULL. */
static const char *cmp_active(const json_t *inv, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(
	    json_object_get(inv, "components"), i,
	    c) if (jsonio_str(c, "name") &&
		   !strcmp(jsonio_str(c, "name"), name)) return jsonio_str(c, "active");
	return NULL;
}

static const char *cmp_host_base(const json_t *inv)
{
	const json_t *b =
	    json_object_get(json_object_get(inv, "image"), "base");

	if (json_is_string(b))
		return json_string_value(b);
	return jsonio_str(b, "version");
}

static void cmp_base(struct cmp *c, const json_t *inv, const json_t *img)
{
	const json_t *base = json_object_get(img, "base");
	const char *want = jsonio_str(base, "version"), *have = cmp_host_base(inv);
	int d;

	if (!have) {
		c->changed = c->classic = true;
		cmp_reason(c, "base_missing", NULL, NULL,
			   "no base image installed; the image wants %s "
			   "(classic install)",
			   want);
		return;
	}
	d = image_version_cmp(have, want);
	if (d == 0)
		return;
	if (d > 0) {
		c->incompatible = true;
		cmp_reason(c, "base_newer", NULL, NULL,
			   "host runs base image %s, newer than the image's "
			   "%s (downgrade is not supported)",
			   have, want);
		return;
	}
	c->changed = true;
	if (image_version_in(have, json_object_get(base, "live_patch_from"))) {
		cmp_reason(c, "base_live", NULL, NULL,
			   "base image %s -> %s can be live patched", have,
			   want);
	} else {
		c->classic = true;
		cmp_reason(c, "base_not_live", NULL, NULL,
			   "base image %s -> %s cannot be live patched (%s "
			   "does not list %s in live_patch_from)",
			   have, want, want, have);
	}
}

static void cmp_component(struct cmp *c, const json_t *inv, const char *name,
			  const json_t *rel)
{
	const char *want = jsonio_str(rel, "version");
	const char *have = cmp_active(inv, name);
	bool live;
	int d;

	if (!have) {
		c->changed = c->classic = true;
		cmp_reason(c, "component_missing", name, NULL,
			   "component '%s' is not installed; the image wants "
			   "%s (classic install)",
			   name, want);
		json_array_append_new(
		    c->changes, json_pack("{s:s,s:n,s:s,s:b}", "component",
					  name, "from", "to", want, "live", 0));
		return;
	}
	d = image_version_cmp(have, want);
	if (d == 0)
		return;
	if (d > 0) {
		c->incompatible = true;
		cmp_reason(c, "component_newer", name, NULL,
			   "component '%s' runs %s, newer than the image's "
			   "%s (downgrade is not supported)",
			   name, have, want);
		return;
	}
	c->changed = true;
	live = image_version_in(have, json_object_get(rel, "live_patch_from"));
	json_array_append_new(
	    c->changes,
	    json_pack(
		"{s:s,s:s,s:s,s:b,s:b}", "component", name, "from", have, "to",
		want, "live", live, "fsr_required",
		json_is_true(json_object_get(rel, "fsr_required")) ||
		    json_integer_value(json_object_get(rel, "fsr_required"))));
	if (live) {
		cmp_reason(c, "component_live", name, NULL,
			   "component '%s' %s -> %s can be live patched", name,
			   have, want);
	} else {
		c->classic = true;
		cmp_reason(c, "component_not_live", name, NULL,
			   "component '%s' %s -> %s cannot be live patched "
			   "(%s does not list %s in live_patch_from)",
			   name, have, want, want, have);
	}
}

static void cmp_removed(struct cmp *c, const json_t *inv, const json_t *img)
{
	const json_t *want = json_object_get(img, "components");
	json_t *hc;
	size_t i;

	json_array_foreach(json_object_get(inv, "components"), i, hc)
	{
		const char *name = jsonio_str(hc, "name");

		if (!name || !jsonio_str(hc, "active") || json_object_get(want, name))
			continue;
		c->changed = c->classic = true;
		cmp_reason(c, "component_removed", name, NULL,
			   "component '%s' %s is installed but not in the "
			   "image: it will be removed (classic path)",
			   name, jsonio_str(hc, "active"));
	}
}

static const char *cmp_vm_blocker(const json_t *vm)
{
	static const char *const flags[] = {"fault_tolerance", "passthrough",
					    "pod"};
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (json_is_true(json_object_get(vm, flags[i])))
			return flags[i];
	return NULL;
}

/* Running VMs against the image's vmx. */
static void cmp_vms(struct cmp *c, const json_t *inv, const json_t *img)
{
	const json_t *vmx =
	    json_object_get(json_object_get(img, "components"), "vmx");
	const char *want = jsonio_str(vmx, "version");
	const char *active = cmp_active(inv, "vmx");
	bool fsr =
	    vmx &&
	    (json_is_true(json_object_get(vmx, "fsr_required")) ||
	     json_integer_value(json_object_get(vmx, "fsr_required")) != 0);
	json_t *vm;
	size_t i;

	if (!want)
		return;
	json_array_foreach(json_object_get(inv, "vms"), i, vm)
	{
		const char *name = jsonio_str(vm, "name");
		const char *runs = jsonio_str(vm, "vmx_version");
		const char *blocker;

		if (!jsonio_str(vm, "state") || strcmp(jsonio_str(vm, "state"), "running"))
			continue;
		if (!runs || !strcmp(runs, "unmanaged") ||
		    !strcmp(runs, "unknown"))
			continue;
		if (image_version_cmp(runs, want) == 0)
			continue;
		c->changed = true;
		blocker = cmp_vm_blocker(vm);
		if (blocker) {
			c->classic = true;
			json_array_append_new(c->blocking_vms,
					      json_pack("{s:s,s:s}", "vm", name,
							"flag", blocker));
			cmp_reason(c, "vm_cannot_fsr", NULL, name,
				   "VM '%s' runs vmx %s and is flagged %s: it "
				   "cannot FSR onto vmx %s",
				   name, runs, blocker, want);
			continue;
		}
		if (!fsr && active && image_version_cmp(active, want) != 0) {
			/* A restart of the VM is the only way onto it. */
			c->classic = true;
			cmp_reason(c, "vm_needs_restart", NULL, name,
				   "VM '%s' runs vmx %s; vmx %s does not "
				   "support FSR",
				   name, runs, want);
			continue;
		}
		json_array_append_new(c->fsr_vms, json_string(name));
		cmp_reason(c, "vm_fsr", NULL, name,
			   "VM '%s' runs vmx %s and will FSR onto vmx %s", name,
			   runs, want);
	}
}

static void cmp_eligibility(struct cmp *c, const json_t *inv,
			    const json_t *ineligible)
{
	const json_t *attrs = json_object_get(inv, "host"), *a;
	size_t i;

	json_array_foreach((json_t *)ineligible, i, a)
	{
		const char *k = json_string_value(a);
		const json_t *v = k ? json_object_get(attrs, k) : NULL;

		if (!v || json_is_false(v) || json_is_null(v))
			continue;
		c->classic = true;
		cmp_reason(c, "host_ineligible", NULL, NULL,
			   "host has '%s': live patch policy makes it "
			   "ineligible",
			   k);
	}
}

static json_t *cmp_result(const char *status, const char *impact, bool reboot,
			  bool live, const struct compliance_input *in,
			  json_t *reasons)
{
	json_t *r = json_pack("{s:s,s:s,s:b,s:b,s:o}", "status", status,
			      "impact", impact, "reboot", reboot,
			      "live_patchable", live, "reasons", reasons);

	json_object_set_new(r, "image",
			    in->image_name ? json_string(in->image_name)
					   : json_null());
	return r;
}

json_t *compliance_compute(const struct compliance_input *in)
{
	struct cmp c = {0};
	json_t *r, *reasons = json_array();

	if (!in->connected || !in->inventory || !in->image) {
		const char *msg =
		    !in->connected ? "host is disconnected"
		    : !in->inventory
			? "no inventory from the host yet"
			: (in->image_error ? in->image_error
					   : "the host has no image");
		const char *code = !in->connected   ? "host_disconnected"
				   : !in->inventory ? "no_inventory"
						    : "no_image";

		json_array_append_new(reasons, json_pack("{s:s,s:s}", "code",
							 code, "message", msg));
		return cmp_result("unknown", "none", false, false, in, reasons);
	}
	c.reasons = reasons;
	c.changes = json_array();
	c.fsr_vms = json_array();
	c.blocking_vms = json_array();
	{
		const char *k;
		json_t *rel;

		cmp_base(&c, in->inventory, in->image);
		json_object_foreach(json_object_get(in->image, "components"), k,
				    rel)
		    cmp_component(&c, in->inventory, k, rel);
		cmp_removed(&c, in->inventory, in->image);
		cmp_vms(&c, in->inventory, in->image);
		if (c.changed)
			cmp_eligibility(&c, in->inventory, in->ineligible);
	}
	if (c.incompatible)
		r = cmp_result("incompatible", "none", false, false, in,
			       reasons);
	else if (!c.changed)
		r = cmp_result("compliant", "none", false, false, in, reasons);
	else if (c.classic)
		r = cmp_result("non_compliant", "maintenance_mode", true, false,
			       in, reasons);
	else
		r = cmp_result("non_compliant", "partial_maintenance_mode",
			       false, true, in, reasons);
	json_object_set_new(r, "details",
			    json_pack("{s:o,s:o,s:o}", "changes", c.changes,
				      "fsr_vms", c.fsr_vms, "blocking_vms",
				      c.blocking_vms));
	return r;
}
