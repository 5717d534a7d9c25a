"""seam-center's inventory: clusters, hosts (certificate pinning, enrollment
token, disconnect and reconnect), VMs placed by DRS, events (poll and SSE),
and a restart by SIGKILL that keeps everything.

Real seam-center and seam-hostd processes on loopback (center_harness).
"""
import json
import signal
import time

import pytest

from center_harness import (Center, add_host, bundles, center,  # noqa
                            hosts_factory, import_bundle, trust_dev_key,
                            wait_for)

pytestmark = pytest.mark.filterwarnings(
    "ignore::urllib3.exceptions.InsecureRequestWarning")


def test_clusters(center):
    api = center.api
    c = api.ok("POST", "/clusters", status=201, json={"name": "prod"})
    assert c["hosts"] == 0 and c["settings"] == {}
    assert api.post("/clusters", json={"name": "prod"}).status_code == 409
    assert api.post("/clusters", json={"name": "9x"}).status_code == 400
    r = api.post("/clusters", json={"name": "x",
                                    "settings": {"live_patch": "always"}})
    assert r.status_code == 400 and "live_patch" in r.text
    api.ok("PATCH", "/clusters/prod", json={"name": "production"})
    assert api.get("/clusters/prod").status_code == 404
    got = api.ok("GET", f"/clusters/{c['id']}")
    assert got["name"] == "production"
    s = api.ok("PUT", "/clusters/production/settings",
               json={"live_patch": "enforce",
                     "parallel_remediation": {"enabled": True,
                                              "max_hosts": 2}})
    assert s["effective"]["live_patch"] == "enforce"
    assert s["effective"]["parallel_remediation"] == {"enabled": True,
                                                      "max_hosts": 2}
    assert s["effective"]["power_policy"] == "do_not_change"
    r = api.put("/clusters/production/settings",
                json={"failure_action": {"action": "retry",
                                         "retry_count": -1}})
    assert r.status_code == 400 and "retry_count" in r.text
    g = api.ok("PUT", "/settings", json={"power_policy": "suspend"})
    assert g["effective"]["power_policy"] == "suspend"
    eff = api.ok("GET", "/clusters/production/settings")["effective"]
    assert eff["power_policy"] == "suspend"  # global, not overridden
    assert eff["live_patch"] == "enforce"    # cluster override
    api.ok("DELETE", "/clusters/production", status=204)
    assert api.ok("GET", "/clusters")["clusters"] == []


def test_add_host_pins_certificate(center, hosts_factory):
    api = center.api
    api.ok("POST", "/clusters", json={"name": "c1"})
    [h, h2] = hosts_factory(2)
    body = {"address": h.address, "token": h.token, "cluster": "c1",
            "name": "h1"}
    r = api.ok("POST", "/hosts", json=body)
    assert r["needs_confirmation"] is True
    assert r["thumbprint"] == h.thumbprint
    assert r["thumbprint_sha256"].count(":") == 31
    assert api.ok("GET", "/hosts")["hosts"] == []      # nothing stored
    wrong = h.thumbprint[:-2] + ("00" if h.thumbprint[-2:] != "00" else "11")
    r = api.post("/hosts", json=dict(body, thumbprint=wrong))
    assert r.status_code == 409
    assert "thumbprint mismatch" in r.json()["error"]["message"]
    r = api.post("/hosts", json=dict(body, thumbprint=h2.thumbprint))
    assert r.status_code == 409
    assert api.ok("GET", "/hosts")["hosts"] == []
    r = api.post("/hosts", json=dict(body, thumbprint=h.thumbprint,
                                     token="0" * 64))
    assert r.status_code == 400 and "refused the enrollment token" in r.text
    # The colon form an operator reads is accepted too.
    colons = ":".join(h.thumbprint[i:i + 2].upper() for i in range(0, 64, 2))
    host = api.ok("POST", "/hosts", status=201,
                  json=dict(body, thumbprint=colons))
    assert host["thumbprint"] == h.thumbprint
    assert host["state"] == "connected"
    assert host["base_image"] == "1.0.0.0"
    assert host["compliance"] == "unknown"
    r = api.post("/hosts", json=dict(body, name="again",
                                     thumbprint=h.thumbprint))
    assert r.status_code == 409 and "already registered as 'h1'" in r.text
    inv = api.ok("GET", "/hosts/h1/inventory")["inventory"]
    assert {c["name"]: c["active"] for c in inv["components"]} == \
        {"vmx": "1.0.0.0", "hostd": "1.0.0.0", "guest-tools": "1.0.0.0"}
    # Rename and move: the target's images must match the host once.
    api.ok("POST", "/clusters", json={"name": "c2"})
    api.ok("PATCH", "/hosts/h1", json={"name": "first"})
    assert api.get("/hosts/h1").status_code == 404
    api.ok("PUT", "/clusters/c2/images", json={"images": []})
    r = api.ok("PATCH", "/hosts/first", json={"cluster": "c2"})
    assert r["cluster"] == "c2"
    assert api.ok("GET", "/clusters/c1")["hosts"] == 0
    r = api.ok("PATCH", "/hosts/first", json={"cluster": "c1",
                                               "name": "h1"})
    assert r["cluster"] == "c1" and r["name"] == "h1"
    api.ok("DELETE", "/clusters/c2", status=204)
    # A cluster with hosts cannot be deleted.
    r = api.delete("/clusters/c1")
    assert r.status_code == 409 and "remove them first" in r.text
    api.ok("DELETE", "/hosts/h1", status=204)
    api.ok("DELETE", "/clusters/c1", status=204)


