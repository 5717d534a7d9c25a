"""seambench — what Seam's benchmarks share (python3 standard library only).

A benchmark here starts VMs (seam-vmx, or QEMU as the reference), makes them
do something (a fast suspend-resume, a live migration), and judges what the
guest saw from the guest's own serial log: seam-guest prints a heartbeat line
`hb seq=N t_us=T vmx=V` every interval, `verify ok pass=N` after each full
check of its memory pattern, and `verify FAIL ...` if a word ever changed.
A pause the guest suffers shows as a gap between two heartbeats' t_us (the
guest's own TSC clock, carried across the hand-over), a lost or repeated
line as a seq that is not the previous one plus one.

Pieces:
  LogStats / parse_log / read_log_lines   the serial log, judged (from
                                          lab/seamlog.py, re-exported)
  median, emit                            figures and `name=value` lines
  QMP                                     a minimal QEMU Machine Protocol client
  Procs                                   start processes; always end them
                                          (atexit, SIGINT/SIGTERM/SIGHUP, and
                                          PR_SET_PDEATHSIG should we be killed)
  free_tcp_port                           a free port on 127.0.0.1
  tree_pids / tree_mem_kib / MemSampler   a process tree's memory from /proc

Memory is counted as Pss (smaps_rollup) plus the page tables (VmPTE): summed
over a process tree, Pss counts a page shared by two processes (guest RAM in
a memfd that an old and a new VMM both map) once, which is what "extra memory
a hand-over needs" must measure; the page tables of a second mapping of guest
RAM are real extra memory that Pss leaves out.
"""
import atexit
import ctypes
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

# The serial log is judged by lab/seamlog.py, shared with the tests and the
# lab; its names are re-exported here (sb.parse_log, sb.LogStats, ...).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "lab"))
from seamlog import (HB_RE, VERIFY_FAIL_PREFIX, VERIFY_OK_RE,  # noqa: E402,F401
                     LogStats, count_lines, heartbeat_count, parse_log,
                     read_log_lines)


class BenchError(Exception):
    """A step of a benchmark failed; the message says which and why."""


def wait_log(paths, predicate, timeout, what, procs=()):
    """Poll logs until predicate(lines) is true; BenchError on timeout or if
    one of procs (Popen objects) has ended meanwhile."""
    if isinstance(paths, str):
        paths = [paths]
    deadline = time.monotonic() + timeout
    while True:
        lines = read_log_lines(*paths)
        if predicate(lines):
            return lines
        for p in procs:
            if p.poll() is not None:
                raise BenchError("%s: %s ended (status %s) while waiting; "
                                 "log tail:\n%s" % (
                                     what, p.args[0], p.returncode,
                                     "\n".join(lines[-15:])))
        if time.monotonic() > deadline:
            raise BenchError("%s: not within %.0f s; log tail:\n%s" % (
                what, timeout, "\n".join(lines[-15:])))
        time.sleep(0.05)


# --------------------------------------------------------------------------
# Figures

def median(values):
    """The median of a non-empty list (the mean of the middle two when even);
    None for an empty list."""
    values = list(values)
    if not values:
        return None
    return statistics.median(values)


def fmt_value(v):
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return ("%.3f" % v).rstrip("0").rstrip(".")
    return str(v)


def emit(name, value, out=None):
    """Print one `name=value` line at once (flushed: a run that fails later
    still leaves what it measured)."""
    out = out or sys.stdout
    out.write("%s=%s\n" % (name, fmt_value(value)))
    out.flush()


def note(msg):
    """Progress on stderr, so stdout stays name=value lines only."""
    sys.stderr.write("# %s\n" % msg)
    sys.stderr.flush()


def parse_size(s):
    """'256m', '4G', '512M' -> (bytes, suffix '256m'/'4g')."""
    m = re.fullmatch(r"(\d+)([mMgG])", s.strip())
    if not m:
        raise BenchError("size '%s': want a number and M or G (256m, 4g)" % s)
    n, u = int(m.group(1)), m.group(2).lower()
    return n << (20 if u == "m" else 30), "%d%s" % (n, u)


def qemu_mem_arg(size_bytes):
    return "%dM" % (size_bytes >> 20)


# --------------------------------------------------------------------------
# QMP

class QMPError(BenchError):
    pass


class QMPTimeout(QMPError):
    pass


