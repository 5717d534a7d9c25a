"""Helpers of the lifecycle-engine tests (tests/e2e/test_remediate_*.py).

A real seam-center and three real seam-hostd, with the project's REAL
bundles (bundles/make-bundles from the build: seam-vmx, -next, -major,
seam-hostd, seam-guest), since a live apply re-execs hostd into the
bundle's own hostd. Built into $SEAM_BUILD/bundles when missing.
"""
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from center_harness import (BUILD, CENTER, HOSTD, MAKE_BUNDLES, Center, Host,
                            add_host, import_bundle, need_hostd)

SCALE = float(os.environ.get("SEAM_TIME_SCALE", "1") or 1)

# The marks of the tests with running VMs (test_remediate_live, _classic,
# _killed): they need /dev/kvm; elsewhere they run inside tests/kvmbox.
KVM_MARKS = [
    pytest.mark.kvm,
    pytest.mark.skipif(not os.path.exists("/dev/kvm"),
                       reason="no /dev/kvm (run inside tests/kvmbox/run)"),
    pytest.mark.filterwarnings(
        "ignore::urllib3.exceptions.InsecureRequestWarning"),
]

if SCALE > 1:
    # Every request to the center waits SCALE times longer in a slow box.
    import center_harness as _ch
    _call = _ch.Api.call

    def _scaled_call(self, method, path, token=None, **kw):
        kw.setdefault("timeout", 60 * SCALE)
        return _call(self, method, path, token=token, **kw)
    _ch.Api.call = _scaled_call


def real_bundles():
    out = BUILD / "bundles"
    if not (out / "seam-2.0.0.0.zip").exists():
        for prog in ("seam-vmx", "seam-vmx-next", "seam-vmx-major",
                     "seam-hostd", "seam-guest", "seam-bundle"):
            if not (BUILD / prog).exists():
                pytest.skip(f"no {BUILD / prog}: build first")
        subprocess.run([str(MAKE_BUNDLES), str(BUILD), str(out)],
                       check=True, capture_output=True, timeout=300)
    return out


def trust(center, bundles):
    key = (bundles / "dev-key.pub").read_text().strip()
    r = center.api.post("/depot/trust", json={"level": "certified",
                                               "name": "dev-key",
                                               "key": key})
    assert r.status_code in (201, 409), r.text


