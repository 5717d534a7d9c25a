"""Acceptance of the lifecycle engine's persistence (issue 7) with running
VMs: a real center, three real hostd, two VMs per host (seam-guest
heartbeat=10,verify=32, 64 MiB), the center SIGKILLed at six distinct
steps of two real remediations and started again each time.

Needs /dev/kvm: on machines without one run it inside the box:
    tests/kvmbox/run --mem 6G --env SEAM_TIME_SCALE=25 -- /usr/bin/python3 \\
        -m pytest -q -s -m kvm tests/e2e/test_remediate_killed.py

One cluster, one live run (1.0.0.0 -> 1.0.0.0100, live_patch=enforce,
hosts one after another) killed five times, then one classic run
(-> 2.0.0.0, live_patch=auto, hosts emptied by live migration) killed
once:

  entering partial maintenance  crash hook enter_partial: the step is
                                recorded, not yet asked of the host
  between scan and apply        SIGKILL from here once the host's apply
                                reported its scan scripts and before its
                                apply scripts (the hostd holds there:
                                SEAM_HOSTD_HOLD_AT, a test hook)
  during FSRs                   SIGKILL from here at a host's first
                                vm.fsr, its second VM not yet moved (the
                                hostd holds after each FSR)
  exiting maintenance           crash hook exit_maintenance
  compliance check              crash hook compliance
  during a migration            SIGKILL from here once a source hostd
                                reported vm.migrating and not its end

Checked after each run: it ends `done` with every host `ok`; no host is in
any maintenance mode; every host compliant. At the end: every guest's
heartbeat sequence is continuous across all its hosts (SerialTap keeps the
log of a VM that migrated away), verify holds, every VM runs on exactly one
host.
"""
import time

import requests

import seamlog  # lab/seamlog.py (on sys.path: the root conftest)
from remediate_harness import KVM_MARKS, SCALE, cluster_factory  # noqa: F401
from test_remediate_live import start_vms, wait_for

pytestmark = KVM_MARKS


class HostEvents:
    """Every host's events so far, as (host index, event), read from where
    the last call stopped (GET /events?after=CURSOR, a page at a time), on
    one kept-alive connection per host: in the box a TLS handshake per
    request made a round over three hosts slower than the hold."""

    def __init__(self, cl):
        self.cl = cl
        self.cursor = [0] * len(cl.hosts)
        self.seen = []
        self.sessions = []
        for h in cl.hosts:
            s = requests.Session()
            s.headers["Authorization"] = f"Bearer {h.token}"
            self.sessions.append(s)

    def close(self):
        for s in self.sessions:
            s.close()

    def __call__(self):
        for i, h in enumerate(self.cl.hosts):
            url = f"https://127.0.0.1:{h.port}/api/v1/events"
            while True:
                try:
                    # verify=False per request: a CA bundle named in the
                    # environment would override the session's
                    r = self.sessions[i].get(
                        url, params={"after": self.cursor[i],
                                     "limit": 1000},
                        verify=False, timeout=30)
                except Exception:  # hostd re-execs itself in a live apply
                    break
                if r.status_code != 200 or not r.json()["events"]:
                    break
                self.seen += [(i, e) for e in r.json()["events"]]
                self.cursor[i] = r.json()["cursor"]
        return self.seen


def kill_when(cl, pred, what, timeout=900):
    """SIGKILL the center as soon as pred(host events) holds; returns
    what pred returned."""
    deadline = time.monotonic() + timeout * SCALE
    events = HostEvents(cl)
    t0 = said = time.monotonic()
    try:
        while time.monotonic() < deadline:
            evs = events()
            hit = pred(evs)
            if hit is None and time.monotonic() - said > 60:  # what it waits on, in the log
                said = time.monotonic()
                print(f"waiting {said - t0:.0f} s for {what}; last host "
                      f"events: {[(i, e['type']) for i, e in evs[-4:]]}")
            if hit:
                cl.center.proc.kill()
                cl.center.proc.wait(timeout=60)
                print(f"killed the center {what}: {hit} "
                      f"({time.monotonic() - t0:.1f} s after the restart)")
                return hit
            if cl.center.proc.poll() is not None:
                raise AssertionError(f"the center ended before {what}")
            time.sleep(0.2)
    finally:
        events.close()
    raise AssertionError(f"never {what}")


def crash_at(cl, step):
    """Restart the center with its crash hook at step; wait for the
    SIGKILL."""
    cl.start_center_with({"SEAM_CENTER_CRASH_AT": step})
    cl.center.proc.wait(timeout=900 * SCALE)
    assert cl.center.proc.returncode == -9, step
    print(f"the center killed itself at {step}")


def between_scan_and_apply(evs):
    """A host whose apply ran its scan scripts and no apply script yet."""
    for i in range(3):
        kinds = [e["type"] for k, e in evs if k == i]
        if "apply.scan" in kinds and "apply.apply_script" not in kinds:
            return f"h{i + 1}"
    return None