def test_disconnect_and_reconnect(center, hosts_factory):
    api = center.api
    api.ok("POST", "/clusters", json={"name": "c1"})
    [h] = hosts_factory(1)
    add_host(center, h, "c1", "h1")
    port = h.port
    h.stop()
    wait_for(lambda: api.ok("GET", "/hosts/h1")["state"] == "disconnected",
             what="host marked disconnected")
    evs = api.ok("GET", "/events?host=h1&type=host.disconnected")["events"]
    assert len(evs) == 1 and "stopped answering" in evs[0]["message"]
    h.start(port=port)
    wait_for(lambda: api.ok("GET", "/hosts/h1")["state"] == "connected",
             what="host connected again")
    # A host that comes back with another certificate is not trusted
    # until an operator confirms the new thumbprint.
    h.stop()
    for f in ("cert.pem", "key.pem"):
        (h.state / "tls" / f).unlink()
    h.start(port=port)
    new_tp = json.loads(h.direct("GET", "/host").text)["thumbprint"]
    assert new_tp != h.thumbprint
    time.sleep(1)
    assert api.ok("GET", "/hosts/h1")["state"] == "disconnected"
    r = api.ok("POST", "/hosts/h1/reconnect", json={})
    assert r["needs_confirmation"] and r["thumbprint"] == new_tp
    r = api.post("/hosts/h1/reconnect", json={"thumbprint": h.thumbprint})
    assert r.status_code == 409
    r = api.ok("POST", "/hosts/h1/reconnect", json={"thumbprint": new_tp})
    assert r["thumbprint"] == new_tp and r["state"] == "connected"


def test_host_event_log_reset(center, hosts_factory):
    """A host whose event log starts over (state reinstalled) is
    connected again and its new events still reach the center; once the
    center shows such an event, the host is connected and its inventory
    holds what the event announced."""
    api = center.api
    api.ok("POST", "/clusters", json={"name": "c1"})
    [h] = hosts_factory(1)
    add_host(center, h, "c1", "h1")
    for i in range(3):
        api.ok("POST", "/vms", status=201,
               json={"name": f"r{i}", "mem": 64, "vcpus": 1})
    wait_for(lambda: api.ok("GET", "/hosts/h1")["event_cursor"] >= 4,
             what="host events read")
    port = h.port
    h.stop()
    (h.state / "events.jsonl").unlink()
    h.start(port=port)
    assert h.direct("POST", "/vms", json={"name": "after", "mem": 64,
                                          "vcpus": 1}).status_code == 201
    wait_for(lambda: any(e["vm"] == "after" for e in api.ok(
        "GET", "/events?type=host.vm.created")["events"]),
        what="the new host event forwarded")
    assert api.ok("GET", "/hosts/h1")["state"] == "connected"
    assert "after" in [v["name"] for v in api.ok("GET", "/vms")["vms"]]


def test_vms_placed_by_drs(center, hosts_factory):
    api = center.api
    api.ok("POST", "/clusters", json={"name": "c1"})
    hosts = hosts_factory(3)
    for i, h in enumerate(hosts):
        add_host(center, h, "c1", f"h{i + 1}")
    # The same machine: equal memory; running VMs decide.
    big = api.ok("POST", "/vms", status=201,
                 json={"name": "big", "mem": "1G", "vcpus": 1,
                       "host": "h1"})
    assert big["host"] == "h1"
    api.ok("POST", "/vms/big/power-on")
    hostd2 = hosts[1]
    # h2 in partial maintenance: never chosen.
    r = api.put("/hosts/h2/maintenance", json={"mode": "sideways"})
    assert r.status_code == 400
    h2 = api.ok("PUT", "/hosts/h2/maintenance", json={"mode": "partial"})
    assert h2["maintenance_mode"] == "partial"
    assert hostd2.direct("GET", "/maintenance").json()["mode"] == "partial"
    vm = api.ok("POST", "/vms", status=201,
                json={"name": "v2", "mem": 64, "vcpus": 1})
    assert vm["host"] == "h3"          # most free memory, not maintenance
    r = api.post("/vms", json={"name": "v2", "mem": 64, "vcpus": 1})
    assert r.status_code == 409 and "exists on host 'h3'" in r.text
    r = api.post("/vms", json={"name": "v3", "mem": 64, "vcpus": 1,
                               "host": "h2"})
    assert r.status_code == 409 and "partial" in r.text
    r = api.post("/vms", json={"name": "v4", "mem": "lots", "vcpus": 1})
    assert r.status_code == 400
    vms = {v["name"]: v for v in api.ok("GET", "/vms")["vms"]}
    assert vms["big"]["state"] == "running" and vms["big"]["host"] == "h1"
    assert vms["v2"]["host"] == "h3" and vms["v2"]["cluster"] == "c1"
    assert [v["name"] for v in api.ok("GET", "/vms?host=h3")["vms"]] == \
        ["v2"]
    # `full` is refused while a VM runs; the host says which.
    r = api.put("/hosts/h1/maintenance", json={"mode": "full"})
    assert r.status_code == 409 and "big" in r.text
    api.ok("PUT", "/hosts/h2/maintenance", json={"mode": "none"})
    api.ok("POST", "/vms/big/power-off", json={"force": True})
    api.ok("DELETE", "/vms/big", status=204)
    api.ok("DELETE", "/vms/v2", status=204)
    assert api.ok("GET", "/vms")["vms"] == []
    assert api.get("/vms/big").status_code == 404


