"""Lifecycle engine end to end on this machine (no /dev/kvm needed): a real
seam-center, three real seam-hostd, the real bundles. No VM runs, so the
live path has no FSR and the classic path nothing to migrate; what is
checked is the orchestration: pre-check lines, staging, the per-host
sequence of steps and its events, compliance at the end, the persisted
state machine, and resume after the center is SIGKILLed at a step.
"""
import json
import time

import pytest

import center_harness
import remediate_harness
from remediate_harness import cluster_factory  # noqa: F401

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")

LIVE_STEPS = ["stage", "enter_partial", "apply_live", "exit_maintenance",
              "compliance"]
CLASSIC_STEPS = ["stage", "evacuate", "enter_full", "apply_classic",
                 "exit_maintenance", "compliance", "restore"]


def remediate(cl):
    r = cl.api.ok("POST", "/clusters/c1/remediate", status=202)
    return r["remediation_id"], r["task"]["id"]


def check_sequence(cl, rem, steps, path):
    """Every host went through steps in order; events complete, in order."""
    evs = [e for e in cl.events()
           if (e.get("data") or {}).get("remediation_id") == rem]
    types = [e["type"] for e in evs]
    assert types[-1] == "remediation.done", types
    for h in ("h1", "h2", "h3"):
        mine = [e for e in evs if (e.get("data") or {}).get("host") == h]
        kinds = [e["type"] for e in mine]
        assert kinds[0] == "remediation.host_selected", kinds
        assert h in mine[0]["message"]
        done = [e["data"]["step"] for e in mine
                if e["type"] == "remediation.step_done"]
        # a resumed run may redo the step it stopped at
        dedup = [s for i, s in enumerate(done) if i == 0 or done[i - 1] != s]
        assert dedup[-len(steps):] == steps, (h, done)
        assert kinds[-1] == "remediation.host_done", kinds
        assert mine[-1]["data"]["status"] == "ok", mine[-1]
        assert mine[-1]["data"]["path"] == path
        assert mine[-1]["data"]["seconds"] >= 0
    r = cl.api.ok("GET", f"/remediations/{rem}")
    for st in r["steps"]:
        # none left planned; a step the center died in is `abandoned`
        assert st["state"] in ("done", "failed", "abandoned"), st
    return evs


def test_precheck_enforce_names_passthrough_vm(cluster_factory):
    cl = cluster_factory(settings={"live_patch": "enforce"})
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    cl.api.ok("POST", "/vms", status=201,
              json={"name": "pt1", "mem": "64M", "vcpus": 1,
                    "passthrough": True, "host": "h2"})
    t = cl.task("/clusters/c1/precheck")
    assert t["status"] == "success", t
    res = t["result"]
    assert res["status"] == "error"
    bad = [x for x in res["results"] if x["status"] == "error"]
    assert any(x.get("vm") == "pt1" and x["host"] == "h2" and
               x["check"] == "vm_fsr" and "pt1" in x["message"] and
               x["remedy"] for x in bad), bad
    # one line per check, each with status and remedy
    checks = {(x["check"], x.get("host")) for x in res["results"]}
    for h in ("h1", "h2", "h3"):
        for c in ("connected", "staged", "maintenance", "attributes",
                  "vm_fsr", "disk_space", "path"):
            assert (c, h) in checks, (c, h)
    for c in ("image", "drs_automation", "capacity"):
        assert (c, None) in checks
    assert res["paths"] == {"h1": "live", "h2": "live", "h3": "live"}
    # remediate refuses while the pre-check fails, naming the VM
    r = cl.api.post("/clusters/c1/remediate")
    assert r.status_code >= 400 and "pt1" in r.text, r.text
    # with auto the pre-check passes (a warning names the VM)
    cl.api.ok("PUT", "/clusters/c1/settings", json={"live_patch": "auto"})
    res = cl.task("/clusters/c1/precheck")["result"]
    assert res["status"] in ("ok", "warning"), res
    assert any(x.get("vm") == "pt1" and x["status"] == "warning"
               for x in res["results"])


def test_precheck_drs_must_be_fully_automated(cluster_factory):
    cl = cluster_factory(settings={"drs_automation": "manual"})
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    res = cl.task("/clusters/c1/precheck")["result"]
    line = [x for x in res["results"] if x["check"] == "drs_automation"][0]
    assert line["status"] == "error" and "fully_automated" in line["remedy"]


