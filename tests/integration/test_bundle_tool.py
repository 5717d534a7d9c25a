"""seam-bundle and `make bundles` (bundles/make-bundles), end to end.

Real seam-bundle processes on files in a temporary directory. The programs a
bundle carries (seam-vmx, -next, -major, seam-hostd, seam-guest) are stand-in
files here, passed with SEAM_BUNDLE_PROGRAMS: these tests check the recipes,
the signing and the refusals, not the programs.
"""
import json
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SEAM_BUILD", REPO / "build"))
TOOL = BUILD / "seam-bundle"
MAKE_BUNDLES = REPO / "bundles" / "make-bundles"
PROGRAMS = ("seam-vmx", "seam-vmx-next", "seam-vmx-major", "seam-hostd",
            "seam-guest")
VERSIONS = ("1.0.0.0", "1.0.0.0100", "2.0.0.0")


def run(*args, env=None, check=None):
    e = dict(os.environ)
    e.pop("SEAM_TRUST_DIR", None)
    if env:
        e.update(env)
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                       env=e, timeout=120)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


@pytest.fixture
def programs(tmp_path):
    d = tmp_path / "programs"
    d.mkdir()
    for name in PROGRAMS:
        (d / name).write_bytes(b"#!/bin/sh\necho stand-in " +
                               name.encode() + b"\n")
        (d / name).chmod(0o755)
    return d


@pytest.fixture
def bundles(tmp_path, programs):
    out = tmp_path / "bundles"
    p = run(MAKE_BUNDLES, BUILD, out,
            env={"SEAM_BUNDLE_PROGRAMS": str(programs)}, check=0)
    assert "seam-1.0.0.0100.zip" in p.stdout
    return out


def inspect(path):
    p = run(TOOL, "inspect", "--json", path, check=0)
    return json.loads(p.stdout)


def component(doc, name):
    [c] = [c for c in doc["manifest"]["components"] if c["name"] == name]
    return c


def test_make_bundles_outputs(bundles):
    assert (bundles / "dev-key.pub").exists()
    sec = bundles / "dev-key.sec"
    assert stat.S_IMODE(sec.stat().st_mode) == 0o600
    trusted = bundles / "trust" / "certified" / "dev-key.pub"
    assert trusted.read_text() == (bundles / "dev-key.pub").read_text()
    for v in VERSIONS:
        z = bundles / f"seam-{v}.zip"
        p = run(TOOL, "verify", "--trust", bundles / "trust", z, check=0)
        assert "OK: signed by key" in p.stdout
        assert "trusted at level certified" in p.stdout
        names = zipfile.ZipFile(z).namelist()
        assert names[:2] == ["manifest.json", "manifest.sig"]
        assert all(n.startswith("payloads/") for n in names[2:])
    assert not list(bundles.glob(".*"))  # no temporary files left


def test_bundle_contents(bundles):
    base = inspect(bundles / "seam-1.0.0.0.zip")
    assert base["signed"] is True
    [bi] = base["manifest"]["base_images"]
    assert bi["version"] == "1.0.0.0"
    assert bi["components"] == {"vmx": "1.0.0.0", "hostd": "1.0.0.0",
                                "guest-tools": "1.0.0.0"}
    assert "live_patch_from" not in bi

    patch = inspect(bundles / "seam-1.0.0.0100.zip")
    [bi] = patch["manifest"]["base_images"]
    assert bi["version"] == "1.0.0.0100"
    assert bi["live_patch_from"] == ["1.0.0.0"]
    vmx = component(patch, "vmx")
    assert vmx["version"] == "1.0.0.0100"
    assert vmx["live_patch_from"] == ["1.0.0.0"]
    assert vmx["fsr_required"] is True
    assert vmx["scripts"] == ["03_vmx-scan", "03_vmx-apply"]
    hostd = component(patch, "hostd")
    assert hostd["version"] == "1.0.0.0100"
    assert hostd["live_patch_from"] == ["1.0.0.0"]
    assert hostd["fsr_required"] is False
    assert hostd["scripts"] == ["01_hostd-scan", "01_hostd-apply"]

    major = inspect(bundles / "seam-2.0.0.0.zip")
    [bi] = major["manifest"]["base_images"]
    assert bi["version"] == "2.0.0.0"
    assert "live_patch_from" not in bi
    for c in major["manifest"]["components"]:
        assert "live_patch_from" not in c

    human = run(TOOL, "inspect", bundles / "seam-1.0.0.0100.zip",
                check=0).stdout
    assert "base image 1.0.0.0100" in human
    assert "live patch (FSR of running VMs) from 1.0.0.0" in human