def test_events_long_poll(center):
    import threading
    api = center.api
    last = api.ok("GET", "/events")["last"]
    t = threading.Timer(0.5, lambda: api.ok(
        "POST", "/clusters", json={"name": "late"}))
    t.start()
    t0 = time.monotonic()
    r = api.ok("GET", f"/events?after={last}&type=cluster&timeout=20")
    t.join()
    assert time.monotonic() - t0 < 15
    assert [e["cluster"] for e in r["events"]] == ["late"]
    assert r["cursor"] == r["events"][0]["cursor"]
    r = api.ok("GET", f"/events?after={r['cursor']}&timeout=1")
    assert r["events"] == []
    assert api.get("/events?timeout=61").status_code == 400


def test_events_stream_with_cursor(center):
    api = center.api
    last = api.ok("GET", "/events")["last"]
    api.ok("POST", "/clusters", json={"name": "s1"})
    r = api.s.get(api.base + f"/events/stream?after={last}&type=cluster",
                  headers={"Authorization": f"Bearer {api.token}"},
                  stream=True, verify=False, timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/event-stream")
    got = []
    lines = r.iter_lines(decode_unicode=True)
    api.ok("POST", "/clusters", json={"name": "s2"})
    for line in lines:
        if line.startswith("data: "):
            got.append(json.loads(line[6:]))
            if len(got) == 2:
                break
    r.close()
    assert [e["type"] for e in got] == ["cluster.created"] * 2
    assert [e["cluster"] for e in got] == ["s1", "s2"]
    # Resume with Last-Event-ID: only what followed.
    r = api.s.get(api.base + "/events/stream?type=cluster",
                  headers={"Authorization": f"Bearer {api.token}",
                           "Last-Event-ID": str(got[0]["cursor"])},
                  stream=True, verify=False, timeout=30)
    for line in r.iter_lines(decode_unicode=True):
        if line.startswith("id: "):
            assert int(line[4:]) == got[1]["cursor"]
            break
    r.close()


def test_restart_by_sigkill_keeps_everything(tmp_path, bundles,
                                            hosts_factory):
    c = Center(tmp_path / "c").start()
    try:
        api = c.api
        trust_dev_key(c, bundles)
        for v in ("1.0.0.0", "1.0.0.0100"):
            assert import_bundle(c, bundles / f"seam-{v}.zip").status_code \
                == 201
        api.ok("POST", "/clusters", json={"name": "c1"})
        hosts = hosts_factory(2)
        for i, h in enumerate(hosts):
            add_host(c, h, "c1", f"h{i + 1}")
        api.ok("PUT", "/clusters/c1/image", json={"base": "1.0.0.0100"})
        t = api.ok("POST", "/clusters/c1/compliance", status=202)["task"]
        assert api.wait_task(t["id"])["status"] == "success"
        before = {p: api.ok("GET", p) for p in (
            "/clusters", "/hosts", "/depot/base-images",
            "/depot/components", "/clusters/c1/image",
            "/clusters/c1/compliance", f"/tasks/{t['id']}")}
        events = api.ok("GET", "/events?limit=1000")["events"]
        c.stop(signal.SIGKILL)
        c.start(token_file=False)
        api = c.api
        for p, v in before.items():
            now = api.ok("GET", p)
            if p == "/hosts":
                strip = ("state_changed", "inventory_time", "event_cursor")
                now = [{k: x for k, x in h.items() if k not in strip}
                       for h in now["hosts"]]
                v = [{k: x for k, x in h.items() if k not in strip}
                     for h in v["hosts"]]
            assert now == v, p
        after = api.ok("GET", "/events?limit=1000")["events"]
        assert after[:len(events)] == events
        assert after[len(events)]["type"] == "center.started"
        # Payloads are still served.
        vmx = api.ok("GET", "/depot/components/vmx/1.0.0.0100")
        assert api.get(f"/depot/payloads/{vmx['digest']}").status_code == 200
    finally:
        c.stop()