def test_stage_every_host_no_vm_touched(cluster_factory):
    cl = cluster_factory()
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    t = cl.task("/clusters/c1/stage")
    for h in (t.get("result") or {}).get("hosts", []):
        print("STAGE", h)
    assert t["status"] == "success", t
    assert {h["host"]: h["status"] for h in t["result"]["hosts"]} == \
        {"h1": "ok", "h2": "ok", "h3": "ok"}
    for i in range(3):
        staged = cl.host_direct(i, "/stage")["images"]
        assert "1.0.0.0100" in [s["version"] for s in staged]
        inv = cl.host_direct(i, "/inventory")
        assert inv["image"]["base"]["version"] == "1.0.0.0"
        assert inv["maintenance_mode"] == "none"
    evs = [e["type"] for e in cl.events(type="stage.host_done")]
    assert len(evs) == 3
    # the pre-check now sees it staged
    res = cl.task("/clusters/c1/precheck")["result"]
    assert all(x["status"] == "ok" for x in res["results"]
               if x["check"] == "staged")


def test_live_remediation_all_hosts(cluster_factory):
    cl = cluster_factory(settings={"live_patch": "enforce"})
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    rem, task = remediate(cl)
    r = cl.wait_remediation(rem)
    assert r["state"] == "done", r
    assert {h["status"] for h in r["hosts"]} == {"ok"}
    assert {h["path"] for h in r["hosts"]} == {"live"}
    evs = check_sequence(cl, rem, LIVE_STEPS, "live")
    done = [e for e in evs if e["type"] == "remediation.done"][0]
    assert done["data"]["total_seconds"] > 0
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}, res
    for i in range(3):
        inv = cl.host_direct(i, "/inventory")
        assert inv["image"]["base"]["version"] == "1.0.0.0100"
        assert inv["maintenance_mode"] == "none"
    assert cl.api.wait_task(task)["status"] == "success"


def test_parallel_live_remediation(cluster_factory):
    cl = cluster_factory(settings={"parallel_remediation":
                                   {"enabled": True, "max_hosts": 3}})
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    rem, _ = remediate(cl)
    r = cl.wait_remediation(rem)
    assert r["state"] == "done", r
    check_sequence(cl, rem, LIVE_STEPS, "live")


def test_classic_remediation_major_release(cluster_factory):
    cl = cluster_factory()
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "2.0.0.0"})
    res = cl.task("/clusters/c1/precheck")["result"]
    assert res["paths"] == {"h1": "classic", "h2": "classic",
                            "h3": "classic"}
    # enforce: 2.0.0.0 cannot be live patched: pre-check fails
    cl.api.ok("PUT", "/clusters/c1/settings", json={"live_patch": "enforce"})
    res = cl.task("/clusters/c1/precheck")["result"]
    assert res["status"] == "error"
    cl.api.ok("PUT", "/clusters/c1/settings", json={"live_patch": "auto"})
    rem, _ = remediate(cl)
    r = cl.wait_remediation(rem)
    assert r["state"] == "done", r
    check_sequence(cl, rem, CLASSIC_STEPS, "classic")
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}, res


def test_compliant_hosts_are_skipped(cluster_factory):
    cl = cluster_factory()
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0"})
    rem, _ = remediate(cl)
    r = cl.wait_remediation(rem)
    assert r["state"] == "done"
    assert {h["status"] for h in r["hosts"]} == {"skipped"}


@pytest.mark.parametrize("step", [
    "stage", "enter_partial", "enter_partial:after", "apply_live",
    "apply_live:after", "exit_maintenance", "exit_maintenance:after",
    "compliance"])
def test_center_killed_at_step_resumes(cluster_factory, step):
    cl = cluster_factory()
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    cl.start_center_with({"SEAM_CENTER_CRASH_AT": step})
    rem, _ = remediate(cl)
    cl.center.proc.wait(timeout=120)
    assert cl.center.proc.returncode == -9  # SIGKILL at the step
    # the step was recorded before it was acted on
    cl.restart_center()
    r = cl.wait_remediation(rem)
    assert r["state"] == "done", r
    assert {h["status"] for h in r["hosts"]} == {"ok"}
    check_sequence(cl, rem, LIVE_STEPS, "live")
    assert any(e["type"] == "remediation.resumed" for e in cl.events())
    r = cl.api.ok("GET", f"/remediations/{rem}")
    killed = [s for s in r["steps"] if s["state"] == "abandoned"]
    assert len(killed) == 1 and killed[0]["step"] == step.split(":")[0]
    for i in range(3):
        inv = cl.host_direct(i, "/inventory")
        assert inv["maintenance_mode"] == "none"
        assert inv["image"]["base"]["version"] == "1.0.0.0100"
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}


