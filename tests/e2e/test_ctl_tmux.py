"""seamctl on a real terminal: a tmux pane runs seamctl against a real
seam-center: login asks to confirm the certificate's thumbprint (answered
"y" through the pane), and the captured screen must show a table and
progress bars
(the upload bar of `depot import` and the task bar of `compliance check`),
redrawn in place — not the plain lines seamctl prints when its output is
not a terminal.

tmux runs on its own socket (-L) with no config file; the fixture kills
that server (and so the pane's shell) at the end. The captured screen is
kept next to the test's temporary files (pane.txt) for a person to read.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from center_harness import bundles, hosts_factory  # noqa: F401
from ctl_harness import SEAMCTL, ctl  # noqa: F401


@pytest.fixture
def tmux(tmp_path):
    if not shutil.which("tmux"):
        pytest.skip("no tmux (apt install tmux)")
    sock = f"seamctl-test-{os.getpid()}"
    base = ["tmux", "-L", sock, "-f", "/dev/null"]

    def run(*args, **kw):
        return subprocess.run(base + list(args), capture_output=True,
                              text=True, timeout=30, **kw)
    yield run
    run("kill-server")


def screen(tmux):
    return tmux("capture-pane", "-p", "-t", "t").stdout


def wait_screen(tmux, needle, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = screen(tmux)
        if needle in s:
            return s
        time.sleep(0.2)
    raise AssertionError(f"'{needle}' never showed:\n{screen(tmux)}")


def test_tables_and_progress_bars_on_a_terminal(ctl, bundles, tmux,  # noqa
                                                tmp_path):
    env = f"SEAMCTL_CONFIG={ctl.config}"
    r = tmux("new-session", "-d", "-s", "t", "-x", "110", "-y", "45",
             "env", "-i", f"PATH={os.environ['PATH']}", "TERM=xterm",
             f"HOME={tmp_path}", env, "bash", "--norc", "--noprofile")
    assert r.returncode == 0, r.stderr
    tmux("set-option", "-t", "t", "remain-on-exit", "on")
    S = str(SEAMCTL)
    # Login on a terminal: the thumbprint is shown and confirmed with "y".
    tmux("send-keys", "-t", "t", f"PS1='$ '; clear; {S} login --server "
         f"{ctl.url} --token {ctl.center.token}", "Enter")
    s = wait_screen(tmux, "[y/N]")
    fmt = ":".join(ctl.thumbprint[i:i + 2]
                   for i in range(0, 64, 2)).upper()
    assert fmt in s, s
    tmux("send-keys", "-t", "t", "y", "Enter")
    wait_screen(tmux, "Logged in to")
    assert ctl.run("whoami", "--json").json["user"] == "admin"
    ctl.run("depot", "trust", "add", "--level", "certified", "--name",
            "dev-key", "--key-file", bundles / "dev-key.pub")
    cmds = (f"clear; {S} depot import "
            f"{bundles / 'seam-1.0.0.0.zip'} && "
            f"{S} cluster create c1 >/dev/null && "
            f"{S} cluster create c2 live_patch=enforce >/dev/null && "
            f"{S} cluster list && "
            f"{S} image set c1 --base 1.0.0.0 >/dev/null && "
            f"{S} compliance check c1; echo END-$((40+2))")
    tmux("send-keys", "-t", "t", cmds, "Enter")
    s = wait_screen(tmux, "END-42")
    (tmp_path / "pane.txt").write_text(s)
    print(s)
    # The upload bar, drawn in place, ends at 100 % of the bundle's size.
    size = (bundles / "seam-1.0.0.0.zip").stat().st_size
    kib = re.escape(f"{size / 1024:.1f} KiB")
    assert re.search(r"upload seam-1\.0\.0\.0\.zip \[#+\] 100%  "
                     + kib + " / " + kib, s), s
    # The task bar of the compliance check, then its verdict.
    assert re.search(r"task \d+ \[#+\]\s+100%  success", s), s
    assert re.search(r"task \d+ \(compliance\.check c1\): success", s), s
    # No plain progress lines: those are for pipes and logs.
    assert not re.search(r"task \d+: \d+%", s), s
    assert "upload seam-1.0.0.0.zip: " not in s, s
    # The cluster table, aligned.
    lines = s.splitlines()
    head = [i for i, ln in enumerate(lines)
            if re.match(r"NAME\s+ID\s+HOSTS\s+IMAGES\s+CREATED", ln)]
    assert head, s
    rows = lines[head[0] + 1:head[0] + 3]
    assert rows[0].startswith("c1 ") and rows[1].startswith("c2 "), s
    col = lines[head[0]].index("CREATED")
    assert all(r[col - 2:col] == "  " and r[col].isdigit() for r in rows), s
    # The same commands with --json on the terminal print JSON only.
    tmux("send-keys", "-t", "t", f"clear; {S} cluster list --json | "
         "python3 -c 'import json,sys; json.load(sys.stdin); "
         "print(\"JSON-OK\")'", "Enter")
    wait_screen(tmux, "JSON-OK")


def test_host_add_asks_on_a_terminal(ctl, bundles, hosts_factory,  # noqa
                                     tmux, tmp_path):
    """On a terminal, `host add` prints the host's thumbprint and asks;
    "n" adds nothing, "y" pins it; then the compliance task of a cluster
    with hosts is followed with its bar."""
    ctl.login()
    ctl.run("depot", "trust", "add", "--level", "certified", "--name",
            "dev-key", "--key-file", bundles / "dev-key.pub")
    ctl.run("depot", "import", bundles / "seam-1.0.0.0.zip")
    ctl.run("depot", "import", bundles / "seam-1.0.0.0100.zip")
    ctl.run("cluster", "create", "c1")
    [h] = hosts_factory(1)
    r = tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "45",
             "env", "-i", f"PATH={os.environ['PATH']}", "TERM=xterm",
             f"HOME={tmp_path}", f"SEAMCTL_CONFIG={ctl.config}", "bash",
             "--norc", "--noprofile")
    assert r.returncode == 0, r.stderr
    S = str(SEAMCTL)
    add = (f"{S} host add {h.address} --cluster c1 --token {h.token} "
           "--name h1")
    fmt = ":".join(h.thumbprint[i:i + 2] for i in range(0, 64, 2)).upper()
    tmux("send-keys", "-t", "t", f"PS1='$ '; clear; {add}; echo RC-$?",
         "Enter")
    s = wait_screen(tmux, "[y/N]")
    assert fmt in s, s
    tmux("send-keys", "-t", "t", "n", "Enter")
    s = wait_screen(tmux, "RC-1")
    assert "not confirmed" in s
    assert ctl.run("host", "list", "--json").json["hosts"] == []
    tmux("send-keys", "-t", "t", f"clear; {add}; echo RC-$?", "Enter")
    wait_screen(tmux, "[y/N]")
    tmux("send-keys", "-t", "t", "y", "Enter")
    s = wait_screen(tmux, "RC-0")
    assert "Host 'h1' added to cluster 'c1'; certificate pinned" in s, s
    tmux("send-keys", "-t", "t",
         f"clear; {S} image set c1 --base 1.0.0.0100 >/dev/null; "
         f"{S} compliance check c1; {S} host list; echo END-$((1+1))",
         "Enter")
    s = wait_screen(tmux, "END-2")
    (tmp_path / "pane.txt").write_text(s)
    print(s)
    assert re.search(r"task \d+ \[#+\]\s+100%  success", s), s
    assert re.search(r"h1\s+non-compliant\s+partial maintenance mode", s), s
    assert re.search(r"NAME\s+CLUSTER\s+ADDRESS\s+STATE\s+MAINTENANCE", s), s
    assert re.search(r"h1\s+c1\s+127\.0\.0\.1:\d+\s+connected", s), s
