"""seam-center: authentication, roles and bad input (issue 6 acceptance:
every endpoint refuses a missing or wrong token; a viewer cannot change
anything; malformed JSON gets 400 with a message; never a 500 on bad input).

A real seam-center on loopback; no host is needed.
"""
import json
import random
import subprocess

import pytest

from center_harness import CENTER, Center, center  # noqa: F401

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")

# Every route of the API (api.c), with path parameters filled in.
ROUTES = [
    ("GET", "/me"), ("GET", "/users"), ("POST", "/users"),
    ("GET", "/users/admin"), ("DELETE", "/users/nobody"),
    ("GET", "/users/admin/tokens"), ("POST", "/users/admin/tokens"),
    ("DELETE", "/users/admin/tokens/99"),
    ("GET", "/settings"), ("PUT", "/settings"),
    ("GET", "/clusters"), ("POST", "/clusters"), ("GET", "/clusters/c1"),
    ("PATCH", "/clusters/c1"), ("DELETE", "/clusters/c1"),
    ("GET", "/clusters/c1/settings"), ("PUT", "/clusters/c1/settings"),
    ("GET", "/clusters/c1/image"), ("PUT", "/clusters/c1/image"),
    ("GET", "/clusters/c1/images"), ("POST", "/clusters/c1/images"),
    ("PUT", "/clusters/c1/images"),
    ("POST", "/clusters/c1/images/import"),
    ("POST", "/clusters/c1/images/validate"),
    ("GET", "/clusters/c1/images/x"), ("PUT", "/clusters/c1/images/x"),
    ("DELETE", "/clusters/c1/images/x"),
    ("GET", "/clusters/c1/images/x/export"),
    ("GET", "/clusters/c1/compliance"), ("POST", "/clusters/c1/compliance"),
    ("GET", "/hosts"), ("POST", "/hosts"), ("GET", "/hosts/h1"),
    ("PATCH", "/hosts/h1"), ("DELETE", "/hosts/h1"), ("POST", "/hosts/h1/reconnect"),
    ("PUT", "/hosts/h1/maintenance"),
    ("GET", "/hosts/h1/inventory"), ("GET", "/hosts/h1/depot-credential"),
    ("GET", "/hosts/h1/compliance"), ("POST", "/hosts/h1/compliance"),
    ("GET", "/vms"), ("POST", "/vms"), ("GET", "/vms/v1"),
    ("DELETE", "/vms/v1"), ("POST", "/vms/v1/power-on"),
    ("POST", "/vms/v1/power-off"),
    ("POST", "/depot/bundles"), ("GET", "/depot/bundles"),
    ("GET", "/depot/base-images"), ("GET", "/depot/base-images/1.0.0.0"),
    ("DELETE", "/depot/base-images/1.0.0.0"), ("GET", "/depot/addons"),
    ("GET", "/depot/addons/a/1.0.0.0"),
    ("DELETE", "/depot/addons/a/1.0.0.0"), ("GET", "/depot/components"),
    ("GET", "/depot/components/vmx/1.0.0.0"),
    ("DELETE", "/depot/components/vmx/1.0.0.0"),
    ("GET", "/depot/payloads/" + "0" * 64), ("GET", "/depot/trust"),
    ("POST", "/depot/trust"), ("DELETE", "/depot/trust/partner/k"),
    ("GET", "/tasks"), ("GET", "/tasks/1"), ("GET", "/events"),
    ("GET", "/events/stream"),
]
JSON_ROUTES = [(m, p) for m, p in ROUTES
               if m in ("POST", "PUT", "PATCH") and p != "/depot/bundles"]


def make_user(api, name, role):
    return api.ok("POST", "/users", status=201,
                  json={"name": name, "role": role})["token"]


def test_first_start_prints_admin_token_once(tmp_path):
    if not CENTER.exists():
        pytest.skip("build first")
    c = Center(tmp_path / "c")
    c.start(token_file=False)
    try:
        assert "admin_token=seam_" in c.stdout
        assert c.api.ok("GET", "/me") == {"user": "admin", "role": "admin"}
    finally:
        c.stop()
    # Only its hash is stored: the token is nowhere on disk.
    db = (tmp_path / "c" / "center" / "center.db").read_bytes()
    assert c.token.encode() not in db
    c2 = Center(tmp_path / "c", token=c.token)
    c2.start(token_file=False)
    try:
        assert "admin_token" not in c2.stdout
        assert c2.api.ok("GET", "/me")["user"] == "admin"
    finally:
        c2.stop()


def test_every_endpoint_refuses_missing_or_wrong_token(center):
    api = center.api
    for method, path in ROUTES + [("GET", "/nope"), ("DELETE", "/x/y")]:
        for tok in ("", "wrong", "seam_" + "0" * 64,
                    "seamhost_1_" + "0" * 64):
            r = api.call(method, path, token=tok or "", timeout=10,
                         headers={} if tok else {"Authorization": ""})
            assert r.status_code == 401, (method, path, tok, r.status_code,
                                          r.text)
            assert r.json()["error"]["code"] == "unauthorized"
            assert r.headers.get("WWW-Authenticate") == "Bearer"