def test_payload_holds_program_and_scripts(bundles, programs, tmp_path):
    z = bundles / "seam-1.0.0.0100.zip"
    vmx = component(inspect(z), "vmx")
    out = tmp_path / "vmx.tar.gz"
    run(TOOL, "extract", "--trust", bundles / "trust", "--digest",
        vmx["payload"]["sha256"], "--out", out, z, check=0)
    assert out.stat().st_size == vmx["payload"]["size"]
    with tarfile.open(out) as t:
        names = sorted(t.getnames())
        assert names == ["bin/seam-vmx", "scripts/03_vmx-apply",
                         "scripts/03_vmx-scan"]
        data = t.extractfile("bin/seam-vmx").read()
        assert data == (programs / "seam-vmx-next").read_bytes()
        assert t.getmember("scripts/03_vmx-apply").mode & 0o111
        rev = tmp_path / "rev"
        t.extractall(rev)
    # The shipped apply script, under the documented contract.
    vms = tmp_path / "vms.tsv"
    vms.write_text("vm1\trunning\t1.0.0.0\t-\n"
                   "vm2\trunning\t1.0.0.0100\t-\n"
                   "vm3\tstopped\t\t-\n")
    p = run("/bin/sh", rev / "scripts" / "03_vmx-apply", env={
        "SEAM_COMPONENT": "vmx", "SEAM_PHASE": "apply", "SEAM_MODE": "live",
        "SEAM_FROM_VERSION": "1.0.0.0", "SEAM_TO_VERSION": "1.0.0.0100",
        "SEAM_LIVE_PATCHABLE": "1", "SEAM_FSR_REQUIRED": "1",
        "SEAM_REVISION_DIR": str(rev), "SEAM_ACTIVE_DIR": "",
        "SEAM_STATE_DIR": str(tmp_path), "SEAM_VM_LIST": str(vms)}, check=0)
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [x["vm"] for x in lines if x["type"] == "tag_vm"] == ["vm1"]
    assert lines[-1]["type"] == "message"
    # A VM that cannot FSR makes the live apply fail, naming it.
    vms.write_text("vm1\trunning\t1.0.0.0\tpassthrough\n")
    p = run("/bin/sh", rev / "scripts" / "03_vmx-scan", env={
        "SEAM_TO_VERSION": "1.0.0.0100", "SEAM_FROM_VERSION": "1.0.0.0",
        "SEAM_LIVE_PATCHABLE": "1", "SEAM_REVISION_DIR": str(rev),
        "SEAM_VM_LIST": str(vms)})
    assert p.returncode != 0
    errors = [json.loads(x) for x in p.stdout.splitlines()
              if json.loads(x)["type"] == "error"]
    assert errors and errors[0]["vm"] == "vm1"


def test_rebuild_keeps_key_and_is_reproducible(bundles, programs):
    key = (bundles / "dev-key.pub").read_text()
    before = {v: inspect(bundles / f"seam-{v}.zip")["manifest"]
              for v in VERSIONS}
    run(MAKE_BUNDLES, BUILD, bundles,
        env={"SEAM_BUNDLE_PROGRAMS": str(programs)}, check=0)
    assert (bundles / "dev-key.pub").read_text() == key
    for v in VERSIONS:
        assert inspect(bundles / f"seam-{v}.zip")["manifest"] == before[v]