class QMP:
    """A minimal QMP client over a unix socket: one JSON object per line in
    both directions; asynchronous events are kept in self.events."""

    def __init__(self, path, timeout=30.0, proc=None):
        self.path = path
        self.events = []
        self.sock = None
        self.buf = b""
        deadline = time.monotonic() + timeout
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                self.sock = s
                break
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if proc is not None and proc.poll() is not None:
                    raise QMPError("QMP %s: the process ended (status %s) "
                                   "before its QMP socket answered" % (
                                       path, proc.returncode))
                if time.monotonic() > deadline:
                    raise QMPError("QMP %s: no socket within %.0f s" % (
                        path, timeout))
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError("QMP %s: unexpected greeting %r" % (path, greeting))
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise QMPError("QMP %s: no reply (timeout)" % self.path)
            if not chunk:
                raise QMPError("QMP %s: connection closed" % self.path)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise QMPError("QMP %s: not JSON: %r" % (self.path, line[:200]))

    def execute(self, cmd, **args):
        """Run one command; its "return" value, or QMPError naming the
        command and QEMU's error."""
        req = {"execute": cmd}
        if args:
            req["arguments"] = args
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while True:
            msg = self._read()
            if "event" in msg:
                self.events.append(msg)
                continue
            if "error" in msg:
                e = msg["error"]
                raise QMPError("QMP %s: %s failed: %s: %s" % (
                    self.path, cmd, e.get("class"), e.get("desc")))
            if "return" in msg:
                return msg["return"]

    def status(self):
        return self.execute("query-status").get("status")

    def migrate(self, uri):
        return self.execute("migrate", uri=uri)

    def set_parameters(self, **params):
        return self.execute("migrate-set-parameters", **params)

    def query_migrate(self):
        return self.execute("query-migrate")

    def wait_migration(self, timeout, poll_s=0.01):
        """Poll query-migrate until completed; its last reply. QMPError if it
        fails, is cancelled or times out."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.query_migrate()
            st = info.get("status")
            if st == "completed":
                return info
            if st in ("failed", "cancelled"):
                raise QMPError("migration %s: %s" % (
                    st, info.get("error-desc", "(no reason given)")))
            if time.monotonic() > deadline:
                raise QMPTimeout("migration not completed within %.0f s "
                                 "(status %s)" % (timeout, st))
            time.sleep(poll_s)

    def wait_status(self, want, timeout, poll_s=0.01):
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st == want:
                return st
            if time.monotonic() > deadline:
                raise QMPError("QMP %s: status %s, not %s, after %.0f s" % (
                    self.path, st, want, timeout))
            time.sleep(poll_s)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None


# --------------------------------------------------------------------------
# Processes

PR_SET_PDEATHSIG = 1
_libc = None


def _pdeathsig():
    """In the child before exec: die with SIGKILL when the parent thread
    goes (should the benchmark itself be SIGKILLed)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class Procs:
    """Every process a benchmark starts, ended for sure: each one leads its
    own process group (so its children go too), is ended by stop() or
    stop_all(), which run at exit and on SIGINT/SIGTERM/SIGHUP."""

    _instances = []
    _handlers_installed = False

    def __init__(self):
        self.procs = []
        Procs._instances.append(self)
        Procs._install()

    @classmethod
    def _install(cls):
        if cls._handlers_installed:
            return
        cls._handlers_installed = True
        atexit.register(cls._stop_everything)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:
                signal.signal(sig, cls._on_signal)
            except (ValueError, OSError):
                pass  # not the main thread

    @classmethod
    def _on_signal(cls, signum, frame):
        cls._stop_everything()
        sys.stderr.write("# interrupted by signal %d; every process ended\n"
                         % signum)
        os._exit(128 + signum)

    @classmethod
    def _stop_everything(cls):
        for inst in cls._instances:
            inst.stop_all()

    def start(self, argv, stdout=None, stderr=None, env=None):
        """Start argv; stdin is /dev/null; stdout/stderr as given (a path
        string opens that file for appending, None discards)."""
        files = []

        def open_out(x):
            if x is None:
                return subprocess.DEVNULL
            if isinstance(x, str):
                f = open(x, "ab")
                files.append(f)
                return f
            return x

        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                 stdout=open_out(stdout),
                                 stderr=open_out(stderr), env=env,
                                 start_new_session=True,
                                 preexec_fn=_pdeathsig)
        except OSError as e:
            raise BenchError("cannot start %s: %s" % (argv[0], e))
        finally:
            for f in files:
                f.close()
        self.procs.append(p)
        return p

    def stop(self, p, grace=2.0):
        """End p and its process group: SIGTERM, then SIGKILL after grace
        seconds. Returns its exit status."""
        if p.poll() is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # Whatever the leader left behind in its group goes too.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p in self.procs:
            self.procs.remove(p)
        try:
            return p.wait(10)
        except subprocess.TimeoutExpired:
            return None

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p, grace=1.0)


