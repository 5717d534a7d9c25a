"""seam-guest under QEMU: the same ELF seam-vmx runs, started through its PVH
entry note by QEMU TCG (-M microvm), so the guest can be tested on a machine
without /dev/kvm and without seam-vmx.

Under QEMU nothing answers the paravirtual ports: heartbeats say vmx=none, the
TSC frequency is calibrated against the PIT, and a guest shutdown only halts
(a triple fault, with -no-reboot, does end QEMU). Every QEMU started here is
killed by its fixture's finalizer.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SEAM_BUILD", os.path.join(REPO, "build"))
GUEST = os.path.join(BUILD, "seam-guest")
QEMU = shutil.which("qemu-system-x86_64")

pytestmark = [
    pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(not os.path.exists(GUEST),
                       reason=f"{GUEST} is not built (run make)"),
]

HB_RE = re.compile(r"^hb seq=(\d+) t_us=(\d+) vmx=(\S+)$")


class Guest:
    def __init__(self, tmp_path, cmdline):
        self.log = tmp_path / "serial.log"
        self.log.touch()
        self.proc = subprocess.Popen(
            [QEMU, "-M", "microvm", "-accel", "tcg", "-m", "256M",
             "-nographic", "-no-reboot", "-serial", f"file:{self.log}",
             "-monitor", "none", "-display", "none",
             "-kernel", GUEST, "-append", cmdline],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)

    def lines(self):
        return self.log.read_text(errors="replace").splitlines()

    def wait_for(self, predicate, timeout=60):
        """Poll the serial log until predicate(lines) is true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if predicate(lines):
                return lines
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        lines = self.lines()
        if predicate(lines):
            return lines
        pytest.fail("guest did not get there; serial log:\n" +
                    "\n".join(lines[-30:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def boot(tmp_path):
    guests = []

    def start(cmdline):
        sub = tmp_path / str(len(guests))
        sub.mkdir()
        g = Guest(sub, cmdline)
        guests.append(g)
        return g

    yield start
    for g in guests:
        g.stop()


def heartbeats(lines):
    return [tuple(int(x) if x.isdigit() else x for x in m.groups())
            for m in map(HB_RE.match, lines) if m]


def test_banner_and_heartbeats(boot):
    g = boot("heartbeat=10")
    lines = g.wait_for(lambda ls: len(heartbeats(ls)) >= 100)
    assert lines[0] == ("seam-guest 1.0 cpus=1 mem_mb=256 "
                        "cmdline='heartbeat=10'")
    # No seam-vmx: the TSC frequency comes from a PIT calibration.
    assert re.match(r"clock tsc_khz=\d+ source=pit hz=1000$", lines[1]), lines[1]
    assert lines[2] == "ready"
    hbs = heartbeats(lines)
    seqs = [s for s, _, _ in hbs]
    assert seqs == list(range(1, len(hbs) + 1))
    assert all(v == "none" for _, _, v in hbs)
    t = [t for _, t, _ in hbs]
    assert all(b > a for a, b in zip(t, t[1:]))
    # Deadline scheduling: the typical interval is the requested one (a
    # loaded host may delay a TCG guest now and then: the median, not the
    # mean).
    deltas = sorted(b - a for a, b in zip(t, t[1:]))
    median_us = deltas[len(deltas) // 2]
    assert 9000 <= median_us <= 11000, deltas


def test_verify_passes(boot):
    g = boot("heartbeat=100,verify=16")
    lines = g.wait_for(lambda ls: "verify ok pass=2" in ls and
                       len(heartbeats(ls)) >= 2)
    assert "verify ok pass=1" in lines
    assert not any("FAIL" in line for line in lines)
    assert [s for s, _, _ in heartbeats(lines)][:2] == [1, 2]


def test_dirty_with_verify(boot):
    g = boot("verify=8,dirty=16,dirty_mb=32")
    lines = g.wait_for(lambda ls: "verify ok pass=3" in ls)
    assert "dirty rate=16 region_mb=32" in lines
    assert not any("FAIL" in line for line in lines)


def test_unknown_option(boot):
    g = boot("heartbeat=10,bogus=1")
    lines = g.wait_for(lambda ls: any(l.startswith("error:") for l in ls))
    assert "error: unknown option 'bogus=1'" in lines
    assert "ready" not in lines
    time.sleep(0.3)
    assert not heartbeats(g.lines())


def test_bad_value(boot):
    g = boot("verify=lots")
    lines = g.wait_for(lambda ls: any(l.startswith("error:") for l in ls))
    assert any("'verify=lots'" in line for line in lines)


def test_verify_too_big_for_ram(boot):
    g = boot("verify=1024")
    lines = g.wait_for(lambda ls: any(l.startswith("error:") for l in ls))
    assert any(l.startswith("error: verify needs 1024 MiB") for l in lines)


def test_panic_and_shutdown_print(boot):
    p = boot("panic=50")
    s = boot("shutdown=50")
    assert "panic: requested on the command line" in p.wait_for(
        lambda ls: any(l.startswith("panic") for l in ls))
    assert "shutdown" in s.wait_for(lambda ls: "shutdown" in ls)


def test_triple_fault_ends_qemu(boot):
    g = boot("heartbeat=10,triple_fault=100")
    g.wait_for(lambda ls: "triple fault" in ls)
    # -no-reboot: QEMU exits on the reset a triple fault causes.
    g.proc.wait(timeout=30)
    hbs = heartbeats(g.lines())
    assert hbs and hbs[-1][0] == len(hbs)


def test_exception_prints_a_line(boot):
    g = boot("heartbeat=20,fault=100")
    lines = g.wait_for(lambda ls: any(l.startswith("exception") for l in ls))
    exc = [l for l in lines if l.startswith("exception")][0]
    assert re.match(r"exception vec=6 cpu=0 rip=0x[0-9a-f]+ err=0x0 .*cs=0x23$",
                    exc), exc


def test_pvh_note():
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf is not installed")
    out = subprocess.run([readelf, "-lnW", GUEST], check=True,
                         capture_output=True, text=True).stdout
    assert re.search(r"^\s+NOTE\s", out, re.M), out
    assert re.search(r"Xen\s+0x00000008\s+Unknown note type: \(0x00000012\)",
                     out), out