class Cluster:
    """center + n hosts on base 1.0.0.0, cluster c1, depot filled."""

    def __init__(self, tmp, n=3, settings=None, env=None):
        need_hostd()
        if not CENTER.exists():
            pytest.skip(f"no {CENTER}: build first")
        self.tmp = Path(tmp)
        self.bundles = real_bundles()
        self.center = Center(self.tmp / "center")
        self.hosts = []
        self.tap = None
        try:
            self._start(n, settings)
        except BaseException:
            self.close()   # nothing started is left behind
            raise

    def _start(self, n, settings):
        self.center.start()
        trust(self.center, self.bundles)
        for v in ("1.0.0.0", "1.0.0.0100", "2.0.0.0"):
            r = import_bundle(self.center, self.bundles / f"seam-{v}.zip")
            assert r.status_code == 201, r.text
        self.api.ok("POST", "/clusters", json={"name": "c1"})
        for i in range(n):
            h = Host(self.tmp / f"host{i}", self.bundles / "seam-1.0.0.0.zip",
                     "1.0.0.0")
            self.hosts.append(h)
            h.start()
            add_host(self.center, h, "c1", f"h{i + 1}")
        if settings:
            self.api.ok("PUT", "/clusters/c1/settings", json=settings)

    @property
    def api(self):
        return self.center.api

    def restart_center(self, env=None):
        self.center.stop()
        old = dict(os.environ)
        try:
            os.environ.pop("SEAM_CENTER_CRASH_AT", None)
            if env:
                os.environ.update(env)
            self.center.start()
        finally:
            os.environ.clear()
            os.environ.update(old)

    def start_center_with(self, env):
        """Restart the center with env (e.g. SEAM_CENTER_CRASH_AT)."""
        self.restart_center(env)

    def start_tap(self):
        """Keep every guest's serial output, wherever the VM runs (a
        SerialTap over this cluster's hosts)."""
        self.tap = SerialTap(self.hosts)
        return self.tap

    def close(self):
        if self.tap:
            self.tap.close()
        self.center.stop()
        for h in self.hosts:
            h.stop()
            h.kill_vms()

    def task(self, path, timeout=120):
        r = self.api.ok("POST", path, status=202)
        return self.api.wait_task(r["task"]["id"], timeout=timeout * SCALE)

    def compliance(self):
        t = self.task("/clusters/c1/compliance")
        assert t["status"] == "success", t
        return {h["host"]: h for h in
                self.api.ok("GET", "/clusters/c1/compliance")["hosts"]}

    def wait_remediation(self, rem_id, timeout=300):
        deadline = time.monotonic() + timeout * SCALE
        while time.monotonic() < deadline:
            try:
                r = self.api.ok("GET", f"/remediations/{rem_id}")
            except Exception:  # the center may be restarting
                time.sleep(0.2)
                continue
            if r["state"] in ("done", "failed", "cancelled"):
                if r["state"] != "done":
                    print("REMEDIATION", r["state"])
                    for h in r["hosts"]:
                        print("HOST", h)
                    for s in r["steps"]:
                        if s["state"] != "done":
                            print("STEP", s)
                return r
            time.sleep(0.2)
        raise AssertionError(f"remediation {rem_id} did not end")

    def events(self, after=0, **q):
        out = []
        while True:
            r = self.api.ok("GET", "/events", params=dict(after=after,
                                                          limit=1000, **q))
            evs = r["events"] if isinstance(r, dict) else r
            if not evs:
                return out
            out += evs
            after = evs[-1]["cursor"]

    def host_direct(self, i, path):
        r = self.hosts[i].direct("GET", path)
        assert r.status_code == 200, r.text
        return r.json()


class SerialTap:
    """Every VM's serial log on every host, read as it grows.

    A VM that migrates away has its directory deleted by the source hostd,
    serial log included, and one that comes back starts a new file. So a
    thread opens each serial.log it sees once and keeps it open: an open
    file can still be read to its end after it was unlinked. A file no
    longer at its path is drained once more and closed. lines(vm) is
    everything the guest printed, in the order of the files.
    """

    def __init__(self, hosts, period=0.2):
        self.hosts = hosts
        self.period = period
        self.files = {}   # (path, inode) -> [file, vm, partial bytes]
        self._lines = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _open_new(self):
        for h in self.hosts:
            for p in (Path(h.state) / "vms").glob("*/serial.log"):
                try:
                    f = open(p, "rb")
                except FileNotFoundError:
                    continue
                key = (str(p), os.fstat(f.fileno()).st_ino)
                if key in self.files:
                    f.close()
                    continue
                self.files[key] = [f, p.parent.name, b""]

    def _drain(self, ent):
        data = ent[0].read()
        if not data:
            return
        ent[2] += data
        *full, ent[2] = ent[2].split(b"\n")
        self._lines.setdefault(ent[1], []).extend(
            x.decode(errors="replace") for x in full)

    def _gone(self, key):
        try:
            return os.stat(key[0]).st_ino != key[1]
        except FileNotFoundError:
            return True

    def scan(self):
        with self.lock:
            self._open_new()
            for key, ent in list(self.files.items()):
                gone = self._gone(key)
                self._drain(ent)
                if gone:  # the writer is gone too: nothing more comes
                    self._drain(ent)
                    ent[0].close()
                    del self.files[key]

    def _loop(self):
        while not self.stop.wait(self.period):
            self.scan()

    def lines(self, vm):
        self.scan()
        with self.lock:
            return list(self._lines.get(vm, []))

    def close(self):
        self.stop.set()
        self.thread.join()
        self.scan()
        for ent in self.files.values():
            ent[0].close()
        self.files.clear()


@pytest.fixture
def cluster_factory(tmp_path):
    made = []

    def make(**kw):
        c = Cluster(tmp_path / f"c{len(made)}", **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()