def free_tcp_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def run_cmd(argv, timeout, what):
    """Run a short command to its end; (status, stdout, stderr). The process
    is killed on timeout and BenchError raised."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout,
                           preexec_fn=_pdeathsig)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: no answer within %.0f s" % (what, timeout))
    except OSError as e:
        raise BenchError("%s: cannot run %s: %s" % (what, argv[0], e))
    return (r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace"))


def require_kvm():
    """BenchError unless /dev/kvm can be opened read-write."""
    if not os.path.exists("/dev/kvm"):
        raise BenchError("/dev/kvm is missing: this machine offers no KVM "
                         "(run the benchmark on a host with KVM, or inside "
                         "tests/kvmbox/run, where the figures are TCG's and "
                         "mean nothing)")
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
    except OSError as e:
        raise BenchError("/dev/kvm cannot be opened: %s" % e)


# --------------------------------------------------------------------------
# Memory of a process tree

def _children(pid):
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    kids.extend(int(x) for x in f.read().split())
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
    except (FileNotFoundError, ProcessLookupError):
        pass
    return kids


def tree_pids(root):
    """root and all its descendants that exist now."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        if not os.path.exists("/proc/%d" % pid):
            continue
        out.append(pid)
        todo.extend(_children(pid))
    return out


def _status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def proc_mem_kib(pid):
    """(rss_kib, pss_kib, pte_kib) of one process; zeros if it is gone."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0, 0, 0
    return rss, pss, _status_kib(pid, "VmPTE")


def tree_mem_kib(roots):
    """Memory of the trees under roots (pids), as a dict: rss, pss, pte,
    mem (= pss + pte, what the benchmarks compare) and pids."""
    if isinstance(roots, int):
        roots = [roots]
    tot = {"rss": 0, "pss": 0, "pte": 0, "pids": []}
    seen = set()
    for r in roots:
        for pid in tree_pids(r):
            if pid in seen:
                continue
            seen.add(pid)
            rss, pss, pte = proc_mem_kib(pid)
            tot["rss"] += rss
            tot["pss"] += pss
            tot["pte"] += pte
            tot["pids"].append(pid)
    tot["mem"] = tot["pss"] + tot["pte"]
    return tot


class MemSampler(threading.Thread):
    """Samples tree_mem_kib(roots()) every interval seconds in a thread and
    keeps the peak of each figure. roots is a callable, so the set of
    processes may change while it runs (a destination appears)."""

    def __init__(self, roots, interval=0.002):
        super().__init__(daemon=True)
        self.roots = roots if callable(roots) else (lambda: roots)
        self.interval = interval
        self.peak = {"rss": 0, "pss": 0, "pte": 0, "mem": 0}
        self.samples = 0
        self.max_pids = 0
        self._stop_ev = threading.Event()

    def sample(self):
        m = tree_mem_kib(self.roots())
        for k in self.peak:
            self.peak[k] = max(self.peak[k], m[k])
        self.max_pids = max(self.max_pids, len(m["pids"]))
        self.samples += 1
        return m

    def run(self):
        while not self._stop_ev.is_set():
            self.sample()
            self._stop_ev.wait(self.interval)

    def stop(self):
        self._stop_ev.set()
        self.join(30)
        self.sample()
        return self.peak


def mib(kib):
    return round(kib / 1024.0, 1)


# --------------------------------------------------------------------------
# Where things are, how long to wait

def repo_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.dirname(here))


def build_dir():
    return os.environ.get("SEAM_BUILD", os.path.join(repo_dir(), "build"))


def time_scale():
    """Timeouts are multiplied by this: SEAM_TIME_SCALE, else 20 inside the
    kvm box (KVMBOX=1, everything emulated), else 1."""
    v = os.environ.get("SEAM_TIME_SCALE")
    if v:
        return float(v)
    return 20.0 if os.environ.get("KVMBOX") == "1" else 1.0


_sock_dir = None


def sock_dir():
    """A short-pathed private directory under /tmp for unix sockets (a log
    directory may be long-pathed, or on 9p inside the kvm box); removed at
    exit."""
    global _sock_dir
    if _sock_dir is None:
        import shutil
        import tempfile
        _sock_dir = tempfile.mkdtemp(prefix="sb-")
        atexit.register(shutil.rmtree, _sock_dir, True)
    return _sock_dir


def qemu_binary():
    q = os.environ.get("SEAM_QEMU")
    if q:
        return q
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep):
        p = os.path.join(d, "qemu-system-x86_64")
        if os.access(p, os.X_OK):
            return p
    raise BenchError("qemu-system-x86_64 is not installed (Debian package "
                     "qemu-system-x86)")


# --------------------------------------------------------------------------
# The QEMU reference: live migration of the same guest into a second QEMU

def qemu_argv(qemu, guest, mem_bytes, cmdline, log, qmp_path, accel="kvm",
              incoming=None):
    argv = [qemu, "-M", "microvm", "-accel", accel,
            "-m", qemu_mem_arg(mem_bytes), "-smp", "1",
            "-kernel", guest, "-append", cmdline,
            "-nodefaults", "-no-user-config", "-nographic",
            "-serial", "file:" + log,
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
    if incoming:
        argv += ["-incoming", incoming]
    return argv


def guest_ready(min_hb):
    """A wait_log predicate: the guest said `ready` and has logged at least
    min_hb heartbeats."""
    def pred(lines):
        return "ready" in lines and heartbeat_count(lines) >= min_hb
    return pred


def qemu_migrate_case(procs, workdir, tag, guest, mem_bytes, cmdline,
                      accel="kvm", warm_hb=500, after_hb=500, params=None,
                      mem_interval=0.005, timeout_s=300):
    """Boot guest under QEMU, let it run warm_hb heartbeats, start a second
    QEMU with -incoming on a loopback TCP port, migrate with QEMU's defaults
    (or migrate-set-parameters params), wait until the destination runs and
    has logged after_hb more heartbeats, then end both.

    Returns a dict: downtime_ms, total_ms, setup_ms, bytes_sent, rounds
    (QEMU's own figures from query-migrate), extra_mib (peak memory of both
    QEMUs during the hand-over minus the source's before), stats (LogStats
    of source log + destination log as one stream, the gap window starting
    at the heartbeat before `migrate`), and the log paths.

    A migration that has not completed after timeout_s (times the time
    scale) is cancelled (QEMU's defaults have no auto-converge: a guest that
    dirties memory faster than the bandwidth limit never converges); then
    converged is False, QEMU's figures are None and the guest, still on the
    source, is judged from the source's log alone."""
    qemu = qemu_binary()
    scale = time_scale()
    src_log = os.path.join(workdir, "%s-src.log" % tag)
    dst_log = os.path.join(workdir, "%s-dst.log" % tag)
    src_qmp = os.path.join(sock_dir(), "%s-src.qmp" % tag)
    dst_qmp = os.path.join(sock_dir(), "%s-dst.qmp" % tag)
    src_err = os.path.join(workdir, "%s-src.err" % tag)
    dst_err = os.path.join(workdir, "%s-dst.err" % tag)
    for p in (src_log, dst_log):
        open(p, "w").close()
    src = dst = None
    qs = qd = None
    sampler = None
    try:
        src = procs.start(qemu_argv(qemu, guest, mem_bytes, cmdline, src_log,
                                    src_qmp, accel), stderr=src_err)
        qs = QMP(src_qmp, timeout=30 * scale, proc=src)
        wait_log(src_log, guest_ready(warm_hb), 60 * scale,
                 "QEMU %s: guest start" % tag, [src])
        before = tree_mem_kib(src.pid)
        port = free_tcp_port()
        uri = "tcp:127.0.0.1:%d" % port
        sampler = MemSampler(lambda: [x.pid for x in (src, dst) if x],
                             interval=mem_interval)
        sampler.start()
        dst = procs.start(qemu_argv(qemu, guest, mem_bytes, cmdline, dst_log,
                                    dst_qmp, accel, incoming=uri),
                          stderr=dst_err)
        qd = QMP(dst_qmp, timeout=30 * scale, proc=dst)
        st = qd.status()
        if st != "inmigrate":
            raise BenchError("QEMU %s: destination status %s, not inmigrate"
                             % (tag, st))
        if params:
            qs.set_parameters(**params)
        window = count_lines(src_log)
        qs.migrate(uri)
        converged = True
        try:
            info = qs.wait_migration(timeout_s * scale)
        except QMPTimeout:
            converged = False
            info = qs.query_migrate()
            qs.execute("migrate_cancel")
            qs.wait_status("running", 60 * scale)
        with open(os.path.join(workdir, "%s-query-migrate.json" % tag),
                  "w") as f:
            json.dump(info, f, indent=1)
        if converged:
            qd.wait_status("running", 60 * scale)
            wait_log(dst_log, lambda ls: heartbeat_count(ls) >= after_hb,
                     60 * scale, "QEMU %s: destination heartbeats" % tag,
                     [dst])
        peak = sampler.stop()
        sampler = None
        ram = info.get("ram", {})
        fig = (lambda v: v) if converged else (lambda v: None)
        res = {
            "converged": converged,
            "downtime_ms": fig(info.get("downtime")),
            "total_ms": fig(info.get("total-time")),
            "setup_ms": info.get("setup-time"),
            "bytes_sent": fig(ram.get("transferred")),
            "rounds": fig(ram.get("dirty-sync-count")),
            "before_mib": mib(before["mem"]),
            "peak_mib": mib(peak["mem"]),
            "extra_mib": mib(peak["mem"] - before["mem"]),
            "src_log": src_log,
            "dst_log": dst_log,
            "info": info,
        }
    except QMPError as e:
        raise BenchError("QEMU %s: %s (QEMU's messages: %s, %s)" % (
            tag, e, src_err, dst_err))
    finally:
        if sampler is not None:
            sampler.stop()
        for q in (qs, qd):
            if q is not None:
                q.close()
        for p in (dst, src):
            if p is not None:
                procs.stop(p)
    lines = read_log_lines(*((src_log, dst_log) if converged else
                             (src_log,)))
    res["stats"] = parse_log(lines, window_start=window)
    return res


