"""seam-center acceptance (issue 6): three real hosts, three bundles,
cluster images and compliance.

Real seam-center and seam-hostd processes on loopback (see center_harness).
"""
import pytest

from center_harness import (add_host, bundles, center, hosts_factory,  # noqa
                            import_bundle, trust_dev_key, wait_for)

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")


def check(center, cluster="c1"):
    r = center.api.ok("POST", f"/clusters/{cluster}/compliance", status=202)
    t = center.api.wait_task(r["task"]["id"])
    assert t["status"] == "success", t
    return {h["host"]: h for h in
            center.api.ok("GET", f"/clusters/{cluster}/compliance")["hosts"]}


@pytest.fixture
def cluster3(center, bundles, hosts_factory):
    trust_dev_key(center, bundles)
    for v in ("1.0.0.0", "1.0.0.0100", "2.0.0.0"):
        r = import_bundle(center, bundles / f"seam-{v}.zip")
        assert r.status_code == 201, r.text
    center.api.ok("POST", "/clusters", json={"name": "c1"})
    hosts = hosts_factory(3)
    for i, h in enumerate(hosts):
        add_host(center, h, "c1", f"h{i + 1}")
    return hosts


def test_acceptance_live_then_classic(center, cluster3):
    api = center.api
    # Before any image: unknown, with the reason.
    res = check(center)
    assert {r["status"] for r in res.values()} == {"unknown"}
    assert "no image" in res["h1"]["reasons"][0]["message"]

    api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    res = check(center)
    assert len(res) == 3
    for name, r in res.items():
        assert r["status"] == "non_compliant", (name, r)
        assert r["impact"] == "partial_maintenance_mode", (name, r)
        assert r["reboot"] == 0
    changed = {c["component"] for c in res["h1"]["details"]["changes"]}
    assert changed == {"vmx", "hostd"}

    # A new image turns every host unknown until the next check.
    api.ok("PUT", "/clusters/c1/image", json={"base": "2.0.0.0"})
    res = {h["host"]: h for h in
           api.ok("GET", "/clusters/c1/compliance")["hosts"]}
    assert {r["status"] for r in res.values()} == {"unknown"}
    assert res["h2"]["reasons"][0]["code"] == "image_changed"
    res = check(center)
    for name, r in res.items():
        assert r["status"] == "non_compliant", (name, r)
        assert r["impact"] == "maintenance_mode", (name, r)
        assert r["reboot"] == 1
        assert any(x["code"] == "base_not_live" for x in r["reasons"])

    # Back to the image it runs: compliant.
    api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0"})
    res = check(center)
    assert {r["status"] for r in res.values()} == {"compliant"}
    assert {r["impact"] for r in res.values()} == {"none"}


def test_passthrough_vm_named_in_reasons(center, cluster3):
    api = center.api
    vm = api.ok("POST", "/vms", status=201,
                json={"name": "pt1", "mem": "64M", "vcpus": 1,
                      "passthrough": True, "host": "h2"})
    assert vm["host"] == "h2"
    on = api.ok("POST", "/vms/pt1/power-on")
    assert on["state"] == "running"
    assert on["vmx_version"] == "1.0.0.0"
    api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
    res = check(center)
    h2 = res["h2"]
    assert h2["status"] == "non_compliant"
    assert h2["impact"] == "maintenance_mode", h2
    named = [r for r in h2["reasons"] if r.get("vm") == "pt1"]
    assert named and "passthrough" in named[0]["message"], h2["reasons"]
    assert "pt1" in named[0]["message"]
    assert h2["details"]["blocking_vms"] == [{"vm": "pt1",
                                              "flag": "passthrough"}]
    # The other hosts can still be live patched.
    assert res["h1"]["impact"] == "partial_maintenance_mode"
    assert res["h3"]["impact"] == "partial_maintenance_mode"
    # The VM and its host are in the events, queryable by VM.
    evs = api.ok("GET", "/events?vm=pt1")["events"]
    assert any(e["type"] == "vm.powered_on" and e["host"] == "h2"
               for e in evs)
    api.ok("POST", "/vms/pt1/power-off", json={"force": True})


