/*
 * test_center_logic.c — seam-center's pure rules, on in-memory documents:
 * compliance and impact (DESIGN §4) including running VMs that cannot FSR,
 * image validation against a depot view, selectors and host assignment,
 * canonical digests, version rules, roles, settings, DRS placement and
 * host credentials. No store, no network: hostd inventories and depot
 * views are JSON built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "auth.h"
#include "compliance.h"
#include "drs.h"
#include "image.h"
#include "settings.h"

static json_t *J(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("bad JSON in test: %s: %s", err.text, text);
	return j;
}

/* The depot of make-bundles: 1.0.0.0, 1.0.0.0100 (live), 2.0.0.0. */
static json_t *view(void)
{
	return J(
	    "{\"base_images\": ["
	    " {\"version\": \"1.0.0.0\", \"components\": {\"vmx\":"
	    "  \"1.0.0.0\", \"hostd\": \"1.0.0.0\", \"guest-tools\":"
	    "  \"1.0.0.0\"}, \"live_patch_from\": null},"
	    " {\"version\": \"1.0.0.0100\", \"components\": {\"vmx\":"
	    "  \"1.0.0.0100\", \"hostd\": \"1.0.0.0100\", \"guest-tools\":"
	    "  \"1.0.0.0\"}, \"live_patch_from\": [\"1.0.0.0\"]},"
	    " {\"version\": \"2.0.0.0\", \"components\": {\"vmx\":"
	    "  \"2.0.0.0\", \"hostd\": \"2.0.0.0\", \"guest-tools\":"
	    "  \"2.0.0.0\"}, \"live_patch_from\": null}],"
	    "\"addons\": [{\"name\": \"acme\", \"version\": \"1.0.0.0\","
	    " \"base_versions\": [\"1.0.0.0100\"], \"components\":"
	    " {\"acme-agent\": \"1.0.0.0\"}}],"
	    "\"components\": ["
	    " {\"name\": \"vmx\", \"version\": \"1.0.0.0\","
	    "  \"live_patch_from\": null, \"fsr_required\": 0},"
	    " {\"name\": \"vmx\", \"version\": \"1.0.0.0100\","
	    "  \"live_patch_from\": [\"1.0.0.0\"], \"fsr_required\": 1},"
	    " {\"name\": \"vmx\", \"version\": \"2.0.0.0\","
	    "  \"live_patch_from\": null, \"fsr_required\": 0},"
	    " {\"name\": \"hostd\", \"version\": \"1.0.0.0\","
	    "  \"live_patch_from\": null, \"fsr_required\": 0},"
	    " {\"name\": \"hostd\", \"version\": \"1.0.0.0100\","
	    "  \"live_patch_from\": [\"1.0.0.0\"], \"fsr_required\": 0},"
	    " {\"name\": \"hostd\", \"version\": \"2.0.0.0\","
	    "  \"live_patch_from\": null, \"fsr_required\": 0},"
	    " {\"name\": \"guest-tools\", \"version\": \"1.0.0.0\","
	    "  \"live_patch_from\": null, \"fsr_required\": 0},"
	    " {\"name\": \"guest-tools\", \"version\": \"2.0.0.0\","
	    "  \"live_patch_from\": null, \"fsr_required\": 0},"
	    " {\"name\": \"acme-agent\", \"version\": \"1.0.0.0\","
	    "  \"live_patch_from\": null, \"fsr_required\": 0},"
	    " {\"name\": \"acme-agent\", \"version\": \"1.1.0.0\","
	    "  \"live_patch_from\": [\"1.0.0.0\"], \"fsr_required\": 0}]}");
}

/* A hostd /inventory on base 1.0.0.0, with the given VMs and tpm. */
static json_t *inventory(const char *vms, bool tpm)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"maintenance_mode\": \"none\", \"host\": {\"memory_mib\":"
		 " 8192, \"tpm\": %s, \"dpu\": false}, \"image\": {\"base\":"
		 " {\"version\": \"1.0.0.0\"}, \"addon\": null},"
		 " \"components\": ["
		 " {\"name\": \"guest-tools\", \"active\": \"1.0.0.0\"},"
		 " {\"name\": \"hostd\", \"active\": \"1.0.0.0\"},"
		 " {\"name\": \"vmx\", \"active\": \"1.0.0.0\"}],"
		 " \"vms\": %s}",
		 tpm ? "true" : "false", vms);
	return J(buf);
}

