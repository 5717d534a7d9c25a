"""Snapshot to disk and restore in a new process (issue 3 item 4).

`seam-vmx ctl SOCK snapshot PATH` writes the VM (the VM stream of
src/vmx/migstream.h: hello, RAM with zero pages as markers, the FSR state,
END) and ends it with status 9; `seam-vmx run --restore PATH` continues it.
A corrupt or truncated snapshot is refused with status 7, a message naming
what is wrong, and nothing created.
"""
import os
import struct

import pytest

# Real VMs: needs /dev/kvm (run inside tests/kvmbox where there is none).
pytestmark = pytest.mark.kvm

from conftest import VM

EXIT_BAD_STREAM = 7
EXIT_SNAPSHOT = 9
HELLO = struct.Struct("<8sIIQII64s")  # struct mig_hello
FRAME = struct.Struct("<IIQQ")  # struct mig_frame
F_PAGES, F_ZERO, F_STATE, F_END = 1, 2, 3, 4


def check_continuous(seqs):
    gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
    assert not gaps, f"heartbeat sequence breaks at {gaps[:5]}"


def frames(data):
    """(offset of the header, type, npages, offset, len) of each frame."""
    out, pos = [], HELLO.size
    while pos < len(data):
        t, n, off, ln = FRAME.unpack_from(data, pos)
        out.append((pos, t, n, off, ln))
        pos += FRAME.size + ln
    return out


@pytest.fixture
def snapshotted(vm_factory, guest_bin, tmp_path, scale):
    """A 2-vCPU VM with verify, snapshotted; (vm, path, reply)."""
    vm = vm_factory(guest_bin, "heartbeat=10,verify=16", mem="128M",
                    vcpus=2)
    vm.wait_hb(10, 20 * scale)
    path = str(tmp_path / "vm.snap")
    p = vm.ctl("snapshot", path, timeout=120 * scale)
    assert p.returncode == 0, p.stdout + p.stderr
    assert vm.wait_exit(30 * scale) == EXIT_SNAPSHOT
    assert not os.path.exists(vm.sock)
    # no temporary left beside the snapshot
    assert [f for f in os.listdir(tmp_path) if f.startswith(".vm.snap")] == []
    return vm, path, p.stdout


def restore(tmp_path, vmx_bin, path, tag, extra=None):
    sock = str(tmp_path / f"{tag}.sock")
    log = str(tmp_path / f"{tag}.log")
    args = ["--restore", path, "--name", tag, "--serial-log", log,
            "--control", sock] + (extra or [])
    return VM(vmx_bin, args, sock, log, str(tmp_path / f"{tag}.err"))


def test_snapshot_restore_continues(snapshotted, tmp_path, vmx_bin, scale,
                                    request):
    vm, path, reply = snapshotted
    assert '"ok":true' in reply.replace(" ", "")
    assert os.path.getsize(path) < 128 << 20  # zero pages are markers
    before = [h[0] for h in vm.heartbeats()]
    new = restore(tmp_path, vmx_bin, path, "restored")
    request.addfinalizer(new.kill)
    after = [h[0] for h in new.wait_hb(20, 30 * scale)]
    assert after[0] == before[-1] + 1, (before[-3:], after[:3])
    check_continuous(before + after)
    st = new.request({"cmd": "status"})
    assert st["name"] == "restored" and st["vcpus"] == 2
    assert st["mem_bytes"] == 128 << 20 and st["pid"] == new.pid
    new.wait_for(lambda: any(l.startswith("verify ok")
                             for l in new.lines()), 60 * scale,
                 "a verify pass after the restore")
    assert not [l for l in vm.lines() + new.lines() if "FAIL" in l]
    p = new.ctl("stop")
    assert p.returncode == 0 and new.wait_exit(30 * scale) == 0


def corrupt_cases(data):
    fr = frames(data)
    state = next(f for f in fr if f[1] == F_STATE)
    hello = list(HELLO.unpack_from(data, 0))

    def with_hello(**kw):
        h = hello[:]
        for i, k in enumerate(["magic", "version", "page_size", "mem",
                               "vcpus", "flags", "token"]):
            if k in kw:
                h[i] = kw[k]
        return HELLO.pack(*h) + data[HELLO.size:]

    # the state's first section header: its length made wrong
    sec = state[0] + FRAME.size + 32  # after the state file's header
    bad_section = bytearray(data)
    struct.pack_into("<I", bad_section, sec + 12, 7)
    bad_page = bytearray(data)
    struct.pack_into("<Q", bad_page, fr[0][0] + 8, 1 << 40)
    return [
        ("bad magic", with_hello(magic=b"NOTASNAP"), "bad magic"),
        ("unknown version", with_hello(version=99),
         "unknown stream version 99"),
        ("short file", data[:20], "truncated"),
        ("truncated RAM", data[:len(data) // 2], "truncated"),
        ("no END", data[:-FRAME.size], "truncated"),
        ("bad section", bytes(bad_section), "state section"),
        ("page outside RAM", bytes(bad_page), "past the end of guest RAM"),
        ("RAM size mismatch", with_hello(mem=256 << 20), "mem_bytes"),
    ]


def test_snapshot_corrupt_refused(snapshotted, tmp_path, vmx_bin, scale):
    _, path, _ = snapshotted
    with open(path, "rb") as f:
        data = f.read()
    for name, bad, words in corrupt_cases(data):
        p = str(tmp_path / "bad.snap")
        with open(p, "wb") as f:
            f.write(bad)
        tag = name.replace(" ", "-")
        vm = restore(tmp_path, vmx_bin, p, tag)
        try:
            code = vm.wait_exit(60 * scale)
            err = vm.stderr_text()
        finally:
            vm.kill()
        assert code == EXIT_BAD_STREAM, (name, code, err)
        assert words in err, (name, err)
        assert "refused" in err, (name, err)
        assert not os.path.exists(vm.sock), name
        assert not os.path.exists(vm.log), name
