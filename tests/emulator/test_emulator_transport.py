"""Transport-level behaviour: keys and data centres, envelopes, 404s, bad JSON, the inspection API,
persistence and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from iterable_emulator.state import State
from iterable_emulator.testing import EmulatorServer

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 5


# -- keys and hosts --------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [None, "", "not-a-key"])
def test_missing_or_unknown_key_is_401_bad_api_key(emulator, key, check_schema, make_api):
    api = make_api(emulator.us_url, key)
    resp = api.get("/api/channels")
    assert resp.status_code == 401
    body = resp.json()
    check_schema("IterableApiResponse", body)
    assert body["code"] == "BadApiKey"
    assert body["msg"] == "Invalid API key"
    assert body["params"] == {"ip": "127.0.0.1", "endpoint": "/api/channels"}


def test_us_key_on_eu_host_and_eu_key_on_us_host_are_rejected(emulator, make_api, keys):
    assert make_api(emulator.eu_url, keys["us"]).get("/api/channels").status_code == 401
    assert make_api(emulator.us_url, keys["eu"]).get("/api/channels").status_code == 401
    assert make_api(emulator.us_url, keys["us"]).get("/api/channels").status_code == 200
    assert make_api(emulator.us_url, keys["us_2"]).get("/api/channels").status_code == 200
    eu = make_api(emulator.eu_url, keys["eu"]).get("/api/channels")
    assert eu.status_code == 200
    assert [c["id"] for c in eu.json()["channels"]] == [7]


def test_both_hosts_share_one_state(emulator, eu):
    assert eu.post("/api/users/update", json={"email": "new@example.eu", "dataFields": {"x": 1}}).ok
    snapshot = emulator.snapshot()
    eu_project = next(p for p in snapshot["projects"] if p["id"] == 300)
    assert any(u["email"] == "new@example.eu" for u in eu_project["users"])


def test_unknown_route_is_html_404(us):
    for method, path in [("GET", "/api/nothing/here"), ("POST", "/api/channels"), ("GET", "/")]:
        resp = us.request(method, path)
        assert resp.status_code == 404
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "<html" in resp.text
        with pytest.raises(ValueError):
            resp.json()


# -- bodies ----------------------------------------------------------------------------------------
def test_malformed_json_is_bad_json_body(us, check_schema):
    resp = us.post("/api/users/update", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    body = resp.json()
    check_schema("IterableApiResponse", body)
    assert body["code"] == "BadJsonBody"
    assert list(body["params"]) == ["obj"]


def test_non_object_body_and_wrong_types_give_json_paths(us):
    resp = us.post("/api/users/update", json=[1, 2])
    assert resp.json()["params"] == {"obj": [{"msg": "error.expected.jsobject", "args": []}]}
    resp = us.post("/api/users/update", json={"email": 5, "dataFields": []})
    assert resp.status_code == 400
    assert resp.json()["params"] == {
        "obj.email": [{"msg": "error.expected.jsstring", "args": []}],
        "obj.dataFields": [{"msg": "error.expected.jsobject", "args": []}],
    }


def test_body_over_4mb_is_rejected(us):
    big = {"users": [{"email": "a@example.com", "dataFields": {"blob": "x" * (4 * 1024 * 1024)}}]}
    resp = us.post("/api/users/bulkUpdate", json=big)
    assert resp.status_code == 413
    assert resp.json()["code"] == "BatchTooLarge"


# -- inspection API --------------------------------------------------------------------------------
def test_requests_are_recorded_without_the_key(emulator, us, keys, make_api):
    emulator.clear_requests()
    us.post("/api/users/update", json={"email": "a@example.com", "dataFields": {"k": 1}})
    us.get("/api/users/a@example.com")
    make_api(emulator.us_url, "wrong").get("/api/channels")
    entries = requests.get(f"{emulator.us_url}/_emulator/requests", timeout=TIMEOUT).json()["requests"]
    assert [e["path"] for e in entries] == ["/api/users/update", "/api/users/a@example.com", "/api/channels"]
    first = entries[0]
    assert first["method"] == "POST"
    assert first["body"] == {"email": "a@example.com", "dataFields": {"k": 1}}
    assert first["status"] == 200
    assert first["project_id"] == 100
    assert first["endpoint"] == "POST /api/users/update"
    assert first["api_key_present"] is True
    assert "Api-Key" not in first["headers"] and "User-Agent" in first["headers"]
    assert keys["us"] not in json.dumps(entries)
    assert entries[2]["status"] == 401 and entries[2]["project_id"] is None
    # Filters: by literal path, by endpoint id, by project.
    assert len(emulator.requests(path="/api/users/update")) == 1
    assert len(emulator.requests(path="GET /api/users/{email}")) == 1
    filtered = requests.get(f"{emulator.us_url}/_emulator/requests", params={"project": 100}, timeout=TIMEOUT)
    assert len(filtered.json()["requests"]) == 2
    assert requests.delete(f"{emulator.us_url}/_emulator/requests", timeout=TIMEOUT).ok
    assert emulator.requests() == []


def test_state_reset_and_seed_endpoints(emulator, us, seed):
    base = emulator.us_url + "/_emulator"
    us.post("/api/users/update", json={"email": "z@example.com"})
    state = requests.get(f"{base}/state", timeout=TIMEOUT).json()
    assert {"projects", "config", "sends", "events"} <= set(state)
    assert any(u["email"] == "z@example.com" for u in state["projects"][0]["users"])
    assert requests.post(f"{base}/reset", timeout=TIMEOUT).json() == {"ok": True}
    assert us.get("/api/users/getByEmail", params={"email": "z@example.com"}).json() == {}

    small = {"projects": [seed["projects"][2]]}
    resp = requests.post(f"{base}/seed", json=small, timeout=TIMEOUT)
    assert resp.json() == {"ok": True, "projects": 1}
    assert us.get("/api/channels").status_code == 401  # the US project is gone
    bad = requests.post(f"{base}/seed", json={"projects": [{"name": "no id"}]}, timeout=TIMEOUT)
    assert bad.status_code == 400 and "id" in bad.json()["error"]
    emulator.load_seed(seed)


def test_config_endpoint(emulator):
    base = emulator.us_url + "/_emulator/config"
    view = requests.get(base, timeout=TIMEOUT).json()
    assert view["config"]["ineligible_send_mode"] == "skip"
    assert view["effective_rate_limits"]["GET /api/users/getSentMessages"] == {
        "limit": 3,
        "period": 1.0,
        "per": "project",
    }
    assert view["effective_rate_limits"]["POST /api/templates/email/proof"]["per"] == "key"
    assert "POST /api/email/target" in view["endpoints"]
    changed = requests.put(base, json={"ineligible_send_mode": "error", "latency_ms": {"*": 0}}, timeout=TIMEOUT)
    assert changed.json()["config"]["ineligible_send_mode"] == "error"
    bad = requests.put(base, json={"ineligible_send_mode": "maybe"}, timeout=TIMEOUT)
    assert bad.status_code == 400
    unknown = requests.put(base, json={"no_such_option": 1}, timeout=TIMEOUT)
    assert unknown.status_code == 400
    assert requests.get(emulator.us_url + "/_emulator/nope", timeout=TIMEOUT).status_code == 404


def test_sends_and_events_inspection(emulator, us):
    us.post("/api/email/target", json={"campaignId": 42, "recipientEmail": "a@example.com"})
    us.post("/api/events/track", json={"eventName": "signedUp", "email": "a@example.com"})
    sends = requests.get(
        f"{emulator.us_url}/_emulator/sends", params={"email": "a@example.com"}, timeout=TIMEOUT
    ).json()["sends"]
    assert [(s["campaignId"], s["status"]) for s in sends] == [(42, "sent")]
    events = requests.get(f"{emulator.us_url}/_emulator/events", params={"project": 100}, timeout=TIMEOUT).json()[
        "events"
    ]
    assert [e["eventType"] for e in events] == ["emailSend", "customEvent"]
    assert events[1]["journeyIds"] == [60]


# -- persistence -----------------------------------------------------------------------------------
def test_state_file_round_trip(tmp_path, seed, keys, make_api):
    path = tmp_path / "state" / "emulator.json"
    with EmulatorServer(seed, state_file=path, rate_limits_enabled=False) as first:
        api = make_api(first.us_url, keys["us"])
        assert api.post("/api/users/update", json={"email": "kept@example.com", "dataFields": {"n": 1}}).ok
        assert api.post(
            "/api/users/updateSubscriptions", json={"email": "a@example.com", "unsubscribedChannelIds": [1]}
        ).ok
        assert api.post("/api/email/target", json={"campaignId": 42, "recipientEmail": "kept@example.com"}).ok
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["emulator.json"]  # no temp files left behind
    saved = json.loads(path.read_text())
    assert any(u["email"] == "kept@example.com" for u in saved["projects"][0]["users"])

    # A new process with the same state file (and a seed that lacks the user) sees the old data.
    with EmulatorServer(seed, state_file=path) as second:
        api = make_api(second.us_url, keys["us"])
        assert api.user("kept@example.com")["dataFields"]["n"] == 1
        assert api.user("a@example.com")["dataFields"]["unsubscribedChannelIds"] == [1]
        messages = api.get("/api/users/getSentMessages", params={"email": "kept@example.com"}).json()
        assert [m["campaignId"] for m in messages["messages"]] == [42]
        second.reset()  # back to the seed, and the file follows
        assert api.get("/api/users/getByEmail", params={"email": "kept@example.com"}).json() == {}
    assert "kept@example.com" not in path.read_text()


def test_state_object_loads_snapshot_as_seed(seed):
    first = State(seed)
    first.projects[100].create_user("snap@example.com")
    again = State(first.snapshot())
    assert again.projects[100].get_user("snap@example.com") is not None


# -- command line ----------------------------------------------------------------------------------
def test_cli_serves_both_hosts(tmp_path, seed, keys, make_api):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iterable_emulator",
            "--port",
            "0",
            "--eu-port",
            "0",
            "--seed",
            str(seed_file),
            "--state-file",
            str(tmp_path / "state.json"),
            "--host",
            "127.0.0.1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("Iterable emulator: US http://127.0.0.1:"), line + proc.stderr.read()
        us_url, eu_url = line.split()[3], line.split()[5]
        assert make_api(us_url, keys["us"]).get("/api/channels").status_code == 200
        assert make_api(eu_url, keys["eu"]).get("/api/channels").status_code == 200
        assert make_api(eu_url, keys["us"]).get("/api/channels").status_code == 401
        assert make_api(us_url, keys["us"]).post("/api/users/update", json={"email": "cli@example.com"}).ok
        assert "cli@example.com" in (tmp_path / "state.json").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_cli_reports_a_bad_seed(tmp_path):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text('{"projects": [{"id": "x"}]}')
    done = subprocess.run(
        [sys.executable, "-m", "iterable_emulator", "--seed", str(seed_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "cannot load state" in done.stderr


def test_example_seed_loads(make_api):
    with EmulatorServer() as emu:
        api = make_api(emu.us_url, "demo-us-key-0000000000000000000000")
        assert api.get("/api/channels").status_code == 200
        assert make_api(emu.eu_url, "demo-eu-key-0000000000000000000000").get("/api/messageTypes").ok