static json_t *effective(const char *def_text)
{
	json_t *v = view(), *def = J(def_text), *norm = NULL, *eff = NULL;
	struct seam_err e = {0};

	if (image_validate(def, v, &norm, &e) < 0)
		fail_msg("image_validate: %s", e.msg);
	if (image_effective(norm, v, &eff, &e) < 0)
		fail_msg("image_effective: %s", e.msg);
	json_decref(v);
	json_decref(def);
	json_decref(norm);
	return eff;
}

static json_t *judge(const json_t *inv, const json_t *img,
		     const char *ineligible)
{
	json_t *inel = J(ineligible);
	struct compliance_input in = {.inventory = inv,
				      .connected = true,
				      .image = img,
				      .image_name = "default",
				      .ineligible = inel};
	json_t *r = compliance_compute(&in);

	json_decref(inel);
	return r;
}

static const char *S(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool has_reason(const json_t *r, const char *code, const char *vm)
{
	json_t *x;
	size_t i;

	json_array_foreach(
	    json_object_get(r, "reasons"), i,
	    x) if (!strcmp(S(x, "code"), code) &&
		   (!vm || (S(x, "vm") && !strcmp(S(x, "vm"), vm) &&
			    strstr(S(x, "message"), vm)))) return true;
	return false;
}

#define RUNNING(name, flag)                                                    \
	"{\"name\": \"" name "\", \"state\": \"running\", \"mem_mib\": 256,"   \
	" \"vmx_version\": \"1.0.0.0\", \"fault_tolerance\": false,"           \
	" \"passthrough\": false, \"pod\": false" flag "}"

static void test_live_patch_is_partial_maintenance(void **state)
{
	json_t *inv =
	    inventory("[" RUNNING("a", "") "," RUNNING("b", "") "]", false);
	json_t *img = effective("{\"base\": \"1.0.0.0100\"}");
	json_t *r = judge(inv, img, "[\"tpm\", \"dpu\"]");

	assert_string_equal(S(r, "status"), "non_compliant");
	assert_string_equal(S(r, "impact"), "partial_maintenance_mode");
	assert_false(json_is_true(json_object_get(r, "reboot")));
	assert_true(has_reason(r, "vm_fsr", "a"));
	assert_true(has_reason(r, "vm_fsr", "b"));
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(r, "details"), "fsr_vms")),
			 2);
	json_decref(r);
	json_decref(img);
	json_decref(inv);
}

static void test_major_release_is_classic(void **state)
{
	json_t *inv = inventory("[]", false);
	json_t *img = effective("{\"base\": \"2.0.0.0\"}");
	json_t *r = judge(inv, img, "[]");

	assert_string_equal(S(r, "status"), "non_compliant");
	assert_string_equal(S(r, "impact"), "maintenance_mode");
	assert_true(json_is_true(json_object_get(r, "reboot")));
	assert_true(has_reason(r, "base_not_live", NULL));
	assert_true(has_reason(r, "component_not_live", NULL));
	json_decref(r);
	json_decref(img);
	json_decref(inv);
}

static void test_vm_that_cannot_fsr_is_named(void **state)
{
	static const char *const flags[] = {"fault_tolerance", "passthrough",
					    "pod"};
	size_t i;

	for (i = 0; i < 3; i++) {
		char vms[1024];
		json_t *inv, *img, *r, *blk;

		snprintf(
		    vms, sizeof(vms),
		    "[" RUNNING("ok1",
				"") ", {\"name\": \"blocker\","
				    " \"state\": \"running\", \"vmx_version\":"
				    " \"1.0.0.0\", \"%s\": true}]",
		    flags[i]);
		inv = inventory(vms, false);
		img = effective("{\"base\": \"1.0.0.0100\"}");
		r = judge(inv, img, "[]");
		assert_string_equal(S(r, "status"), "non_compliant");
		assert_string_equal(S(r, "impact"), "maintenance_mode");
		assert_true(has_reason(r, "vm_cannot_fsr", "blocker"));
		blk = json_array_get(
		    json_object_get(json_object_get(r, "details"),
				    "blocking_vms"),
		    0);
		assert_string_equal(S(blk, "flag"), flags[i]);
		json_decref(r);
		json_decref(img);
		json_decref(inv);
	}
}

