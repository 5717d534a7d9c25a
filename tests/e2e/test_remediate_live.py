"""Acceptance of the live path (issue 7): a real center, three real hostd,
two running VMs per host (seam-guest, heartbeat=10,verify=32, 64 MiB),
live patch 1.0.0.0 -> 1.0.0.0100 with live_patch=enforce.

Needs /dev/kvm: on machines without one run it inside the box:
    tests/kvmbox/run --env SEAM_TIME_SCALE=20 -- /usr/bin/python3 -m pytest \
        -q tests/e2e/test_remediate_live.py
Checked: no VM migrates; every guest's heartbeat sequence is continuous and
verify holds; every VM runs vmx 1.0.0.0100; every host is compliant; the
events are complete and in order (per host: selected, the five steps, an
FSR event with its stun per VM, done; then the run's total).
"""
import time
from pathlib import Path

import seamlog  # lab/seamlog.py (on sys.path: the root conftest)
from seamlab import box_cmdline
from remediate_harness import KVM_MARKS, SCALE, cluster_factory  # noqa: F401

pytestmark = KVM_MARKS

V_OLD, V_NEW = "1.0.0.0", "1.0.0.0100"
STEPS = ["stage", "enter_partial", "apply_live", "exit_maintenance",
         "compliance"]


def serial(cl, host_i, vm):
    return Path(cl.hosts[host_i].state) / "vms" / vm / "serial.log"


def heartbeats(path):
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return [], []
    lines = text.splitlines()
    return seamlog.heartbeats(lines), lines


def wait_for(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def start_vms(cl, per_host=2, cmdline="heartbeat=10,verify=32"):
    vms = {}
    cmdline = box_cmdline(cmdline)
    for i in range(len(cl.hosts)):
        for k in range(per_host):
            name = f"vm{i + 1}{chr(ord('a') + k)}"
            cl.api.ok("POST", "/vms", status=201, timeout=60 * SCALE,
                      json={"name": name, "mem": "64M", "vcpus": 1,
                            "cmdline": cmdline, "host": f"h{i + 1}"})
            cl.api.ok("POST", f"/vms/{name}/power-on", timeout=60 * SCALE)
            vms[name] = i
    for name, i in vms.items():
        wait_for(lambda: len(heartbeats(serial(cl, i, name))[0]) >= 3,
                 60 * SCALE, f"heartbeats of {name}")
    return vms


def test_live_patch_enforce_three_hosts(cluster_factory):
    cl = cluster_factory(settings={"live_patch": "enforce"})
    vms = start_vms(cl)
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": V_NEW})
    pc = cl.task("/clusters/c1/precheck", timeout=600)["result"]
    assert pc["status"] in ("ok", "warning"), pc
    assert set(pc["paths"].values()) == {"live"}
    # check compliance -> pre-check -> stage -> remediate
    st = cl.task("/clusters/c1/stage", timeout=600)
    assert st["status"] == "success", st
    # the emulated box is slow and loaded: a failed host is retried (a PUT
    # replaces the cluster's settings: live_patch is given again)
    cl.api.ok("PUT", "/clusters/c1/settings", json={
        "live_patch": "enforce",
        "failure_action": {"action": "retry", "retry_count": 2,
                           "retry_delay_s": 1}})
    r = cl.api.ok("POST", "/clusters/c1/remediate", status=202)
    rem = r["remediation_id"]
    run = cl.wait_remediation(rem, timeout=900)
    assert run["state"] == "done", run
    assert {h["status"] for h in run["hosts"]} == {"ok"}
    # a few more heartbeats on the new vmx
    for name, i in vms.items():
        wait_for(lambda: sum(1 for h in heartbeats(serial(cl, i, name))[0]
                             if h[2] == V_NEW) >= 3,
                 60 * SCALE, f"heartbeats of {name} on {V_NEW}")
    # guest logs continuous, verify holds, every VM on the new vmx
    for name, i in vms.items():
        hbs, lines = heartbeats(serial(cl, i, name))
        seqs = [h[0] for h in hbs]
        gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
        assert seqs[0] == 1 and not gaps, (name, gaps[:5])
        assert {h[2] for h in hbs} <= {V_OLD, V_NEW}
        assert hbs[-1][2] == V_NEW, name
        assert not [ln for ln in lines if "verify" in ln and
                    ("fail" in ln.lower() or "bad" in ln.lower())], name
        vm = cl.api.ok("GET", f"/vms/{name}")
        assert vm.get("host") == f"h{i + 1}", vm  # never migrated
    for i in range(3):
        inv = cl.host_direct(i, "/inventory")
        assert inv["maintenance_mode"] == "none"
        for v in inv["vms"]:
            assert v["state"] == "running"
            assert v["vmx_version"] == V_NEW, v
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}, res
    # events: complete, in order, with figures
    evs = [e for e in cl.events()
           if (e.get("data") or {}).get("remediation_id") == rem]
    assert not [e for e in evs if e["type"] == "remediation.vm_migrated"]
    for i in range(3):
        h = f"h{i + 1}"
        mine = [e for e in evs if (e.get("data") or {}).get("host") == h]
        kinds = [e["type"] for e in mine]
        assert kinds[0] == "remediation.host_selected"
        assert kinds[-1] == "remediation.host_done"
        done = [e["data"]["step"] for e in mine
                if e["type"] == "remediation.step_done"]
        assert done == STEPS, (h, done)
        fsr = [e for e in mine if e["type"] == "remediation.vm_fsr"]
        assert sorted(e["vm"] for e in fsr) == sorted(
            n for n, k in vms.items() if k == i)
        for e in fsr:
            assert e["data"]["stun_us"] > 0
        # the FSRs are reported inside the apply step
        a = kinds.index("remediation.vm_fsr")
        assert kinds[a - 1] in ("remediation.step", "remediation.vm_fsr")
        assert mine[-1]["data"]["seconds"] > 0
    total = [e for e in evs if e["type"] == "remediation.done"]
    assert len(total) == 1 and total[0]["data"]["total_seconds"] > 0
    assert evs[-1]["type"] == "remediation.done"
    print("live remediation:", {
        "stun_us": {e["vm"]: e["data"]["stun_us"] for e in evs
                    if e["type"] == "remediation.vm_fsr"},
        "host_seconds": {e["data"]["host"]: e["data"]["seconds"]
                         for e in evs
                         if e["type"] == "remediation.host_done"},
        "total_seconds": total[0]["data"]["total_seconds"],
        "heartbeats": {n: len(heartbeats(serial(cl, i, n))[0])
                       for n, i in vms.items()}})
