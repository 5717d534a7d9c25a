"""Stage and apply on the host, without /dev/kvm (issue 5 items 6-8).

What does not need a real VM: staging from a bundle file and from an HTTPS
depot (digest and size verified; a bad payload leaves nothing behind), the
maintenance-mode refusals of apply, live-patchability, the script contract
(a pod VM blocks the scan), hostd's own live patch and the classic path
(re-exec keeping the listening socket: no connection refused), and the
rollback when an FSR fails. VMs here run tests/unit/fake-vmx, a TEST DOUBLE
that answers no control request: an FSR of one fails, which is exactly the
rollback case. Real VMs: test_hostd_live.py (kvm).

Bundles are made by bundles/make-bundles with stand-ins (SEAM_BUNDLE_
PROGRAMS): vmx = fake-vmx, guest = /bin/true, hostd = the real
build/seam-hostd; signed with a development key made for the test.
"""
import hashlib
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from test_hostd_api import (BUILD, FAKE_VMX, HOSTD, REPO, Host, error_of,
                            parse_kv)

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")

V_OLD, V_NEW, V_MAJOR = "1.0.0.0", "1.0.0.0100", "2.0.0.0"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    if not (BUILD / "seam-bundle").exists():
        pytest.skip("build/seam-bundle is not built")
    top = tmp_path_factory.mktemp("bundles")
    progs = top / "programs"
    progs.mkdir()
    for name, src in (("seam-vmx", FAKE_VMX), ("seam-vmx-next", FAKE_VMX),
                      ("seam-vmx-major", FAKE_VMX), ("seam-hostd", HOSTD),
                      ("seam-guest", "/bin/true")):
        shutil.copy(src, progs / name)
        (progs / name).chmod(0o755)
    out = top / "out"
    env = dict(os.environ, SEAM_BUNDLE_PROGRAMS=str(progs))
    subprocess.run([str(REPO / "bundles" / "make-bundles"), str(BUILD),
                    str(out)], check=True, env=env, capture_output=True,
                   timeout=300)
    return out


class ApplyHost(Host):
    def start(self, port=0, env=None):
        cmd = [str(HOSTD), "--state", str(self.state),
               "--listen", f"127.0.0.1:{port}"]
        self.log = open(self.state / "hostd.log", "ab")
        full = dict(os.environ, SEAM_TRUST_DIR=str(self.trust))
        full.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, env=full)
        kv = {}
        while "thumbprint" not in kv:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("hostd did not start")
            kv.update(parse_kv(line))
        self.port = int(kv["port"])
        return self

    def wait_apply(self, after, timeout=60):
        deadline = time.monotonic() + timeout
        cursor = after
        while time.monotonic() < deadline:
            try:
                body = self.req("GET",
                                f"/events?after={cursor}&timeout=1").json()
            except requests.RequestException:
                time.sleep(0.1)
                continue
            for e in body["events"]:
                if e["type"] in ("apply.done", "apply.failed"):
                    return e
            cursor = body["cursor"]
        raise AssertionError("apply did not end")

    def events(self, after):
        return self.req("GET", f"/events?after={after}&limit=1000"
                        ).json()["events"]


@pytest.fixture
def host(tmp_path, bundles):
    hosts = []

    def make(base=V_OLD, env=None):
        ApplyHost.trust = bundles / "trust"
        h = ApplyHost(tmp_path / "state", vmx=None, init_args=[
            "--bundle", str(bundles / f"seam-{base}.zip"), "--base", base,
            "--trust", str(bundles / "trust")])
        h.start(env=env)
        hosts.append(h)
        return h

    yield make
    for h in hosts:
        h.stop()
        h.kill_vms()


def tree(state):
    """The component store and staged records: names, links, bytes."""
    out = {}
    for sub in ("components", "staged"):
        root = Path(state) / sub
        for p in sorted(root.rglob("*")) if root.exists() else []:
            rel = str(p.relative_to(state))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_file():
                out[rel] = p.read_bytes()
            else:
                out[rel] = "dir"
    return out


def stage_bundle(h, bundles, version=V_NEW):
    return h.req("POST", "/stage", json={
        "bundle_path": str(bundles / f"seam-{version}.zip"),
        "base": version})


# --- staging -----------------------------------------------------------------