# --------------------------------------------------------------------------
# seam-vmx

def vmx_ctl(vmx, sock, args, timeout, what):
    """`seam-vmx ctl SOCK ARGS...`: the JSON reply as a dict. BenchError
    with the reply (or the lack of one) when there is no JSON object, or
    the process fails without one."""
    status, out, err = run_cmd([vmx, "ctl", sock] + list(args), timeout,
                               what)
    reply = None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                reply = json.loads(line)
            except ValueError:
                continue
    if not isinstance(reply, dict):
        raise BenchError("%s: `seam-vmx ctl %s` gave no JSON reply (exit "
                         "status %d); stdout: %r; stderr: %r" % (
                             what, " ".join(args), status, out.strip()[:500],
                             err.strip()[:500]))
    reply["_exit_status"] = status
    reply["_stderr"] = err
    return reply


def reply_field(reply, names, default=None):
    """The first of names present in reply (protocols being designed may
    spell a field differently); default if none."""
    for n in names:
        if n in reply and reply[n] is not None:
            return reply[n]
    return default


def vmx_start(procs, vmx, workdir, name, guest, mem, vcpus, cmdline,
              extra=(), wait_ready=True, warm_hb=500):
    """Start `seam-vmx run`; returns (proc, serial_log, control_socket).
    With wait_ready, waits for the guest's `ready` and warm_hb heartbeats."""
    scale = time_scale()
    log = os.path.join(workdir, "%s.log" % name)
    sock = os.path.join(sock_dir(), "%s.sock" % name)
    err = os.path.join(workdir, "%s.err" % name)
    open(log, "w").close()
    argv = [vmx, "run", "--name", name, "--kernel", guest,
            "--cmdline", cmdline, "--mem", mem, "--vcpus", str(vcpus),
            "--serial-log", log, "--control", sock] + list(extra)
    p = procs.start(argv, stdout=err, stderr=err)
    p.err_path = err
    if wait_ready:
        try:
            wait_log(log, guest_ready(warm_hb), 60 * scale,
                     "seam-vmx %s: guest start" % name, [p])
        except BenchError as e:
            raise BenchError("%s\nseam-vmx said: %s" % (e, tail_file(err)))
    return p, log, sock


def tail_file(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:]).strip() or "(nothing)"
    except OSError:
        return "(no file)"


def vmx_stop(procs, vmx, proc, sock):
    """End a seam-vmx VM: `ctl stop` (a clean end), then the process group
    for sure."""
    if proc.poll() is None:
        try:
            run_cmd([vmx, "ctl", sock, "stop"], 30 * time_scale(), "stop VM")
        except BenchError:
            pass
    procs.stop(proc)
