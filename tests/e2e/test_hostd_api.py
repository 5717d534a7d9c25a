"""End-to-end tests of seam-hostd's HTTPS API (issue 5 items 2-5, 10).

A real build/seam-hostd on 127.0.0.1 with a port it picks itself (port 0,
read back from its stdout), a state directory under pytest's tmp_path, and
requests with verify=False -- trust comes from checking that the certificate
served has the SHA-256 thumbprint `seam-hostd init` printed.

This machine has no /dev/kvm, so VMs are started with tests/unit/fake-vmx, a
TEST DOUBLE of seam-vmx that speaks its command line and sleeps: what is
exercised is hostd's side (detached start, runtime records, adoption after a
restart, crash detection). Real VMs are the integration tests' business.

Every process started here is killed by a fixture finalizer: hostd, and the
fake vmx processes it detached.
"""
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
# Certificates are checked by thumbprint (cert_thumbprint), not by a CA.
pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SEAM_BUILD", REPO / "build"))
HOSTD = BUILD / "seam-hostd"
FAKE_VMX = REPO / "tests" / "unit" / "fake-vmx"


def parse_kv(text):
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def cert_thumbprint(port):
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def vmx_pids(state):
    pids = []
    for rt in Path(state, "vms").glob("*/runtime.json"):
        try:
            pids.append(json.loads(rt.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            pass
    return pids


class Host:
    """One seam-hostd process and the client side of its API."""

    def __init__(self, state, vmx=FAKE_VMX, init_args=()):
        self.state = Path(state)
        self.vmx = vmx
        self.proc = None
        self.port = None
        self.vmx_seen = set()
        out = subprocess.run([str(HOSTD), "init", "--state", str(state),
                              *init_args],
                             check=True, capture_output=True, text=True,
                             timeout=60).stdout
        kv = parse_kv(out)
        self.token = kv["enrollment_token"]
        self.thumbprint = kv["thumbprint"]

    def start(self, port=0):
        cmd = [str(HOSTD), "--state", str(self.state),
               "--listen", f"127.0.0.1:{port}"]
        if self.vmx:
            cmd += ["--vmx", str(self.vmx)]
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
        for pid in set(vmx_pids(self.state)) | self.vmx_seen:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}/api/v1"

    def req(self, method, path, token="default", **kw):
        headers = kw.pop("headers", {})
        if token == "default":
            token = self.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        r = requests.request(method, self.url + path, headers=headers,
                             verify=False, timeout=30, **kw)
        self.vmx_seen.update(vmx_pids(self.state))
        return r


def running_host(state):
    """A started Host on state, stopped with its VMs killed after (the
    body of a fixture)."""
    h = Host(state)
    h.start()
    yield h
    h.stop()
    h.kill_vms()


@pytest.fixture
def host(tmp_path):
    yield from running_host(tmp_path / "state")


def error_of(r):
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"], body["error"]["message"]


def vm_spec(name="vm1", **extra):
    spec = {"name": name, "mem": "256M", "vcpus": 2,
            "cmdline": "heartbeat=10,verify=32", "kernel": "/bin/true"}
    spec.update(extra)
    return spec


def wait_for_text(path, words, timeout=15):
    """The text of a file once it holds words (a log being written)."""
    deadline = time.monotonic() + timeout
    while True:
        text = Path(path).read_text() if Path(path).exists() else ""
        if words in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def wait_event(host, type_, vm=None, timeout=15):
    """The first event of a type (and VM), waiting for it by long poll."""
    cursor, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = host.req("GET", f"/events?after={cursor}&timeout=1").json()
        for e in r["events"]:
            if e["type"] == type_ and (vm is None or e.get("vm") == vm):
                return e
        cursor = r["cursor"]
    raise AssertionError(f"no event {type_} for {vm}")


def snapshot(state):
    """Every file under the state dir but the logs that always change."""
    out = {}
    for p in sorted(Path(state).rglob("*")):
        if p.name in ("hostd.log", "events.jsonl") or not p.is_file():
            continue
        out[str(p.relative_to(state))] = p.read_bytes()
    return out


# --- identity and authentication -------------------------------------------

def test_certificate_thumbprint_matches_init(host):
    assert len(host.thumbprint) == 64
    assert cert_thumbprint(host.port) == host.thumbprint
    r = host.req("GET", "/host")
    assert r.status_code == 200
    assert r.json()["thumbprint"] == host.thumbprint


def test_init_is_idempotent(host):
    out = subprocess.run([str(HOSTD), "init", "--state", str(host.state)],
                         check=True, capture_output=True, text=True).stdout
    kv = parse_kv(out)
    assert kv["enrollment_token"] == host.token
    assert kv["thumbprint"] == host.thumbprint
    st = os.stat(host.state / "secret")
    assert st.st_mode & 0o777 == 0o600
    assert os.stat(host.state / "tls" / "key.pem").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("method,path", [
    ("GET", "/host"), ("GET", "/vms"), ("POST", "/vms"),
    ("GET", "/vms/vm1"), ("DELETE", "/vms/vm1"),
    ("POST", "/vms/vm1/power-on"), ("POST", "/vms/vm1/power-off"),
    ("GET", "/maintenance"), ("PUT", "/maintenance"), ("GET", "/inventory"),
    ("GET", "/components"), ("POST", "/components/vmx/activate"),
    ("GET", "/events"), ("GET", "/events/stream"), ("GET", "/nothing"),
])
def test_missing_or_wrong_secret_is_401(host, method, path):
    for token in (None, "wrong", host.token + "x", host.token[:-1]):
        r = host.req(method, path, token=token, data=b"{}")
        assert r.status_code == 401, (token, r.text)
        code, msg = error_of(r)
        assert code == "unauthorized"
        assert ("secret" in msg) or ("Bearer" in msg)
    r = host.req(method, path, token=None,
                 headers={"Authorization": "Basic " + host.token})
    assert r.status_code == 401


# --- bad input ---------------------------------------------------------------

def test_malformed_json_is_400_naming_the_problem(host):
    before = snapshot(host.state)
    for body in (b'{"name": "vm1", "mem": "256M"', b"{name: 1}", b"nul",
                 b'{"a":1}{', b"\xff\xfe"):
        r = host.req("POST", "/vms", data=body)
        assert r.status_code == 400, body
        code, msg = error_of(r)
        assert code == "bad_request"
        assert "malformed JSON" in msg, msg
    r = host.req("POST", "/vms", data=b"[1, 2]")
    assert r.status_code == 400
    assert "object" in error_of(r)[1]
    r = host.req("PUT", "/maintenance", data=b'{"mode": "partial",}')
    assert r.status_code == 400
    assert "malformed JSON at line 1" in error_of(r)[1]
    assert snapshot(host.state) == before


def test_unknown_missing_and_mistyped_fields_are_400(host):
    before = snapshot(host.state)
    cases = [
        (vm_spec(vcpu=1), "unknown field 'vcpu'"),
        ({"name": "vm1", "vcpus": 1}, "missing field 'mem'"),
        (vm_spec(vcpus="2"), "field 'vcpus' must be an integer"),
        (vm_spec(pod="yes"), "field 'pod' must be a boolean"),
        (vm_spec(name="VM 1"), "VM name"),
        (vm_spec(name="../etc"), "VM name"),
        (vm_spec(mem="lots"), "field 'mem'"),
        (vm_spec(mem=1), "field 'mem'"),
        (vm_spec(vcpus=0), "field 'vcpus'"),
        (vm_spec(kernel="rel/path"), "field 'kernel'"),
        (vm_spec(cmdline="a\u0001b"), "field 'cmdline'"),
    ]
    for body, words in cases:
        r = host.req("POST", "/vms", json=body)
        assert r.status_code == 400, (body, r.text)
        assert words in error_of(r)[1], (body, r.text)
    r = host.req("PUT", "/maintenance", json={"mode": "partial", "x": 1})
    assert r.status_code == 400
    assert error_of(r)[1] == "unknown field 'x'"
    r = host.req("PUT", "/maintenance", json={"mode": "half"})
    assert r.status_code == 400
    assert "'half'" in error_of(r)[1]
    r = host.req("POST", "/vms/x/power-off", json={"forse": True})
    assert r.status_code == 400
    assert error_of(r)[1] == "unknown field 'forse'"
    assert snapshot(host.state) == before
    assert host.req("GET", "/vms").json() == {"vms": []}


def test_oversized_body_is_413(host):
    r = host.req("POST", "/vms", data=b"{" + b" " * (2 << 20) + b"}")
    assert r.status_code == 413
    assert error_of(r)[0] == "payload_too_large"


def test_no_500_on_bad_input(host):
    host.req("POST", "/vms", json=vm_spec())
    probes = [
        ("GET", "/vms/%2e%2e"), ("GET", "/vms/a%2Fb"), ("GET", "/vms/%00"),
        ("GET", "/vms/" + "a" * 300), ("DELETE", "/vms/nope"),
        ("GET", "/events?after=-1"), ("GET", "/events?after=abc"),
        ("GET", "/events?after=99999999999999999999999"),
        ("GET", "/events?timeout=100000"), ("GET", "/events?limit=x"),
        ("POST", "/vms/vm1/power-on?x=1"), ("PATCH", "/vms/vm1"),
        ("POST", "/components/..%2f..%2fetc/activate"),
        ("POST", "/components/vmx/activate"),
        ("POST", "/components/vmx/rollback"), ("GET", "/vms//"),
        ("GET", "/events/stream?after=x"), ("GET", "/vms/%ff%fe"),
        ("GET", "/%c3"), ("DELETE", "/vms/a%e9b"),
        ("GET", "/events?after=%ff"),
    ]
    for method, path in probes:
        r = host.req(method, path, json={"revision": "../../x"}
                     if "activate" in path else None)
        assert r.status_code < 500, (method, path, r.status_code, r.text)
        assert r.status_code >= 400 or r.ok
        if r.status_code >= 400:
            error_of(r)
    for body in (None, 1, "s", [], {"name": None}, {"name": 1},
                 {"name": "x" * 100, "mem": "1G", "vcpus": 1},
                 {"name": "v", "mem": "9" * 40, "vcpus": 1},
                 {"name": "v", "mem": "1G", "vcpus": 2 ** 70},
                 {"name": "v", "mem": -5, "vcpus": 1},
                 {"name": "\u00e9t\u00e9", "mem": "1G", "vcpus": 1}):
        r = host.req("POST", "/vms", data=json.dumps(body))
        assert 400 <= r.status_code < 500, (body, r.text)
    r = host.req("GET", "/events/stream",
                 headers={"Last-Event-ID": "banana"})
    assert r.status_code == 400


# --- VMs -------------------------------------------------------------------

def test_vm_create_get_list_delete(host):
    r = host.req("POST", "/vms", json=vm_spec(passthrough=True))
    assert r.status_code == 201, r.text
    vm = r.json()
    assert vm["name"] == "vm1" and vm["mem_mib"] == 256 and vm["vcpus"] == 2
    assert vm["passthrough"] is True and vm["pod"] is False
    assert vm["state"] == "stopped"
    r = host.req("POST", "/vms", json=vm_spec())
    assert r.status_code == 409
    assert "already exists" in error_of(r)[1]
    host.req("POST", "/vms", json=vm_spec("vm0", mem=512))
    names = [v["name"] for v in host.req("GET", "/vms").json()["vms"]]
    assert names == ["vm0", "vm1"]
    assert host.req("GET", "/vms/vm1").json()["cmdline"] == \
        "heartbeat=10,verify=32"
    # Configurations persist across a restart.
    host.stop()
    host.start()
    assert host.req("GET", "/vms/vm0").json()["mem_mib"] == 512
    assert host.req("DELETE", "/vms/vm1").status_code == 204
    r = host.req("GET", "/vms/vm1")
    assert r.status_code == 404
    assert error_of(r)[0] == "not_found"
    assert not (host.state / "vms" / "vm1").exists()


def test_power_on_off_adopt_and_crash(host):
    assert host.req("POST", "/vms", json=vm_spec()).status_code == 201
    r = host.req("POST", "/vms/vm1/power-on")
    assert r.status_code == 200, r.text
    vm = r.json()
    assert vm["state"] == "running"
    pid = vm["pid"]
    assert host.req("POST", "/vms/vm1/power-on").status_code == 409
    r = host.req("DELETE", "/vms/vm1")
    assert r.status_code == 409 and "running" in error_of(r)[1]
    log = wait_for_text(host.state / "vms" / "vm1" / "vmx.log", "--mem")
    assert "--mem 256M --vcpus 2" in log
    assert "--cmdline heartbeat=10,verify=32" in log

    # hostd stops (even SIGKILL): the VM keeps running and is found again.
    host.stop(signal.SIGKILL)
    os.kill(pid, 0)
    host.start()
    vm = host.req("GET", "/vms/vm1").json()
    assert vm["state"] == "running" and vm["pid"] == pid

    # The vmx dies behind hostd's back: crashed, not restarted.
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while host.req("GET", "/vms/vm1").json()["state"] != "crashed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    wait_event(host, "vm.crashed", "vm1")
    wait_event(host, "vm.adopted", "vm1")
    time.sleep(1.5)
    assert host.req("GET", "/vms/vm1").json()["state"] == "crashed"

    # Power on again is the operator's decision; off stops it.
    assert host.req("POST", "/vms/vm1/power-on").json()["state"] == "running"
    r = host.req("POST", "/vms/vm1/power-off", json={})
    assert r.status_code == 200 and r.json()["state"] == "stopped"
    assert host.req("DELETE", "/vms/vm1").status_code == 204


# --- maintenance modes -----------------------------------------------------

def test_partial_refuses_create_and_power_on(host):
    host.req("POST", "/vms", json=vm_spec("running"))
    host.req("POST", "/vms", json=vm_spec("idle"))
    assert host.req("POST", "/vms/running/power-on").ok
    r = host.req("PUT", "/maintenance", json={"mode": "partial"})
    assert r.status_code == 200 and r.json() == {"mode": "partial"}
    before = snapshot(host.state)

    r = host.req("POST", "/vms", json=vm_spec("new"))
    assert r.status_code == 409
    code, msg = error_of(r)
    assert code == "maintenance_mode"
    assert "partial maintenance mode" in msg and "creating a VM" in msg
    r = host.req("POST", "/vms/idle/power-on")
    assert r.status_code == 409
    code, msg = error_of(r)
    assert code == "maintenance_mode"
    assert "partial maintenance mode" in msg and "powering on" in msg
    assert snapshot(host.state) == before
    # Running VMs keep running.
    assert host.req("GET", "/vms/running").json()["state"] == "running"

    # The mode survives a restart.
    host.stop()
    host.start()
    assert host.req("GET", "/maintenance").json() == {"mode": "partial"}
    assert host.req("POST", "/vms", json=vm_spec("new")).status_code == 409

    # Full is refused while a VM runs, and names it.
    r = host.req("PUT", "/maintenance", json={"mode": "full"})
    assert r.status_code == 409
    code, msg = error_of(r)
    assert code == "maintenance_mode"
    assert "full maintenance mode" in msg and "running" in msg
    assert host.req("GET", "/maintenance").json() == {"mode": "partial"}

    # Power off is allowed in partial; then full can be entered.
    assert host.req("POST", "/vms/running/power-off").ok
    r = host.req("PUT", "/maintenance", json={"mode": "full"})
    assert r.status_code == 200
    r = host.req("POST", "/vms/idle/power-on")
    assert r.status_code == 409
    assert "full maintenance mode" in error_of(r)[1]
    r = host.req("POST", "/vms", json=vm_spec("new"))
    assert "full maintenance mode" in error_of(r)[1]
    assert host.req("PUT", "/maintenance", json={"mode": "none"}).ok
    assert host.req("POST", "/vms", json=vm_spec("new")).status_code == 201
    assert host.req("POST", "/vms/idle/power-on").ok
    types = [e["type"] for e in
             host.req("GET", "/events?limit=1000").json()["events"]]
    # none -> partial, partial -> full, full -> none
    assert types.count("host.maintenance") == 3


# --- events --------------------------------------------------------------

def test_events_long_poll_cursor_resume(host):
    first = host.req("GET", "/events").json()
    cursor = first["cursor"]
    assert first["events"][0]["type"] == "host.started"
    host.req("POST", "/vms", json=vm_spec("a"))
    host.req("POST", "/vms", json=vm_spec("b"))
    r = host.req("GET", f"/events?after={cursor}").json()
    assert [e["type"] for e in r["events"]] == ["vm.created"] * 2
    assert [e["cursor"] for e in r["events"]] == [cursor + 1, cursor + 2]
    cursor = r["cursor"]
    # A long poll returns as soon as something happens.
    result = {}

    def poll():
        result["r"] = host.req("GET", f"/events?after={cursor}&timeout=30")

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.3)
    host.req("DELETE", "/vms/a")
    t.join(30)
    evs = result["r"].json()["events"]
    assert [(e["type"], e["vm"]) for e in evs] == [("vm.deleted", "a")]
    cursor = result["r"].json()["cursor"]
    # Events written while a client is away -- even across a restart of
    # hostd -- are all there when it comes back with its cursor.
    host.req("DELETE", "/vms/b")
    host.stop()
    host.start()
    r = host.req("GET", f"/events?after={cursor}").json()
    types = [e["type"] for e in r["events"]]
    assert types == ["vm.deleted", "host.stopping", "host.started"]
    assert [e["cursor"] for e in r["events"]] == \
        list(range(cursor + 1, cursor + 4))


