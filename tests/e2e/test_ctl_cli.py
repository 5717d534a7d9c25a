"""seamctl against a real seam-center: login with thumbprint pinning, exit
codes, clusters and settings, depot import of real bundles, images,
compliance, tasks, events (poll and --follow), lifecycle commands the
server does not have yet, hosts added with confirmation, --help everywhere,
and the bash completion generated from the command table.

Every command run with --json has its output parsed (ctl_harness.Ctl.run).
"""
import json
import os
import re
import stat
import subprocess
import time

import pytest

from center_harness import (REPO, bundles, hosts_factory,  # noqa: F401
                            wait_for)
from ctl_harness import SEAMCTL, ctl, table  # noqa: F401


def test_login_pins_the_certificate(ctl):
    # Not a terminal and no --thumbprint: nobody confirmed it.
    p = ctl.run("login", "--server", ctl.url, "--token", ctl.center.token,
                rc=3)
    assert ctl.thumbprint in p.stderr and "--thumbprint" in p.stderr
    assert not ctl.config.exists()
    # A wrong thumbprint is refused before any request: exit 3.
    wrong = ctl.thumbprint[:-1] + ("0" if ctl.thumbprint[-1] != "0" else "1")
    p = ctl.run("login", "--server", ctl.url, "--token", ctl.center.token,
                "--thumbprint", wrong, rc=3)
    assert "not the pinned" in p.stderr
    assert not ctl.config.exists()
    # The right thumbprint and a bad token: exit 4.
    ctl.run("login", "--server", ctl.url, "--token", "nope",
            "--thumbprint", ctl.thumbprint, rc=4)
    assert not ctl.config.exists()
    # There is no --yes to trust blindly.
    ctl.run("login", "--server", ctl.url, "--token", ctl.center.token,
            "--yes", rc=2)
    # The right one (a trailing slash and /api/v1 are tolerated).
    p = ctl.run("login", "--server", ctl.url + "/api/v1/", "--token",
                ctl.center.token, "--thumbprint", ctl.thumbprint)
    assert "as admin (admin)" in p.stdout
    p = ctl.run("login", "--server", ctl.url, "--token", ctl.center.token,
                "--thumbprint", ctl.thumbprint.upper(), "--json")
    assert p.json["user"] == "admin" and p.json["thumbprint"] == \
        ctl.thumbprint
    mode = stat.S_IMODE(ctl.config.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert stat.S_IMODE(ctl.config.parent.stat().st_mode) == 0o700
    cfg = json.loads(ctl.config.read_text())
    assert cfg == {"server": ctl.url, "token": ctl.center.token,
                   "thumbprint": ctl.thumbprint}
    assert not [f for f in os.listdir(ctl.config.parent) if "tmp" in f]
    assert ctl.run("whoami", "--json").json["role"] == "admin"
    # The pin is checked on every run: a config pinning another
    # certificate fails with exit 3 and sends nothing.
    cfg["thumbprint"] = wrong
    ctl.config.write_text(json.dumps(cfg))
    p = ctl.run("cluster", "list", rc=3)
    assert "not the pinned" in p.stderr
    # A config others may read is refused.
    cfg["thumbprint"] = ctl.thumbprint
    ctl.config.write_text(json.dumps(cfg))
    ctl.config.chmod(0o644)
    ctl.run("cluster", "list", rc=1)
    ctl.config.chmod(0o600)
    ctl.run("cluster", "list")
    ctl.run("logout")
    p = ctl.run("cluster", "list", rc=4)
    assert "not logged in" in p.stderr


def test_exit_codes_and_usage(ctl):
    ctl.login()
    ctl.run("frobnicate", rc=2)
    ctl.run("cluster", "frobnicate", rc=2)
    ctl.run("cluster", rc=2)
    ctl.run("cluster", "create", rc=2)
    ctl.run("cluster", "list", "--bogus", rc=2)
    ctl.run("cluster", "delete", "nope", rc=1)
    # A dead server: exit 3.
    cfg = json.loads(ctl.config.read_text())
    cfg["server"] = "https://127.0.0.1:1"
    ctl.config.write_text(json.dumps(cfg))
    ctl.run("cluster", "list", rc=3)


def test_clusters_and_settings(ctl):
    ctl.login()
    p = ctl.run("cluster", "list")
    assert "no clusters" in p.stdout
    ctl.run("cluster", "create", "c1")
    ctl.run("cluster", "create", "c2", "live_patch=enforce",
            "parallel_remediation.max_hosts=2")
    ctl.run("cluster", "create", "c1", rc=1)
    rows = table(ctl.run("cluster", "list").stdout)
    assert [r["NAME"] for r in rows] == ["c1", "c2"]
    assert rows[0]["HOSTS"] == "0"
    j = ctl.run("cluster", "list", "--json").json
    assert [c["name"] for c in j["clusters"]] == ["c1", "c2"]
    s = ctl.run("cluster", "settings", "c2", "--json").json
    assert s["settings"]["live_patch"] == "enforce"
    assert s["effective"]["parallel_remediation"]["max_hosts"] == 2
    rows = {r["SETTING"]: r for r in
            table(ctl.run("cluster", "settings", "c2").stdout)}
    assert rows["live_patch"]["VALUE"] == "enforce"
    assert rows["live_patch"]["SOURCE"] == "set here"
    assert rows["drs_automation"]["SOURCE"] == "inherited"
    s = ctl.run("cluster", "settings", "c2", "set", "live_patch=",
                "power_policy=suspend", "--json").json
    assert "live_patch" not in s["settings"]
    assert s["effective"]["power_policy"] == "suspend"
    p = ctl.run("cluster", "settings", "c2", "set", "live_patch=always",
                rc=1)
    assert "live_patch" in p.stderr
    g = ctl.run("settings", "set", "tolerated_failures=1", "--json").json
    assert g["effective"]["tolerated_failures"] == 1
    ctl.run("settings", "get", "--json")
    ctl.run("cluster", "rename", "c1", "prod")
    ctl.run("cluster", "show", "prod", "--json")
    assert "Cluster: prod" in ctl.run("cluster", "show", "prod").stdout
    ctl.run("cluster", "delete", "prod")
    assert [c["name"] for c in ctl.run("cluster", "list", "--json")
            .json["clusters"]] == ["c2"]


def import_all(ctl, bundles):
    ctl.run("depot", "trust", "add", "--level", "certified", "--name",
            "dev-key", "--key-file", bundles / "dev-key.pub")
    out = []
    for v in ("1.0.0.0", "1.0.0.0100", "2.0.0.0"):
        out.append(ctl.run("depot", "import", bundles / f"seam-{v}.zip"))
    return out


def test_depot_images_compliance(ctl, bundles):
    ctl.login()
    trust = ctl.run("depot", "trust", "list", "--json").json
    assert trust["keys"] == []
    ps = import_all(ctl, bundles)
    # Not a terminal: plain progress lines, then the verdict.
    assert "upload seam-1.0.0.0.zip: 100%" in ps[0].stdout
    assert "Bundle 'seam-1.0.0.0' imported" in ps[0].stdout
    assert "base image  1.0.0.0" in ps[0].stdout
    # Importing it again adds nothing.
    p = ctl.run("depot", "import", bundles / "seam-1.0.0.0.zip")
    assert "nothing new" in p.stdout
    # A file that is not a bundle is refused (exit 1), no JSON printed.
    bad = ctl.config.parent / "bad.zip"
    bad.write_bytes(b"not a zip at all" * 100)
    j = ctl.run("depot", "import", bad, "--json", rc=1)
    assert j.stdout == "" and "refused" in j.stderr
    ctl.run("depot", "import", ctl.config.parent / "missing.zip", rc=1)
    lst = ctl.run("depot", "list", "--json").json
    assert {b["version"] for b in lst["base_images"]} == \
        {"1.0.0.0", "1.0.0.0100", "2.0.0.0"}
    rows = {r["BASE IMAGE"]: r for r in
            table(ctl.run("depot", "list", "base-images").stdout)}
    assert rows["1.0.0.0100"]["LIVE PATCH"] == "yes, from 1.0.0.0"
    assert rows["2.0.0.0"]["LIVE PATCH"] == "no"
    ctl.run("depot", "list", "components", "--json")
    ctl.run("depot", "list", "bundles", "--json")
    assert "seam-2.0.0.0" in ctl.run("depot", "list", "bundles").stdout
    sh = ctl.run("depot", "show", "1.0.0.0100", "--json").json
    assert sh["live_patchable"] is True
    assert "yes, from 1.0.0.0" in ctl.run("depot", "show",
                                          "1.0.0.0100").stdout
    ctl.run("depot", "show", "component", "vmx", "1.0.0.0100", "--json")
    ctl.run("depot", "show", "9.9.9.9", rc=1)

    ctl.run("cluster", "create", "c1")
    ctl.run("cluster", "create", "c2")
    p = ctl.run("image", "show", "c1")
    assert "no image" in p.stdout
    ctl.run("image", "set", "c1", "--base", "9.9.9.9", rc=1)
    im = ctl.run("image", "set", "c1", "--base", "1.0.0.0100", "--json").json
    assert im["definition"]["base"] == "1.0.0.0100"
    rows = table(ctl.run("image", "show", "c1").stdout)
    assert rows[0]["BASE"] == "1.0.0.0100"
    assert rows[0]["HOSTS"] == "all hosts"
    ctl.run("image", "show", "c1", "--json")
    doc = ctl.config.parent / "image.json"
    ctl.run("image", "export", "c1", "-o", doc)
    exported = json.loads(doc.read_text())
    assert exported["kind"] == "seam-cluster-image"
    assert ctl.run("image", "export", "c1", "--json").json == exported
    ctl.run("image", "import", "c2", doc)
    assert ctl.run("image", "show", "c2", "--json").json["images"][0][
        "definition"]["base"] == "1.0.0.0100"
    exported["definition"]["base"] = "2.0.0.0"
    doc.write_text(json.dumps(exported))
    p = ctl.run("image", "import", "c2", doc, rc=1)
    assert "sha" in p.stderr.lower()

    # Compliance of an empty cluster: a task followed to its end.
    p = ctl.run("compliance", "check", "c1")
    assert re.search(r"task \d+: 100% success", p.stdout), p.stdout
    assert "no hosts in this cluster" in p.stdout
    t = ctl.run("compliance", "check", "c1", "--json").json
    assert t["status"] == "success" and t["type"] == "compliance.check"
    ctl.run("compliance", "show", "c1", "--json")
    t2 = ctl.run("compliance", "check", "c1", "--no-wait", "--json").json
    w = ctl.run("task", "wait", str(t2["id"]), "--json").json
    assert w["status"] == "success"
    rows = table(ctl.run("task", "list").stdout)
    assert {r["TYPE"] for r in rows} >= {"compliance.check", "depot.import"}
    tl = ctl.run("task", "list", "--type", "depot.import", "--json").json
    assert [t["status"] for t in tl["tasks"]].count("success") == 4
    te = ctl.run("task", "list", "--status", "error", "--json").json
    assert [t["type"] for t in te["tasks"]] == ["depot.import"]
    assert "bundle" in ctl.run("task", "show",
                               str(te["tasks"][0]["id"])).stdout
    ctl.run("task", "show", str(t2["id"]), "--json")
    assert "Status:   success" in ctl.run("task", "show",
                                          str(t2["id"])).stdout
    ctl.run("task", "show", "99999", rc=1)
    ctl.run("depot", "delete", "2.0.0.0")
    p = ctl.run("depot", "delete", "1.0.0.0100", rc=1)
    assert p.stderr


def test_lifecycle_not_supported_yet(ctl):
    """pre-check, stage, remediate and cancel come with the lifecycle
    engine; until the center has them, seamctl says so (exit 1)."""
    ctl.login()
    ctl.run("cluster", "create", "c1")
    for cmd, what in (("precheck", "pre-check"), ("stage", "stage"),
                      ("remediate", "remediate"), ("cancel", "cancel")):
        p = ctl.run(cmd, "c1", rc=None)
        if p.returncode == 1 and "does not support" in p.stderr:
            assert f"the server does not support {what} (404)" in p.stderr
        else:
            assert p.returncode in (0, 1), (cmd, p.stderr)
            assert "Traceback" not in p.stderr


def test_events_and_follow(ctl):
    ctl.login()
    ctl.run("cluster", "create", "c1")
    ev = ctl.run("events", "--json").json
    types = [e["type"] for e in ev["events"]]
    assert "cluster.created" in types and ev["cursor"] >= len(types)
    out = ctl.run("events", "--cluster", "c1").stdout
    assert "c1" in out and "cluster 'c1' created by 'admin'" in out
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", out)
    assert ctl.run("events", "--type", "nothing.such").stdout.strip() == \
        "no events"
    # --follow: the stream shows new events as they happen.
    f = subprocess.Popen([str(SEAMCTL), "events", "--follow", "-n", "0",
                          "--count", "2", "--type", "cluster.created",
                          "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=ctl.env)
    try:
        time.sleep(0.5)
        ctl.run("cluster", "create", "c2")
        ctl.run("cluster", "create", "c3")
        out, err = f.communicate(timeout=30)
    finally:
        if f.poll() is None:
            f.kill()
            f.wait()
    assert f.returncode == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    assert [e["cluster"] for e in got] == ["c2", "c3"]
    # The human form of the stream.
    f = subprocess.Popen([str(SEAMCTL), "events", "-f", "-n", "0",
                          "--count", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=ctl.env)
    try:
        time.sleep(0.5)
        ctl.run("cluster", "rename", "c3", "c4")
        out, err = f.communicate(timeout=30)
    finally:
        if f.poll() is None:
            f.kill()
            f.wait()
    assert f.returncode == 0, err
    assert "c4" in out or "c3" in out


def test_tokens_and_users(ctl):
    ctl.login()
    t = ctl.run("token", "create", "--name", "ci", "--json").json
    assert t["token"] and t["name"] == "ci"
    rows = table(ctl.run("token", "list").stdout)
    assert {r["NAME"] for r in rows} == {"bootstrap", "ci"}
    p = ctl.run("user", "create", "ann", "--role", "viewer")
    tok = p.stdout.strip().splitlines()[-1].strip()
    ctl.run("user", "list", "--json")
    ctl.run("user", "show", "ann", "--json")
    # ann is a viewer: she may read, not change (exit 4).
    ctl.run("login", "--server", ctl.url, "--token", tok, "--thumbprint",
            ctl.thumbprint)
    ctl.run("cluster", "list")
    p = ctl.run("cluster", "create", "x", rc=4)
    assert "viewer" in p.stderr
    ctl.login()
    ctl.run("token", "revoke", str(t["id"]))
    assert "ci" not in ctl.run("token", "list").stdout
    ctl.run("user", "delete", "ann")


def test_hosts_and_vms(ctl, hosts_factory, bundles):  # noqa: F811
    ctl.login()
    import_all(ctl, bundles)
    ctl.run("cluster", "create", "c1")
    h1, h2 = hosts_factory(2)
    # Not a terminal, no --thumbprint: the center shows the thumbprint,
    # seamctl refuses to trust it on nobody's word.
    p = ctl.run("host", "add", h1.address, "--cluster", "c1", "--token",
                h1.token, "--name", "h1", rc=1)
    assert h1.thumbprint in p.stderr and "not a terminal" in p.stderr
    assert ctl.run("host", "list", "--json").json["hosts"] == []
    # A wrong thumbprint is refused.
    ctl.run("host", "add", h1.address, "--cluster", "c1", "--token",
            h1.token, "--name", "h1", "--thumbprint", h2.thumbprint,
            rc=3)
    ctl.run("host", "add", h1.address, "--cluster", "c1", "--token",
            h1.token, "--name", "h1", "--thumbprint", h1.thumbprint)
    j = ctl.run("host", "add", h2.address, "--cluster", "c1", "--token",
                h2.token, "--name", "h2", "--thumbprint",
                h2.thumbprint.upper(), "--json").json
    assert j["name"] == "h2"
    rows = {r["NAME"]: r for r in table(ctl.run("host", "list").stdout)}
    assert rows["h1"]["STATE"] == "connected"
    assert rows["h1"]["CLUSTER"] == "c1"
    ctl.run("host", "show", "h1", "--json")
    assert "Host:        h1" in ctl.run("host", "show", "h1").stdout
    v = ctl.run("vm", "create", "vm1", "--mem", "64M", "--vcpus", "1",
                "--cluster", "c1", "--json").json
    ctl.run("vm", "power-on", "vm1", "--json")
    vms = ctl.run("vm", "list", "--json").json["vms"]
    assert [x["name"] for x in vms] == ["vm1"]
    rows = table(ctl.run("vm", "list").stdout)
    assert rows[0]["NAME"] == "vm1" and rows[0]["HOST"] == v["host"]
    ctl.run("vm", "show", "vm1", "--json")
    ctl.run("image", "set", "c1", "--base", "1.0.0.0100")
    p = ctl.run("compliance", "check", "c1")
    rows = {r["HOST"]: r for r in table(p.stdout.split("\n\n", 1)[1])}
    assert rows["h1"]["STATUS"] == "non-compliant", p.stdout
    assert rows["h1"]["IMPACT"] == "partial maintenance mode"
    c = ctl.run("compliance", "show", "c1", "--json").json
    assert {h["status"] for h in c["hosts"]} == {"non_compliant"}
    ctl.run("compliance", "show", "c1", "--host", "h1", "--json")
    # suspend to disk on its host; power-on resumes it
    assert "VM 'vm1': suspended." in ctl.run("vm", "suspend", "vm1").stdout
    assert ctl.run("vm", "list", "--json").json["vms"][0]["state"] == \
        "suspended"
    p = ctl.run("vm", "suspend", "vm1", rc=None)
    assert p.returncode != 0 and "vm1" in p.stderr and \
        "only a running VM" in p.stderr, p.stderr
    assert ctl.run("vm", "power-on", "vm1", "--json").json["state"] == \
        "running"
    ctl.run("vm", "power-off", "vm1", "--force", "--json")
    ctl.run("vm", "delete", "vm1")
    m = ctl.run("host", "maintenance", "h1", "partial", "--json").json
    assert m["maintenance_mode"] == "partial"
    rows = {r["NAME"]: r for r in table(ctl.run("host", "list").stdout)}
    assert rows["h1"]["MAINTENANCE"] == "partial"
    assert "maintenance mode none" in ctl.run("host", "maintenance",
                                              "h2").stdout
    ctl.run("host", "maintenance", "h1", "sideways", rc=1)
    ctl.run("host", "maintenance", "h1", "none")
    ctl.run("host", "rename", "h1", "h1b")
    assert ctl.run("host", "show", "h1b", "--json").json["name"] == "h1b"
    ctl.run("host", "rename", "h1b", "h1", "--json")
    ctl.run("cluster", "create", "c2")
    ctl.run("host", "move", "h2", "c2")
    assert ctl.run("host", "list", "--cluster", "c2", "--json")\
        .json["hosts"][0]["name"] == "h2"
    ctl.run("host", "reconnect", "h2", "--json")
    ctl.run("host", "remove", "h2")
    assert [h["name"] for h in ctl.run("host", "list", "--json")
            .json["hosts"]] == ["h1"]


def all_commands():
    """Every (command, subcommand) from `seamctl --help`."""
    top = subprocess.run([str(SEAMCTL), "--help"], capture_output=True,
                         text=True, check=True).stdout
    names = re.findall(r"^  ([a-z-]+)\s{2,}", top.split("Commands:")[1]
                       .split("Global options:")[0], re.M)
    out = []
    for n in names:
        h = subprocess.run([str(SEAMCTL), n, "--help"], capture_output=True,
                           text=True, check=True).stdout
        out.append((n,))
        if "\nCommands:\n" in h:
            subs = re.findall(r"^  ([a-z-]+)\s{2,}",
                              h.split("\nCommands:\n")[1]
                              .split("Global options:")[0], re.M)
            out += [(n, s) for s in subs]
    return out


def test_help_everywhere():
    if not SEAMCTL.exists():
        pytest.skip("build first")
    cmds = all_commands()
    assert ("cluster", "settings") in cmds and ("events",) in cmds
    assert ("depot", "import") in cmds and ("task", "wait") in cmds
    assert len(cmds) > 40
    for c in cmds:
        for flag in ("--help", "-h"):
            p = subprocess.run([str(SEAMCTL), *c, flag],
                               capture_output=True, text=True)
            assert p.returncode == 0, (c, p.stderr)
            assert p.stdout.startswith("Usage: seamctl " + " ".join(c))
    assert subprocess.run([str(SEAMCTL)], capture_output=True)\
        .returncode == 2


def test_bash_completion_is_generated_from_the_table():
    if not SEAMCTL.exists():
        pytest.skip("build first")
    gen = subprocess.run([str(SEAMCTL), "completion", "bash"],
                         capture_output=True, text=True, check=True).stdout
    committed = (REPO / "src/ctl/seamctl.bash-completion").read_text()
    assert gen == committed, "run: build/seamctl completion bash > " \
        "src/ctl/seamctl.bash-completion"

    complete = completer(gen)
    assert "cluster" in complete("seamctl cl")
    assert set(complete("seamctl cluster ")) >= {"list", "create",
                                                  "settings"}
    assert "--follow" in complete("seamctl events --fo")
    assert "--thumbprint" in complete("seamctl host add --th")
    assert "--json" in complete("seamctl depot list --js")
    # A value of an option that takes a file completes to files.
    assert "seamctl.bash-completion" in complete(
        f"seamctl depot trust add --key-file {REPO}/src/ctl/seamctl.b")[0]


def completer(gen, env=None):
    def complete(line):
        script = gen + f"""
COMP_WORDS=({line})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
[[ "{line}" == *" " ]] && COMP_WORDS+=("") && COMP_CWORD=${{#COMP_WORDS[@]}}-1
_seamctl
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
        return subprocess.run(["bash", "-c", script], capture_output=True,
                              text=True, check=True, env=env).stdout.split()
    return complete


def test_completion_asks_the_center_for_names(ctl):
    ctl.login()
    for c in ("prod", "test", "lab"):
        ctl.run("cluster", "create", c)
    assert ctl.run("completion", "names", "clusters").stdout.split() == \
        ["lab", "prod", "test"]
    assert ctl.run("completion", "names", "clusters", "--json")\
        .json == {"clusters": ["lab", "prod", "test"]}
    assert ctl.run("completion", "bash", "--json").json["script"] == \
        ctl.run("completion", "bash").stdout
    ctl.run("completion", "names", "widgets", rc=2)
    gen = ctl.run("completion", "bash").stdout
    complete = completer(gen, ctl.env)
    assert complete(f"{SEAMCTL} cluster delete ") == ["lab", "prod", "test"]
    assert complete(f"{SEAMCTL} cluster settings p") == ["prod"]
    assert complete(f"{SEAMCTL} host list --cluster t") == ["test"]
    assert complete(f"{SEAMCTL} precheck l") == ["lab"]
    assert complete(f"{SEAMCTL} compliance check --json ") == \
        ["lab", "prod", "test"]


def test_events_follow_survives_a_center_restart(ctl):
    """--follow resumes after the last event it printed when the center
    comes back (SIGKILL, restarted on the same port with the same state)."""
    import signal
    ctl.login()
    f = subprocess.Popen([str(SEAMCTL), "events", "--follow", "-n", "0",
                          "--count", "2", "--type", "cluster.created",
                          "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=ctl.env)
    try:
        time.sleep(0.5)
        ctl.run("cluster", "create", "before")
        port = ctl.center.port
        ctl.center.stop(signal.SIGKILL)
        time.sleep(1.5)
        ctl.center.start(port=port)
        ctl.run("cluster", "create", "after")
        out, err = f.communicate(timeout=60)
    finally:
        if f.poll() is None:
            f.kill()
            f.wait()
    assert f.returncode == 0, err
    assert [json.loads(x)["cluster"] for x in out.splitlines()] == \
        ["before", "after"]
    assert "resuming after event" in err