static void test_stopped_flagged_vm_does_not_block(void **state)
{
	json_t *inv = inventory("[{\"name\": \"pt\", \"state\": \"stopped\","
				" \"vmx_version\": null, \"passthrough\":"
				" true}]",
				false);
	json_t *img = effective("{\"base\": \"1.0.0.0100\"}");
	json_t *r = judge(inv, img, "[]");

	assert_string_equal(S(r, "impact"), "partial_maintenance_mode");
	json_decref(r);
	json_decref(img);
	json_decref(inv);
}

static void test_ineligible_host(void **state)
{
	json_t *inv = inventory("[]", true);
	json_t *img = effective("{\"base\": \"1.0.0.0100\"}");
	json_t *r = judge(inv, img, "[\"tpm\", \"dpu\"]");

	assert_string_equal(S(r, "impact"), "maintenance_mode");
	assert_true(has_reason(r, "host_ineligible", NULL));
	json_decref(r);
	r = judge(inv, img, "[\"dpu\"]");
	assert_string_equal(S(r, "impact"), "partial_maintenance_mode");
	json_decref(r);
	json_decref(img);
	json_decref(inv);
}

static void test_compliant_newer_and_unknown(void **state)
{
	json_t *inv = inventory("[" RUNNING("a", "") "]", false);
	json_t *img = effective("{\"base\": \"1.0.0.0\"}");
	json_t *r = judge(inv, img, "[]");
	struct compliance_input in = {0};

	assert_string_equal(S(r, "status"), "compliant");
	assert_string_equal(S(r, "impact"), "none");
	json_decref(r);
	json_decref(img);
	/* A host newer than its image: incompatible (no downgrade). */
	json_object_set_new(
	    json_object_get(json_object_get(inv, "image"), "base"), "version",
	    json_string("2.0.0.0"));
	img = effective("{\"base\": \"1.0.0.0100\"}");
	r = judge(inv, img, "[]");
	assert_string_equal(S(r, "status"), "incompatible");
	assert_true(has_reason(r, "base_newer", NULL));
	json_decref(r);
	/* Disconnected / no image: unknown, with why. */
	in.inventory = inv;
	in.connected = false;
	in.image = img;
	r = compliance_compute(&in);
	assert_string_equal(S(r, "status"), "unknown");
	assert_true(has_reason(r, "host_disconnected", NULL));
	json_decref(r);
	in.connected = true;
	in.image = NULL;
	in.image_error = "host 'h3' is matched by no image";
	r = compliance_compute(&in);
	assert_string_equal(S(r, "status"), "unknown");
	assert_non_null(strstr(
	    S(json_array_get(json_object_get(r, "reasons"), 0), "message"),
	    "matched by no image"));
	json_decref(r);
	json_decref(img);
	json_decref(inv);
}

static void test_vm_left_behind_needs_fsr_only(void **state)
{
	/* Components already switched; one VM still on the old vmx. */
	json_t *inv = inventory("[" RUNNING("late", "") "]", false), *c;
	json_t *img = effective("{\"base\": \"1.0.0.0100\"}");
	json_t *r;
	size_t i;

	json_object_set_new(
	    json_object_get(json_object_get(inv, "image"), "base"), "version",
	    json_string("1.0.0.0100"));
	json_array_foreach(json_object_get(inv, "components"), i,
			   c) if (strcmp(S(c, "name"), "guest-tools"))
	    json_object_set_new(c, "active", json_string("1.0.0.0100"));
	r = judge(inv, img, "[]");
	assert_string_equal(S(r, "status"), "non_compliant");
	assert_string_equal(S(r, "impact"), "partial_maintenance_mode");
	assert_true(has_reason(r, "vm_fsr", "late"));
	json_decref(r);
	json_decref(img);
	json_decref(inv);
}

