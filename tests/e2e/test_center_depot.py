"""seam-center's depot: bundle import with full verification, releases with
live-patch metadata, deletion, payloads served by digest, trust store.

Acceptance (issue 6): the import of each defective bundle is refused with
its own message and leaves the depot as it was.
"""
import base64
import hashlib
import json
import os
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
import requests

from center_harness import (BUNDLE_TOOL, bundles, center,  # noqa: F401
                            hosts_factory, import_bundle, trust_dev_key)

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")


def entries(path):
    z = zipfile.ZipFile(path)
    return [(i, z.read(i.filename)) for i in z.infolist()]


def write_zip(path, items):
    """items: (name or ZipInfo, bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for info, data in items:
            if isinstance(info, zipfile.ZipInfo):
                new = zipfile.ZipInfo(info.filename, info.date_time)
                new.external_attr = info.external_attr
                new.create_system = info.create_system
                new.compress_type = zipfile.ZIP_STORED
                info = new
            z.writestr(info, data)


def sign(path, key):
    subprocess.run([str(BUNDLE_TOOL), "sign", "--key", str(key), str(path)],
                   check=True, capture_output=True, timeout=60)


def raw_sig(manifest, sec, tmp):
    """manifest.sig over any bytes (seam-bundle sign refuses a broken
    manifest): Ed25519 with openssl, in the format of docs/bundles.md."""
    raw = base64.b64decode(sec.read_text().split()[1])
    seed, pub = raw[:32], raw[32:]
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    (tmp / "k.der").write_bytes(der)
    (tmp / "m.bin").write_bytes(manifest)
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin",
                          "-inkey", str(tmp / "k.der"), "-keyform", "DER",
                          "-in", str(tmp / "m.bin")], check=True,
                         capture_output=True).stdout
    return json.dumps({"format": 1, "algorithm": "ed25519",
                       "key_id": hashlib.sha256(pub).hexdigest()[:16],
                       "key": base64.b64encode(pub).decode(),
                       "sig": base64.b64encode(sig).decode()}).encode()


def with_manifest(src, dst, edit, key):
    """Copy a bundle with its manifest edited (text -> text), re-signed."""
    items = []
    man = None
    for info, data in entries(src):
        if info.filename == "manifest.sig":
            continue
        if info.filename == "manifest.json":
            data = man = edit(data.decode()).encode()
        items.append((info, data))
    items.insert(1, (zipfile.ZipInfo("manifest.sig"),
                     raw_sig(man, key, dst.parent)))
    write_zip(dst, items)
    return dst


def depot_state(center):
    api = center.api
    payloads = sorted(os.listdir(center.state / "center" / "depot" /
                                 "payloads"))
    return (api.ok("GET", "/depot/base-images"),
            api.ok("GET", "/depot/components"),
            api.ok("GET", "/depot/addons"),
            api.ok("GET", "/depot/bundles"), payloads)


@pytest.fixture
def defects(tmp_path, bundles):
    src = bundles / "seam-1.0.0.0100.zip"
    key = bundles / "dev-key.sec"
    items = entries(src)
    man = [d for i, d in items if i.filename == "manifest.json"][0]
    pay = [(i, d) for i, d in items if i.filename.startswith("payloads/")]
    out = {}

    def mk(name, its):
        p = tmp_path / f"{name}.zip"
        write_zip(p, its)
        out[name] = p

    mk("unsigned", [(i, d) for i, d in items if i.filename !=
                    "manifest.sig"])
    mk("bad_signature", [(i, d.replace(b"live patch", b"live-patch")
                          if i.filename == "manifest.json" else d)
                         for i, d in items])
    other = tmp_path / "other"
    subprocess.run([str(BUNDLE_TOOL), "keygen", "--out", str(other),
                    "--name", "rogue"], check=True, capture_output=True)
    rogue = tmp_path / "rogue.zip"
    write_zip(rogue, items)
    sign(rogue, other / "rogue.sec")
    out["untrusted_key"] = rogue
    i0, d0 = pay[0]
    mk("digest_mismatch", [(i, (d[:-1] + bytes([d[-1] ^ 1]))
                            if i.filename == i0.filename else d)
                           for i, d in items])
    raw = src.read_bytes()
    p = tmp_path / "truncated.zip"
    p.write_bytes(raw[:len(raw) * 2 // 3])
    out["truncated"] = p
    mk("absolute_path", items + [(zipfile.ZipInfo("/etc/x"), b"x")])
    mk("dotdot_path", items + [(zipfile.ZipInfo("payloads/../x"), b"x")])
    link = zipfile.ZipInfo("payloads/" + "a" * 64)
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    link.create_system = 3
    mk("symlink", items + [(link, b"/etc/passwd")])
    mk("duplicate", items + [(i0, d0)])
    mk("missing_payload", [(i, d) for i, d in items
                           if i.filename != i0.filename])
    extra = b"unreferenced payload bytes"
    mk("unreferenced_payload",
       items + [(zipfile.ZipInfo("payloads/" +
                                 hashlib.sha256(extra).hexdigest()), extra)])
    mk("unexpected_name", items + [(zipfile.ZipInfo("README"), b"hi")])
    out["manifest_not_json"] = with_manifest(
        src, tmp_path / "notjson.zip", lambda m: m[:-20], key)
    out["unknown_format"] = with_manifest(
        src, tmp_path / "format.zip",
        lambda m: m.replace('"format": 1', '"format": 2'), key)
    dig = json.loads(man)["components"][0]["payload"]["sha256"]
    size = json.loads(man)["components"][0]["payload"]["size"]
    out["size_mismatch"] = with_manifest(
        src, tmp_path / "size.zip",
        lambda m: m.replace(f'"size": {size}', f'"size": {size + 1}'), key)
    out["unknown_field"] = with_manifest(
        src, tmp_path / "field.zip",
        lambda m: m.replace('"acceptance"', '"colour": "red", "acceptance"',
                            1), key)
    many = [(zipfile.ZipInfo("payloads/" + hashlib.sha256(
        str(n).encode()).hexdigest()), str(n).encode()) for n in range(1100)]
    mk("too_many_entries", items + many)
    assert dig
    return out


EXPECT = {
    "unsigned": "unsigned bundle",
    "bad_signature": "bad signature",
    "untrusted_key": "untrusted key",
    "digest_mismatch": "digest mismatch",
    "truncated": "truncated or corrupt archive",
    "absolute_path": "absolute path not allowed",
    "dotdot_path": "'..' path component not allowed",
    "symlink": "symbolic link",
    "duplicate": "duplicate name",
    "missing_payload": "missing payload",
    "unreferenced_payload": "unreferenced payload",
    "unexpected_name": "unexpected name",
    "manifest_not_json": "manifest.json is not valid JSON",
    "unknown_format": "unknown manifest format 2",
    "size_mismatch": "size mismatch",
    "unknown_field": "unknown field 'colour'",
    "too_many_entries": "oversized",
}


def test_import_list_show(center, bundles):
    api = center.api
    trust_dev_key(center, bundles)
    for v in ("1.0.0.0", "1.0.0.0100", "2.0.0.0"):
        r = import_bundle(center, bundles / f"seam-{v}.zip")
        assert r.status_code == 201, r.text
        doc = r.json()
        assert doc["bundle"]["name"] == f"seam-{v}"
        assert doc["bundle"]["level"] == "certified"
        assert api.ok("GET", f"/tasks/{doc['task_id']}")["status"] == \
            "success"
    bases = {b["version"]: b for b in
             api.ok("GET", "/depot/base-images")["base_images"]}
    assert list(bases) == ["1.0.0.0", "1.0.0.0100", "2.0.0.0"]
    assert bases["1.0.0.0100"]["live_patchable"] is True
    assert "live_patchable" in bases["1.0.0.0100"]["tags"]
    assert bases["1.0.0.0100"]["live_patch_from"] == ["1.0.0.0"]
    assert bases["2.0.0.0"]["live_patchable"] is False
    comps = {(c["name"], c["version"]): c for c in
             api.ok("GET", "/depot/components")["components"]}
    vmx = comps[("vmx", "1.0.0.0100")]
    assert vmx["live_patchable"] and vmx["fsr_required"] is True
    assert set(vmx["tags"]) == {"live_patchable", "fsr_required"}
    assert comps[("hostd", "1.0.0.0100")]["fsr_required"] is False
    assert not comps[("vmx", "2.0.0.0")]["live_patchable"]
    one = api.ok("GET", "/depot/components/vmx/1.0.0.0100")
    assert one["scripts"] == ["03_vmx-apply", "03_vmx-scan"] or \
        set(one["scripts"]) == {"03_vmx-scan", "03_vmx-apply"}
    assert api.get("/depot/components/vmx/9.9.9.9").status_code == 404
    assert api.ok("GET", "/depot/base-images/2.0.0.0")["components"] == \
        {"vmx": "2.0.0.0", "hostd": "2.0.0.0", "guest-tools": "2.0.0.0"}
    # Importing the same bundle again changes nothing.
    before = depot_state(center)
    r = import_bundle(center, bundles / "seam-1.0.0.0.zip")
    assert r.status_code == 201
    assert r.json()["added"] == {"components": [], "base_images": [],
                                 "addons": []}
    assert depot_state(center)[:3] == before[:3]


def test_defective_bundles_refused_depot_unchanged(center, bundles,
                                                   defects):
    trust_dev_key(center, bundles)
    assert import_bundle(center,
                         bundles / "seam-1.0.0.0.zip").status_code == 201
    before = depot_state(center)
    seen = {}
    for name, path in defects.items():
        r = import_bundle(center, path)
        assert r.status_code in (400, 409, 413), (name, r.status_code,
                                                  r.text)
        msg = r.json()["error"]["message"]
        assert EXPECT[name] in msg, (name, msg)
        seen[name] = msg
        after = depot_state(center)
        assert after[:3] == before[:3], name
        assert after[4] == before[4], name
    # Each defect has its own message.
    assert len(set(seen.values())) == len(seen)
    assert not os.listdir(center.state / "center" / "depot" / "tmp")
    # The failed imports are tasks with the error, and events.
    tasks = center.api.ok("GET", "/tasks?type=depot.import&status=error")
    assert len(tasks["tasks"]) == len(defects)
    evs = center.api.ok("GET", "/events?type=depot.import_refused&limit=100")
    assert len(evs["events"]) == len(defects)


def test_unsigned_accepted_only_at_community(center, bundles, defects):
    api = center.api
    r = import_bundle(center, defects["unsigned"])
    assert r.status_code == 400 and "unsigned bundle" in r.text
    api.ok("PUT", "/settings", json={"min_acceptance": "community"})
    r = import_bundle(center, defects["unsigned"])
    # Accepted as community, but its components claim `certified`.
    assert r.status_code == 400
    assert "only trusted at community" in r.text


def test_delete_and_payloads(center, bundles):
    api = center.api
    trust_dev_key(center, bundles)
    for v in ("1.0.0.0", "1.0.0.0100", "2.0.0.0"):
        assert import_bundle(center,
                             bundles / f"seam-{v}.zip").status_code == 201
    api.ok("POST", "/clusters", json={"name": "c1"})
    api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    r = api.delete("/depot/base-images/1.0.0.0100")
    assert r.status_code == 409
    assert "used by image 'default' of cluster 'c1'" in r.text
    r = api.delete("/depot/components/vmx/2.0.0.0")
    assert r.status_code == 409 and "base image 2.0.0.0" in r.text
    api.ok("DELETE", "/depot/base-images/2.0.0.0", status=204)
    comp = api.ok("GET", "/depot/components/vmx/2.0.0.0")
    api.ok("DELETE", "/depot/components/vmx/2.0.0.0", status=204)
    assert api.get("/depot/components/vmx/2.0.0.0").status_code == 404
    # Its payload is shared with vmx 1.0.0.0 (same stand-in): kept.
    pay = center.state / "center" / "depot" / "payloads" / comp["digest"]
    assert pay.exists() == any(
        c["digest"] == comp["digest"]
        for c in api.ok("GET", "/depot/components")["components"])
    # Payloads by digest: a host credential reads them, nothing else.
    vmx = api.ok("GET", "/depot/components/vmx/1.0.0.0100")
    r = api.get(f"/depot/payloads/{vmx['digest']}")
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == vmx["digest"]
    assert len(r.content) == vmx["size"]
    assert api.get("/depot/payloads/" + "ab" * 32).status_code == 404


def test_host_credential_reads_payloads_only(center, bundles,
                                             hosts_factory):
    from center_harness import add_host
    api = center.api
    trust_dev_key(center, bundles)
    assert import_bundle(center,
                         bundles / "seam-1.0.0.0100.zip").status_code == 201
    api.ok("POST", "/clusters", json={"name": "c1"})
    [h] = hosts_factory(1)
    add_host(center, h, "c1", "h1")
    cred = api.ok("GET", "/hosts/h1/depot-credential")["token"]
    assert cred.startswith("seamhost_")
    vmx = api.ok("GET", "/depot/components/vmx/1.0.0.0100")
    r = api.get(f"/depot/payloads/{vmx['digest']}", token=cred)
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == vmx["digest"]
    for method, path in (("GET", "/hosts"), ("GET", "/depot/components"),
                         ("POST", "/clusters"), ("GET", "/me")):
        r = api.call(method, path, token=cred, json={"name": "x"})
        assert r.status_code == 403, (method, path, r.text)
    # A forged credential (another host id, same MAC) is refused.
    forged = "seamhost_2_" + cred.split("_", 2)[2]
    assert api.get(f"/depot/payloads/{vmx['digest']}",
                   token=forged).status_code == 401
    # Viewers may not read credentials.
    viewer = api.ok("POST", "/users", status=201,
                    json={"name": "v", "role": "viewer"})["token"]
    assert api.get("/hosts/h1/depot-credential",
                   token=viewer).status_code == 403


def test_trust_store_admin_only(center, bundles):
    api = center.api
    op = api.ok("POST", "/users", status=201,
                json={"name": "op", "role": "operator"})["token"]
    key = (bundles / "dev-key.pub").read_text().strip()
    r = api.post("/depot/trust", token=op,
                 json={"level": "certified", "name": "k", "key": key})
    assert r.status_code == 403
    r = api.post("/depot/trust", json={"level": "gold", "name": "k",
                                       "key": key})
    assert r.status_code == 400 and "gold" in r.text
    r = api.post("/depot/trust", json={"level": "partner", "name": "k",
                                       "key": "not a key"})
    assert r.status_code == 400
    api.ok("POST", "/depot/trust", status=201,
           json={"level": "partner", "name": "k", "key": key})
    keys = api.ok("GET", "/depot/trust")["keys"]
    assert [(k["level"], k["name"]) for k in keys] == [("partner", "k")]
    # Trusted at partner only: the bundles' certified components are
    # above their signer's trust.
    r = import_bundle(center, bundles / "seam-1.0.0.0.zip")
    assert r.status_code == 400 and "declares acceptance level certified" \
        in r.text
    api.ok("DELETE", "/depot/trust/partner/k", status=204)
    assert api.ok("GET", "/depot/trust")["keys"] == []