def test_cancel_leaves_hosts_consistent(cluster_factory):
    cl = cluster_factory()
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    rem, _ = remediate(cl)
    r = cl.api.post("/clusters/c1/cancel")
    assert r.status_code in (202, 404), r.text  # 404: already over
    run = cl.wait_remediation(rem)
    assert run["state"] in ("cancelled", "done"), run
    if r.status_code == 202:
        assert run["state"] == "cancelled"
    for h in run["hosts"]:
        assert h["status"] in ("ok", "skipped"), h
    for i in range(3):
        assert cl.host_direct(i, "/inventory")["maintenance_mode"] == "none"
    # nothing runs: a second cancel has nothing to stop
    assert cl.api.post("/clusters/c1/cancel").status_code == 404
    # and a new run completes what the cancelled one left
    rem2, _ = remediate(cl)
    assert cl.wait_remediation(rem2)["state"] == "done"
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}


def test_one_remediation_per_cluster(cluster_factory):
    cl = cluster_factory()
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    cl.start_center_with({"SEAM_CENTER_CRASH_AT": "apply_live"})
    rem, _ = remediate(cl)
    cl.center.proc.wait(timeout=120)
    # restarted, the unfinished run resumes; a second one is refused
    cl.restart_center()
    r = cl.api.post("/clusters/c1/remediate")
    assert r.status_code == 409 or cl.api.ok(
        "GET", f"/remediations/{rem}")["state"] == "done", r.text
    assert cl.wait_remediation(rem)["state"] == "done"


class FakeVmxHost(center_harness.Host):
    """A host whose VMs run tests/unit/fake-vmx (config `vmx_path`), with
    its memory set by attribute override: the first 4 GiB, the others
    1 GiB — so a 2 GiB VM on the first fits on no other host."""
    memory = []

    def __init__(self, state, bundle=None, base="1.0.0.0"):
        mem = 4096 if not FakeVmxHost.memory else 1024
        FakeVmxHost.memory.append(mem)
        super().__init__(state, bundle, base,
                         attributes={"memory_mib": mem})
        cfgp = self.state / "config.json"
        cfg = json.loads(cfgp.read_text())
        cfg["vmx_path"] = str(center_harness.REPO / "tests" / "unit" /
                              "fake-vmx")
        cfgp.write_text(json.dumps(cfg))


def fake_vmx_cluster(cluster_factory, monkeypatch, vm, mem, **settings):
    """Three fake-vmx hosts, VM vm (mem) running on h1, image 2.0.0.0
    (classic path)."""
    FakeVmxHost.memory = []
    monkeypatch.setattr(remediate_harness, "Host", FakeVmxHost)
    cl = cluster_factory(settings=settings or None)
    cl.api.ok("POST", "/vms", status=201,
              json={"name": vm, "mem": mem, "vcpus": 1, "host": "h1"})
    cl.api.ok("POST", f"/vms/{vm}/power-on")
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "2.0.0.0"})
    return cl


def suspend_cluster(cluster_factory, monkeypatch):
    """power_policy suspend, VM `big` (2 GiB) on h1 where nothing else has
    room."""
    return fake_vmx_cluster(cluster_factory, monkeypatch, "big", "2G",
                            power_policy="suspend")


def resume_classic_run(cl, rem):
    """Restart the killed center; the classic run it resumes ends done,
    every host ok, each through the classic steps. The run's record."""
    cl.restart_center()
    r = cl.wait_remediation(rem)
    assert r["state"] == "done", r
    assert {h["status"] for h in r["hosts"]} == {"ok"}
    check_sequence(cl, rem, CLASSIC_STEPS, "classic")
    return r


def check_big_restored(cl):
    """VM big runs again on h1, restored from its snapshot (the fake
    vmx's `run --restore`), once suspended and once resumed."""
    vm = cl.hosts[0].direct("GET", "/vms/big").json()
    assert vm["state"] == "running", vm
    d = cl.hosts[0].state / "vms" / "big"
    assert not (d / "suspend.snap").exists()
    assert (d / "vmx.log").read_text().count("--restore") == 1
    assert "fake guest restored" in (d / "serial.log").read_text()
    hev = [e["type"] for e in cl.hosts[0].direct(
        "GET", "/events?limit=1000").json()["events"] if e.get("vm") == "big"]
    assert hev.count("vm.suspended") == hev.count("vm.resumed") == 1, hev
    assert hev.index("vm.suspended") < hev.index("vm.resumed"), hev
    for i in range(3):
        inv = cl.host_direct(i, "/inventory")
        assert inv["image"]["base"]["version"] == "2.0.0.0"
        assert inv["maintenance_mode"] == "none"