static void test_removed_component_is_classic(void **state)
{
	json_t *inv = inventory("[]", false);
	json_t *img = effective("{\"base\": \"1.0.0.0100\", \"components\":"
				" {\"remove\": [\"guest-tools\"]}}");
	json_t *r = judge(inv, img, "[]");

	assert_string_equal(S(r, "impact"), "maintenance_mode");
	assert_true(has_reason(r, "component_removed", NULL));
	json_decref(r);
	json_decref(img);
	json_decref(inv);
}

static void validate_bad(const char *def, const char *needle)
{
	json_t *v = view(), *d = J(def), *out = NULL;
	struct seam_err e = {0};

	assert_int_equal(image_validate(d, v, &out, &e), -22);
	assert_null(out);
	if (!strstr(e.msg, needle))
		fail_msg("%s: message \"%s\" lacks \"%s\"", def, e.msg, needle);
	json_decref(d);
	json_decref(v);
}

static void test_image_validation(void **state)
{
	json_t *v = view(), *d, *out = NULL;
	struct seam_err e = {0};
	char dig[IMAGE_DIGEST_HEX], dig2[IMAGE_DIGEST_HEX];

	validate_bad("{\"base\": \"3.0.0.0\"}", "unknown base image version");
	validate_bad("{\"base\": \"3.0.0\"}", "version \"3.0.0\"");
	validate_bad("{}", "field 'base'");
	validate_bad("{\"base\": \"1.0.0.0\", \"addon\": {\"name\": \"acme\","
		     " \"version\": \"1.0.0.0\"}}",
		     "add-on 'acme' 1.0.0.0 is not for base image 1.0.0.0");
	validate_bad("{\"base\": \"1.0.0.0100\", \"components\": {\"add\":"
		     " {\"vmx\": \"1.0.0.0100\"}, \"remove\": [\"vmx\"]}}",
		     "conflicting components");
	validate_bad("{\"base\": \"1.0.0.0100\", \"addon\": {\"name\":"
		     " \"acme\", \"version\": \"1.0.0.0\"}, \"components\":"
		     " {\"add\": {\"acme-agent\": \"1.1.0.0\"}}}",
		     "add-on 'acme' provides 1.0.0.0");
	validate_bad("{\"base\": \"1.0.0.0100\", \"components\": {\"remove\":"
		     " [\"nothing\"]}}",
		     "cannot remove component 'nothing'");
	validate_bad("{\"base\": \"1.0.0.0100\", \"colour\": 1}",
		     "unknown field 'colour'");
	/* Versions are normalised to the depot's spelling; digest stable. */
	d = J("{\"base\": \"1.0.0.100\", \"components\": {\"remove\":"
	      " [\"hostd\", \"guest-tools\"]}}");
	assert_int_equal(image_validate(d, v, &out, &e), 0);
	assert_string_equal(S(out, "base"), "1.0.0.0100");
	assert_string_equal(
	    json_string_value(json_array_get(
		json_object_get(json_object_get(out, "components"), "remove"),
		0)),
	    "guest-tools");
	image_digest(out, dig);
	json_decref(d);
	json_decref(out);
	d = J("{\"components\": {\"remove\": [\"guest-tools\", \"hostd\"]},"
	      " \"base\": \"1.0.0.0100\"}");
	assert_int_equal(image_validate(d, v, &out, &e), 0);
	image_digest(out, dig2);
	assert_string_equal(dig, dig2);
	assert_int_equal(strlen(dig), 64);
	json_decref(d);
	json_decref(out);
	json_decref(v);
}

