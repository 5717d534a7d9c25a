"""seamctl's lifecycle commands (pre-check, stage, remediate, cancel) and
the event stream's log format, against a TEST DOUBLE of the center.

The real lifecycle engine (issue 7) is not in seam-center yet; until it is,
test_ctl_cli.py checks that seamctl says "the server does not support
pre-check (404)", and this file checks the rest of the contract seamctl
writes against (docs/seamctl.md): POST /api/v1/clusters/{c}/precheck|stage|
remediate answers 202 {"task": ...}; the task is followed through its steps
(plain lines "task N: P% STEP" when not a terminal), its result shown as
tables, exit 1 when the task fails or its result says "passed": false.

FakeCenter is a small HTTPS server (a self-signed certificate made with
openssl, pinned by its thumbprint like the real one) that scripts one task
per operation. It runs in a thread of the test process and is shut down by
the fixture.
"""
import hashlib
import json
import shutil
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ctl_harness import SEAMCTL, table

TOKEN = "fake-admin-token"

PRECHECK = {
    "passed": False,
    "checks": [
        {"check": "drs_automation", "host": None, "status": "ok",
         "message": "DRS is fully automated", "remedy": None},
        {"check": "vm_fsr_eligible", "host": "h2", "status": "failed",
         "message": "VM 'pt1' is flagged passthrough and cannot FSR",
         "remedy": "power off pt1 or set live_patch=auto"},
    ],
}
STAGE = {"hosts": [{"host": "h1", "status": "ok", "seconds": 0.4},
                   {"host": "h2", "status": "ok", "seconds": 0.5}]}
REMEDIATE_ERR = "host h2: apply failed (vmx scan script exited 3)"

EVENTS = [
    {"cursor": 1, "time": "2026-11-30T05:41:16.100Z", "type":
     "remediation.host_started", "severity": "info", "cluster": "c1",
     "host": "h1", "vm": None, "task_id": 3,
     "message": "Started entering partial maintenance mode for host 'h1'",
     "data": None},
    {"cursor": 2, "time": "2026-11-30T05:41:17.250Z", "type": "fsr.done",
     "severity": "info", "cluster": "c1", "host": "h1", "vm": "vm1",
     "task_id": 3, "message": "VM 'vm1' moved to vmx 1.0.0.0100 by FSR",
     "data": {"stun_ms": 3.2, "vmx_from": "1.0.0.0", "vm": "vm1"}},
]


def task(tid, typ, steps, result=None, error=None):
    """A scripted task: each GET returns the next state."""
    return {"id": tid, "type": typ, "target_name": "c1", "steps": steps,
            "i": 0, "result": result, "error": error}