def test_classic_power_policy_suspend_then_resume(cluster_factory,
                                                  monkeypatch):
    """Classic path with power_policy suspend: a VM that fits on no other
    host is suspended to disk while its host is remediated and resumed
    after (issue 7 item 1)."""
    cl = suspend_cluster(cluster_factory, monkeypatch)
    res = cl.task("/clusters/c1/precheck")["result"]
    assert res["paths"] == {"h1": "classic", "h2": "classic",
                            "h3": "classic"}
    cap = [x for x in res["results"] if x["check"] == "capacity"]
    assert any("h1" in x["message"] and "suspend" in x["message"]
               and x["status"] == "ok" for x in cap), cap
    rem, _ = remediate(cl)
    r = cl.wait_remediation(rem)
    assert r["state"] == "done", r
    evs = check_sequence(cl, rem, CLASSIC_STEPS, "classic")

    # Recorded: the evacuate step suspended it, the restore step resumed it.
    steps = [s for s in r["steps"] if s["state"] == "done"]
    h1 = cl.api.ok("GET", "/hosts/h1")["id"]
    evac = [s for s in steps if s["step"] == "evacuate" and
            (s["result"] or {}).get("suspended")]
    assert [s["result"]["suspended"] for s in evac] == [["big"]], steps
    assert evac[0]["result"]["unplaced"][0]["vm"] == "big"
    rest = [s for s in steps if s["step"] == "restore" and
            (s["result"] or {}).get("resumed")]
    assert [s["result"]["resumed"] for s in rest] == [["big"]], steps
    assert evac[0]["host_id"] == rest[0]["host_id"] == h1
    sus = [s for s in steps if s["step"] == "suspend"]
    assert [(s["data"]["vm"], s["host_id"]) for s in sus] == [("big", h1)]

    # Events: suspended before h1's host is restarted, resumed after.
    types = [(e["type"], e.get("vm"), (e.get("data") or {}).get("step"))
             for e in evs if (e.get("data") or {}).get("host") == "h1"]
    i_sus = types.index(("remediation.vm_suspended", "big", None))
    i_res = types.index(("remediation.vm_resumed", "big", None))
    i_apply = types.index(("remediation.step_done", None, "apply_classic"))
    assert i_sus < i_apply < i_res, types

    check_big_restored(cl)


@pytest.mark.parametrize("step", ["suspend", "suspend:after",
                                  "evacuate:after", "restore",
                                  "restore:after"])
def test_center_killed_around_suspend_resumes(cluster_factory, monkeypatch,
                                              step):
    """The center SIGKILLed before or after asking for the suspension, after
    the evacuation, before or after the resume: restarted, it finishes the
    run, and the VM is resumed exactly once."""
    cl = suspend_cluster(cluster_factory, monkeypatch)
    cl.start_center_with({"SEAM_CENTER_CRASH_AT": step})
    rem, _ = remediate(cl)
    cl.center.proc.wait(timeout=120)
    assert cl.center.proc.returncode == -9
    r = resume_classic_run(cl, rem)
    killed = [s["step"] for s in r["steps"] if s["state"] == "abandoned"]
    # a suspension is a step inside the evacuate step: both were under way
    want = ["evacuate", "suspend"] if step.startswith("suspend") else \
        [step.split(":")[0]]
    assert killed == want, r["steps"]
    check_big_restored(cl)


def migrate_cluster(cluster_factory, monkeypatch, delay_ms=0):
    """Three fake-vmx hosts (tests/unit/fake-vmx migrates: a TEST DOUBLE),
    VM `mig` (256 MiB, fits anywhere) running on h1, image 2.0.0.0
    (classic path: h1 is emptied by live migration). FAKE_VMX_MIGRATE_MS
    (inherited by the hostd and so by the fake's `ctl migrate`) holds each
    migration that long before it connects."""
    monkeypatch.setenv("FAKE_VMX_MIGRATE_MS", str(delay_ms))
    return fake_vmx_cluster(cluster_factory, monkeypatch, "mig", "256M")


def host_events(cl, i):
    return cl.hosts[i].direct("GET", "/events?limit=1000").json()["events"]


def wait_host_event(cl, i, etype, vm, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        evs = [e for e in host_events(cl, i)
               if e["type"] == etype and e.get("vm") == vm]
        if evs:
            return evs[0]
        time.sleep(0.1)
    raise AssertionError(f"host {i}: no event {etype} for VM {vm}")


def check_mig_on_one_host(cl, rem):
    """VM mig runs on exactly one host, is configured on no other; every
    host out of maintenance and compliant."""
    where = []
    for i in range(3):
        r = cl.hosts[i].direct("GET", "/vms/mig")
        if r.status_code == 200:
            where.append((i, r.json()["state"]))
        else:
            assert r.status_code == 404, r.text
    assert len(where) == 1 and where[0][1] == "running", where
    for i in range(3):
        inv = cl.host_direct(i, "/inventory")
        assert inv["maintenance_mode"] == "none"
        assert inv["image"]["base"]["version"] == "2.0.0.0"
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}, res


