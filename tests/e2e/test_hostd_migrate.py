"""Migration endpoints of seam-hostd (issue 5 item 9), hostd's side.

The vmx here is tests/unit/fake-vmx, a TEST DOUBLE (the real VMM's
migration is tested by the integration tests under KVM): it prints its
command line, and its `run --incoming` / `ctl migrate` hand a token over
TCP without moving any guest state. What is checked is what hostd asks of
the vmx (`run ... --incoming ADDR:PORT --token T`, `ctl SOCK migrate --to
ADDR:PORT --token T`), the one-time token and port it returns, the
refusals by maintenance mode, that a successful migration removes the VM
from the source (its configuration and directory, event
`vm.migrated_out`) without anyone asking, and that a failed one leaves
the VM running on the source.
"""
import threading
import time

import pytest

from test_hostd_api import (error_of, host, running_host,  # noqa: F401
                            vm_spec, wait_for_text)

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")


def test_incoming_starts_a_waiting_vmx_with_a_token(host):  # noqa: F811
    r = host.req("POST", "/vms/in1/incoming",
                 json={"mem": "64M", "vcpus": 1, "kernel": "/bin/true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["address"] == "127.0.0.1" and 0 < body["port"] < 65536
    assert len(body["token"]) == 32
    log = wait_for_text(host.state / "vms" / "in1" / "vmx.log", "--token")
    assert f"--incoming 127.0.0.1:{body['port']} --token {body['token']}" \
        in log
    assert host.req("GET", "/vms/in1").json()["state"] == "running"
    # A second prepare of a running VM is refused; tokens are one-time.
    r = host.req("POST", "/vms/in1/incoming", json={})
    assert r.status_code == 409 and "already running" in error_of(r)[1]


def test_migrate_failure_keeps_the_vm(host):  # noqa: F811
    host.req("POST", "/vms", json=vm_spec())
    host.req("POST", "/vms/vm1/power-on")
    r = host.req("POST", "/vms/vm1/migrate",
                 json={"to_host": "127.0.0.1", "port": 1, "token": "t"})
    assert r.status_code == 500, r.text
    assert "migration" in error_of(r)[1] and "refused" in error_of(r)[1]
    assert host.req("GET", "/vms/vm1").json()["state"] == "running"
    assert (host.state / "vms" / "vm1").is_dir()  # configuration kept
    evs = host.req("GET", "/events?limit=1000").json()["events"]
    assert "vm.migrate_failed" in [e["type"] for e in evs]
    assert "vm.migrated_out" not in [e["type"] for e in evs]
    for body, words in (({"to_host": "127.0.0.1", "port": 0, "token": "t"},
                         "port"),
                        ({"to_host": "a:1", "port": 5, "token": "t"},
                         "without port"),
                        ({"to_host": "x", "port": 5}, "missing field")):
        r = host.req("POST", "/vms/vm1/migrate", json=body)
        assert r.status_code == 400 and words in error_of(r)[1], r.text


def test_partial_refuses_migration_both_ways(host):  # noqa: F811
    host.req("POST", "/vms", json=vm_spec())
    host.req("POST", "/vms/vm1/power-on")
    assert host.req("PUT", "/maintenance",
                    json={"mode": "partial"}).status_code == 200
    r = host.req("POST", "/vms/vm1/migrate",
                 json={"to_host": "127.0.0.1", "port": 5, "token": "t"})
    assert r.status_code == 409
    code, msg = error_of(r)
    assert code == "maintenance_mode" and "partial" in msg
    r = host.req("POST", "/vms/in1/incoming", json={"mem": "64M",
                                                    "vcpus": 1})
    assert r.status_code == 409
    code, msg = error_of(r)
    assert code == "maintenance_mode" and "partial" in msg
    assert host.req("GET", "/vms/in1").status_code == 404


@pytest.fixture
def host2(tmp_path):
    """A second hostd: the migration's target."""
    yield from running_host(tmp_path / "state2")


def test_migrate_success_removes_the_source(host, host2):  # noqa: F811
    host.req("POST", "/vms", json=vm_spec())
    assert host.req("POST", "/vms/vm1/power-on").status_code == 200
    inc = host2.req("POST", "/vms/vm1/incoming",
                    json={"mem": "256M", "vcpus": 2, "kernel": "/bin/true"})
    assert inc.status_code == 200, inc.text
    inc = inc.json()
    # a wrong token is refused by the destination: the VM runs on here
    r = host.req("POST", "/vms/vm1/migrate",
                 json={"to_host": "127.0.0.1", "port": inc["port"],
                       "token": "wrong"})
    assert r.status_code == 500 and "refused" in error_of(r)[1], r.text
    assert host.req("GET", "/vms/vm1").json()["state"] == "running"
    assert (host.state / "vms" / "vm1").is_dir()
    # the right one: migrated, and the source forgets the VM by itself
    r = host.req("POST", "/vms/vm1/migrate",
                 json={"to_host": "127.0.0.1", "port": inc["port"],
                       "token": inc["token"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["result"] == "ok"
    assert body["source_deleted"] is True and "downtime_ms" in body
    assert host.req("GET", "/vms/vm1").status_code == 404
    assert not (host.state / "vms" / "vm1").exists()
    assert host2.req("GET", "/vms/vm1").json()["state"] == "running"
    log = wait_for_text(host2.state / "vms" / "vm1" / "vmx.log",
                        "migrated in")
    assert "migrated in: VM vm1" in log
    evs = host.req("GET", "/events?limit=1000").json()["events"]
    out = [e for e in evs if e["type"] == "vm.migrated_out"]
    assert len(out) == 1 and out[0]["vm"] == "vm1", evs
    assert out[0]["target"] == f"127.0.0.1:{inc['port']}"
    assert out[0]["source_deleted"] is True
    # a caller's DELETE afterwards finds nothing left
    assert host.req("DELETE", "/vms/vm1").status_code == 404


@pytest.fixture
def slow_migrate(monkeypatch):
    """fake-vmx's `ctl migrate` held 2 s (set before the hosts start: the
    hostd passes its environment on)."""
    monkeypatch.setenv("FAKE_VMX_MIGRATE_MS", "2000")


def test_migrating_vm_is_shown_and_not_migrated_twice(
        slow_migrate, host, host2):  # noqa: F811
    host.req("POST", "/vms", json=vm_spec())
    assert host.req("POST", "/vms/vm1/power-on").status_code == 200
    inc = host2.req("POST", "/vms/vm1/incoming",
                    json={"mem": "256M", "vcpus": 2,
                          "kernel": "/bin/true"}).json()
    body = {"to_host": "127.0.0.1", "port": inc["port"],
            "token": inc["token"]}
    done = {}
    t = threading.Thread(target=lambda: done.update(
        r=host.req("POST", "/vms/vm1/migrate", json=body)))
    t.start()
    try:
        vm = {}
        for _ in range(200):
            vm = host.req("GET", "/vms/vm1").json()
            if "migrating_to" in vm:
                break
            time.sleep(0.01)
        assert vm["migrating_to"] == f"127.0.0.1:{inc['port']}", vm
        r = host.req("POST", "/vms/vm1/migrate", json=body)
        assert r.status_code == 409 and "already migrating" in \
            error_of(r)[1], r.text
    finally:
        t.join(60)
    assert done["r"].status_code == 200, done["r"].text
    assert host.req("GET", "/vms/vm1").status_code == 404
