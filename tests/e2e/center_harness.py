"""Harness of the seam-center end-to-end tests (tests/e2e/test_center_*.py).

Real processes on loopback: build/seam-center, and seam-hostd from
$SEAM_HOSTD (default $SEAM_BUILD/seam-hostd; while hostd is being written in
its own worktree, point SEAM_HOSTD at that build). Tests that need hosts are
skipped, with the reason, when no hostd binary is found.

This machine has no /dev/kvm, so hosts run VMs with a TEST DOUBLE of
seam-vmx (FAKE_VMX below: it speaks seam-vmx's command line and sleeps),
installed as the `vmx` component of the hosts' base image. Bundles are made
by bundles/make-bundles from stand-in programs (SEAM_BUNDLE_PROGRAMS), as
tests/integration/test_bundle_tool.py does: the center tests check the
depot, images and compliance, not the programs.

A host gets base image 1.0.0.0 with `seam-hostd init --bundle`; a hostd
that cannot install bundles yet gets the same state written the way hostd's
component store lays it out (STATE/components/NAME/REV + `active`,
STATE/image.json) — see seed_base_image().

Every process started here is stopped by a fixture finalizer (center,
hostd, and the fake vmx processes hostd detached).
"""
import io
import json
import os
import signal
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SEAM_BUILD", REPO / "build"))
CENTER = BUILD / "seam-center"
BUNDLE_TOOL = BUILD / "seam-bundle"
HOSTD = Path(os.environ.get("SEAM_HOSTD", BUILD / "seam-hostd"))
MAKE_BUNDLES = REPO / "bundles" / "make-bundles"

# the seam-vmx test double hostd's own tests use (no /dev/kvm needed)
FAKE_VMX = (REPO / "tests" / "unit" / "fake-vmx").read_text()


def parse_kv(text):
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def need_hostd():
    if not HOSTD.exists():
        pytest.skip(f"no seam-hostd at {HOSTD} (set SEAM_HOSTD to a built "
                    "seam-hostd)")


