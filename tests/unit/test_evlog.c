/*
 * test_evlog.c — the event log (src/lib/evlog.c): cursors increase by one,
 * "after N" returns exactly the later events, a reopened log continues its
 * cursor, a torn last line (a crash mid-write) is cut, waits time out and
 * wake on append.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "fsutil.h"

static void test_append_read_reopen(void **state)
{
	char dir[] = "/tmp/seam-test-evlog-XXXXXX", path[PATH_MAX];
	struct evlog *l;
	json_t *evs;
	int fd, i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	assert_int_equal(evlog_open(path, &l, NULL), 0);
	assert_int_equal(evlog_last(l), 0);
	for (i = 1; i <= 5; i++)
		assert_int_equal(evlog_emit(l, "t", NULL, "event %d", i), i);
	evs = evlog_read(l, 2, 100);
	assert_int_equal(json_array_size(evs), 3);
	assert_int_equal(json_integer_value(
			     json_object_get(json_array_get(evs, 0), "cursor")),
			 3);
	json_decref(evs);
	evs = evlog_read(l, 5, 100);
	assert_int_equal(json_array_size(evs), 0);
	json_decref(evs);
	evs = evlog_read(l, 0, 2);
	assert_int_equal(json_array_size(evs), 2);
	json_decref(evs);
	evlog_close(l);

	/* A crash mid-append leaves a torn line: cut at open. */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(write(fd, "{\"cursor\":6,\"ty", 15) == 15);
	close(fd);
	assert_int_equal(evlog_open(path, &l, NULL), 0);
	assert_int_equal(evlog_last(l), 5);
	assert_int_equal(evlog_emit(l, "t", "vm1", "after restart"), 6);
	evs = evlog_read(l, 5, 100);
	assert_int_equal(json_array_size(evs), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(evs, 0), "vm")),
	    "vm1");
	json_decref(evs);
	assert_int_equal(evlog_wait(l, 6, 50), 0);
	assert_int_equal(evlog_wait(l, 5, 50), 1);
	evlog_close(l);
	fs_remove_tree(dir);
}

static void test_read_beyond_ring(void **state)
{
	char dir[] = "/tmp/seam-test-evlog-XXXXXX", path[PATH_MAX];
	struct evlog *l;
	json_t *evs;
	int i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	assert_int_equal(evlog_open(path, &l, NULL), 0);
	for (i = 1; i <= EVLOG_RING + 10; i++)
		evlog_emit(l, "t", NULL, "%d", i);
	/* Cursors 1..10 are only in the file now. */
	evs = evlog_read(l, 3, 20);
	assert_int_equal(json_array_size(evs), 20);
	for (i = 0; i < 20; i++)
		assert_int_equal(json_integer_value(json_object_get(
				     json_array_get(evs, (size_t)i), "cursor")),
				 4 + i);
	json_decref(evs);
	evlog_close(l);
	fs_remove_tree(dir);
}

static void *appender(void *arg)
{
	usleep(50000);
	evlog_emit(arg, "late", NULL, "x");
	return NULL;
}

static void test_wait_wakes(void **state)
{
	char dir[] = "/tmp/seam-test-evlog-XXXXXX", path[PATH_MAX];
	struct evlog *l;
	pthread_t t;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	assert_int_equal(evlog_open(path, &l, NULL), 0);
	pthread_create(&t, NULL, appender, l);
	assert_int_equal(evlog_wait(l, 0, 30000), 1);
	pthread_join(t, NULL);
	evlog_shutdown(l);
	assert_int_equal(evlog_wait(l, 1, 30000), -ESHUTDOWN);
	evlog_close(l);
	fs_remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_read_reopen),
	    cmocka_unit_test(test_read_beyond_ring),
	    cmocka_unit_test(test_wait_wakes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