class SSE:
    """A text/event-stream response, read event by event."""

    def __init__(self, resp):
        self.resp = resp
        self.lines = resp.iter_lines(chunk_size=1, decode_unicode=True)

    def close(self):
        self.resp.close()


def test_events_cursor_ahead_is_409(host):
    last = host.req("GET", "/events").json()["last"]
    for path in (f"/events?after={last + 5}",
                 f"/events/stream?after={last + 5}"):
        r = host.req("GET", path)
        assert r.status_code == 409
        code, msg = error_of(r)
        assert code == "cursor_ahead" and "resume from 0" in msg
    r = host.req("GET", "/events/stream",
                 headers={"Last-Event-ID": str(last + 1)})
    assert r.status_code == 409


def read_sse(sse, count):
    """The next `count` events of a text/event-stream response."""
    events, cur = [], {}
    for raw in sse.lines:
        if raw == "":
            if "data" in cur:
                events.append(cur)
                if len(events) == count:
                    return events
            cur = {}
        elif not raw.startswith(":"):
            k, _, v = raw.partition(": ")
            cur[k] = v
    return events


def test_events_stream_resume_with_last_event_id(host):
    host.req("POST", "/vms", json=vm_spec("a"))
    r = host.req("GET", "/events/stream?after=0", stream=True)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/event-stream")
    s = SSE(r)
    evs = read_sse(s, 2)
    assert [e["event"] for e in evs] == ["host.started", "vm.created"]
    assert [int(e["id"]) for e in evs] == [1, 2]
    assert json.loads(evs[1]["data"])["vm"] == "a"
    host.req("POST", "/vms", json=vm_spec("b"))
    evs = read_sse(s, 1)
    last = int(evs[0]["id"])
    assert json.loads(evs[0]["data"])["vm"] == "b"
    s.close()
    # Disconnected: things happen; reconnect with Last-Event-ID.
    host.req("DELETE", "/vms/a")
    host.req("DELETE", "/vms/b")
    s = SSE(host.req("GET", "/events/stream", stream=True,
                     headers={"Last-Event-ID": str(last)}))
    evs = read_sse(s, 2)
    s.close()
    assert [int(e["id"]) for e in evs] == [last + 1, last + 2]
    assert [json.loads(e["data"])["vm"] for e in evs] == ["a", "b"]


