#!/usr/bin/python3
"""A stand-in for seam-vmx, for test_seambench.py only: it exercises the
Seam side of bench/migrate (and bench/fsr's control plumbing) without KVM.

  fake run --name N --kernel K --cmdline C --mem M --vcpus V
           --serial-log L --control S
      writes a banner, `ready`, then `hb seq=N t_us=T vmx=fake` every 1 ms
      to L (T from CLOCK_MONOTONIC) and answers JSON lines on S:
      status, stop, fsr {binary}, migrate {to, token}.
  fake run --incoming HOST:PORT --token T --name N --serial-log L --control S
      waits for one TCP stream carrying {"token","seq"}; with the right
      token, continues the heartbeat sequence in L.
  fake ctl S CMD [ARGS]      one request, the reply on stdout.

A migrating source stops its heartbeats, sends its seq, waits for the
destination's ack, replies with made-up but well-formed figures, and exits.
"""
import json
import os
import socket
import sys
import threading
import time


def now_us():
    return int(time.monotonic() * 1e6)


class VM:
    def __init__(self, log, sock_path, seq=0):
        self.log = open(log, "a", buffering=1)
        self.seq = seq
        self.running = True
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(sock_path)
        self.srv.listen(8)
        self.sock_path = sock_path

    def beat(self):
        while not self.done.is_set():
            with self.lock:
                if self.running:
                    self.seq += 1
                    self.log.write("hb seq=%d t_us=%d vmx=fake\n" %
                                   (self.seq, now_us()))
            time.sleep(0.001)

    def serve(self):
        threading.Thread(target=self.beat, daemon=True).start()
        self.srv.settimeout(0.1)
        while not self.done.is_set():
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()
        os.unlink(self.sock_path)

    def conn(self, c):
        f = c.makefile("rwb")
        for line in f:
            req = json.loads(line)
            rep = self.handle(req)
            f.write(json.dumps(rep).encode() + b"\n")
            f.flush()
            if req.get("cmd") in ("stop", "migrate") and rep.get("ok"):
                self.done.set()
                return

    def handle(self, req):
        cmd = req.get("cmd")
        if cmd == "status":
            return {"ok": True, "state": "running"}
        if cmd == "stop":
            return {"ok": True}
        if cmd == "fsr":
            with self.lock:
                time.sleep(0.002)
            return {"ok": True, "result": "ok", "stun_us": 2000,
                    "version_before": "fake", "version_after": "fake"}
        if cmd == "migrate":
            return self.migrate(req)
        return {"ok": False, "error": "unknown command"}

    def migrate(self, req):
        t0 = time.monotonic()
        host, port = req["to"].rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
        with self.lock:
            t1 = time.monotonic()
            self.running = False
            msg = json.dumps({"token": req["token"], "seq": self.seq})
            s.sendall(msg.encode() + b"\n")
            ack = s.makefile("rb").readline()
        if not ack.startswith(b"ok"):
            with self.lock:
                self.running = True
            return {"ok": False, "error": "destination refused"}
        t2 = time.monotonic()
        return {"ok": True, "downtime_ms": round((t2 - t1) * 1000, 3),
                "total_ms": round((t2 - t0) * 1000, 3),
                "bytes_sent": len(msg), "rounds": 1, "throttled": False}


def opts(argv):
    o = {}
    for i in range(0, len(argv) - 1, 2):
        o[argv[i]] = argv[i + 1]
    return o


def incoming(o):
    host, port = o["--incoming"].rsplit(":", 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(1)
    c, _ = ls.accept()
    f = c.makefile("rwb")
    m = json.loads(f.readline())
    if m.get("token") != o["--token"]:
        f.write(b"no\n")
        f.flush()
        return 1
    vm = VM(o["--serial-log"], o["--control"], seq=m["seq"])
    f.write(b"ok\n")
    f.flush()
    vm.serve()
    return 0


def ctl(argv):
    path, cmd, rest = argv[0], argv[1], opts(argv[2:])
    req = {"cmd": cmd}
    if cmd == "fsr":
        req["binary"] = rest["--binary"]
    elif cmd == "migrate":
        req["to"], req["token"] = rest["--to"], rest["--token"]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        print("cannot connect: %s" % e, file=sys.stderr)
        return 3
    s.sendall(json.dumps(req).encode() + b"\n")
    rep = s.makefile("rb").readline().decode()
    print(rep.strip())
    return 0 if json.loads(rep).get("ok") else 1


def main(argv):
    if argv[:1] == ["ctl"]:
        return ctl(argv[1:])
    if argv[:1] != ["run"]:
        return 2
    o = opts(argv[1:])
    if "--incoming" in o:
        if "--seam-bench-probe" in o:
            print("seam-vmx run: unknown option '--seam-bench-probe'",
                  file=sys.stderr)
            return 2
        return incoming(o)
    with open(o["--serial-log"], "a") as f:
        f.write("seam-guest fake cmdline='%s'\nready\n" % o["--cmdline"])
    VM(o["--serial-log"], o["--control"]).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