def test_missing_program_named(tmp_path, programs):
    (programs / "seam-hostd").unlink()
    out = tmp_path / "out"
    p = run(MAKE_BUNDLES, BUILD, out,
            env={"SEAM_BUNDLE_PROGRAMS": str(programs)})
    assert p.returncode != 0
    assert "missing program(s): " + str(programs / "seam-hostd") in p.stderr
    assert not list(out.glob("*.zip")) if out.exists() else True


def test_default_trust_beside_tool(tmp_path, bundles):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(TOOL, bindir / "seam-bundle")
    shutil.copytree(bundles / "trust", bindir / "bundles" / "trust")
    z = bundles / "seam-1.0.0.0.zip"
    p = run(bindir / "seam-bundle", "verify", z, check=0)
    assert str(bindir / "bundles" / "trust") in p.stdout
    # Elsewhere, with no trust store, the same bundle's key is unknown.
    p = run(bindir / "seam-bundle", "verify", z,
            env={"SEAM_TRUST_DIR": str(tmp_path / "empty")})
    assert p.returncode == 1
    assert "untrusted key" in p.stderr


def test_cli_refusals(tmp_path, bundles, programs):
    trust = bundles / "trust"
    # Unsigned: refused, and not accepted as community either because the
    # components claim `certified`.
    unsigned = tmp_path / "unsigned.zip"
    run(TOOL, "build", "--recipe", REPO / "bundles" / "seam-1.0.0.0.json",
        "--programs", programs, "--out", unsigned, check=0)
    p = run(TOOL, "verify", "--trust", trust, unsigned, check=1)
    assert "unsigned bundle" in p.stderr
    p = run(TOOL, "verify", "--trust", trust, "--accept-community",
            unsigned, check=1)
    assert "only trusted at community (unsigned)" in p.stderr
    # A community bundle from --manifest/--payload: accepted only with the
    # flag.
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({
        "format": 1, "components": [{
            "name": "extra", "version": "0.1.0.0",
            "acceptance": "community",
            "payload": {"file": "seam-vmx"}}]}))
    community = tmp_path / "community.zip"
    run(TOOL, "build", "--manifest", manifest, "--payload",
        programs / "seam-vmx", "--out", community, check=0)
    run(TOOL, "verify", "--trust", trust, community, check=1)
    p = run(TOOL, "verify", "--trust", trust, "--accept-community",
            community, check=0)
    assert "unsigned, accepted at level community" in p.stdout
    # Signed by another key: untrusted.
    run(TOOL, "keygen", "--out", tmp_path / "k", "--name", "other", check=0)
    other = tmp_path / "other.zip"
    shutil.copy(bundles / "seam-1.0.0.0.zip", other)
    run(TOOL, "sign", "--key", tmp_path / "k" / "other.sec", other, check=0)
    p = run(TOOL, "verify", "--trust", trust, other, check=1)
    assert "untrusted key" in p.stderr
    # keygen never overwrites a secret key.
    p = run(TOOL, "keygen", "--out", tmp_path / "k", "--name", "other",
            check=1)
    assert "already exists" in p.stderr
    # A byte flipped inside the archive.
    bad = tmp_path / "bad.zip"
    data = bytearray((bundles / "seam-1.0.0.0.zip").read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    p = run(TOOL, "verify", "--trust", trust, bad, check=1)
    assert p.stderr.startswith("seam-bundle verify: ")
    # Truncated.
    short = tmp_path / "short.zip"
    short.write_bytes(bytes(data[: len(data) // 3]))
    p = run(TOOL, "verify", "--trust", trust, short, check=1)
    assert "truncated or corrupt archive" in p.stderr
    # Usage errors exit 2.
    run(TOOL, check=2)
    run(TOOL, "verify", check=2)
    run(TOOL, "frobnicate", check=2)
