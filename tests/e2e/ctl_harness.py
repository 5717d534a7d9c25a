"""Harness of the seamctl end-to-end tests (tests/e2e/test_ctl_*.py).

A real seam-center on loopback (center_harness.Center, a free port chosen
by the kernel) and build/seamctl run as a subprocess against it, with its
config file in the test's temporary directory ($SEAMCTL_CONFIG). Every
`--json` output that the tests produce is parsed here, so a test that runs
a command with --json has also checked that its output is JSON.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from center_harness import BUILD, CENTER, Center

SEAMCTL = BUILD / "seamctl"


class Ctl:
    """Runs seamctl against one center."""

    def __init__(self, center, tmp):
        self.center = center
        self.config = Path(tmp) / "cfg" / "seamctl.json"
        self.env = dict(os.environ, SEAMCTL_CONFIG=str(self.config),
                        TERM="dumb")
        self.url = f"https://127.0.0.1:{center.port}"
        self.thumbprint = parse_thumbprint(center.stdout)

    def run(self, *args, rc=0, input=None, timeout=120):
        p = subprocess.run([str(SEAMCTL), *map(str, args)],
                           capture_output=True, text=True, env=self.env,
                           input=input, timeout=timeout,
                           stdin=None if input is not None
                           else subprocess.DEVNULL)
        if rc is not None:
            assert p.returncode == rc, (args, p.returncode, p.stdout,
                                        p.stderr)
        if "--json" in args and p.stdout.strip():
            if "--follow" in args:
                p.json = [json.loads(line) for line in
                          p.stdout.splitlines() if line.strip()]
            else:
                p.json = json.loads(p.stdout)
        return p

    def login(self):
        return self.run("login", "--server", self.url, "--token",
                        self.center.token, "--thumbprint", self.thumbprint)


def parse_thumbprint(stdout):
    for line in stdout.splitlines():
        if line.startswith("thumbprint="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("seam-center printed no thumbprint")


def table(text):
    """The rows of a seamctl table as dicts keyed by header (columns are
    split on runs of two or more spaces)."""
    import re
    lines = [ln for ln in text.splitlines() if ln.strip()]
    head = re.split(r"\s{2,}", lines[0].strip())
    rows = []
    for ln in lines[1:]:
        cells = re.split(r"\s{2,}", ln.strip())
        if len(cells) != len(head):
            break
        rows.append(dict(zip(head, cells)))
    return rows


@pytest.fixture
def ctl(tmp_path):
    if not CENTER.exists() or not SEAMCTL.exists():
        pytest.skip(f"no {CENTER} or {SEAMCTL}: build first")
    c = Center(tmp_path / "center").start()
    yield Ctl(c, tmp_path)
    c.stop()