def test_host_matched_by_two_images_is_refused(center, cluster3):
    api = center.api
    api.ok("POST", "/clusters/c1/images", status=201,
           json={"name": "a", "base": "1.0.0.0100",
                 "selector": {"hosts": ["h1", "h2", "h3"]}})
    r = api.post("/clusters/c1/images",
                 json={"name": "b", "base": "2.0.0.0",
                       "selector": {"hosts": ["h3"]}})
    assert r.status_code == 400
    assert "host 'h3' is matched by two images: 'a' and 'b'" in \
        r.json()["error"]["message"]
    # Replacing the whole set at once: `a` narrowed, `b` takes h3.
    r = api.put("/clusters/c1/images",
                json={"images": [
                    {"name": "a", "base": "1.0.0.0100",
                     "selector": {"hosts": ["h1", "h2"]}},
                    {"name": "b", "base": "2.0.0.0",
                     "selector": {"hosts": ["h1", "h3"]}}]})
    assert r.status_code == 400 and "'h1' is matched by two" in r.text
    out = api.ok("PUT", "/clusters/c1/images",
                 json={"images": [
                     {"name": "a", "base": "1.0.0.0100",
                      "selector": {"hosts": ["h1", "h2"]}},
                     {"name": "b", "base": "2.0.0.0",
                      "selector": {"hosts": ["h3"]}}]})
    assert out["hosts"] == {"h1": "a", "h2": "a", "h3": "b"}
    res = check(center)
    assert res["h1"]["image"] == "a"
    assert res["h3"]["image"] == "b"
    assert res["h1"]["impact"] == "partial_maintenance_mode"
    assert res["h3"]["impact"] == "maintenance_mode"
    # A host matched by none is refused too.
    r = api.put("/clusters/c1/images/a",
                json={"base": "1.0.0.0100", "selector": {"hosts": ["h1"]}})
    assert r.status_code == 400
    assert "host 'h2' is matched by no image" in r.json()["error"]["message"]


def test_attribute_selector_and_ineligible_host(center, bundles,
                                                hosts_factory):
    api = center.api
    trust_dev_key(center, bundles)
    for v in ("1.0.0.0", "1.0.0.0100"):
        assert import_bundle(center,
                             bundles / f"seam-{v}.zip").status_code == 201
    api.ok("POST", "/clusters", json={"name": "c1"})
    [plain] = hosts_factory(1, attributes={"tpm": False, "dpu": False})
    [tpm] = hosts_factory(1, attributes={"tpm": True, "dpu": False})
    add_host(center, plain, "c1", "plain")
    add_host(center, tpm, "c1", "secure")
    # One at a time, the first image leaves `secure` unmatched.
    r = api.post("/clusters/c1/images",
                 json={"name": "no-tpm", "base": "1.0.0.0100",
                       "selector": {"attributes": {"tpm": False}}})
    assert r.status_code == 400
    assert "host 'secure' is matched by no image" in r.text
    api.ok("PUT", "/clusters/c1/images", json={"images": [
        {"name": "no-tpm", "base": "1.0.0.0100",
         "selector": {"attributes": {"tpm": False}}},
        {"name": "tpm", "base": "1.0.0.0100",
         "selector": {"attributes": {"tpm": True}}}]})
    res = check(center)
    assert res["plain"]["image"] == "no-tpm"
    assert res["secure"]["image"] == "tpm"
    assert res["plain"]["impact"] == "partial_maintenance_mode"
    # tpm makes a host ineligible for live patch (default policy).
    assert res["secure"]["impact"] == "maintenance_mode"
    assert any(r["code"] == "host_ineligible"
               for r in res["secure"]["reasons"])
    # A cluster policy without tpm lets it be live patched.
    api.ok("PUT", "/clusters/c1/settings",
           json={"live_patch_ineligible": ["dpu"]})
    res = check(center)
    assert res["secure"]["impact"] == "partial_maintenance_mode"


def test_move_host_checked_against_target_images(center, cluster3):
    api = center.api
    api.ok("POST", "/clusters", json={"name": "c2"})
    api.ok("PUT", "/clusters/c2/images", json={"images": [
        {"name": "only-x", "base": "2.0.0.0",
         "selector": {"hosts": ["x"]}}]})
    r = api.patch("/hosts/h1", json={"cluster": "c2"})
    assert r.status_code == 400
    assert "host 'h1' is matched by no image" in r.text
    api.ok("PUT", "/clusters/c2/image", json={"base": "2.0.0.0"})
    moved = api.ok("PATCH", "/hosts/h1", json={"cluster": "c2"})
    assert moved["cluster"] == "c2" and moved["compliance"] == "unknown"
    res = check(center, "c2")
    assert res["h1"]["impact"] == "maintenance_mode"
