"""seam-center's cluster images: validation with clear errors, add-ons,
components added and removed, export with the SHA-256 of the canonical
definition, import into another cluster.

A real seam-center; the depot holds the three make-bundles bundles and a
bundle with an add-on made here (seam-bundle build + sign, dev key).
"""
import hashlib
import io
import json
import subprocess
import tarfile

import pytest

from center_harness import (BUNDLE_TOOL, bundles, center,  # noqa: F401
                            import_bundle, trust_dev_key)

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")


def payload(path, text):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = text.encode()
        ti = tarfile.TarInfo("bin/acme-agent")
        ti.size = len(data)
        ti.mode = 0o755
        t.addfile(ti, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
def addon_bundle(tmp_path, bundles):
    p1 = payload(tmp_path / "agent-1.tgz", "#!/bin/sh\necho 1\n")
    p2 = payload(tmp_path / "agent-11.tgz", "#!/bin/sh\necho 1.1\n")
    man = {
        "format": 1, "name": "acme-tools-1.0.0.0",
        "addons": [{"name": "acme-tools", "version": "1.0.0.0",
                    "base_versions": ["1.0.0.0100"],
                    "components": {"acme-agent": "1.0.0.0"}}],
        "components": [
            {"name": "acme-agent", "version": "1.0.0.0",
             "acceptance": "certified", "payload": {"file": p1.name},
             "scripts": []},
            {"name": "acme-agent", "version": "1.1.0.0",
             "acceptance": "certified", "payload": {"file": p2.name},
             "scripts": [], "live_patch_from": ["1.0.0.0"],
             "fsr_required": False}]}
    mp = tmp_path / "addon.json"
    mp.write_text(json.dumps(man))
    out = tmp_path / "acme.zip"
    subprocess.run([str(BUNDLE_TOOL), "build", "--manifest", str(mp),
                    "--payload", str(p1), "--payload", str(p2),
                    "--out", str(out)], check=True, capture_output=True)
    subprocess.run([str(BUNDLE_TOOL), "sign", "--key",
                    str(bundles / "dev-key.sec"), str(out)], check=True,
                   capture_output=True)
    return out


@pytest.fixture
def depot(center, bundles, addon_bundle):
    trust_dev_key(center, bundles)
    for p in [bundles / f"seam-{v}.zip"
              for v in ("1.0.0.0", "1.0.0.0100", "2.0.0.0")] + [addon_bundle]:
        r = import_bundle(center, p)
        assert r.status_code == 201, r.text
    center.api.ok("POST", "/clusters", json={"name": "c1"})
    center.api.ok("POST", "/clusters", json={"name": "c2"})
    return center


def refused(api, body, text, cluster="c1"):
    r = api.put(f"/clusters/{cluster}/image", json=body)
    assert r.status_code == 400, (body, r.status_code, r.text)
    msg = r.json()["error"]["message"]
    assert text in msg, (body, msg)
    return msg


def test_validation_errors(depot):
    api = depot.api
    refused(api, {"base": "9.9.9.9"}, "unknown base image version 9.9.9.9")
    refused(api, {"base": "1.0.0"}, 'version "1.0.0"')
    refused(api, {"base": "1.0.0.0",
                  "addon": {"name": "acme-tools", "version": "1.0.0.0"}},
            "add-on 'acme-tools' 1.0.0.0 is not for base image 1.0.0.0")
    refused(api, {"base": "1.0.0.0100",
                  "addon": {"name": "nope", "version": "1.0.0.0"}},
            "unknown add-on 'nope' 1.0.0.0")
    refused(api, {"base": "1.0.0.0100",
                  "addon": {"name": "acme-tools"}},
            "needs 'name' and 'version'")
    refused(api, {"base": "1.0.0.0100",
                  "components": {"add": {"vmx": "1.0.0.0"},
                                 "remove": ["vmx"]}},
            "conflicting components: 'vmx' is both added and removed")
    refused(api, {"base": "1.0.0.0100",
                  "addon": {"name": "acme-tools", "version": "1.0.0.0"},
                  "components": {"add": {"acme-agent": "1.1.0.0"}}},
            "conflicting components: 'acme-agent' 1.1.0.0 is added, but "
            "add-on 'acme-tools' provides 1.0.0.0")
    refused(api, {"base": "1.0.0.0100",
                  "components": {"add": {"vmx": "7.0.0.0"}}},
            "unknown component 'vmx' 7.0.0.0")
    refused(api, {"base": "1.0.0.0100",
                  "components": {"remove": ["acme-agent"]}},
            "cannot remove component 'acme-agent'")
    refused(api, {"base": "1.0.0.0100", "components": {"drop": []}},
            "unknown field 'drop'")
    refused(api, {"base": "1.0.0.0100", "selector": {"hostz": []}},
            "selector: unknown field 'hostz'")
    r = api.put("/clusters/c1/image", json={"bass": "1.0.0.0"})
    assert r.status_code == 400 and "unknown field 'bass'" in r.text
    # Nothing was stored.
    assert api.get("/clusters/c1/image").status_code == 404
    # The dry run says the same, or that it is valid.
    r = api.post("/clusters/c1/images/validate", json={"base": "9.9.9.9"})
    assert r.status_code == 400
    v = api.ok("POST", "/clusters/c1/images/validate",
               json={"base": "1.0.0.0100"})
    assert v["valid"] is True
    assert api.get("/clusters/c1/image").status_code == 404


def canonical_sha(defn):
    return hashlib.sha256(json.dumps(defn, sort_keys=True,
                                     separators=(",", ":")).encode()
                          ).hexdigest()


def test_set_export_import(depot):
    api = depot.api
    im = api.ok("PUT", "/clusters/c1/image", json={
        "base": "1.0.0.100",     # the depot spells it 1.0.0.0100
        "addon": {"name": "acme-tools", "version": "1.0.0.0"},
        "components": {"add": {"vmx": "1.0.0.0100"},
                       "remove": ["guest-tools"]}})
    d = im["definition"]
    assert d == {"base": "1.0.0.0100",
                 "addon": {"name": "acme-tools", "version": "1.0.0.0"},
                 "components": {"add": {"vmx": "1.0.0.0100"},
                                "remove": ["guest-tools"]}}
    assert im["digest"] == canonical_sha(d)
    assert api.ok("GET", "/clusters/c1/image")["definition"] == d
    doc = api.ok("GET", "/clusters/c1/images/default/export")
    assert doc["format"] == 1 and doc["kind"] == "seam-cluster-image"
    assert doc["sha256"] == canonical_sha(doc["definition"])
    # Import into c2: same definition, same digest.
    got = api.ok("POST", "/clusters/c2/images/import", status=201,
                 json={"image": doc})
    assert got["definition"] == d and got["digest"] == doc["sha256"]
    # A document changed after export is refused.
    bad = json.loads(json.dumps(doc))
    bad["definition"]["base"] = "2.0.0.0"
    r = api.post("/clusters/c2/images/import",
                 json={"image": bad, "name": "other"})
    assert r.status_code == 400 and "sha256 mismatch" in r.text
    # Import under another name with a selector: c2 then has two images
    # that both match every host... c2 has no host, so it is accepted
    # only when every image has a selector.
    r = api.post("/clusters/c2/images/import",
                 json={"image": doc, "name": "second"})
    assert r.status_code == 400 and "needs a selector" in r.text
    # Images in use keep their releases in the depot.
    r = api.delete("/depot/addons/acme-tools/1.0.0.0")
    assert r.status_code == 409 and "used by image" in r.text
    api.ok("DELETE", "/clusters/c2/images/default", status=204)
    api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0"})
    api.ok("DELETE", "/depot/addons/acme-tools/1.0.0.0", status=204)
    assert api.ok("GET", "/depot/addons")["addons"] == []
    evs = api.ok("GET", "/events?cluster=c1&type=image")["events"]
    assert [e["type"] for e in evs] == ["image.set", "image.set"]


def test_cluster_lowest_accepted_level(depot, tmp_path, bundles):
    """A cluster that accepts only `certified` refuses an image whose
    components are `partner` (a partner key signed them)."""
    api = depot.api
    man = {"format": 1, "name": "p",
           "components": [{"name": "partner-agent", "version": "1.0.0.0",
                           "acceptance": "partner",
                           "payload": {"file": "pa.tgz"}, "scripts": []}]}
    payload(tmp_path / "pa.tgz", "#!/bin/sh\n")
    (tmp_path / "p.json").write_text(json.dumps(man))
    out = tmp_path / "p.zip"
    subprocess.run([str(BUNDLE_TOOL), "build", "--manifest",
                    str(tmp_path / "p.json"), "--payload",
                    str(tmp_path / "pa.tgz"), "--out", str(out)],
                   check=True, capture_output=True)
    subprocess.run([str(BUNDLE_TOOL), "sign", "--key",
                    str(bundles / "dev-key.sec"), str(out)], check=True,
                   capture_output=True)
    assert import_bundle(depot, out).status_code == 201
    body = {"base": "1.0.0.0100",
            "components": {"add": {"partner-agent": "1.0.0.0"}}}
    api.ok("PUT", "/clusters/c1/image", json=body)
    api.ok("PUT", "/clusters/c2/settings",
           json={"min_acceptance": "certified"})
    r = api.put("/clusters/c2/image", json=body)
    assert r.status_code == 400
    assert "component 'partner-agent' 1.0.0.0 is partner, below the " \
        "cluster's lowest accepted level certified" in r.text