# --- inventory and components ----------------------------------------------

def install_revision(state, name, rev, vmx=False):
    """A revision laid out as a payload unpacks: bin/ and scripts/."""
    d = Path(state) / "components" / name / rev
    (d / "bin").mkdir(parents=True)
    (d / "scripts").mkdir()
    if vmx:
        (d / "bin" / "seam-vmx").write_bytes(FAKE_VMX.read_bytes())
        (d / "bin" / "seam-vmx").chmod(0o755)


def test_inventory_and_attribute_overrides(tmp_path):
    h = Host(tmp_path / "state")
    (h.state / "config.json").write_text(json.dumps(
        {"attributes": {"tpm": True, "dpu": True}}))
    h.start()
    try:
        inv = h.req("GET", "/inventory").json()
        host = inv["host"]
        assert host["cores"] >= 1 and host["memory_mib"] > 0
        assert host["tpm"] is True and host["dpu"] is True
        assert sorted(host["overridden"]) == ["dpu", "tpm"]
        assert host["kvm"]["present"] == os.path.exists("/dev/kvm")
        assert inv["maintenance_mode"] == "none"
        assert inv["thumbprint"] == h.thumbprint
        assert inv["components"] == [] and inv["vms"] == []
    finally:
        h.stop()


def test_bad_config_file_refused_at_start(tmp_path):
    h = Host(tmp_path / "state")
    (h.state / "config.json").write_text('{"atributes": {}}')
    with pytest.raises(RuntimeError):
        h.start()
    h.stop()
    assert "unknown field 'atributes'" in \
        (h.state / "hostd.log").read_text()