static void test_acceptance_levels(void **state)
{
	json_t *eff = J("{\"components\": {\"vmx\": {\"version\":"
			" \"1.0.0.0\", \"acceptance\": \"partner\"}}}");
	struct seam_err e = {0};

	assert_int_equal(image_check_acceptance(eff, "community", &e), 0);
	assert_int_equal(image_check_acceptance(eff, "partner", &e), 0);
	assert_int_equal(image_check_acceptance(eff, "certified", &e), -22);
	assert_non_null(strstr(e.msg, "below the cluster's lowest accepted"));
	json_decref(eff);
}

static void test_export_import_check(void **state)
{
	json_t *im = J("{\"name\": \"x\", \"definition\": {\"base\":"
		       " \"1.0.0.0\", \"addon\": null, \"components\":"
		       " {\"add\": {}, \"remove\": []}}, \"selector\": null}");
	json_t *doc = image_export(im);
	struct seam_err e = {0};

	assert_int_equal(image_import_check(doc, &e), 0);
	json_object_set_new(json_object_get(doc, "definition"), "base",
			    json_string("2.0.0.0"));
	assert_int_equal(image_import_check(doc, &e), -22);
	assert_non_null(strstr(e.msg, "sha256 mismatch"));
	json_decref(doc);
	json_decref(im);
}

static void test_selectors_and_assignment(void **state)
{
	json_t *attrs = J("{\"tpm\": true, \"cpu_model\": \"AMD EPYC 7B13\","
			  " \"cores\": 8}");
	json_t *images, *hosts, *map = NULL, *sel;
	struct seam_err e = {0};

	sel = J("{\"hosts\": [\"h1\", \"h2\"]}");
	assert_true(image_selector_match(sel, "h1", attrs));
	assert_false(image_selector_match(sel, "h3", attrs));
	json_decref(sel);
	sel = J("{\"attributes\": {\"tpm\": true, \"cpu_model\": \"AMD*\","
		" \"cores\": 8.0}}");
	assert_true(image_selector_match(sel, "h9", attrs));
	json_decref(sel);
	sel = J("{\"hosts\": [\"h1\"], \"attributes\": {\"tpm\": false}}");
	assert_false(image_selector_match(sel, "h1", attrs));
	json_decref(sel);
	assert_true(image_selector_match(NULL, "h1", attrs));
	sel = J("{\"hosts\": \"h1\"}");
	assert_int_equal(image_selector_validate(sel, &e), -22);
	json_decref(sel);

	hosts = J("[{\"name\": \"h1\", \"attributes\": {\"tpm\": true}},"
		  " {\"name\": \"h2\", \"attributes\": {\"tpm\": false}},"
		  " {\"name\": \"h3\", \"attributes\": null}]");
	images = J("[{\"name\": \"a\", \"selector\": {\"hosts\": [\"h1\","
		   " \"h3\"]}}, {\"name\": \"b\", \"selector\":"
		   " {\"attributes\": {\"tpm\": false}}}]");
	assert_int_equal(image_assign(images, hosts, &map, &e), 0);
	assert_string_equal(S(map, "h1"), "a");
	assert_string_equal(S(map, "h2"), "b");
	assert_string_equal(S(map, "h3"), "a");
	json_decref(map);
	json_decref(images);
	images = J("[{\"name\": \"a\", \"selector\": {\"hosts\": [\"h1\","
		   " \"h2\", \"h3\"]}}, {\"name\": \"b\", \"selector\":"
		   " {\"attributes\": {\"tpm\": false}}}]");
	assert_int_equal(image_assign(images, hosts, &map, &e), -22);
	assert_string_equal(e.msg, "host 'h2' is matched by two images: 'a' "
				   "and 'b'");
	json_decref(images);
	images = J("[{\"name\": \"a\", \"selector\": {\"hosts\": [\"h1\"]}}]");
	assert_int_equal(image_assign(images, hosts, &map, &e), -22);
	assert_string_equal(e.msg, "host 'h2' is matched by no image");
	json_decref(images);
	images = J("[{\"name\": \"a\", \"selector\": null}, {\"name\": \"b\","
		   " \"selector\": {\"hosts\": [\"h1\"]}}]");
	assert_int_equal(image_assign(images, hosts, &map, &e), -22);
	assert_non_null(strstr(e.msg, "needs a selector"));
	json_decref(images);
	json_decref(hosts);
	json_decref(attrs);
}

