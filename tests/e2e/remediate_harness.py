"""Helpers of the lifecycle-engine tests (tests/e2e/test_remediate_*.py).

A real seam-center and three real seam-hostd, with the project's REAL
bundles (bundles/make-bundles from the build: seam-vmx, seam-vmx-next,
seam-hostd, seam-guest), since a live apply re-execs hostd into the
bundle's own hostd. Built into $SEAM_BUILD/bundles when missing.
"""
import os
import subprocess
import time
from pathlib import Path

import pytest

from center_harness import (BUILD, CENTER, HOSTD, MAKE_BUNDLES, Center, Host,
                            add_host, import_bundle, need_hostd)

SCALE = float(os.environ.get("SEAM_TIME_SCALE", "1") or 1)

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
        for prog in ("seam-vmx", "seam-vmx-next", "seam-hostd",
                     "seam-guest", "seam-bundle"):
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

    def close(self):
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
