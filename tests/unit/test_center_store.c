/*
 * test_center_store.c — seam-center's SQLite store on a temporary file:
 * migrations applied once, WAL, transactions that refuse as a whole,
 * tokens by hash, clusters that cannot be deleted while they hold hosts,
 * images that turn hosts `unknown`, depot conflicts and deletion rules,
 * tasks orphaned by a crash, event filters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char dir[] = "/tmp/seam-center-store-XXXXXX";
static char path[256];

static json_t *J(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	if (!j)
		fail_msg("bad JSON in test: %s", text);
	return j;
}

static struct store *open_store(void)
{
	struct seam_err e = {0};
	struct store *st = NULL;

	if (store_open(path, &st, &e) < 0)
		fail_msg("store_open: %s", e.msg);
	return st;
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/center.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int64_t host_in(struct store *st, int64_t cluster, const char *name)
{
	char buf[512];
	json_t *h, *out = NULL;
	struct seam_err e = {0};
	int64_t id;

	snprintf(buf, sizeof(buf),
		 "{\"name\": \"%s\", \"cluster_id\": %lld, \"address\":"
		 " \"127.0.0.1:1\", \"thumbprint\": \"00\", \"secret\": \"s\","
		 " \"remote_id\": \"%s\", \"version\": \"1.0.0.0\","
		 " \"event_cursor\": 3, \"inventory\": {\"host\": {\"tpm\":"
		 " false}}}",
		 name, (long long)cluster, name);
	h = J(buf);
	if (store_host_create(st, h, &out, &e) < 0)
		fail_msg("host_create: %s", e.msg);
	id = json_integer_value(json_object_get(out, "id"));
	json_decref(h);
	json_decref(out);
	return id;
}

static void test_migrations_once(void **state)
{
	struct store *st = open_store();

	assert_int_equal(store_schema_version(st), 2);
	store_close(st);
	st = open_store();
	assert_int_equal(store_schema_version(st), 2);
	store_close(st);
}

static void test_users_and_tokens(void **state)
{
	struct store *st = open_store();
	struct seam_err e = {0};
	json_t *u = NULL, *t;

	assert_int_equal(
	    store_user_create(st, "ann", "admin", "first", "h1", &u, &e), 0);
	json_decref(u);
	assert_int_equal(
	    store_user_create(st, "ann", "viewer", "x", "h2", NULL, &e),
	    -EEXIST);
	/* The refused user left no token behind. */
	assert_null(store_token_lookup(st, "h2"));
	assert_int_equal(
	    store_user_create(st, "bob", "root", "x", "h3", NULL, &e), -EINVAL);
	t = store_token_lookup(st, "h1");
	assert_string_equal(json_string_value(json_object_get(t, "role")),
			    "admin");
	json_decref(t);
	assert_int_equal(store_user_delete(st, "ann", &e), -EBUSY);
	assert_non_null(strstr(e.msg, "last admin"));
	store_close(st);
}

static void test_clusters_hosts_images(void **state)
{
	struct store *st = open_store();
	struct seam_err e = {0};
	json_t *c = NULL, *def, *k, *imgs;
	int64_t cid, hid;

	assert_int_equal(store_cluster_create(st, "c1", NULL, &c, &e), 0);
	cid = json_integer_value(json_object_get(c, "id"));
	json_decref(c);
	hid = host_in(st, cid, "h1");
	assert_int_equal(store_cluster_delete(st, cid, &e), -EBUSY);
	k = store_compliance_get(st, hid);
	assert_string_equal(json_string_value(json_object_get(k, "status")),
			    "unknown");
	json_decref(k);
	k = J("{\"status\": \"compliant\", \"impact\": \"none\", \"reasons\":"
	      " []}");
	assert_int_equal(store_compliance_put(st, hid, k, 0), 0);
	json_decref(k);
	def = J("{\"base\": \"1.0.0.0\", \"addon\": null, \"components\":"
		" {\"add\": {}, \"remove\": []}}");
	assert_int_equal(
	    store_image_put(st, cid, "default", def, NULL, "d1", &e), 0);
	k = store_compliance_get(st, hid);
	assert_string_equal(json_string_value(json_object_get(k, "status")),
			    "unknown");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(k, "reasons"), 0), "code")),
	    "image_changed");
	json_decref(k);
	imgs = store_image_list(st, cid);
	assert_int_equal(json_array_size(imgs), 1);
	assert_true(json_equal(
	    json_object_get(json_array_get(imgs, 0), "definition"), def));
	json_decref(imgs);
	json_decref(def);
	assert_int_equal(store_host_delete(st, hid, &e), 0);
	assert_int_equal(store_cluster_delete(st, cid, &e), 0);
	assert_null(store_cluster_get(st, "c1"));
	store_close(st);
}