class FakeCenter(BaseHTTPRequestHandler):
    tasks = {}

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorised(self):
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.reply(401, {"error": {"code": "unauthorized",
                                       "message": "invalid token"}})
            return False
        return True

    def task_json(self, t, advance):
        pct, status, step = t["steps"][min(t["i"], len(t["steps"]) - 1)]
        if advance:
            t["i"] += 1
        done = status in ("success", "error")
        return {"id": t["id"], "type": t["type"], "target_kind": "cluster",
                "target_name": "c1", "status": status, "progress": pct,
                "step": step, "created": "2026-11-30T05:41:00.000Z",
                "started": "2026-11-30T05:41:00.100Z",
                "finished": "2026-11-30T05:41:02.600Z" if done else None,
                "result": t["result"] if done else None,
                "error": t["error"] if done else None}

    def do_POST(self):
        if not self.authorised():
            return
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"null")
        ops = {
            "/api/v1/clusters/c1/precheck": task(
                1, "cluster.precheck",
                [(0, "queued", None), (30, "running", "checking cluster c1"),
                 (60, "running", "checking host h2"),
                 (100, "success", None)], PRECHECK),
            "/api/v1/clusters/c1/stage": task(
                2, "cluster.stage",
                [(0, "running", "staging host h1"),
                 (40, "running", "staging host h2"),
                 (100, "success", None)], STAGE),
            "/api/v1/clusters/c1/remediate": task(
                3, "cluster.remediate",
                [(10, "running", "entering partial maintenance mode h1"),
                 (50, "running", "live patching host h2"),
                 (50, "error", None)], None, REMEDIATE_ERR),
        }
        if self.path in ops:
            t = ops[self.path]
            t["body"] = body
            FakeCenter.tasks[t["id"]] = t
            self.reply(202, {"task": self.task_json(t, False)})
        elif self.path == "/api/v1/clusters/c1/cancel":
            self.reply(200, {"cancelled": True, "task_id": 3})
        else:
            self.reply(404, {"error": {"code": "not_found",
                                       "message": "no endpoint " +
                                       self.path}})

    def do_GET(self):
        if not self.authorised():
            return
        if self.path == "/api/v1/me":
            self.reply(200, {"user": "admin", "role": "admin"})
        elif self.path.startswith("/api/v1/tasks/"):
            t = FakeCenter.tasks.get(int(self.path.rsplit("/", 1)[1]))
            if not t:
                self.reply(404, {"error": {"code": "not_found",
                                           "message": "no task"}})
            else:
                self.reply(200, self.task_json(t, True))
        elif self.path.startswith("/api/v1/events/stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            out = ": hello\n\n"
            for e in EVENTS:
                data = json.dumps(e)
                out += f"id: {e['cursor']}\nevent: {e['type']}\n" \
                       f"data: {data}\n\n"
            self.wfile.write(out.encode())
            self.wfile.flush()
        elif self.path.startswith("/api/v1/events"):
            self.reply(200, {"events": EVENTS[:1], "cursor": 1, "last": 2})
        else:
            self.reply(404, {"error": {"code": "not_found",
                                       "message": "no endpoint " +
                                       self.path}})


@pytest.fixture
def fake(tmp_path):
    if not SEAMCTL.exists():
        pytest.skip("build first")
    if not shutil.which("openssl"):
        pytest.skip("no openssl to make the test double's certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj",
                    "/CN=fake-center"], check=True, capture_output=True)
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    tp = hashlib.sha256(der).hexdigest()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    servers = []

    def serve(port=0):
        srv = ThreadingHTTPServer(("127.0.0.1", port), FakeCenter)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    def stop():
        srv = servers.pop()
        srv.shutdown()
        srv.server_close()
    srv = serve()
    env = {"SEAMCTL_CONFIG": str(tmp_path / "cfg.json"), "PATH": "/usr/bin"}

    def run(*args, rc=0):
        p = subprocess.run([str(SEAMCTL), *args], capture_output=True,
                           text=True, env=env, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == rc, (args, p.returncode, p.stdout, p.stderr)
        if "--json" in args and p.stdout.strip():
            p.json = ([json.loads(x) for x in p.stdout.splitlines()]
                      if "--follow" in args else json.loads(p.stdout))
        return p
    run("login", "--server", f"https://127.0.0.1:{srv.server_port}",
        "--token", TOKEN, "--thumbprint", tp)
    run.env = env
    run.port = srv.server_port
    run.serve = serve
    run.stop = stop
    yield run
    while servers:
        stop()


def test_task_wait_rides_out_a_center_restart(fake):
    """The center may restart in the middle of a remediation (it resumes
    it): `task wait` keeps asking for up to two minutes."""
    FakeCenter.tasks[7] = task(
        7, "cluster.remediate",
        [(10, "running", "live patching host h1")] * 3 +
        [(60, "running", "live patching host h2"), (100, "success", None)],
        {"hosts": [{"host": "h1", "status": "ok"}]})
    w = subprocess.Popen([str(SEAMCTL), "task", "wait", "7"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=fake.env)
    try:
        first = w.stdout.readline()
        assert first == "task 7: 10% live patching host h1\n", first
        fake.stop()
        time.sleep(2.5)
        fake.serve(fake.port)
        out, err = w.communicate(timeout=60)
        out = first + out
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert w.returncode == 0, (out, err)
    assert "retrying for up to 120 s" in err and "answers again" in err
    assert "task 7: 60% live patching host h2" in out
    assert "task 7 (cluster.remediate c1): success" in out


def test_precheck_steps_result_and_exit(fake):
    p = fake("precheck", "c1", rc=1)
    out = p.stdout
    assert "task 1: 30% checking cluster c1" in out
    assert "task 1: 60% checking host h2" in out
    assert "task 1 (cluster.precheck c1): success in 2.50 s" in out
    rows = table(out.split("checks:\n", 1)[1])
    assert [r["CHECK"] for r in rows] == ["drs_automation",
                                          "vm_fsr_eligible"]
    assert rows[1]["HOST"] == "h2" and rows[1]["STATUS"] == "failed"
    assert rows[1]["REMEDY"] == "power off pt1 or set live_patch=auto"
    assert "pre-check of cluster 'c1' found problems" in p.stderr
    j = fake("precheck", "c1", "--json", rc=1).json
    assert j["result"]["passed"] is False


def test_stage_and_remediate(fake):
    p = fake("stage", "c1", "--host", "h1", "--host", "h2")
    assert "task 2: 40% staging host h2" in p.stdout
    assert FakeCenter.tasks[2]["body"] == {"hosts": ["h1", "h2"]}
    rows = table(p.stdout.split("hosts:\n", 1)[1])
    assert [r["HOST"] for r in rows] == ["h1", "h2"]
    assert fake("stage", "c1", "--json").json["status"] == "success"
    p = fake("remediate", "c1", rc=1)
    assert "task 3: 50% live patching host h2" in p.stdout
    assert REMEDIATE_ERR in p.stderr
    j = fake("remediate", "c1", "--json", rc=1).json
    assert j["status"] == "error"
    t = fake("remediate", "c1", "--no-wait", "--json").json
    assert t["id"] == 3 and t["status"] != "error"
    fake("task", "wait", "3", rc=1)
    assert "Cancel requested" in fake("cancel", "c1").stdout
    assert fake("cancel", "c1", "--json").json["cancelled"] is True


def test_events_log_lines_with_figures(fake):
    out = fake("events", "-f", "-n", "5", "--count", "2").stdout.splitlines()
    assert out[0] == ("2026-11-30 05:41:16.100  h1           Started "
                      "entering partial maintenance mode for host 'h1'")
    assert out[1].startswith("2026-11-30 05:41:16.100  h1")
    assert out[2].endswith("VM 'vm1' moved to vmx 1.0.0.0100 by FSR  "
                           "(stun_ms=3.2 vmx_from=1.0.0.0)")
    j = fake("events", "--follow", "--count", "1", "--json").json
    assert [e["cursor"] for e in j] == [1, 1]