def test_viewer_reads_but_changes_nothing(center):
    api = center.api
    api.ok("POST", "/clusters", json={"name": "c1"})
    viewer = make_user(api, "vera", "viewer")
    before = api.ok("GET", "/clusters")
    for method, path in ROUTES:
        if path == "/events/stream":
            continue
        r = api.call(method, path, token=viewer, json={}, timeout=10)
        if method == "GET" and (path.startswith("/users") or
                                path.endswith("/depot-credential")):
            assert r.status_code == 403, (path, r.text)
        elif method == "GET":
            assert r.status_code not in (401, 403), (path, r.text)
        else:
            assert r.status_code == 403, (method, path, r.status_code)
            assert "needs the" in r.json()["error"]["message"]
    assert api.ok("GET", "/clusters") == before
    assert api.ok("GET", "/me", token=viewer)["role"] == "viewer"


def test_operator_cannot_manage_users_or_trust(center):
    api = center.api
    op = make_user(api, "otto", "operator")
    assert api.post("/clusters", token=op,
                    json={"name": "c9"}).status_code == 201
    for method, path, body in (
            ("POST", "/users", {"name": "x", "role": "admin"}),
            ("DELETE", "/users/admin", None),
            ("PUT", "/settings", {"live_patch": "enforce"}),
            ("POST", "/depot/trust", {"level": "certified", "name": "k",
                                      "key": "x"})):
        r = api.call(method, path, token=op, json=body)
        assert r.status_code == 403, (method, path, r.text)
    # Tokens: a second token works, a deleted one no longer does.
    t = api.ok("POST", "/users/otto/tokens", status=201,
               json={"name": "ci"})
    assert api.ok("GET", "/me", token=t["token"])["user"] == "otto"
    api.ok("DELETE", f"/users/otto/tokens/{t['id']}", status=204)
    assert api.get("/me", token=t["token"]).status_code == 401
    # The last admin cannot be deleted.
    r = api.delete("/users/admin")
    assert r.status_code == 409 and "last admin" in r.text


def test_malformed_json_is_400_with_a_message(center):
    api = center.api
    api.ok("POST", "/clusters", json={"name": "c1"})
    for method, path in JSON_ROUTES:
        for body in ('{"name": ', "[1,2]", "nul", '{"a":1,"a":2}',
                     '{"name": "x"} trailing'):
            r = api.call(method, path, data=body,
                         headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (method, path, body, r.text)
            msg = r.json()["error"]["message"]
            assert msg, (method, path)
    r = api.post("/clusters", data='{"name": "c2", "colour": 1}')
    assert r.status_code == 400
    assert "unknown field 'colour'" in r.json()["error"]["message"]
    r = api.post("/clusters", data='{}')
    assert "missing field 'name'" in r.json()["error"]["message"]
    r = api.post("/clusters", data='{"name": 5}')
    assert "field 'name' must be a string" in r.json()["error"]["message"]


def fuzz_values():
    return [None, True, 0, -1, 2**63 - 1, 1.5, "", "x" * 300, "../..",
            "1.0.0", "1.0.0.0", [], [1], {}, {"a": {"b": []}}, "\u00e9\u0000",
            "c1", "h1"]


def test_never_500_on_bad_input(center):
    api = center.api
    api.ok("POST", "/clusters", json={"name": "c1"})
    rnd = random.Random(6)
    fields = ["name", "role", "base", "addon", "components", "selector",
              "settings", "address", "token", "cluster", "thumbprint",
              "mem", "vcpus", "host", "images", "image", "level", "key",
              "force", "live_patch", "failure_action",
              "parallel_remediation", "live_patch_ineligible"]
    for method, path in ROUTES:
        if path == "/events/stream":
            continue
        for _ in range(12):
            body = {f: rnd.choice(fuzz_values())
                    for f in rnd.sample(fields, rnd.randint(0, 4))}
            r = api.call(method, path, data=json.dumps(body), timeout=30)
            assert r.status_code < 500, (method, path, body, r.text)
            if r.status_code >= 400:
                assert r.json()["error"]["message"]
    # Odd paths and queries.
    for path in ("/events?after=-1", "/events?after=x", "/events?limit=0",
                 "/events?host=nope", "/tasks/abc", "/tasks/-1",
                 "/tasks?limit=99999", "/clusters/%00", "/vms?cluster=zz",
                 "/depot/payloads/../../etc/passwd",
                 "/depot/payloads/" + "g" * 64):
        r = api.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    r = api.post("/depot/bundles", data=b"")
    assert r.status_code == 400
    r = api.post("/depot/bundles", data=b"PK\x03\x04garbage" * 10)
    assert r.status_code == 400
    assert "bundle refused" in r.json()["error"]["message"]