static void test_version_rules(void **state)
{
	json_t *list = J("[\"1.0.0.0\", \"1.0.0.0100\"]");

	assert_true(image_version_cmp("1.0.0.0100", "1.0.0.99") > 0);
	assert_int_equal(image_version_cmp("1.0.0.0100", "1.0.0.100"), 0);
	assert_true(image_version_cmp("2.0.0.0", "10.0.0.0") < 0);
	assert_true(image_version_in("1.0.0.100", list));
	assert_false(image_version_in("1.0.0.1", list));
	assert_false(image_version_in(NULL, list));
	json_decref(list);
}

static void test_roles(void **state)
{
	assert_int_equal(auth_required_role("GET", "/api/v1/hosts"),
			 AUTH_ROLE_VIEWER);
	assert_int_equal(auth_required_role("POST", "/api/v1/hosts"),
			 AUTH_ROLE_OPERATOR);
	assert_int_equal(auth_required_role("DELETE", "/api/v1/vms/x"),
			 AUTH_ROLE_OPERATOR);
	assert_int_equal(auth_required_role("GET", "/api/v1/users"),
			 AUTH_ROLE_ADMIN);
	assert_int_equal(auth_required_role("POST", "/api/v1/users/x/tokens"),
			 AUTH_ROLE_ADMIN);
	assert_int_equal(auth_required_role("GET", "/api/v1/usersx"),
			 AUTH_ROLE_VIEWER);
	assert_int_equal(auth_required_role("PUT", "/api/v1/settings"),
			 AUTH_ROLE_ADMIN);
	assert_int_equal(auth_required_role("GET", "/api/v1/settings"),
			 AUTH_ROLE_VIEWER);
	assert_int_equal(auth_required_role("POST", "/api/v1/depot/trust"),
			 AUTH_ROLE_ADMIN);
	assert_int_equal(auth_required_role("GET", "/api/v1/depot/trust"),
			 AUTH_ROLE_VIEWER);
	assert_int_equal(
	    auth_required_role("GET", "/api/v1/hosts/h/depot-credential"),
	    AUTH_ROLE_OPERATOR);
	assert_true(auth_role_allows(AUTH_ROLE_ADMIN, AUTH_ROLE_OPERATOR));
	assert_false(auth_role_allows(AUTH_ROLE_VIEWER, AUTH_ROLE_OPERATOR));
	assert_false(auth_role_allows(AUTH_ROLE_NONE, AUTH_ROLE_NONE));
	assert_int_equal(auth_role_parse("operator"), AUTH_ROLE_OPERATOR);
	assert_int_equal(auth_role_parse("root"), AUTH_ROLE_NONE);
}

static void test_tokens(void **state)
{
	unsigned char secret[AUTH_SECRET_LEN] = {1, 2, 3};
	char t1[AUTH_TOKEN_SIZE], t2[AUTH_TOKEN_SIZE];
	char h1[AUTH_HASH_HEX], h2[AUTH_HASH_HEX];
	char ht[AUTH_HOST_TOKEN_SIZE];

	assert_int_equal(auth_token_new(t1), 0);
	assert_int_equal(auth_token_new(t2), 0);
	assert_string_not_equal(t1, t2);
	assert_int_equal(strlen(t1), 69);
	auth_token_hash(t1, h1);
	auth_token_hash(t1, h2);
	assert_string_equal(h1, h2);
	assert_null(strstr(h1, t1 + 5));
	auth_host_token(secret, 42, ht);
	assert_int_equal(auth_host_token_check(secret, ht), 42);
	ht[strlen(ht) - 1] ^= 1;
	assert_int_equal(auth_host_token_check(secret, ht), -1);
	assert_int_equal(auth_host_token_check(secret, t1), -1);
	assert_true(auth_host_path("GET", "/api/v1/depot/payloads/ab"));
	assert_false(auth_host_path("GET", "/api/v1/hosts"));
	assert_false(auth_host_path("DELETE", "/api/v1/depot/payloads/ab"));
}