def test_stage_from_bundle_twice_is_a_noop(host, bundles):
    h = host()
    before = tree(h.state)
    r = stage_bundle(h, bundles)
    assert r.status_code == 200, r.text
    staged = {c["name"]: c["staged"] for c in r.json()["components"]}
    assert staged == {"vmx": True, "hostd": True, "guest-tools": False}
    comps = h.state / "components"
    assert (comps / "vmx" / V_NEW / "bin" / "seam-vmx").exists()
    assert os.readlink(comps / "vmx" / "active") == V_OLD   # not switched
    rel = json.loads((comps / "vmx" / V_NEW / "release.json").read_text())
    assert rel["fsr_required"] is True and rel["live_patch_from"] == [V_OLD]
    after = tree(h.state)
    assert set(after) > set(before)
    r = stage_bundle(h, bundles)
    assert r.status_code == 200
    assert not any(c["staged"] for c in r.json()["components"])
    assert tree(h.state) == after
    imgs = h.req("GET", "/stage").json()["images"]
    assert [i["version"] for i in imgs] == [V_NEW]


def test_stage_refuses_bad_requests_and_bundles(host, bundles, tmp_path):
    h = host()
    before = tree(h.state)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(
        (bundles / f"seam-{V_NEW}.zip").read_bytes()[:-300])
    cases = [
        ({"bundle_path": str(truncated), "base": V_NEW}, 400,
         "truncated or corrupt archive"),
        ({"bundle_path": str(bundles / f"seam-{V_NEW}.zip"),
          "base": "9.0.0.0"}, 404, "has no base image 9.0.0.0"),
        ({"bundle_path": str(bundles / f"seam-{V_NEW}.zip")}, 400,
         "needs 'base'"),
        ({"bundle_path": "rel.zip", "base": V_NEW}, 400, "absolute"),
        ({"image": {"version": V_NEW, "components": []}}, 400,
         "give either"),
        ({"colour": 1}, 400, "unknown field 'colour'"),
    ]
    for body, status, words in cases:
        r = h.req("POST", "/stage", json=body)
        assert r.status_code == status, (body, r.text)
        assert words in error_of(r)[1], (body, r.text)
    assert tree(h.state) == before


# --- an HTTPS depot ------------------------------------------------------------

class Depot:
    """Payloads by digest over HTTPS, behind a bearer token."""

    def __init__(self, top, token="depot-token"):
        self.dir = top / "payloads"
        self.dir.mkdir(parents=True)
        self.token = token
        cert, key = top / "cert.pem", top / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", str(key), "-out", str(cert),
                        "-days", "2", "-subj", "/CN=depot"],
                       check=True, capture_output=True)
        der = ssl.PEM_cert_to_DER_cert(cert.read_text())
        self.thumbprint = hashlib.sha256(der).hexdigest()
        depot = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.headers.get("Authorization") != \
                        f"Bearer {depot.token}":
                    self.send_error(401)
                    return
                prefix = "/depot/payloads/"
                p = depot.dir / self.path[len(prefix):]
                if not self.path.startswith(prefix) or not p.is_file():
                    self.send_error(404)
                    return
                data = p.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.srv.server_address[1]}/depot"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()


@pytest.fixture
def depot(tmp_path, bundles):
    d = Depot(tmp_path / "depot")
    yield d
    d.close()


def image_of(bundles, version, depot):
    """The image description seam-center would send, from the manifest;
    the payloads put in the depot."""
    b = bundles / f"seam-{version}.zip"
    m = json.loads(subprocess.run(
        [str(BUILD / "seam-bundle"), "inspect", "--json", str(b)],
        check=True, capture_output=True, text=True).stdout)["manifest"]
    base = [bi for bi in m["base_images"] if bi["version"] == version][0]
    comps = []
    for c in m["components"]:
        if base["components"].get(c["name"]) != c["version"]:
            continue
        sha = c["payload"]["sha256"]
        subprocess.run([str(BUILD / "seam-bundle"), "extract", "--trust",
                        str(bundles / "trust"), "--digest", sha, "--out",
                        str(depot.dir / sha), str(b)], check=True)
        entry = {"name": c["name"], "version": c["version"], "sha256": sha,
                 "size": c["payload"]["size"], "scripts": c["scripts"],
                 "fsr_required": c.get("fsr_required", False)}
        if "live_patch_from" in c:
            entry["live_patch_from"] = c["live_patch_from"]
        comps.append(entry)
    img = {"version": version, "components": comps}
    if "live_patch_from" in base:
        img["live_patch_from"] = base["live_patch_from"]
    return img


