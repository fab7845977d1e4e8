"""Rate limits (429), injected faults and latency, and concurrency safety."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests


# -- rate limits -----------------------------------------------------------------------------------
def test_rate_limit_answers_429_after_the_limit(emulator, us, us2, check_schema):
    emulator.configure(rate_limits_enabled=True, rate_limits={"GET /api/channels": {"limit": 3, "period": 60}})
    statuses = [us.get("/api/channels").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    resp = us.get("/api/channels")
    body = resp.json()
    check_schema("IterableApiResponse", body)
    assert body == {
        "msg": "Exceeded rate limit of 3.0 per minute for endpoint: /api/channels, project: 100 ",
        "code": "RateLimitExceeded",
        "params": {},
    }
    assert "Retry-After" not in resp.headers
    assert not [h for h in resp.headers if h.lower().startswith("x-ratelimit")]
    # Per project and per endpoint: other projects and endpoints are unaffected.
    assert us2.get("/api/channels").status_code == 200
    assert us.get("/api/messageTypes").status_code == 200
    # Rejected requests are recorded too.
    assert [r["status"] for r in emulator.requests(path="/api/channels", project=100)][-1] == 429


def test_rate_limit_window_slides(emulator, us):
    emulator.configure(rate_limits_enabled=True, rate_limits={"GET /api/lists": {"limit": 2, "period": 0.3}})
    assert [us.get("/api/lists").status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(0.35)
    assert us.get("/api/lists").status_code == 200


def test_a_call_counts_against_the_limit_when_it_arrives_not_when_its_handling_reaches_the_check(emulator, us):
    """A call slowed on the server (here a second of latency, twice the window) still counts from its arrival:
    by the time it is answered its window has passed, and the next call is accepted, as at Iterable's gateway.
    Counted after the slow part, the first call would fill the window the second call arrives in: a 429."""
    emulator.configure(
        rate_limits_enabled=True,
        rate_limits={"GET /api/lists": {"limit": 1, "period": 0.5}},
        latency_ms={"GET /api/lists": 1000},
    )
    assert us.get("/api/lists").status_code == 200
    emulator.configure(latency_ms={"GET /api/lists": 0})
    assert us.get("/api/lists").status_code == 200
    assert us.get("/api/lists").status_code == 429  # the window still counts: the second call is in it


def test_the_limit_holds_for_calls_counted_out_of_order():
    """Calls are counted at arrival, and concurrent ones reach the limiter's lock in any order: the window
    is still exactly the calls that arrived within a period."""
    from iterable_emulator.ratelimit import RateLimiter

    limiter = RateLimiter()
    assert limiter.allow("b", 2, 1.0, now=0.51)
    assert limiter.allow("b", 2, 1.0, now=0.50)  # arrived first, counted second
    assert not limiter.allow("b", 2, 1.0, now=1.49)  # both still in (0.49, 1.49]
    assert limiter.allow("b", 2, 1.0, now=1.505)  # 0.50 has left the window; only 0.51 is in it
    assert not limiter.allow("b", 2, 1.0, now=1.506)


def test_documented_limit_is_the_default(emulator, us):
    emulator.configure(rate_limits_enabled=True)  # getSentMessages: 3/s per project, per the spec
    statuses = [us.get("/api/users/getSentMessages", params={"email": "a@example.com"}).status_code for _ in range(4)]
    assert statuses.count(429) >= 1 and statuses[:3] == [200, 200, 200]
    msg = us.get("/api/users/getSentMessages", params={"email": "a@example.com"}).json()["msg"]
    assert msg.startswith("Exceeded rate limit of 3.0 per second for endpoint: /api/users/getSentMessages")


def test_proof_limit_is_per_api_key(emulator, us, make_api, keys):
    emulator.configure(
        rate_limits_enabled=True, rate_limits={"POST /api/templates/email/proof": {"limit": 1, "period": 60}}
    )
    body = {"templateId": 30, "recipientEmail": "a@example.com"}
    assert us.post("/api/templates/email/proof", json=body).status_code == 200
    assert us.post("/api/templates/email/proof", json=body).status_code == 429
    other_key = make_api(emulator.us_url, keys["us_2"])  # same project, second key
    assert other_key.post("/api/templates/email/proof", json=body).status_code == 200


def test_undocumented_endpoints_use_the_configurable_default(emulator, us):
    emulator.configure(rate_limits_enabled=True, default_rate_limit={"limit": 2, "period": 60})
    payload = {"email": "a@example.com", "emailListIds": [20]}
    codes = [us.post("/api/users/updateSubscriptions", json=payload).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_global_switch_disables_limits(emulator, us):
    emulator.configure(rate_limits_enabled=False, rate_limits={"GET /api/channels": 1})
    assert {us.get("/api/channels").status_code for _ in range(4)} == {200}


def test_bad_rate_limit_config_is_rejected(emulator):
    resp = requests.put(f"{emulator.us_url}/_emulator/config", json={"rate_limits": {"GET /api/lists": -1}}, timeout=5)
    assert resp.status_code == 400


# -- faults and latency ----------------------------------------------------------------------------
def test_error_faults_are_consumed_in_order(emulator, us, check_schema):
    emulator.configure(
        faults=[
            {"endpoint": "GET /api/channels", "kind": "error500", "count": 2},
            {"endpoint": "GET /api/channels", "kind": "error503", "count": 1},
            {"endpoint": "GET /api/channels", "kind": "error429", "count": 1},
        ]
    )
    assert us.get("/api/messageTypes").status_code == 200  # other endpoints are untouched
    first = us.get("/api/channels")
    assert first.status_code == 500
    check_schema("IterableApiResponse", first.json())
    assert first.json()["code"] == "GenericError" and "try again later" in first.json()["msg"]
    assert us.get("/api/channels").status_code == 500
    unavailable = us.get("/api/channels")
    assert unavailable.status_code == 503 and unavailable.headers["Content-Type"].startswith("text/html")
    limited = us.get("/api/channels")
    assert limited.status_code == 429 and limited.json()["code"] == "RateLimitExceeded"
    assert us.get("/api/channels").status_code == 200


def test_fault_can_target_one_project(emulator, us, us2):
    emulator.configure(faults=[{"endpoint": "*", "kind": "error500", "count": 5, "project": 200}])
    assert us.get("/api/channels").status_code == 200
    assert us2.get("/api/channels").status_code == 500


def test_slow_response_times_out_the_client_but_the_send_happened(emulator, us):
    emulator.configure(faults=[{"endpoint": "POST /api/email/target", "kind": "slow", "seconds": 0.8}])
    with pytest.raises(requests.exceptions.ReadTimeout):
        us.post("/api/email/target", json={"campaignId": 42, "recipientEmail": "a@example.com"}, timeout=0.2)
    # The outcome of a timed-out send is "unknown" to the client; here it was processed.
    assert [s["status"] for s in emulator.sends(email="a@example.com")] == ["sent"]


def test_dropped_connection(emulator, us):
    emulator.configure(
        faults=[
            {"endpoint": "POST /api/users/update", "kind": "drop"},
            {"endpoint": "POST /api/users/update", "kind": "drop", "process": True},
        ]
    )
    with pytest.raises(requests.exceptions.ConnectionError):
        us.post("/api/users/update", json={"email": "drop1@example.com"})
    with pytest.raises(requests.exceptions.ConnectionError):
        us.post("/api/users/update", json={"email": "drop2@example.com"})
    assert us.get("/api/users/drop1@example.com").json() == {}  # dropped before processing
    assert us.user("drop2@example.com")["email"] == "drop2@example.com"  # dropped after processing
    assert [r["status"] for r in emulator.requests(path="/api/users/update")] == [None, None]
    assert us.post("/api/users/update", json={"email": "drop3@example.com"}).status_code == 200


def test_latency(emulator, us):
    """Latency is added to the endpoint it is set for, and only to it. The other call's time is read from the
    emulator's own record, not the test's clock: on a busy machine a round trip alone can take 150 ms."""
    emulator.configure(latency_ms={"GET /api/channels": 800})
    start = time.monotonic()
    assert us.get("/api/channels").ok
    assert time.monotonic() - start >= 0.8
    assert us.get("/api/lists").ok
    [channels] = emulator.requests(path="/api/channels")
    [lists] = emulator.requests(path="/api/lists")
    assert channels["duration_ms"] >= 800 > lists["duration_ms"]


# -- concurrency -----------------------------------------------------------------------------------
def test_concurrent_writes_lose_nothing(emulator, us):
    """Many threads writing to the same profile through different endpoints at once."""
    barrier = threading.Barrier(8)

    def field_writer(i: int) -> int:
        if i < 8:
            barrier.wait(timeout=5)
        return us.post("/api/users/update", json={"email": "a@example.com", "dataFields": {f"f{i}": i}}).status_code

    def list_toggler(list_id: int) -> int:
        return us.patch(f"/api/subscriptions/emailList/{list_id}/user/a@example.com").status_code

    def channel_unsub(channel_id: int) -> int:
        return us.delete(f"/api/subscriptions/messageChannel/{channel_id}/user/a@example.com").status_code

    def bulk(i: int) -> int:
        rows = [{"email": f"c{i}-{j}@example.com", "emailListIds": [20]} for j in range(10)]
        return us.post("/api/users/bulkUpdateSubscriptions", json={"updateSubscriptionsRequests": rows}).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        futures = [pool.submit(field_writer, i) for i in range(40)]
        futures += [pool.submit(list_toggler, lid) for lid in (20, 22)]
        futures += [pool.submit(channel_unsub, cid) for cid in (1, 2, 3)]
        futures += [pool.submit(bulk, i) for i in range(10)]
        statuses = [f.result(timeout=30) for f in futures]
    assert set(statuses) == {200}
    fields = us.user("a@example.com")["dataFields"]
    assert {k: v for k, v in fields.items() if re.fullmatch(r"f\d+", k)} == {f"f{i}": i for i in range(40)}
    assert sorted(fields["emailListIds"]) == [20, 22]
    assert sorted(fields["unsubscribedChannelIds"]) == [1, 2, 3]
    snapshot = emulator.snapshot()
    users = {u["email"] for u in snapshot["projects"][0]["users"]}
    assert {f"c{i}-{j}@example.com" for i in range(10) for j in range(10)} <= users
    assert len(emulator.requests(path="/api/users/update")) == 40


def test_concurrent_sends_are_all_recorded(emulator, us):
    def send(i: int) -> int:
        return us.post("/api/email/target", json={"campaignId": 42, "recipientEmail": f"s{i}@example.com"}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(send, range(48))) == {200}
    assert len(emulator.sends(status="sent")) == 48
    assert len({s["messageId"] for s in emulator.sends()}) == 48