def test_components_switch_and_vmx_per_vm(tmp_path):
    h = Host(tmp_path / "state", vmx=None)  # vmx from the component store
    install_revision(h.state, "vmx", "1.0.0.0", vmx=True)
    install_revision(h.state, "vmx", "1.0.0.0100", vmx=True)
    h.start()
    try:
        h.req("POST", "/vms", json=vm_spec("old"))
        r = h.req("POST", "/vms/old/power-on")
        assert r.status_code == 409 and "no vmx" in error_of(r)[1]
        r = h.req("POST", "/components/vmx/activate",
                  json={"revision": "1.0.0.0"})
        assert r.status_code == 200, r.text
        assert h.req("POST", "/vms/old/power-on").json()["vmx_version"] == \
            "1.0.0.0"
        r = h.req("POST", "/components/vmx/activate",
                  json={"revision": "1.0.0.0100"})
        assert r.json()["active"] == "1.0.0.0100"
        # The running VM keeps its revision; a new one starts on the new.
        assert h.req("GET", "/vms/old").json()["vmx_version"] == "1.0.0.0"
        h.req("POST", "/vms", json=vm_spec("new"))
        assert h.req("POST", "/vms/new/power-on").json()["vmx_version"] == \
            "1.0.0.0100"
        comps = h.req("GET", "/components").json()["components"]
        assert comps == [{"name": "vmx", "active": "1.0.0.0100",
                          "previous": "1.0.0.0", "staged": [],
                          "revisions": ["1.0.0.0", "1.0.0.0100"]}]
        r = h.req("POST", "/components/vmx/rollback")
        assert r.json()["active"] == "1.0.0.0"
        comp = h.req("GET", "/components").json()["components"][0]
        assert comp["staged"] == ["1.0.0.0100"]
        r = h.req("POST", "/components/vmx/activate",
                  json={"revision": "9.9.9.9"})
        assert r.status_code == 404 and "9.9.9.9" in error_of(r)[1]
        link = os.readlink(h.state / "components" / "vmx" / "active")
        assert link == "1.0.0.0"
        inv = h.req("GET", "/inventory").json()
        assert {v["name"]: v["vmx_version"] for v in inv["vms"]} == \
            {"old": "1.0.0.0", "new": "1.0.0.0100"}
    finally:
        h.stop()
        h.kill_vms()