static json_t *release(const char *dig)
{
	char buf[1024];

	snprintf(
	    buf, sizeof(buf),
	    "{\"bundle\": {\"name\": \"b\", \"digest\": \"zz\","
	    " \"level\": \"certified\", \"manifest\": {}},"
	    " \"components\": [{\"name\": \"vmx\", \"version\":"
	    " \"1.0.0.0\", \"vkey\": \"k1\", \"acceptance\": \"certified\","
	    " \"digest\": \"%s\", \"size\": 5, \"scripts\": [],"
	    " \"live_patch_from\": null, \"fsr_required\": false}],"
	    " \"base_images\": [{\"version\": \"1.0.0.0\", \"vkey\": \"k1\","
	    " \"components\": {\"vmx\": \"1.0.0.0\"}, \"live_patch_from\":"
	    " null}], \"addons\": []}",
	    dig);
	return J(buf);
}

static void test_depot(void **state)
{
	struct store *st = open_store();
	struct seam_err e = {0};
	json_t *rel = release("aa"), *sum = NULL, *orph = NULL, *c = NULL;
	json_t *def;
	int64_t cid;

	assert_int_equal(store_depot_import(st, rel, &sum, &e), 0);
	json_decref(sum);
	/* Same release again: nothing added. */
	assert_int_equal(store_depot_import(st, rel, &sum, &e), 0);
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(sum, "added"), "components")),
			 0);
	json_decref(sum);
	json_decref(rel);
	/* Same (name, version), other bytes: refused, nothing stored. */
	rel = release("bb");
	assert_int_equal(store_depot_import(st, rel, NULL, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "never replaced"));
	json_decref(rel);
	assert_true(store_depot_payload_known(st, "aa"));
	assert_false(store_depot_payload_known(st, "bb"));
	/* A component of a base image, a base image used by an image. */
	assert_int_equal(
	    store_depot_delete(st, "components", "vmx", "1.0.0.0", &orph, &e),
	    -EBUSY);
	json_decref(orph);
	assert_int_equal(store_cluster_create(st, "d1", NULL, &c, &e), 0);
	cid = json_integer_value(json_object_get(c, "id"));
	json_decref(c);
	def = J("{\"base\": \"1.0.0.0\", \"components\": {\"add\": {}}}");
	assert_int_equal(store_image_put(st, cid, "i", def, NULL, "x", &e), 0);
	json_decref(def);
	assert_int_equal(
	    store_depot_delete(st, "base_images", NULL, "1.0.0.0", &orph, &e),
	    -EBUSY);
	assert_non_null(strstr(e.msg, "image 'i' of cluster 'd1'"));
	json_decref(orph);
	assert_int_equal(store_image_delete(st, cid, "i", &e), 0);
	assert_int_equal(
	    store_depot_delete(st, "base_images", NULL, "1.0.0.0", &orph, &e),
	    0);
	json_decref(orph);
	assert_int_equal(
	    store_depot_delete(st, "components", "vmx", "1.0.0.0", &orph, &e),
	    0);
	assert_int_equal(json_array_size(orph), 1);
	assert_string_equal(json_string_value(json_array_get(orph, 0)), "aa");
	json_decref(orph);
	store_close(st);
}