def test_stage_from_depot(host, bundles, depot):
    h = host()
    img = image_of(bundles, V_NEW, depot)
    d = {"url": depot.url, "token": depot.token,
         "thumbprint": depot.thumbprint}
    before = tree(h.state)

    # A payload whose bytes are not what the digest says: 4xx, nothing left.
    vmx = [c for c in img["components"] if c["name"] == "vmx"][0]
    good = (depot.dir / vmx["sha256"]).read_bytes()
    (depot.dir / vmx["sha256"]).write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    r = h.req("POST", "/stage", json={"image": img, "depot": d})
    assert r.status_code == 400, r.text
    msg = error_of(r)[1]
    assert vmx["sha256"] in msg and "vmx" in msg, msg
    assert tree(h.state) == before
    assert not list((h.state / "components").rglob(".stage*"))
    (depot.dir / vmx["sha256"]).write_bytes(good)

    # Wrong size, wrong thumbprint, wrong token, bad fields.
    bad = json.loads(json.dumps(img))
    [c for c in bad["components"] if c["name"] == "vmx"][0]["size"] += 1
    cases = [
        ({"image": bad, "depot": d}, "bytes, expected"),
        ({"image": img, "depot": dict(d, thumbprint="00" * 32)},
         "thumbprint"),
        ({"image": img, "depot": dict(d, token="nope")}, "401"),
        ({"image": dict(img, version="1.0"), "depot": d}, "version"),
        ({"image": img, "depot": dict(d, url="http://x")}, "https://"),
    ]
    for body, words in cases:
        r = h.req("POST", "/stage", json=body)
        assert 400 <= r.status_code < 500, (words, r.text)
        assert words in error_of(r)[1], (words, r.text)
        assert tree(h.state) == before, words

    r = h.req("POST", "/stage", json={"image": img, "depot": d})
    assert r.status_code == 200, r.text
    comps = h.state / "components"
    assert (comps / "hostd" / V_NEW / "bin" / "seam-hostd").read_bytes() == \
        HOSTD.read_bytes()
    after = tree(h.state)
    r = h.req("POST", "/stage", json={"image": img, "depot": d})
    assert r.status_code == 200
    assert tree(h.state) == after


# --- apply: refusals -----------------------------------------------------------

def test_apply_refusals(host, bundles):
    h = host()
    before = tree(h.state)
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "live"})
    assert r.status_code == 409
    code, msg = error_of(r)
    assert code == "maintenance_mode" and "partial" in msg and "none" in msg
    assert stage_bundle(h, bundles).status_code == 200
    assert stage_bundle(h, bundles, V_MAJOR).status_code == 200
    before = tree(h.state)
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "classic"})
    assert r.status_code == 409 and "full" in error_of(r)[1]
    assert h.req("PUT", "/maintenance",
                 json={"mode": "partial"}).status_code == 200
    cases = [
        ({"image": "1.0.0.0200", "mode": "live"}, 404, "not staged"),
        ({"image": V_MAJOR, "mode": "live"}, 409,
         "cannot be live-patched from base image 1.0.0.0"),
        ({"image": V_NEW, "mode": "fast"}, 400, "'live' or 'classic'"),
        ({"image": V_NEW, "mode": "live", "fsr_concurrency": 0}, 400,
         "fsr_concurrency"),
        ({"image": V_NEW, "mode": "live", "extra": 1}, 400,
         "unknown field 'extra'"),
        ({"image": V_NEW, "mode": "classic"}, 409, "partial"),
    ]
    for body, status, words in cases:
        r = h.req("POST", "/apply", json=body)
        assert r.status_code == status, (body, r.text)
        assert words in error_of(r)[1], (body, r.text)
    assert tree(h.state) == before
    assert h.req("GET", "/apply").json()["state"] == "none"


# --- apply: scripts, rollback, hostd's own patch ---------------------------------

def vm(h, name, **flags):
    spec = {"name": name, "mem": "64M", "vcpus": 1, "cmdline": "x"}
    spec.update(flags)
    assert h.req("POST", "/vms", json=spec).status_code == 201
    r = h.req("POST", f"/vms/{name}/power-on")
    assert r.status_code == 200, r.text


def test_scan_error_stops_before_anything_switches(host, bundles):
    h = host()
    vm(h, "vm1")
    vm(h, "vm2", pod=True)
    assert stage_bundle(h, bundles).status_code == 200
    h.req("PUT", "/maintenance", json={"mode": "partial"})
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "live"})
    assert r.status_code == 202, r.text
    end = h.wait_apply(r.json()["event_cursor"])
    assert end["type"] == "apply.failed"
    assert end["step"] == "scan 03_vmx-scan", end
    assert "VM vm2 (pod) cannot FSR" in end["reason"]
    types = [e["type"] for e in h.events(r.json()["event_cursor"])]
    assert "component.switch" not in types and "vm.fsr" not in types
    scan = [e for e in h.events(r.json()["event_cursor"])
            if e["type"] == "apply.scan"]
    assert [e["script"] for e in scan] == ["01_hostd-scan", "03_vmx-scan"]
    assert scan[1]["ok"] is False and scan[1]["errors"][0]["vm"] == "vm2"
    comps = h.state / "components"
    assert os.readlink(comps / "vmx" / "active") == V_OLD
    j = h.req("GET", "/apply").json()
    assert j["state"] == "failed" and j["error"]["step"] == "scan 03_vmx-scan"
    for name in ("vm1", "vm2"):
        assert h.req("GET", f"/vms/{name}").json()["state"] == "running"


