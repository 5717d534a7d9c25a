/*
 * test_vm_proc.c — VM configurations and vmx processes (src/hostd/vmstore.c,
 * src/hostd/vm_proc.c). The vmx here is tests/unit/fake-vmx, a TEST DOUBLE
 * (this machine has no /dev/kvm): it takes the real command line, writes its
 * pid where the control socket would be and sleeps. What is tested is
 * hostd's side: detached start (the vmx is not hostd's child), the runtime
 * record, finding the process again from that record, crash detection when
 * it dies, and stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "vm_proc.h"
#include "vmstore.h"

static void test_mem_parse(void **state)
{
	struct seam_err e = {0};
	uint64_t mib;

	assert_int_equal(vm_mem_parse("512M", &mib, &e), 0);
	assert_int_equal(mib, 512);
	assert_int_equal(vm_mem_parse("2G", &mib, &e), 0);
	assert_int_equal(mib, 2048);
	assert_int_equal(vm_mem_parse("256", &mib, &e), 0);
	assert_int_equal(mib, 256);
	assert_int_equal(vm_mem_parse("65536K", &mib, &e), 0);
	assert_int_equal(mib, 64);
	assert_int_equal(vm_mem_parse("8M", &mib, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "field 'mem'"));
	assert_int_equal(vm_mem_parse("lots", &mib, &e), -EINVAL);
	assert_int_equal(vm_mem_parse("-1G", &mib, &e), -EINVAL);
	assert_int_equal(vm_mem_parse("99999999999999999999G", &mib, &e),
			 -EINVAL);
}

static void test_config_validation(void **state)
{
	struct seam_err e = {0};
	struct vm_config c;
	json_t *j;

	j = json_pack("{s:s,s:s,s:i,s:s,s:b}", "name", "vm-1", "mem", "256M",
		      "vcpus", 2, "cmdline", "heartbeat=10", "passthrough", 1);
	assert_int_equal(vm_config_from_json(j, &c, &e), 0);
	assert_true(c.passthrough);
	assert_false(c.pod);
	json_decref(j);
	j = json_pack("{s:s,s:s,s:i}", "name", "vm/1", "mem", "256M", "vcpus",
		      2);
	assert_int_equal(vm_config_from_json(j, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "VM name"));
	json_decref(j);
	j = json_pack("{s:s,s:s,s:i}", "name", "v", "mem", "256M", "vcpus", 65);
	assert_int_equal(vm_config_from_json(j, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'vcpus'"));
	json_decref(j);
	j = json_pack("{s:s,s:s,s:i,s:s}", "name", "v", "mem", "256M", "vcpus",
		      1, "cmdline", "a\nb");
	assert_int_equal(vm_config_from_json(j, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'cmdline'"));
	json_decref(j);
	j = json_pack("{s:s,s:s,s:i,s:s}", "name", "v", "mem", "256M", "vcpus",
		      1, "kernel", "relative/path");
	assert_int_equal(vm_config_from_json(j, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'kernel'"));
	json_decref(j);
}

static const char *fake_vmx(void)
{
	const char *p = getenv("FAKE_VMX");

	return p ? p : "tests/unit/fake-vmx";
}

static void wait_for_file(const char *path)
{
	struct timespec ts = {0, 10000000};
	int i;

	for (i = 0; i < 500 && !fs_exists(path); i++)
		nanosleep(&ts, NULL);
}

static void test_start_find_crash_stop(void **state)
{
	char dir[] = "/tmp/seam-test-vmproc-XXXXXX";
	struct vm_runtime rt, again;
	struct seam_err e = {0};
	struct vm_proc_spec spec;
	int status;

	assert_non_null(mkdtemp(dir));
	spec = (struct vm_proc_spec){
	    .dir = dir,
	    .vmx = fake_vmx(),
	    .vmx_version = "1.0.0.0",
	    .name = "vm1",
	    .kernel = "/k",
	    .cmdline = "heartbeat=10",
	    .mem_mib = 64,
	    .vcpus = 1,
	};
	assert_int_equal(vm_proc_start(&spec, &rt, &e), 0);
	assert_true(rt.pid > 0);
	/* Detached: not our child. */
	assert_int_equal(waitpid(rt.pid, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(vm_proc_state(&rt), VM_POWER_RUNNING);

	/* "hostd restarts": the record finds the same process. */
	assert_int_equal(vm_runtime_load(dir, &again, &e), 0);
	assert_int_equal(again.pid, rt.pid);
	assert_string_equal(again.vmx_version, "1.0.0.0");
	assert_int_equal(vm_proc_state(&again), VM_POWER_RUNNING);

	/* A recycled pid is not the VM: a wrong start time means crashed. */
	again.starttime++;
	assert_int_equal(vm_proc_state(&again), VM_POWER_CRASHED);

	/* Stop through `ctl SOCK stop`. */
	wait_for_file(rt.control);
	assert_int_equal(vm_proc_stop(&rt, 5000, false, &e), 0);
	assert_int_equal(vm_proc_state(&rt), VM_POWER_CRASHED);
	assert_int_equal(vm_runtime_remove(dir), 0);
	assert_int_equal(vm_runtime_load(dir, &again, NULL), -ENOENT);

	/* Killed behind hostd's back: crashed. */
	assert_int_equal(vm_proc_start(&spec, &rt, &e), 0);
	kill(rt.pid, SIGKILL);
	{
		struct timespec ts = {0, 10000000};
		int i;

		for (i = 0; i < 500 && vm_proc_state(&rt) == VM_POWER_RUNNING;
		     i++)
			nanosleep(&ts, NULL);
	}
	assert_int_equal(vm_proc_state(&rt), VM_POWER_CRASHED);
	fs_remove_tree(dir);
}

static void test_stop_force(void **state)
{
	char dir[] = "/tmp/seam-test-vmproc-XXXXXX";
	struct seam_err e = {0};
	struct vm_proc_spec spec;
	struct vm_runtime rt;

	assert_non_null(mkdtemp(dir));
	spec = (struct vm_proc_spec){
	    .dir = dir,
	    .vmx = fake_vmx(),
	    .vmx_version = "x",
	    .name = "vm2",
	    .kernel = "/k",
	    .cmdline = "",
	    .mem_mib = 64,
	    .vcpus = 1,
	};
	assert_int_equal(vm_proc_start(&spec, &rt, &e), 0);
	wait_for_file(rt.control);
	setenv("FAKE_VMX_IGNORE_STOP", "1", 1);
	assert_int_equal(vm_proc_stop(&rt, 200, false, &e), -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "did not stop"));
	assert_int_equal(vm_proc_stop(&rt, 200, true, &e), 0);
	unsetenv("FAKE_VMX_IGNORE_STOP");
	assert_int_not_equal(vm_proc_state(&rt), VM_POWER_RUNNING);
	fs_remove_tree(dir);
}

static void test_start_missing_binary(void **state)
{
	char dir[] = "/tmp/seam-test-vmproc-XXXXXX";
	struct seam_err e = {0};
	struct vm_proc_spec spec;
	struct vm_runtime rt;

	assert_non_null(mkdtemp(dir));
	spec = (struct vm_proc_spec){
	    .dir = dir,
	    .vmx = "/nonexistent/seam-vmx",
	    .name = "v",
	    .kernel = "/k",
	    .cmdline = "",
	    .mem_mib = 64,
	    .vcpus = 1,
	};
	assert_true(vm_proc_start(&spec, &rt, &e) < 0);
	assert_non_null(strstr(e.msg, "/nonexistent/seam-vmx"));
	fs_remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mem_parse),
	    cmocka_unit_test(test_config_validation),
	    cmocka_unit_test(test_start_find_crash_stop),
	    cmocka_unit_test(test_stop_force),
	    cmocka_unit_test(test_start_missing_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
