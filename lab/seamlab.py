"""seamlab — a Seam lab on loopback: one seam-center, three seam-hostd, six
VMs running seam-guest; what lab/up, lab/down, lab/status and lab/proof run
and what `make demo` (scripts/demo) drives.

Why a lab directory: everything the lab is lives in one directory — each
daemon's state, its stdout (where it prints port= and thumbprint=) and
stderr log, the seamctl config, and lab.json (ports, pids, tokens, VMs) —
so that `down` and `status` need nothing else, and removing the directory
removes the lab. The path of the last lab started is recorded in
/tmp/seam-lab-UID.current ($SEAM_LAB_RECORD) so that `down` and `status`
find it without an argument.

The daemons are started in their own sessions, so they outlive `up` and a
Ctrl-C in the terminal; hostd detaches its seam-vmx processes itself and
lists them in STATE/vms/NAME/runtime.json, where `down` finds them.

The lab is driven the way an operator drives Seam: with seamctl
(login with the thumbprint the center printed, `host add` with the
thumbprint each host printed at enrollment, `vm create`, `vm power-on`).
Only what an operator reads from a machine's console (a daemon's port,
token and thumbprint) is read from files.

The continuity proof (`proof`) reads each guest's own serial log with
lab/seamlog.py: heartbeat sequence continuous, vmx versions, verify passes
and failures, the largest gap between two heartbeats.

python3 standard library only (Debian's /usr/bin/python3).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seamlog  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("SEAM_BUILD", REPO / "build")).resolve()
BUNDLES = Path(os.environ.get("SEAM_BUNDLES", BUILD / "bundles"))
RECORD = Path(os.environ.get("SEAM_LAB_RECORD",
                             f"/tmp/seam-lab-{os.getuid()}.current"))
SCALE = max(1.0, float(os.environ.get("SEAM_TIME_SCALE", "1") or 1))
CLUSTER = "lab"
VM_NICE = int(os.environ.get("SEAM_LAB_VM_NICE", "10"))
STARTED = None  # the lab this `up` created, stopped again if up fails
BASE = "1.0.0.0"


class LabError(Exception):
    """A step of the lab failed; the message says which and why."""


def say(msg):
    print(msg, flush=True)


def read_kv(path):
    out = {}
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


class Lab:
    """One lab directory and its record (lab.json)."""

    def __init__(self, path):
        self.dir = Path(path).resolve()
        self.file = self.dir / "lab.json"
        self.info = {}
        if self.file.exists():
            self.info = json.loads(self.file.read_text())

    def save(self):
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.info, indent=1) + "\n")
        tmp.rename(self.file)

    @property
    def ctl_config(self):
        return self.dir / "seamctl" / "seamctl.json"

    @property
    def url(self):
        return f"https://127.0.0.1:{self.info['center']['port']}"

    def env(self):
        return dict(os.environ, SEAMCTL_CONFIG=str(self.ctl_config))

    def ctl(self, *args, check=True, quiet=False, timeout=None):
        """Run seamctl against the lab's center; its output goes to ours
        unless quiet (then it is returned)."""
        argv = [str(BUILD / "seamctl"), *map(str, args)]
        p = subprocess.run(argv, env=self.env(), stdin=subprocess.DEVNULL,
                           capture_output=quiet, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise LabError("seamctl %s failed (exit %d)%s" % (
                " ".join(map(str, args)), p.returncode,
                (": " + (p.stderr or p.stdout).strip()) if quiet else ""))
        return p

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args, quiet=True).stdout)

    def serial(self, vm):
        host = self.info["vms"][vm]
        state = self.info["hosts"][host]["state"]
        return Path(state) / "vms" / vm / "serial.log"


# ------------------------------------------------------------------ up

def start_daemon(argv, out, log, env=None):
    """Start a daemon in its own session, stdout and stderr to files."""
    with open(out, "wb") as o, open(log, "ab") as e:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o,
                             stderr=e, start_new_session=True, env=env)
    return p


def host_env():
    """A hostd's environment, which its seam-vmx processes inherit. On a
    machine known to be slow (SEAM_TIME_SCALE > 1: the emulated box), the
    new seam-vmx of an FSR gets SCALE times its 10 s to build its VM before
    the old one takes the VM back (SEAM_FSR_TIMEOUT_MS, see src/vmx/fsr.h)."""
    env = dict(os.environ)
    if SCALE > 1 and "SEAM_FSR_TIMEOUT_MS" not in env:
        env["SEAM_FSR_TIMEOUT_MS"] = str(int(10000 * SCALE))
    return env


def wait_printed(proc, out, log, what):
    """The port and thumbprint a daemon prints on stdout when it listens."""
    deadline = time.monotonic() + 60 * SCALE
    while time.monotonic() < deadline:
        kv = read_kv(out)
        if "port" in kv and "thumbprint" in kv:
            return kv
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = Path(log).read_text(errors="replace").splitlines()[-10:]
    raise LabError(f"{what} did not start: see {log}\n  " +
                   "\n  ".join(tail))


def start_center(lab):
    d = lab.dir / "center"
    d.mkdir()
    token = "seam_lab_" + os.urandom(16).hex()
    tf = lab.dir / "admin-token"
    tf.write_text(token + "\n")
    tf.chmod(0o600)
    out, log = d / "stdout", d / "center.log"
    p = start_daemon([str(BUILD / "seam-center"), "--state", str(d / "state"),
                      "--listen", "127.0.0.1:0", "--admin-token-file",
                      str(tf)], out, log)
    kv = wait_printed(p, out, log, "seam-center")
    lab.info["center"] = {"pid": p.pid, "port": int(kv["port"]),
                          "thumbprint": kv["thumbprint"],
                          "token_file": str(tf), "log": str(log)}
    lab.save()


def start_host(lab, name):
    d = lab.dir / name
    state = d / "state"
    d.mkdir()
    p = subprocess.run([str(BUILD / "seam-hostd"), "init", "--state",
                        str(state), "--bundle",
                        str(BUNDLES / f"seam-{BASE}.zip"), "--base", BASE,
                        "--trust", str(BUNDLES / "trust")],
                       capture_output=True, text=True, timeout=120 * SCALE)
    if p.returncode != 0:
        raise LabError(f"seam-hostd init of {name} failed: {p.stderr}")
    enroll = {}
    for line in p.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            enroll[k.strip()] = v.strip()
    out, log = d / "stdout", d / "hostd.log"
    proc = start_daemon([str(BUILD / "seam-hostd"), "--state", str(state),
                         "--listen", "127.0.0.1:0"], out, log, host_env())
    kv = wait_printed(proc, out, log, f"seam-hostd {name}")
    lab.info["hosts"][name] = {"pid": proc.pid, "port": int(kv["port"]),
                               "state": str(state), "log": str(log),
                               "thumbprint": enroll["thumbprint"],
                               "token": enroll["enrollment_token"]}
    lab.save()


def renice_vm(state, vm, nice):
    """Lower the priority of a VM's seam-vmx processes (keeper, worker and
    every thread: Linux keeps a nice value per thread; a worker the keeper
    starts later, at an FSR, inherits it). Each seam-guest here burns its
    vCPU (verify=32 checks memory without pause): on a small machine the
    center, the hostds and seamctl must not wait behind six busy vCPUs."""
    rt = Path(state) / "vms" / vm / "runtime.json"
    deadline = time.monotonic() + 30 * SCALE
    pid = None
    while pid is None and time.monotonic() < deadline:
        try:
            pid = int(json.loads(rt.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.2)
    if pid is None:
        return
    procs = [pid]
    for p in procs:
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                os.setpriority(os.PRIO_PROCESS, int(tid), nice)
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    procs += [int(x) for x in f.read().split()]
        except OSError:
            pass


def wait_heartbeats(lab, vms, n=3):
    deadline = time.monotonic() + 120 * SCALE
    waiting = list(vms)
    while waiting:
        waiting = [v for v in waiting if seamlog.heartbeat_count(
            seamlog.read_log_lines(lab.serial(v))) < n]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise LabError("no heartbeats from " + ", ".join(waiting))
        time.sleep(0.5)


def box_cmdline(cmdline):
    """A guest command line for this machine: inside tests/kvmbox
    (KVMBOX=1) the guests tick at 100 Hz, or six of them at 1 kHz swamp the
    emulated host (README, seam-guest's hz=). The lab and the kvm
    end-to-end tests both use it."""
    return cmdline + ",hz=100" if os.environ.get("KVMBOX") == "1" else cmdline


def up(path=None, hosts=3, per_host=2, mem="64M",
       cmdline="heartbeat=10,verify=32"):
    cmdline = box_cmdline(cmdline)
    for prog in ("seam-center", "seam-hostd", "seamctl", "seam-vmx",
                 "seam-guest"):
        if not (BUILD / prog).exists():
            raise LabError(f"no {BUILD / prog}: run `make` first")
    if not (BUNDLES / f"seam-{BASE}.zip").exists():
        raise LabError(f"no bundles in {BUNDLES}: run `make bundles` first")
    if path:
        Path(path).mkdir(mode=0o700, parents=True, exist_ok=True)
        if any(Path(path).iterdir()):
            raise LabError(f"{path} is not empty")
    else:
        path = tempfile.mkdtemp(prefix="seam-lab.")
    global STARTED
    lab = STARTED = Lab(path)
    lab.dir.chmod(0o700)
    lab.info = {"dir": str(lab.dir), "cluster": CLUSTER, "hosts": {},
                "vms": {}, "build": str(BUILD), "started": time.time()}
    lab.save()
    RECORD.write_text(str(lab.dir) + "\n")
    say(f"lab: directory {lab.dir}")
    start_center(lab)
    c = lab.info["center"]
    say(f"lab: seam-center on 127.0.0.1:{c['port']} "
        f"(thumbprint {c['thumbprint'][:23]}...)")
    lab.ctl_config.parent.mkdir(mode=0o700)
    lab.ctl("login", "--server", lab.url, "--token-file", c["token_file"],
            "--thumbprint", c["thumbprint"], quiet=True)
    # The bundles of make-bundles are signed by its development key.
    lab.ctl("depot", "trust", "add", "--level", "certified", "--name",
            "dev-key", "--key-file", BUNDLES / "dev-key.pub", quiet=True)
    lab.ctl("cluster", "create", CLUSTER, quiet=True)
    for i in range(hosts):
        name = f"h{i + 1}"
        start_host(lab, name)
        h = lab.info["hosts"][name]
        # The thumbprint seam-hostd printed at enrollment is what the
        # operator compares with the one the center shows.
        lab.ctl("host", "add", f"127.0.0.1:{h['port']}", "--cluster",
                CLUSTER, "--token", h["token"], "--name", name,
                "--thumbprint", h["thumbprint"], quiet=True)
        say(f"lab: seam-hostd {name} on 127.0.0.1:{h['port']}, added to "
            f"cluster '{CLUSTER}' (base image {BASE})")
    for i in range(hosts):
        host = f"h{i + 1}"
        for k in range(per_host):
            vm = f"vm{i + 1}{chr(ord('a') + k)}"
            lab.ctl("vm", "create", vm, "--mem", mem, "--vcpus", 1,
                    "--host", host, "--cmdline", cmdline, quiet=True)
            lab.info["vms"][vm] = host
            lab.save()
            lab.ctl("vm", "power-on", vm, quiet=True)
            renice_vm(lab.info["hosts"][host]["state"], vm, VM_NICE)
            say(f"lab: VM {vm} on {host} powered on ({mem}, {cmdline})")
    say("lab: waiting for every guest's first heartbeats")
    wait_heartbeats(lab, lab.info["vms"])
    say(f"lab: up: 1 center, {hosts} hosts, {len(lab.info['vms'])} VMs")
    return lab


def how_to(lab):
    c = lab.info["center"]
    here = os.path.relpath(REPO / "lab", os.getcwd())
    say(f"""
Web client:  {lab.url}/   (sign in with the token in {c['token_file']};
             the certificate is self-signed: thumbprint {c['thumbprint']})
seamctl:     export SEAMCTL_CONFIG={lab.ctl_config}
             {BUILD / 'seamctl'} vm list
Lab:         {here}/status    {here}/down    (lab directory {lab.dir})""")


# ------------------------------------------------------------------ status

def find(path=None):
    if path is None:
        try:
            path = RECORD.read_text().strip()
        except FileNotFoundError:
            raise LabError(f"no lab recorded in {RECORD}; give its "
                           "directory")
    lab = Lab(path)
    if not lab.info:
        raise LabError(f"{path} is not a lab directory (no lab.json)")
    return lab


def status(lab):
    c = lab.info.get("center", {})
    say(f"lab {lab.dir}")
    say(f"center  127.0.0.1:{c.get('port')}  pid {c.get('pid')} "
        f"{'running' if alive(c.get('pid', 0)) else 'NOT RUNNING'}")
    for name, h in lab.info.get("hosts", {}).items():
        say(f"hostd   {name}  127.0.0.1:{h['port']}  pid {h['pid']} "
            f"{'running' if alive(h['pid']) else 'NOT RUNNING'}")
    if not alive(c.get("pid", 0)):
        return 1
    say("")
    lab.ctl("host", "list", check=False)
    say("")
    lab.ctl("vm", "list", check=False)
    return 0


# ------------------------------------------------------------------ down

def vmx_pids(state):
    out = []
    for rt in Path(state, "vms").glob("*/runtime.json"):
        try:
            out.append(int(json.loads(rt.read_text())["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return out


def ours(pid, mark):
    """Whether pid is alive and its command line names the lab directory
    (a recorded pid may since belong to another process)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return alive(pid) and mark.encode() in f.read()
    except OSError:
        return False


def stop_pids(pids, mark, grace=10.0):
    """SIGTERM, then after grace seconds SIGKILL, the lab's own pids."""
    pids = [p for p in pids if p and ours(p, mark)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace * SCALE
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    for p in pids:
        if ours(p, mark):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def stop_all(lab):
    c = lab.info.get("center", {})
    hosts = lab.info.get("hosts", {})
    mark = str(lab.dir)
    stop_pids([c.get("pid")], mark)
    stop_pids([h["pid"] for h in hosts.values()], mark)
    # the VMs hostd detached: each seam-vmx keeper ends its worker
    stop_pids([p for h in hosts.values() for p in vmx_pids(h["state"])],
              mark)


def keep_logs(lab, dest):
    """Copy what explains a lab's run — lab.json, each daemon's log, each
    guest's serial log — to dest before the directory goes."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for pat in ("lab.json", "*/*.log", "*/stdout", "*/state/vms/*/*.log",
                "*/state/vms/*/*.json", "proof.txt"):
        for f in lab.dir.glob(pat):
            to = dest / f.relative_to(lab.dir)
            to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, to)
    say(f"lab: logs kept in {dest}")


def down(lab, keep=None):
    stop_all(lab)
    if keep:
        keep_logs(lab, keep)
    shutil.rmtree(lab.dir, ignore_errors=True)
    try:
        if RECORD.read_text().strip() == str(lab.dir):
            RECORD.unlink()
    except FileNotFoundError:
        pass
    say(f"lab: stopped; {lab.dir} removed")


# ------------------------------------------------------------------ proof

def proof(lab, settle=3, expect=None):
    """The continuity proof, from each guest's own serial log. Waits (a
    minute, up to five on a slow machine) for `settle` more heartbeats from
    every VM, so that a VM that stopped is not counted as kept running.
    Returns (kept, total)."""
    vms = sorted(lab.info["vms"])
    start = {v: seamlog.heartbeat_count(seamlog.read_log_lines(
        lab.serial(v))) for v in vms}
    deadline = time.monotonic() + 60 * min(SCALE, 5)
    while time.monotonic() < deadline:
        if all(seamlog.heartbeat_count(seamlog.read_log_lines(
                lab.serial(v))) >= start[v] + settle for v in vms):
            break
        time.sleep(0.5)
    kept = 0
    rows = [("VM", "HOST", "HEARTBEATS", "VMX BEFORE -> AFTER", "VERIFY",
             "LARGEST GAP", "GAP AT FSR", "")]
    for v in vms:
        lines = seamlog.read_log_lines(lab.serial(v))
        st = seamlog.parse_log(lines)
        hbs = seamlog.heartbeats(lines)
        beating = st.heartbeats >= start[v] + settle
        continuous = bool(hbs) and hbs[0][0] == 1 and st.hb_seq_errors == 0
        on_expected = expect is None or (st.versions and
                                         st.versions[-1] == expect)
        ok = bool(continuous and st.verify_failures == 0 and beating and
                  on_expected)
        kept += ok
        fsr = seamlog.handovers(hbs)
        rows.append((
            v, lab.info["vms"][v],
            f"1..{st.last_seq} continuous" if continuous else
            f"{st.hb_seq_errors} SEQUENCE BREAKS",
            " -> ".join(st.versions) if st.versions else "-",
            f"{st.verify_passes} passes, 0 failed" if not st.verify_failures
            else f"{st.verify_failures} FAILED",
            f"{st.guest_gap_us_max / 1000:.1f} ms (seq "
            f"{st.guest_gap_from_seq}->{st.guest_gap_to_seq})",
            ", ".join(f"{g / 1000:.1f} ms" for _, _, g, _, _ in fsr) or "-",
            "kept running" if ok else "NOT RUNNING" if not beating else
            "NOT ON " + expect if not on_expected else "BROKEN"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        say("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return kept, len(vms)


# ------------------------------------------------------------------ main

USAGE = """usage: lab/up [DIR] [--hosts N] [--vms-per-host N] [--mem SIZE]
       lab/status [DIR]
       lab/down [DIR] [--keep-logs DEST]
       lab/proof [DIR] [--expect VERSION]
DIR defaults to a new temporary directory (up) or the last lab started
(recorded in %s). $SEAM_LAB_VMS_PER_HOST is the default of
--vms-per-host (2).""" % RECORD


def main(cmd, argv):
    pos, opts = [], {}
    it = iter(argv)
    for a in it:
        if a in ("-h", "--help"):
            say(USAGE)
            return 0
        if a.startswith("--"):
            try:
                opts[a[2:]] = next(it)
            except StopIteration:
                say(f"{a} needs a value\n{USAGE}")
                return 2
        else:
            pos.append(a)
    if len(pos) > 1:
        say(USAGE)
        return 2
    path = pos[0] if pos else None
    try:
        if cmd == "up":
            try:
                lab = up(path, hosts=int(opts.get("hosts", 3)),
                         per_host=int(opts.get("vms-per-host", os.environ.get(
                             "SEAM_LAB_VMS_PER_HOST", 2))),
                         mem=opts.get("mem", "64M"))
            except BaseException:
                if STARTED is not None:
                    say("lab: up failed; stopping what it started")
                    if path is None:
                        down(STARTED)
                    else:
                        say(f"lab: (its directory {path} is kept)")
                        stop_all(STARTED)
                raise
            how_to(lab)
            return 0
        lab = find(path)
        if cmd == "status":
            return status(lab)
        if cmd == "down":
            down(lab, opts.get("keep-logs"))
            return 0
        if cmd == "proof":
            kept, n = proof(lab, expect=opts.get("expect"))
            say(f"VMs kept running: {kept}/{n}")
            return 0 if kept == n else 1
    except LabError as e:
        print(f"lab {cmd}: {e}", file=sys.stderr, flush=True)
        return 1
    say(USAGE)
    return 2