def test_fsr_failure_switches_back(host, bundles):
    """fake-vmx answers no control request: the FSR fails, the apply rolls
    back the switched components; the VM keeps running."""
    h = host()
    vm(h, "vm1")
    assert stage_bundle(h, bundles).status_code == 200
    h.req("PUT", "/maintenance", json={"mode": "partial"})
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "live"})
    start = r.json()["event_cursor"]
    end = h.wait_apply(start)
    assert end["type"] == "apply.failed" and end["step"] == "fsr vm1", end
    types = [e["type"] for e in h.events(start)]
    assert types.index("vm.tagged") < types.index("vm.fsr_failed")
    assert types.count("component.switch") == 2
    assert types.count("component.switch_back") == 2
    comps = h.state / "components"
    assert os.readlink(comps / "vmx" / "active") == V_OLD
    assert os.readlink(comps / "hostd" / "active") == V_OLD
    d = h.req("GET", "/vms/vm1").json()
    assert d["state"] == "running" and d["vmx_version"] == V_OLD
    assert h.req("GET", "/host").json()["version"] == V_OLD


class Poller(threading.Thread):
    def __init__(self, h):
        super().__init__(daemon=True)
        self.h, self.ok, self.failed, self.stop = h, 0, [], False

    def run(self):
        while not self.stop:
            try:
                assert self.h.req("GET", "/host").status_code == 200
                self.ok += 1
            except Exception as ex:  # noqa: BLE001 -- reported
                self.failed.append(repr(ex))


@pytest.mark.parametrize("mode", ["live", "classic"])
def test_hostd_patches_itself_keeping_its_socket(host, bundles, mode):
    h = host()
    assert stage_bundle(h, bundles).status_code == 200
    h.req("PUT", "/maintenance",
          json={"mode": "partial" if mode == "live" else "full"})
    pid = h.proc.pid
    p = Poller(h)
    p.start()
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": mode})
    assert r.status_code == 202, r.text
    start = r.json()["event_cursor"]
    end = h.wait_apply(start)
    assert end["type"] == "apply.done", end
    deadline = time.monotonic() + 20
    while h.req("GET", "/host").json()["version"] != V_NEW:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    p.stop = True
    p.join()
    assert not p.failed, p.failed[:3]
    assert p.ok >= 2
    assert h.proc.pid == pid and h.proc.poll() is None
    evs = h.events(start)
    types = [e["type"] for e in evs]
    assert types[:1] == ["apply.start"]
    assert "host.reexec" in types and types.index("apply.done") < \
        types.index("host.reexec")
    # The event cursor carries on across the re-exec.
    cursors = [e["cursor"] for e in evs]
    assert cursors == list(range(cursors[0], cursors[0] + len(cursors)))
    inv = h.req("GET", "/inventory").json()
    assert inv["image"]["base"]["version"] == V_NEW
    assert h.req("GET", "/apply").json()["state"] == "done"
    # Applying again: nothing changes any more.
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": mode})
    end = h.wait_apply(r.json()["event_cursor"])
    assert end["type"] == "apply.done"


@pytest.mark.parametrize("point", ["scan", "apply_script", "switch", "done"])
def test_killed_mid_apply_restarts_consistent(host, bundles, point):
    h = host(env={"SEAM_HOSTD_CRASH_AT": point})
    assert stage_bundle(h, bundles).status_code == 200
    h.req("PUT", "/maintenance", json={"mode": "partial"})
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "live"})
    assert r.status_code == 202
    assert h.proc.wait(timeout=30) == -signal.SIGKILL
    h.stop()
    h.start()
    comps = h.state / "components"
    for c in ("vmx", "hostd"):
        assert os.readlink(comps / c / "active") in (V_OLD, V_NEW)
    j = h.req("GET", "/apply").json()
    assert j["state"] == "interrupted", j
    # every crash point is reached while the journal says "running"
    assert j["interrupted_in"] == "running", j
    r = h.req("POST", "/apply", json={"image": V_NEW, "mode": "live"})
    assert r.status_code == 202, r.text
    end = h.wait_apply(r.json()["event_cursor"])
    assert end["type"] == "apply.done", end
    for c in ("vmx", "hostd"):
        assert os.readlink(comps / c / "active") == V_NEW
