"""Suspend to disk and resume, with a real VM (issue 7 item 1: the power
policy `suspend`, on the host side).

Real build/seam-hostd, real seam-vmx (from the component store) running the
real seam-guest with `heartbeat=10,verify=32`: needs /dev/kvm, so marked
`kvm` and run inside tests/kvmbox on machines without one:

    tests/kvmbox/run --mem 4G --timeout 900 --env SEAM_BUILD=$PWD/build \\
        --env SEAM_TIME_SCALE=25 -- /usr/bin/python3 -m pytest -v \\
        -p no:cacheprovider --timeout=600 -m kvm \\
        tests/e2e/test_hostd_suspend.py

The host is set up as tests/e2e/test_hostd_live.py does (its `bundles` and
`live_host` fixtures). The refusals and the bookkeeping (restart, failed
restore, power-off discarding the file) are tested without KVM against
tests/unit/fake-vmx in tests/e2e/test_hostd_api.py.
"""
import time

import pytest

from test_hostd_api import pid_gone
from test_hostd_live import (SCALE, V_OLD, bundles, check_guest_log,  # noqa: F401
                             heartbeats, live_host, wait_heartbeats)

pytestmark = [pytest.mark.kvm, pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")]


def last_seq(h, vm):
    hbs, _ = heartbeats(h.state, vm)
    return hbs[-1][0] if hbs else 0


def test_suspend_restart_hostd_resume_heartbeats_continue(live_host):
    h = live_host(1, env={
        "SEAM_HOSTD_RESTORE_TIMEOUT_MS": str(int(120000 * SCALE))})
    d = h.state / "vms" / "vm1"
    wait_heartbeats(h.state, "vm1", 5)
    pid = h.req("GET", "/vms/vm1").json()["pid"]
    cursor = h.req("GET", "/host").json()["event_cursor"]

    r = h.req("POST", "/vms/vm1/suspend", timeout=600 * SCALE)
    assert r.status_code == 200, r.text
    vm = r.json()
    assert vm["state"] == "suspended", vm
    snap = d / "suspend.snap"
    assert vm["suspended"]["snapshot"] == str(snap)
    nbytes = vm["suspended"]["bytes"]
    assert snap.exists() and snap.stat().st_size == nbytes
    assert pid_gone(pid)
    assert not (d / "runtime.json").exists()
    h.wait_event({"vm.suspended"}, cursor, 10 * SCALE)
    at_suspend = last_seq(h, "vm1")
    time.sleep(2)
    assert last_seq(h, "vm1") == at_suspend, "the guest ran on after suspend"

    # hostd restarts: the VM is still suspended, not crashed.
    h.stop()
    h.start(env={"SEAM_HOSTD_RESTORE_TIMEOUT_MS": str(int(120000 * SCALE))})
    time.sleep(1.5)  # one monitor pass
    assert h.req("GET", "/vms/vm1").json()["state"] == "suspended"
    assert snap.exists()

    cursor = h.req("GET", "/host").json()["event_cursor"]
    r = h.req("POST", "/vms/vm1/power-on", timeout=300 * SCALE)
    assert r.status_code == 200, r.text
    vm = r.json()
    assert vm["state"] == "running" and vm["pid"] != pid, vm
    assert vm["vmx_version"] == V_OLD
    assert not snap.exists()
    h.wait_event({"vm.resumed"}, cursor, 10 * SCALE)
    wait_heartbeats(h.state, "vm1", at_suspend + 5)
    hbs = check_guest_log(h.state, "vm1")  # from 1, no gap, no repeat, no FAIL
    assert hbs[-1][0] >= at_suspend + 5
    print(f"suspended_at_seq={at_suspend} snapshot_bytes={nbytes} "
          f"last_seq={hbs[-1][0]}")