def during_fsrs(evs):
    """A host that moved one VM by FSR and not yet the other."""
    for i in range(3):
        fsr = [e for k, e in evs if k == i and e["type"] == "vm.fsr"]
        done = [e for k, e in evs if k == i and e["type"] == "apply.done"]
        if len(fsr) == 1 and not done:
            return f"h{i + 1} moved {fsr[0].get('vm')}"
    return None


def migrating(evs):
    """A VM whose source hostd started its migration and has not ended
    it (GET /vms/{name} shows it `migrating_to` meanwhile)."""
    for i in range(3):
        mine = [e for k, e in evs if k == i]
        started = {e.get("vm") for e in mine if e["type"] == "vm.migrating"}
        ended = {e.get("vm") for e in mine
                 if e["type"] in ("vm.migrated_out", "vm.migrate_failed")}
        if started - ended:
            return f"{sorted(started - ended)[0]} leaving h{i + 1}"
    return None


def finish(cl, rem, path):
    cl.restart_center()
    run = cl.wait_remediation(rem, timeout=1800)
    assert run["state"] == "done", run
    assert {h["status"] for h in run["hosts"]} == {"ok"}, run["hosts"]
    assert {h["path"] for h in run["hosts"]} == {path}, run["hosts"]
    killed = [s["step"] for s in run["steps"] if s["state"] == "abandoned"]
    assert not [s for s in run["steps"] if s["state"] == "planned"]
    for i in range(3):
        inv = cl.host_direct(i, "/inventory")
        assert inv["maintenance_mode"] == "none", (i, inv)
    res = cl.compliance()
    assert {x["status"] for x in res.values()} == {"compliant"}, res
    evs = [e for e in cl.events()
           if (e.get("data") or {}).get("remediation_id") == rem]
    assert evs[-1]["type"] == "remediation.done", evs[-1]
    print(f"run {rem} ({path}) done; abandoned steps: {killed}")
    return run, killed


def test_center_killed_at_six_steps(cluster_factory, monkeypatch):
    # every hostd (inheriting this) waits a while between its scan and apply
    # scripts and after each FSR: time to see it there and kill the center
    hold = 3000 if SCALE == 1 else 15000
    monkeypatch.setenv("SEAM_HOSTD_HOLD_AT", f"scan:{hold},fsr:{hold}")
    cl = cluster_factory(settings={"live_patch": "enforce"})
    tap = cl.start_tap()
    vms = start_vms(cl)
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    st = cl.task("/clusters/c1/stage", timeout=600)
    assert st["status"] == "success", st

    # the live run
    cl.start_center_with({"SEAM_CENTER_CRASH_AT": "enter_partial"})
    rem = cl.api.ok("POST", "/clusters/c1/remediate",
                    status=202)["remediation_id"]
    cl.center.proc.wait(timeout=600 * SCALE)
    assert cl.center.proc.returncode == -9
    cl.restart_center()
    kill_when(cl, between_scan_and_apply, "between scan and apply")
    cl.restart_center()
    kill_when(cl, during_fsrs, "during FSRs")
    crash_at(cl, "exit_maintenance")
    crash_at(cl, "compliance")
    run, killed = finish(cl, rem, "live")
    assert {"enter_partial", "exit_maintenance",
            "compliance"} <= set(killed), killed
    for i in range(3):
        inv = cl.host_direct(i, "/inventory")
        assert {v["vmx_version"] for v in inv["vms"]} == {"1.0.0.0100"}

    # the classic run, emptying each host by live migration
    cl.api.ok("PUT", "/clusters/c1/settings", json={"live_patch": "auto"})
    cl.api.ok("PUT", "/clusters/c1/image", json={"base": "2.0.0.0"})
    rem = cl.api.ok("POST", "/clusters/c1/remediate",
                    status=202)["remediation_id"]
    kill_when(cl, migrating, "during a migration")
    run, killed = finish(cl, rem, "classic")
    assert "migrate" in killed or any(
        "while the center was down" in str(s.get("result"))
        for s in run["steps"] if s["step"] == "migrate"), run["steps"]

    # every guest: continuous across its hosts, verify holding, one host
    for name in vms:
        wait_for(lambda: len(seamlog.heartbeats(tap.lines(name))) > 0,
                 10, name)
        lines = tap.lines(name)
        seqs = sorted({h[0] for h in seamlog.heartbeats(lines)})
        gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
        assert seqs[0] == 1 and not gaps, (name, gaps[:5])
        assert not [ln for ln in lines if "verify FAIL" in ln], name
        assert any("verify ok" in ln for ln in lines), name
        where = [i for i in range(3)
                 if cl.hosts[i].direct("GET", f"/vms/{name}").status_code
                 == 200]
        assert len(where) == 1, (name, where)
        vm = cl.api.ok("GET", f"/vms/{name}")
        assert vm["state"] == "running", vm
        print(f"{name}: heartbeats 1..{seqs[-1]} continuous, on "
              f"h{where[0] + 1}")