class Api:
    """A client of one seam-center."""

    def __init__(self, port, token):
        self.base = f"https://127.0.0.1:{port}/api/v1"
        self.token = token
        self.s = requests.Session()
        self.s.verify = False

    def call(self, method, path, token=None, **kw):
        headers = kw.pop("headers", {})
        tok = self.token if token is None else token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        kw.setdefault("timeout", 60)
        return self.s.request(method, self.base + path, headers=headers,
                              verify=False, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def put(self, path, **kw):
        return self.call("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.call("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def ok(self, method, path, status=(200, 201, 202, 204), **kw):
        r = self.call(method, path, **kw)
        if isinstance(status, int):
            status = (status,)
        assert r.status_code in status, (method, path, r.status_code,
                                         r.text)
        return r.json() if r.content else None

    def wait_task(self, task_id, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = self.ok("GET", f"/tasks/{task_id}")
            if t["status"] in ("success", "error", "cancelled"):
                return t
            time.sleep(0.05)
        raise AssertionError(f"task {task_id} did not finish")


class Center:
    """One seam-center process."""

    def __init__(self, state, token="seam_test_admin_token_0123456789"):
        self.state = Path(state)
        self.token = token
        self.proc = None
        self.port = None
        self.stdout = ""

    def start(self, port=0, token_file=True, poll_ms=200):
        self.state.mkdir(parents=True, exist_ok=True)
        cmd = [str(CENTER), "--state", str(self.state / "center"),
               "--listen", f"127.0.0.1:{port}", "--poll-ms", str(poll_ms)]
        if token_file:
            tf = self.state / "admin-token"
            tf.write_text(self.token + "\n")
            cmd += ["--admin-token-file", str(tf)]
        self.log = open(self.state / "center.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        kv = {}
        lines = []
        deadline = time.monotonic() + 30
        while "thumbprint" not in kv:
            line = self.proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise RuntimeError("seam-center did not start: see "
                                   f"{self.state / 'center.log'}")
            lines.append(line)
            kv.update(parse_kv(line))
        self.stdout = "".join(lines)
        self.port = int(kv["port"])
        if "admin_token" in kv:
            self.token = kv["admin_token"]
        self.api = Api(self.port, self.token)
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            self.log.close()
        self.proc = None


def vmx_pids(state):
    pids = []
    for rt in Path(state, "vms").glob("*/runtime.json"):
        try:
            pids.append(json.loads(rt.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            pass
    return pids


def payload_files(bundle, digest):
    """The files of a component payload (a .tar.gz inside the bundle)."""
    z = zipfile.ZipFile(bundle)
    data = z.read(f"payloads/{digest}")
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        for m in t.getmembers():
            if m.isfile():
                out[m.name] = (t.extractfile(m).read(), m.mode)
    return out


def seed_base_image(state, bundle, base):
    """Write base image `base` of `bundle` into a hostd state directory,
    laid out as hostd's component store does (compstore.h): each component
    in components/NAME/REV/ (its payload unpacked, programs also at the top
    of the revision, where hostd looks for them), `active` -> REV, and
    image.json naming the base image."""
    m = json.loads(zipfile.ZipFile(bundle).read("manifest.json"))
    [bi] = [b for b in m["base_images"] if b["version"] == base]
    comps = {(c["name"], c["version"]): c for c in m["components"]}
    root = Path(state) / "components"
    for name, ver in bi["components"].items():
        c = comps[(name, ver)]
        rev = root / name / ver
        rev.mkdir(parents=True, exist_ok=True)
        for fname, (data, mode) in payload_files(
                bundle, c["payload"]["sha256"]).items():
            for dest in (rev / fname, rev / Path(fname).name):
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                dest.chmod(mode | 0o700)
        link = root / name / "active"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(ver)
    (Path(state) / "image.json").write_text(json.dumps(
        {"base": {"version": base}, "addon": None}))


class Host:
    """One seam-hostd process with base image `base` installed."""

    def __init__(self, state, bundle=None, base="1.0.0.0", attributes=None):
        self.state = Path(state)
        self.proc = None
        self.port = None
        cmd = [str(HOSTD), "init", "--state", str(state)]
        p = None
        if bundle:
            # hostd installs the base image itself when it can (with the
            # trust store make-bundles wrote); else it is seeded below.
            p = subprocess.run(cmd + ["--bundle", str(bundle), "--base",
                                      base, "--trust",
                                      str(Path(bundle).parent / "trust")],
                               capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                subprocess.run(["rm", "-rf", str(state)], check=True)
        if p is None or p.returncode != 0:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               check=True, timeout=60)
            if bundle:
                seed_base_image(state, bundle, base)
        kv = parse_kv(p.stdout)
        self.token = kv["enrollment_token"]
        self.thumbprint = kv["thumbprint"]
        if attributes is not None:
            cfgp = self.state / "config.json"
            cfg = json.loads(cfgp.read_text()) if cfgp.exists() else {}
            cfg["attributes"] = attributes
            cfgp.write_text(json.dumps(cfg))

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self, port=0):
        cmd = [str(HOSTD), "--state", str(self.state),
               "--listen", f"127.0.0.1:{port}"]
        self.log = open(self.state / "hostd.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        kv = {}
        deadline = time.monotonic() + 30
        while "thumbprint" not in kv:
            line = self.proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise RuntimeError("seam-hostd did not start: see "
                                   f"{self.state / 'hostd.log'}")
            kv.update(parse_kv(line))
        self.port = int(kv["port"])
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            self.log.close()
        self.proc = None

    def kill_vms(self):
        for pid in vmx_pids(self.state):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def direct(self, method, path, **kw):
        return requests.request(
            method, f"https://127.0.0.1:{self.port}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            verify=False, timeout=30, **kw)


def make_bundles(out):
    """seam-1.0.0.0, -1.0.0.0100, -2.0.0.0 from stand-in programs."""
    progs = Path(out) / "programs"
    progs.mkdir(parents=True, exist_ok=True)
    for name in ("seam-vmx", "seam-vmx-next", "seam-vmx-major", "seam-hostd",
                 "seam-guest"):
        p = progs / name
        p.write_text(FAKE_VMX if "vmx" in name else
                     f"#!/bin/sh\necho stand-in {name}\n")
        p.chmod(0o755)
    env = dict(os.environ, SEAM_BUNDLE_PROGRAMS=str(progs))
    env.pop("SEAM_TRUST_DIR", None)
    subprocess.run([str(MAKE_BUNDLES), str(BUILD), str(Path(out) / "b")],
                   check=True, capture_output=True, env=env, timeout=120)
    return Path(out) / "b"


def trust_dev_key(center, bundles):
    """The development key of make-bundles, trusted as `certified`."""
    key = (bundles / "dev-key.pub").read_text().strip()
    r = center.api.post("/depot/trust", json={"level": "certified",
                                               "name": "dev-key",
                                               "key": key})
    assert r.status_code in (201, 409), r.text


def import_bundle(center, path, **kw):
    return center.api.post("/depot/bundles", data=Path(path).read_bytes(),
                           headers={"Content-Type": "application/zip"}, **kw)


def add_host(center, host, cluster, name):
    r = center.api.post("/hosts", json={"address": host.address,
                                        "token": host.token,
                                        "cluster": cluster, "name": name})
    assert r.status_code == 200 and r.json()["needs_confirmation"], r.text
    tp = r.json()["thumbprint"]
    assert tp == host.thumbprint
    return center.api.ok("POST", "/hosts", status=201,
                         json={"address": host.address, "token": host.token,
                               "cluster": cluster, "name": name,
                               "thumbprint": tp})


def wait_for(fn, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def bundles(tmp_path_factory):
    if not BUNDLE_TOOL.exists():
        pytest.skip(f"no {BUNDLE_TOOL}: build first")
    return make_bundles(tmp_path_factory.mktemp("bundles"))


@pytest.fixture
def center(tmp_path):
    if not CENTER.exists():
        pytest.skip(f"no {CENTER}: build first")
    c = Center(tmp_path / "center").start()
    yield c
    c.stop()


@pytest.fixture
def hosts_factory(tmp_path, bundles):
    need_hostd()
    made = []

    def make(n, base="1.0.0.0", attributes=None):
        out = []
        for _ in range(n):
            i = len(made)
            h = Host(tmp_path / f"host{i}", bundles / f"seam-{base}.zip",
                     base, attributes)
            made.append(h)
            out.append(h.start())
        return out
    yield make
    for h in made:
        h.stop()
        h.kill_vms()