static void test_tasks_and_events(void **state)
{
	struct store *st = open_store();
	struct store_event_filter f = {0};
	json_t *ev, *r, *t;
	int64_t id, t2;

	id = store_task_create(st, "compliance.check", "cluster", 1, "c", NULL,
			       NULL);
	assert_true(id > 0);
	store_task_start(st, id);
	t2 = store_task_create(st, "depot.import", "depot", 0, "d", NULL, NULL);
	store_task_start(st, t2);
	store_task_finish(st, t2, "success", NULL, NULL);
	/* A crash leaves `id` running: the next start ends it as error. */
	assert_int_equal(store_task_fail_orphans(st, "restarted"), 1);
	t = store_task_get(st, id);
	assert_string_equal(json_string_value(json_object_get(t, "status")),
			    "error");
	assert_string_equal(json_string_value(json_object_get(t, "error")),
			    "restarted");
	json_decref(t);
	t = store_task_get(st, t2);
	assert_int_equal(json_integer_value(json_object_get(t, "progress")),
			 100);
	json_decref(t);
	ev = J("{\"type\": \"vm.created\", \"vm\": \"v1\", \"host_id\": 7,"
	       " \"message\": \"m\"}");
	store_event_add(st, ev);
	json_decref(ev);
	ev = J("{\"type\": \"vm.deleted\", \"vm\": \"v2\", \"task_id\": 3}");
	store_event_add(st, ev);
	json_decref(ev);
	f.vm = "v1";
	r = store_event_query(st, &f);
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
	f.vm = NULL;
	f.type = "vm";
	r = store_event_query(st, &f);
	assert_int_equal(json_array_size(r), 2);
	json_decref(r);
	f.task_id = 3;
	r = store_event_query(st, &f);
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(r, 0), "vm")),
	    "v2");
	f.after =
	    json_integer_value(json_object_get(json_array_get(r, 0), "cursor"));
	json_decref(r);
	r = store_event_query(st, &f);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	store_close(st);
}

static void test_remediation_steps(void **state)
{
	struct store *st = open_store();
	struct seam_err e = {0};
	json_t *hosts = J("[{\"host_id\": 1, \"path\": \"live\"},"
			  " {\"host_id\": 2, \"path\": \"classic\"}]");
	json_t *s = J("{\"live_patch\": \"auto\"}"), *r, *un, *c = NULL;
	int64_t rid, step;

	assert_int_equal(store_cluster_create(st, "r1", NULL, &c, &e), 0);
	rid = store_remediation_create(
	    st, json_integer_value(json_object_get(c, "id")), 0, s, hosts, &e);
	json_decref(c);
	assert_true(rid > 0);
	step = store_remediation_step_plan(st, rid, 1, "enter_partial", NULL);
	assert_true(step > 0);
	store_remediation_host_set(st, rid, 1, "running", "enter_partial",
				   NULL);
	un = store_remediation_unfinished(st);
	assert_int_equal(json_array_size(un), 1);
	json_decref(un);
	r = store_remediation_get(st, rid);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(r, "steps"), 0), "state")),
	    "planned");
	json_decref(r);
	store_remediation_step_end(st, step, "done", NULL);
	store_remediation_set_state(st, rid, "done");
	un = store_remediation_unfinished(st);
	assert_int_equal(json_array_size(un), 0);
	json_decref(un);
	json_decref(hosts);
	json_decref(s);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrations_once),
	    cmocka_unit_test(test_users_and_tokens),
	    cmocka_unit_test(test_clusters_hosts_images),
	    cmocka_unit_test(test_depot),
	    cmocka_unit_test(test_tasks_and_events),
	    cmocka_unit_test(test_remediation_steps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