static void test_settings(void **state)
{
	json_t *g = J("{\"live_patch\": \"enforce\", \"failure_action\":"
		      " {\"action\": \"retry\"}}");
	json_t *c = J("{\"failure_action\": {\"retry_count\": 5}}");
	json_t *eff, *bad;
	struct seam_err e = {0};

	assert_int_equal(settings_validate(g, &e), 0);
	assert_int_equal(settings_validate(c, &e), 0);
	eff = settings_effective(g, c);
	assert_string_equal(S(eff, "live_patch"), "enforce");
	assert_string_equal(S(json_object_get(eff, "failure_action"), "action"),
			    "retry");
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(eff, "failure_action"), "retry_count")),
	    5);
	assert_string_equal(S(eff, "drs_automation"), "fully_automated");
	json_decref(eff);
	bad = J("{\"live_patch\": \"sometimes\"}");
	assert_int_equal(settings_validate(bad, &e), -22);
	assert_non_null(strstr(e.msg, "disable, auto, enforce"));
	json_decref(bad);
	bad = J("{\"parallel_remediation\": {\"max_hosts\": 0}}");
	assert_int_equal(settings_validate(bad, &e), -22);
	json_decref(bad);
	bad = J("{\"speed\": 1}");
	assert_int_equal(settings_validate(bad, &e), -22);
	assert_string_equal(e.msg, "unknown setting 'speed'");
	json_decref(bad);
	json_decref(g);
	json_decref(c);
}

static void test_drs_placement(void **state)
{
	json_t *hosts =
	    J("[{\"name\": \"a\", \"state\": \"connected\", \"inventory\":"
	      " {\"maintenance_mode\": \"none\", \"host\": {\"memory_mib\":"
	      " 4096}, \"vms\": [{\"state\": \"running\", \"mem_mib\":"
	      " 3000}]}},"
	      " {\"name\": \"b\", \"state\": \"connected\", \"inventory\":"
	      " {\"maintenance_mode\": \"partial\", \"host\": {\"memory_mib\":"
	      " 65536}, \"vms\": []}},"
	      " {\"name\": \"c\", \"state\": \"disconnected\", \"inventory\":"
	      " {\"maintenance_mode\": \"none\", \"host\": {\"memory_mib\":"
	      " 65536}, \"vms\": []}},"
	      " {\"name\": \"d\", \"state\": \"connected\", \"inventory\":"
	      " {\"maintenance_mode\": \"none\", \"host\": {\"memory_mib\":"
	      " 2048}, \"vms\": [{\"state\": \"stopped\", \"mem_mib\":"
	      " 2000}]}}]");
	struct seam_err e = {0};
	const json_t *h;

	assert_int_equal(drs_free_mib(json_array_get(hosts, 0)), 1096);
	h = drs_place(hosts, 256, &e);
	assert_non_null(h);
	assert_string_equal(S(h, "name"), "d");
	h = drs_place(hosts, 2049, &e);
	assert_null(h);
	assert_non_null(strstr(e.msg, "no host can take"));
	json_decref(hosts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_live_patch_is_partial_maintenance),
	    cmocka_unit_test(test_major_release_is_classic),
	    cmocka_unit_test(test_vm_that_cannot_fsr_is_named),
	    cmocka_unit_test(test_stopped_flagged_vm_does_not_block),
	    cmocka_unit_test(test_ineligible_host),
	    cmocka_unit_test(test_compliant_newer_and_unknown),
	    cmocka_unit_test(test_vm_left_behind_needs_fsr_only),
	    cmocka_unit_test(test_removed_component_is_classic),
	    cmocka_unit_test(test_image_validation),
	    cmocka_unit_test(test_acceptance_levels),
	    cmocka_unit_test(test_export_import_check),
	    cmocka_unit_test(test_selectors_and_assignment),
	    cmocka_unit_test(test_version_rules),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_drs_placement),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