def test_one_hostd_per_state_dir(host):
    r = subprocess.run([str(HOSTD), "--state", str(host.state), "--listen",
                        "127.0.0.1:0"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0
    assert f"in use by another seam-hostd (pid {host.proc.pid})" in r.stderr
    assert host.req("GET", "/host").ok


def test_listen_port_taken_fails_cleanly(host):
    other = Host(host.state.parent / "state2")
    with pytest.raises(RuntimeError):
        other.start(port=host.port)
    other.stop()
    assert "listen on 127.0.0.1" in (other.state / "hostd.log").read_text()


def test_free_port_helper_unused():
    # Port 0 is how every test gets its port; make sure it really is free.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.close()


def test_openapi_document_lists_every_route():
    """docs/hostd-api.yaml and the routing table in src/hostd/api.c agree."""
    import re
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((REPO / "docs" / "hostd-api.yaml").read_text())
    documented = {(m.upper(), p) for p, ops in doc["paths"].items()
                  for m in ops if m != "parameters"}
    src = (REPO / "src" / "hostd" / "api.c").read_text()
    routed = {(m, p) for m, p in re.findall(
        r'ROUTE\("(GET|POST|PUT|DELETE)", "([^"]+)"', src)}
    assert routed and documented == routed


def test_sighup_reexec_keeps_socket_and_cursor(host):
    """SIGHUP: hostd re-execs itself on its listening socket (issue 5 items
    7-8, the mechanism): no connection refused, VMs untouched, cursor kept."""
    host.req("POST", "/vms", json=vm_spec())
    vm = host.req("POST", "/vms/vm1/power-on").json()
    cursor = host.req("GET", "/events").json()["last"]
    stop, results = threading.Event(), []

    def hammer():
        while not stop.is_set():
            try:   # a new connection every time (no session)
                results.append(host.req("GET", "/host").status_code)
            except requests.RequestException as e:
                results.append(repr(e))

    threads = [threading.Thread(target=hammer, daemon=True)
               for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        host.proc.send_signal(signal.SIGHUP)
        wait_event(host, "host.reexec")
        e = wait_event(host, "host.started")
        while e["cursor"] <= cursor:   # the host.started after the re-exec
            r = host.req("GET", f"/events?after={e['cursor']}&timeout=5")
            e = next(x for x in r.json()["events"]
                     if x["type"] == "host.started")
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert results and all(r == 200 for r in results), \
        [r for r in results if r != 200][:3]
    assert host.proc.poll() is None          # same pid: execve, not fork
    after = host.req("GET", "/vms/vm1").json()
    assert after["state"] == "running" and after["pid"] == vm["pid"]
    evs = host.req("GET", f"/events?after={cursor}").json()["events"]
    assert [e["cursor"] for e in evs] == \
        list(range(cursor + 1, cursor + 1 + len(evs)))
    types = [e["type"] for e in evs]
    assert types.index("host.reexec") < types.index("host.started")
    assert "vm.adopted" in types


# --- suspend and resume (issue 7 item 1, power policy `suspend`) -----------
# fake-vmx writes a small file for `ctl SOCK snapshot PATH` and reads it back
# for `run --restore PATH`; the real snapshot is tests/e2e/
# test_hostd_suspend.py's business (kvm).

def pid_gone(pid):
    """No such process, or a zombie nobody reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def test_suspend_refusals_name_the_vm_and_state(host):
    r = host.req("POST", "/vms/nosuch/suspend")
    assert r.status_code == 404 and "nosuch" in error_of(r)[1]
    r = host.req("POST", "/vms/Bad..Name/suspend")
    assert r.status_code in (400, 404)
    assert "Bad..Name" in error_of(r)[1]
    assert host.req("POST", "/vms", json=vm_spec()).status_code == 201
    before = snapshot(host.state)
    r = host.req("POST", "/vms/vm1/suspend")
    assert r.status_code == 409
    code, msg = error_of(r)
    assert "vm1" in msg and "stopped" in msg and "running" in msg, msg
    r = host.req("POST", "/vms/vm1/suspend", json={"now": True})
    assert r.status_code == 400 and "now" in error_of(r)[1]
    assert snapshot(host.state) == before
    assert host.req("GET", "/vms/vm1").json()["state"] == "stopped"


def test_suspend_resume_and_restart(host):
    d = host.state / "vms" / "vm1"
    host.req("POST", "/vms", json=vm_spec())
    pid = host.req("POST", "/vms/vm1/power-on").json()["pid"]
    r = host.req("POST", "/vms/vm1/suspend")
    assert r.status_code == 200, r.text
    vm = r.json()
    assert vm["state"] == "suspended" and vm["vmx_version"] is None
    assert vm["suspended"]["snapshot"] == str(d / "suspend.snap")
    assert vm["suspended"]["bytes"] > 0
    assert (d / "suspend.snap").exists() and not (d / "runtime.json").exists()
    assert pid_gone(pid)
    wait_event(host, "vm.suspended", "vm1")
    # Suspended is not running: a second suspend is refused, delete and
    # full maintenance are allowed.
    r = host.req("POST", "/vms/vm1/suspend")
    assert r.status_code == 409 and "suspended" in error_of(r)[1]
    assert [v["state"] for v in host.req("GET", "/vms").json()["vms"]] == \
        ["suspended"]

    # A restarted hostd (even after SIGKILL) says suspended, not crashed.
    host.stop(signal.SIGKILL)
    host.start()
    time.sleep(1.5)  # one monitor pass
    assert host.req("GET", "/vms/vm1").json()["state"] == "suspended"

    # Partial maintenance refuses the resume as any power-on.
    assert host.req("PUT", "/maintenance", json={"mode": "partial"}).ok
    r = host.req("POST", "/vms/vm1/power-on")
    assert r.status_code == 409 and error_of(r)[0] == "maintenance_mode"
    assert host.req("GET", "/vms/vm1").json()["state"] == "suspended"
    assert host.req("PUT", "/maintenance", json={"mode": "full"}).ok
    assert host.req("PUT", "/maintenance", json={"mode": "none"}).ok

    r = host.req("POST", "/vms/vm1/power-on")
    assert r.status_code == 200, r.text
    vm = r.json()
    assert vm["state"] == "running" and vm["pid"] != pid
    assert "suspended" not in vm
    assert not (d / "suspend.snap").exists()
    assert not (d / "suspended.json").exists()
    log = (d / "vmx.log").read_text()
    assert f"--restore {d / 'suspend.snap'} --name vm1" in log
    assert "fake guest restored" in (d / "serial.log").read_text()
    wait_event(host, "vm.resumed", "vm1")


def test_failed_restore_keeps_the_vm_suspended(host):
    d = host.state / "vms" / "vm1"
    host.req("POST", "/vms", json=vm_spec())
    host.req("POST", "/vms/vm1/power-on")
    assert host.req("POST", "/vms/vm1/suspend").ok
    (d / "suspend.snap").write_text("garbage\n")
    r = host.req("POST", "/vms/vm1/power-on")
    assert r.status_code >= 400
    msg = error_of(r)[1]
    assert "vm1" in msg and "refused: bad magic" in msg, msg
    assert "stays suspended" in msg
    assert host.req("GET", "/vms/vm1").json()["state"] == "suspended"
    assert (d / "suspend.snap").read_text() == "garbage\n"
    assert not (d / "runtime.json").exists()
    wait_event(host, "vm.resume_failed", "vm1")
    # Power-off discards the snapshot; the VM boots afresh after.
    r = host.req("POST", "/vms/vm1/power-off", json={})
    assert r.status_code == 200 and r.json()["state"] == "stopped"
    assert not (d / "suspend.snap").exists()
    assert not (d / "suspended.json").exists()
    assert host.req("POST", "/vms/vm1/power-on").json()["state"] == "running"
    assert host.req("POST", "/vms/vm1/suspend").ok
    # Delete removes a suspended VM with its snapshot.
    assert host.req("DELETE", "/vms/vm1").status_code == 204
    assert not d.exists()
