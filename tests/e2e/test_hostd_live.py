"""Live patch of a host with real VMs (issue 5 items 3, 6-8; acceptance 1-2).

Real build/seam-hostd, real seam-vmx processes (from the component store)
running the real seam-guest, on loopback: needs /dev/kvm, so these tests are
marked `kvm` and run inside tests/kvmbox on machines without one:

    tests/kvmbox/run --mem 6G -- /usr/bin/python3 -m pytest -q -m kvm \\
        tests/e2e/test_hostd_live.py

Bundles: real ones, made by bundles/make-bundles for this run (or taken
from $SEAM_BUNDLES) from build/seam-vmx (1.0.0.0), seam-vmx-next
(1.0.0.0100), seam-hostd and seam-guest, signed with a development key.
Everything is slow in the box (TCG): waits scale with SEAM_TIME_SCALE.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

import seamlog  # lab/seamlog.py (on sys.path: the root conftest)
from test_hostd_api import BUILD, HOSTD, Host, parse_kv

pytestmark = [pytest.mark.kvm, pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")]

V_OLD, V_NEW = "1.0.0.0", "1.0.0.0100"
SCALE = float(os.environ.get("SEAM_TIME_SCALE", "1"))
NVMS = int(os.environ.get("SEAM_HOSTD_LIVE_VMS", "4"))
BUNDLES = None
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    global BUNDLES
    if not os.path.exists("/dev/kvm"):
        pytest.skip("no /dev/kvm (run in tests/kvmbox)")
    if os.environ.get("SEAM_BUNDLES"):
        BUNDLES = Path(os.environ["SEAM_BUNDLES"])
    else:
        BUNDLES = tmp_path_factory.mktemp("bundles")
        subprocess.run([str(REPO / "bundles" / "make-bundles"), str(BUILD),
                        str(BUNDLES)], check=True, capture_output=True,
                       timeout=600 * SCALE)
    return BUNDLES


class LiveHost(Host):
    """A Host whose hostd may get extra environment (test hooks)."""

    def start(self, port=0, env=None):
        cmd = [str(HOSTD), "--state", str(self.state),
               "--listen", f"127.0.0.1:{port}"]
        self.log = open(self.state / "hostd.log", "ab")
        # The VMs inherit hostd's environment: each FSR hand-over step
        # of their seam-vmx gets the scaled timeout too (as in
        # tests/integration), not 10 s of an emulated, loaded box.
        full = dict(os.environ, SEAM_TRUST_DIR=str(BUNDLES / "trust"),
                    SEAM_HOSTD_FSR_TIMEOUT_MS=str(int(120000 * SCALE)),
                    SEAM_HOSTD_SCRIPT_TIMEOUT_MS=str(int(60000 * SCALE)),
                    SEAM_FSR_TIMEOUT_MS=str(int(10000 * SCALE)))
        full.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=full)
        kv = {}
        deadline = time.monotonic() + 60 * SCALE
        while "thumbprint" not in kv:
            line = self.proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise RuntimeError("seam-hostd did not start: see "
                                   f"{self.state / 'hostd.log'}")
            kv.update(parse_kv(line))
        self.port = int(kv["port"])
        return self

    def req(self, method, path, token="default", **kw):
        kw.setdefault("timeout", 60 * SCALE)
        headers = kw.pop("headers", {})
        if token == "default":
            token = self.token
        headers["Authorization"] = f"Bearer {token}"
        r = requests.request(method, self.url + path, headers=headers,
                             verify=False, **kw)
        return r

    def events(self, after=0):
        out = []
        while True:
            r = self.req("GET", f"/events?after={after}&limit=1000").json()
            out += r["events"]
            if not r["events"]:
                return out
            after = r["cursor"]

    def wait_event(self, types, after, timeout):
        deadline = time.monotonic() + timeout
        cursor = after
        while time.monotonic() < deadline:
            try:
                r = self.req("GET", f"/events?after={cursor}&timeout=2")
            except requests.RequestException:
                time.sleep(0.2)
                continue
            body = r.json()
            for e in body["events"]:
                if e["type"] in types:
                    return e
            cursor = body["cursor"]
        raise AssertionError(f"no event {types} after {after}")


def heartbeats(state, vm):
    log = Path(state) / "vms" / vm / "serial.log"
    if not log.exists():
        return [], []
    lines = log.read_text(errors="replace").splitlines()
    return seamlog.heartbeats(lines), lines


def wait_heartbeats(state, vm, n, version=None, timeout=120):
    deadline = time.monotonic() + timeout * SCALE
    while time.monotonic() < deadline:
        hbs, _ = heartbeats(state, vm)
        if version:
            hbs = [h for h in hbs if h[2] == version]
        if len(hbs) >= n:
            return hbs
        time.sleep(0.2)
    raise AssertionError(f"{vm}: fewer than {n} heartbeats"
                         f"{' of ' + version if version else ''}")


def check_guest_log(state, vm):
    hbs, lines = heartbeats(state, vm)
    seqs = [h[0] for h in hbs]
    assert seqs and seqs[0] == 1, vm
    gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
    assert not gaps, f"{vm}: heartbeat sequence breaks at {gaps[:5]}"
    assert not [ln for ln in lines if "FAIL" in ln], vm
    return hbs


def check_store(state):
    """Each component on one of its revisions; every running VM's vmx in
    the store."""
    comps = Path(state) / "components"
    for c in comps.iterdir():
        if not c.is_dir():
            continue
        act = os.readlink(c / "active")
        assert (c / act / "bin").is_dir(), (c.name, act)
    for rt in Path(state, "vms").glob("*/runtime.json"):
        r = json.loads(rt.read_text())
        assert os.path.exists(r["vmx"]), r
        os.kill(r["pid"], 0)


@pytest.fixture
def live_host(bundles):
    top = Path(tempfile.mkdtemp(prefix="hl", dir="/tmp"))
    hosts = []

    def make(nvms, cmdline="heartbeat=10,verify=32", env=None):
        h = LiveHost(top / "state", vmx=None, init_args=[
            "--bundle", str(bundles / f"seam-{V_OLD}.zip"),
            "--base", V_OLD, "--trust", str(bundles / "trust")])
        hosts.append(h)
        h.start(env=env)
        for i in range(1, nvms + 1):
            r = h.req("POST", "/vms", json={
                "name": f"vm{i}", "mem": "64M", "vcpus": 1,
                "cmdline": cmdline})
            assert r.status_code == 201, r.text
            r = h.req("POST", f"/vms/vm{i}/power-on")
            assert r.status_code == 200, r.text
            assert r.json()["vmx_version"] == V_OLD
        for i in range(1, nvms + 1):
            wait_heartbeats(h.state, f"vm{i}", 3)
        return h

    yield make
    for h in hosts:
        h.stop(signal.SIGKILL)
        h.kill_vms()
        h.vmx_seen.clear()
    shutil.rmtree(top, ignore_errors=True)


def stage_and_partial(h):
    r = h.req("POST", "/stage", json={
        "bundle_path": str(BUNDLES / f"seam-{V_NEW}.zip"), "base": V_NEW})
    assert r.status_code == 200, r.text
    r = h.req("PUT", "/maintenance", json={"mode": "partial"})
    assert r.status_code == 200, r.text


class Poller(threading.Thread):
    """GET /host without pause: no connection may be refused."""

    def __init__(self, h):
        super().__init__(daemon=True)
        self.h, self.ok, self.refused, self.stop = h, 0, [], False

    def run(self):
        while not self.stop:
            try:
                r = self.h.req("GET", "/host", timeout=120 * SCALE)
                assert r.status_code == 200
                self.ok += 1
            except Exception as ex:  # noqa: BLE001 -- counted, reported
                self.refused.append(repr(ex))
            time.sleep(0.05)


def test_live_apply_moves_every_vm(live_host):
    h = live_host(NVMS)
    names = [f"vm{i}" for i in range(1, NVMS + 1)]
    stage_and_partial(h)
    poller = Poller(h)
    poller.start()
    t0 = time.monotonic()
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "live",
                                     "fsr_concurrency": 2})
    assert r.status_code == 202, r.text
    start = r.json()["event_cursor"]
    done = h.wait_event({"apply.done", "apply.failed"}, start,
                        600 * SCALE)
    assert done["type"] == "apply.done", done
    # hostd re-execs itself into the new hostd revision.
    deadline = time.monotonic() + 60 * SCALE
    while h.req("GET", "/host").json()["version"] != V_NEW:
        assert time.monotonic() < deadline, "hostd did not become 1.0.0.0100"
        time.sleep(0.2)
    elapsed = time.monotonic() - t0
    for vm in names:
        wait_heartbeats(h.state, vm, 3, version=V_NEW)
    poller.stop = True
    poller.join()
    assert not poller.refused, poller.refused[:3]
    assert poller.ok > 0

    for vm in names:
        d = h.req("GET", f"/vms/{vm}").json()
        assert d["state"] == "running"
        assert d["vmx_version"] == V_NEW, d
        assert "/vmx/1.0.0.0100/bin/seam-vmx" in d["vmx"]
        check_guest_log(h.state, vm)

    evs = [e for e in h.events(start) if e["cursor"] <= done["cursor"]]
    types = [e["type"] for e in evs]
    first = {t: types.index(t) for t in set(types)}
    last = {t: len(types) - 1 - types[::-1].index(t) for t in set(types)}
    assert types[0] == "apply.start"
    assert last["apply.scan"] < first["apply.apply_script"]
    assert last["apply.apply_script"] < first["component.switch"]
    assert last["component.switch"] < first["vm.tagged"]
    assert last["vm.tagged"] < first["vm.fsr"]
    assert types[-1] == "apply.done"
    scans = [e["script"] for e in evs if e["type"] == "apply.scan"]
    assert scans == ["01_hostd-scan", "03_vmx-scan"]
    fsrs = [e for e in evs if e["type"] == "vm.fsr"]
    assert sorted(e["vm"] for e in fsrs) == names
    assert sorted(e["vm"] for e in evs if e["type"] == "vm.tagged") == names
    for e in fsrs:
        assert e["stun_us"] > 0
        assert e["version_before"] == V_OLD and e["version_after"] == V_NEW
    inv = h.req("GET", "/inventory").json()
    assert inv["image"]["base"]["version"] == V_NEW
    act = {c["name"]: c["active"] for c in inv["components"]}
    assert act["vmx"] == V_NEW and act["hostd"] == V_NEW
    print(f"\nlive apply of {NVMS} VMs: total_ms={done['total_ms']} "
          f"wall_s={elapsed:.1f} stun_us="
          f"{[e['stun_us'] for e in fsrs]} requests_ok={poller.ok} "
          f"refused={len(poller.refused)}")


def test_live_apply_fsr_failure_rolls_back(live_host):
    h = live_host(2, env={"SEAM_VMX_TEST_FAULTS": "1",
                          "SEAM_HOSTD_TEST_FSR_FAIL":
                              "vm2:exit_before_restore"})
    stage_and_partial(h)
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "live",
                                     "fsr_concurrency": 1})
    assert r.status_code == 202, r.text
    start = r.json()["event_cursor"]
    end = h.wait_event({"apply.done", "apply.failed"}, start, 600 * SCALE)
    assert end["type"] == "apply.failed", end
    assert end["step"] == "fsr vm2", end
    assert "vm2" in end["reason"]
    evs = h.events(start)
    types = [e["type"] for e in evs]
    assert "vm.fsr_failed" in types
    assert "component.switch_back" in types
    moved = [e["vm"] for e in evs if e["type"] == "vm.fsr"]
    back = [e["vm"] for e in evs if e["type"] == "vm.fsr_back"]
    assert sorted(back) == sorted(moved)
    comps = h.state / "components"
    assert os.readlink(comps / "vmx" / "active") == V_OLD
    assert os.readlink(comps / "hostd" / "active") == V_OLD
    for vm in ("vm1", "vm2"):
        d = h.req("GET", f"/vms/{vm}").json()
        assert d["state"] == "running" and d["vmx_version"] == V_OLD, d
    n = {vm: len(heartbeats(h.state, vm)[0]) for vm in ("vm1", "vm2")}
    for vm in ("vm1", "vm2"):
        wait_heartbeats(h.state, vm, n[vm] + 3)
        hbs = check_guest_log(h.state, vm)
        assert hbs[-1][2] == V_OLD
    assert h.req("GET", "/host").json()["version"] == V_OLD


CRASH_POINTS = ["scan", "apply_script", "switch", "fsr", "done"]


def test_hostd_killed_mid_apply_then_completes(live_host):
    """SIGKILL at each point in turn; each restart is consistent and the
    apply, issued again (and killed at the next point), completes."""
    h = live_host(2, env={"SEAM_HOSTD_CRASH_AT": CRASH_POINTS[0]})
    stage_and_partial(h)
    kills = []
    for i, point in enumerate(CRASH_POINTS + [None]):
        if i > 0:
            h.stop()
            h.start(env={"SEAM_HOSTD_CRASH_AT": point} if point else None)
            check_store(h.state)
            j = h.req("GET", "/apply").json()
            assert j["state"] == "interrupted", j
            for vm in ("vm1", "vm2"):
                d = h.req("GET", f"/vms/{vm}").json()
                assert d["state"] == "running", d
                assert d["vmx_version"] in (V_OLD, V_NEW)
        r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "live",
                                         "fsr_concurrency": 1})
        assert r.status_code == 202, r.text
        start = r.json()["event_cursor"]
        if point:
            h.proc.wait(timeout=600 * SCALE)
            assert h.proc.returncode == -signal.SIGKILL
            kills.append(point)
            continue
        end = h.wait_event({"apply.done", "apply.failed"}, start,
                           600 * SCALE)
        assert end["type"] == "apply.done", end
    deadline = time.monotonic() + 60 * SCALE
    while h.req("GET", "/host").json()["version"] != V_NEW:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    check_store(h.state)
    for vm in ("vm1", "vm2"):
        d = h.req("GET", f"/vms/{vm}").json()
        assert d["state"] == "running" and d["vmx_version"] == V_NEW, d
        wait_heartbeats(h.state, vm, 3, version=V_NEW)
        check_guest_log(h.state, vm)
    assert kills == CRASH_POINTS
