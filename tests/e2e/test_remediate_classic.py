"""Acceptance of the classic path and of mixed clusters (issue 7), with
running VMs (seam-guest heartbeat=10,verify=32): needs /dev/kvm; on machines
without one run inside tests/kvmbox/run (see test_remediate_live.py).

- 1.0.0.0100 -> 2.0.0.0 with live_patch=auto: each host is emptied by live
  migration (DRS plan) before its restart; guest logs continuous across
  hosts; every host compliant at the end.
- live_patch=enforce with a running passthrough VM: the pre-check fails
  naming it; with auto (power_policy power_off) that host takes the classic
  path (the VM is powered off and on again) and the others are live
  patched.
"""
import seamlog  # lab/seamlog.py (on sys.path: the root conftest)
from remediate_harness import KVM_MARKS, SCALE, cluster_factory  # noqa: F401
from seamlab import box_cmdline
from test_remediate_live import start_vms, wait_for

pytestmark = KVM_MARKS


def all_heartbeats(cl, vm):
    """The VM's heartbeat numbers from every host it ever ran on (the
    cluster's SerialTap: a source deletes the log of a VM that left)."""
    return sorted({x[0] for x in seamlog.heartbeats(cl.tap.lines(vm))})


def run(cl):
    r = cl.api.ok("POST", "/clusters/c1/remediate", status=202)
    rem = r["remediation_id"]
    return rem, cl.wait_remediation(rem, timeout=1800)


def test_classic_major_release_by_migration(cluster_factory):
    cl = cluster_factory()
    cl.start_tap()
    vms = start_vms(cl)
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    rem, r = run(cl)
    assert r["state"] == "done", r
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "2.0.0.0"})
    rem, r = run(cl)
    assert r["state"] == "done", r
    assert {h["path"] for h in r["hosts"]} == {"classic"}
    evs = [e for e in cl.events()
           if (e.get("data") or {}).get("remediation_id") == rem]
    for h in ("h1", "h2", "h3"):
        mine = [e for e in evs if (e.get("data") or {}).get("host") == h or
                (e.get("data") or {}).get("from") == h]
        kinds = [(e["type"], (e.get("data") or {}).get("step"))
                 for e in mine]
        apply_at = kinds.index(("remediation.step", "apply_classic"))
        # every VM that ran here moved away before the restart
        moved = [e for e in mine[:apply_at]
                 if e["type"] == "remediation.vm_migrated" and
                 e["data"]["from"] == h]
        assert moved, (h, kinds)
        for e in moved:
            assert e["data"]["downtime_us"] >= 0
    for name in vms:
        seqs = all_heartbeats(cl, name)
        assert not [ln for ln in cl.tap.lines(name) if "verify FAIL" in ln]
        gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
        assert seqs[0] == 1 and not gaps, (name, gaps[:5])
        vm = cl.api.ok("GET", f"/vms/{name}")
        assert vm["state"] == "running", vm
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}, res
    for i in range(3):
        assert cl.host_direct(i, "/inventory")["maintenance_mode"] == "none"


def test_passthrough_enforce_then_auto(cluster_factory):
    cl = cluster_factory(settings={"live_patch": "enforce",
                                   "power_policy": "power_off"})
    start_vms(cl, per_host=1)
    cl.api.ok("POST", "/vms", status=201,
              json={"name": "pt1", "mem": "32M", "vcpus": 1,
                    "cmdline": box_cmdline("heartbeat=10"),
                    "passthrough": True,
                    "host": "h2"})
    cl.api.ok("POST", "/vms/pt1/power-on")
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    pc = cl.task("/clusters/c1/precheck")["result"]
    assert pc["status"] == "error"
    assert any(x.get("vm") == "pt1" and x["status"] == "error"
               for x in pc["results"]), pc
    assert cl.api.post("/clusters/c1/remediate").status_code >= 400
    # (a PUT replaces the cluster's settings: power_policy is given again)
    cl.api.ok("PUT", "/clusters/c1/settings", json={"live_patch": "auto",
                                                    "power_policy":
                                                    "power_off"})
    pc = cl.task("/clusters/c1/precheck")["result"]
    assert pc["paths"] == {"h1": "live", "h2": "classic", "h3": "live"}, pc
    rem, r = run(cl)
    assert r["state"] == "done", r
    paths = {h["host_id"]: h["path"] for h in r["hosts"]}
    assert sorted(paths.values()) == ["classic", "live", "live"]
    wait_for(lambda: cl.api.ok("GET", "/vms/pt1")["state"] == "running",
             60 * SCALE, "pt1 powered on again")
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}, res
