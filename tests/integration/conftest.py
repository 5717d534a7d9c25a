"""Shared fixtures for the integration tests: real seam-vmx processes.

Binaries come from SEAM_BUILD (default <repo>/build); the guest from
SEAM_GUEST (default $SEAM_BUILD/seam-guest). Timing thresholds are
multiplied by SEAM_TIME_SCALE (default 1), which the kvmbox runner sets
higher: its nested KVM runs under TCG. Every process a test starts is
killed by a finalizer.
"""
import json
import os
import signal
import socket
import subprocess
import time

import pytest
import seamlog  # lab/seamlog.py (the root conftest puts lab/ on sys.path)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SEAM_BUILD", os.path.join(REPO, "build"))
TIME_SCALE = float(os.environ.get("SEAM_TIME_SCALE", "1"))


@pytest.fixture
def build_dir():
    return BUILD


@pytest.fixture
def vmx_bin():
    return os.path.join(BUILD, "seam-vmx")


@pytest.fixture
def vmx_next_bin():
    return os.path.join(BUILD, "seam-vmx-next")


@pytest.fixture
def guest_bin():
    path = os.environ.get("SEAM_GUEST", os.path.join(BUILD, "seam-guest"))
    if not os.path.exists(path):
        pytest.fail(f"guest kernel {path} not built")
    return path


@pytest.fixture
def scale():
    return TIME_SCALE


def children_of(pid):
    """Direct children of pid (from /proc)."""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


class VM:
    """A seam-vmx run process and its files."""

    def __init__(self, vmx, args, sock, log, stderr_path, env=None):
        self.sock = sock
        self.log = log
        self.stderr_path = stderr_path
        self.vmx = vmx
        self.t_start = time.monotonic()
        self.stderr = open(stderr_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([vmx, "run"] + args,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, env=full_env)
        self.pid = self.proc.pid
        self.known = {self.pid}

    # --- files -----------------------------------------------------------
    def lines(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def heartbeats(self):
        return seamlog.heartbeats(self.lines())

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def wait_for(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = pred()
            if r:
                return r
            if self.proc.poll() is not None:
                r = pred()
                if r:
                    return r
                raise AssertionError(
                    f"VM exited ({self.proc.returncode}) waiting for {what};"
                    f" stderr:\n{self.stderr_text()}")
            time.sleep(0.02)
        raise AssertionError(f"timeout ({timeout:.1f}s) waiting for {what};"
                             f" log tail: {self.lines()[-5:]}")

    def wait_hb(self, n, timeout):
        return self.wait_for(lambda: len(self.heartbeats()) >= n and
                             self.heartbeats(), timeout, f"{n} heartbeats")

    def wait_socket(self, timeout):
        self.wait_for(lambda: os.path.exists(self.sock), timeout,
                      "the control socket")

    # --- control ---------------------------------------------------------
    def connect(self, timeout=10.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        return s

    def request(self, obj, timeout=30.0):
        s = self.connect(timeout)
        try:
            line = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
            if isinstance(line, str):
                line = line.encode()
            s.sendall(line + b"\n")
            return json.loads(recv_line(s))
        finally:
            s.close()

    def ctl(self, *args, timeout=60):
        return subprocess.run([self.vmx, "ctl", self.sock] + list(args),
                              capture_output=True, text=True,
                              timeout=timeout)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"VM did not exit in {timeout:.1f}s")

    def worker(self):
        kids = children_of(self.pid)
        return kids[0] if len(kids) == 1 else None

    def fd_count(self):
        """Open fds of the keeper and its worker(s)."""
        n = 0
        for pid in [self.pid] + children_of(self.pid):
            try:
                n += len(os.listdir(f"/proc/{pid}/fd"))
            except OSError:
                pass
        return n

    def rss_kib(self):
        """Resident KiB of keeper and worker(s), guest RAM not counted."""
        total = 0
        for pid in [self.pid] + children_of(self.pid):
            in_ram = False
            try:
                with open(f"/proc/{pid}/smaps") as f:
                    for line in f:
                        first = line.split(None, 1)[0]
                        if "-" in first and not first.endswith(":"):
                            in_ram = "memfd:seam-ram" in line
                        elif first == "Rss:" and not in_ram:
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def sanitized(self):
        """Whether this seam-vmx is an ASan build."""
        try:
            with open(f"/proc/{self.pid}/maps") as f:
                return "libasan" in f.read()
        except OSError:
            return False

    def track_children(self):
        for c in children_of(self.pid):
            self.known.add(c)

    def kill(self):
        self.track_children()
        for pid in list(self.known):
            for c in children_of(pid):
                self.known.add(c)
        for pid in self.known:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.stderr.close()


def recv_lines(s, n, limit=1 << 20):
    """Read exactly n reply lines (one byte at a time past the first
    chunk would be slow; replies are small, so read until n newlines)."""
    buf = b""
    while buf.count(b"\n") < n:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed; got {buf!r}")
        buf += chunk
        if len(buf) > limit:
            raise ValueError("reply too long")
    return [l.decode() for l in buf.split(b"\n")[:n]]


def recv_line(s, limit=1 << 20):
    return recv_lines(s, 1, limit)[0]


@pytest.fixture
def vm_factory(tmp_path, vmx_bin, request):
    vms = []

    def start(kernel, cmdline="", mem="256M", vcpus=1, name="t",
              extra=None, vmx=None, sock=None, env=None):
        n = len(vms)
        sock = sock or str(tmp_path / f"vm{n}.sock")
        log = str(tmp_path / f"vm{n}.log")
        args = ["--name", name, "--kernel", kernel, "--cmdline", cmdline,
                "--mem", mem, "--vcpus", str(vcpus), "--serial-log", log,
                "--control", sock] + (extra or [])
        vm = VM(vmx or vmx_bin, args, sock, log, str(tmp_path / f"vm{n}.err"),
                env)
        vms.append(vm)
        return vm

    def fin():
        for vm in vms:
            vm.kill()

    request.addfinalizer(fin)
    return start


def processes_mentioning(text):
    """PIDs whose command line contains text (to prove nothing is left)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if text.encode() in f.read() and pid_alive(int(d)):
                    out.append(int(d))
        except OSError:
            pass
    return out
