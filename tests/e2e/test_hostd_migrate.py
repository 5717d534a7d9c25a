"""Migration endpoints of seam-hostd (issue 5 item 9), hostd's side.

The VMM's migration (issue 4) is built in parallel; here the vmx is
tests/unit/fake-vmx, a TEST DOUBLE that prints its command line and answers
no migrate request: what is checked is what hostd asks of the vmx
(`run ... --incoming ADDR:PORT --token T`, `ctl SOCK migrate --to ADDR:PORT
--token T`), the one-time token and port it returns, the refusals by
maintenance mode, and that a failed migration leaves the VM running.
"""
import pytest

from test_hostd_api import error_of, host, vm_spec, wait_for_text  # noqa: F401

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
    assert "migrate" in error_of(r)[1]
    assert host.req("GET", "/vms/vm1").json()["state"] == "running"
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
