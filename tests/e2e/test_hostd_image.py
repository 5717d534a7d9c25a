"""`seam-hostd init --bundle FILE --base VERSION`: a base image from a bundle.

The bundles are made by the project's own bundles/make-bundles, with
stand-in programs (SEAM_BUNDLE_PROGRAMS, as make-bundles allows for tests):
the vmx is tests/unit/fake-vmx, a TEST DOUBLE (no /dev/kvm here), the guest
/bin/true; hostd is the real build/seam-hostd. They are signed with a
development key made for the test and verified against its trust store.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_hostd_api import (BUILD, FAKE_VMX, HOSTD, REPO, Host, vm_spec,
                            wait_for_text)

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")


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


def init(state, *args):
    return subprocess.run([str(HOSTD), "init", "--state", str(state), *args],
                          capture_output=True, text=True, timeout=60)


def store(state):
    comps = Path(state) / "components"
    return sorted(str(p.relative_to(comps)) for p in comps.rglob("*"))


def test_init_installs_base_image(tmp_path, bundles):
    h = Host(tmp_path / "state", vmx=None, init_args=[
        "--bundle", str(bundles / "seam-1.0.0.0.zip"), "--base", "1.0.0.0",
        "--trust", str(bundles / "trust")])
    comps = h.state / "components"
    for name in ("vmx", "hostd", "guest-tools"):
        assert os.readlink(comps / name / "active") == "1.0.0.0"
    assert (comps / "vmx" / "1.0.0.0" / "bin" / "seam-vmx").read_bytes() == \
        FAKE_VMX.read_bytes()
    assert os.access(comps / "vmx" / "1.0.0.0" / "scripts" / "03_vmx-scan",
                     os.X_OK)
    image = json.loads((h.state / "image.json").read_text())
    assert image["base"]["version"] == "1.0.0.0"
    assert image["components"] == {"vmx": "1.0.0.0", "hostd": "1.0.0.0",
                                   "guest-tools": "1.0.0.0"}
    # Twice: a no-op.
    before = store(h.state)
    r = init(h.state, "--bundle", str(bundles / "seam-1.0.0.0.zip"),
             "--base", "1.0.0.0", "--trust", str(bundles / "trust"))
    assert r.returncode == 0, r.stderr
    assert store(h.state) == before

    h.start()
    try:
        inv = h.req("GET", "/inventory").json()
        assert inv["image"]["base"]["version"] == "1.0.0.0"
        assert {c["name"]: c["active"] for c in inv["components"]} == \
            {"vmx": "1.0.0.0", "hostd": "1.0.0.0", "guest-tools": "1.0.0.0"}
        spec = vm_spec()
        del spec["kernel"]      # the host's guest-tools kernel
        assert h.req("POST", "/vms", json=spec).status_code == 201
        vm = h.req("POST", "/vms/vm1/power-on").json()
        assert vm["vmx_version"] == "1.0.0.0"
        assert vm["vmx"] == str(comps / "vmx" / "1.0.0.0" / "bin" /
                                "seam-vmx")
        log = wait_for_text(h.state / "vms" / "vm1" / "vmx.log", "--kernel")
        assert f"--kernel {comps}/guest-tools/1.0.0.0/bin/seam-guest" in log
    finally:
        h.stop()
        h.kill_vms()


def test_init_refuses_bad_bundles(tmp_path, bundles):
    state = tmp_path / "state"
    good = bundles / "seam-1.0.0.0.zip"
    trust = str(bundles / "trust")
    untrusted = tmp_path / "empty-trust"
    (untrusted / "certified").mkdir(parents=True)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:-200])
    cases = [
        (["--bundle", str(good), "--base", "1.0.0.0100", "--trust", trust],
         "has no base image 1.0.0.0100"),
        (["--bundle", str(good), "--base", "1.0", "--trust", trust],
         "version \"1.0\""),
        (["--bundle", str(good), "--base", "1.0.0.0", "--trust",
          str(untrusted)], "untrusted key"),
        (["--bundle", str(truncated), "--base", "1.0.0.0", "--trust", trust],
         "truncated or corrupt archive"),
        (["--bundle", str(tmp_path / "nope.zip"), "--base", "1.0.0.0"],
         "nope.zip"),
        (["--bundle", str(good)], "--bundle and --base go together"),
    ]
    for args, words in cases:
        r = init(state, *args)
        assert r.returncode != 0, args
        assert words in r.stderr, (args, r.stderr)
        assert not (state / "image.json").exists()
        if (state / "components").exists():
            assert store(state) == [], args