@pytest.mark.parametrize("restart", ["after", "while"])
def test_center_killed_during_migration_resumes(cluster_factory,
                                                monkeypatch, restart):
    """The center SIGKILLed while h1's hostd migrates VM mig (the fake's
    migration is held a few seconds): the hostd finishes it and removes the VM from
    h1 by itself; restarted after that (or while it still runs: the center
    waits for its end), the center finds mig running on the target, ends
    the abandoned `migrate` step done and finishes the run."""
    # held longer when the center must come back while it still runs
    cl = migrate_cluster(cluster_factory, monkeypatch,
                         delay_ms=3000 if restart == "after" else 8000)
    rem, _ = remediate(cl)
    wait_host_event(cl, 0, "vm.migrating", "mig")
    cl.center.proc.kill()
    cl.center.proc.wait(timeout=30)
    if restart == "while":
        vm = cl.hosts[0].direct("GET", "/vms/mig").json()
        assert vm["migrating_to"].startswith("127.0.0.1:"), vm
        r = resume_classic_run(cl, rem)
    out = wait_host_event(cl, 0, "vm.migrated_out", "mig")
    assert out["source_deleted"] is True, out
    assert cl.hosts[0].direct("GET", "/vms/mig").status_code == 404
    if restart == "after":
        r = resume_classic_run(cl, rem)
    else:  # the restarted center waited for the source's migration
        log = (cl.center.state / "center.log").read_text()
        assert "VM mig still migrates to" in log
    mig = [s for s in r["steps"] if s["step"] == "migrate" and
           s["data"]["vm"] == "mig"]
    first = mig[0]
    assert first["state"] == "done", r["steps"]
    assert "while the center was down" in json.dumps(first["result"])
    evs = [e for e in cl.events() if e["type"] == "remediation.vm_migrated"
           and e.get("vm") == "mig"]
    assert any("downtime unknown" in e["message"] for e in evs), evs
    check_mig_on_one_host(cl, rem)


def test_center_killed_before_migration_resumes(cluster_factory,
                                                monkeypatch):
    """The center SIGKILLed just before it asks for the migration (crash
    point `migrate`): restarted, the step is abandoned, the evacuation is
    planned again and the VM ends on exactly one host."""
    cl = migrate_cluster(cluster_factory, monkeypatch)
    cl.start_center_with({"SEAM_CENTER_CRASH_AT": "migrate"})
    rem, _ = remediate(cl)
    cl.center.proc.wait(timeout=120)
    assert cl.center.proc.returncode == -9
    assert cl.hosts[0].direct("GET", "/vms/mig").json()["state"] == \
        "running"
    r = resume_classic_run(cl, rem)
    killed = [s["step"] for s in r["steps"] if s["state"] == "abandoned"]
    assert killed == ["evacuate", "migrate"], r["steps"]
    moved = [s for s in r["steps"] if s["step"] == "migrate" and
             s["state"] == "done"]
    assert moved, r["steps"]
    check_mig_on_one_host(cl, rem)


def test_failed_migration_leaves_no_copy_and_is_retried(cluster_factory,
                                                        monkeypatch,
                                                        tmp_path):
    """A migration that fails (the fake's source gives up before it
    connects; the target's incoming vmx is left waiting): the VM runs on
    at the source, the center stops and removes the target's copy, and
    failure_action retry empties the host on the next try. The VM ends on
    exactly one host."""
    flag = tmp_path / "fail-once"
    flag.write_text("")
    monkeypatch.setenv("FAKE_VMX_MIGRATE_FAIL_ONCE", str(flag))
    monkeypatch.setenv("FAKE_VMX_MIGRATE_MS", "0")
    cl = fake_vmx_cluster(cluster_factory, monkeypatch, "mig", "256M",
                          failure_action={"action": "retry",
                                          "retry_count": 2,
                                          "retry_delay_s": 1})
    rem, _ = remediate(cl)
    r = cl.wait_remediation(rem)
    assert not flag.exists()  # the first migration did fail
    assert r["state"] == "done", r
    assert {h["status"] for h in r["hosts"]} == {"ok"}, r["hosts"]
    mig = [s["state"] for s in r["steps"] if s["step"] == "migrate"]
    assert mig[0] == "failed" and mig[-1] == "done", r["steps"]
    check_mig_on_one_host(cl, rem)
