"""Events: track, trackBulk, and the per-user event history."""

from __future__ import annotations

import re

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00$")


def test_track(us, emulator, check_schema):
    resp = us.post(
        "/api/events/track",
        json={
            "eventName": "signedUp",
            "email": "a@example.com",
            "dataFields": {"plan": "trial"},
            "createdAt": 1612303847,
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    check_schema("IterableApiResponse", body)
    event_id = body["params"]["id"]
    assert body["msg"] == f"Event with id: {event_id} tracked."
    history = us.get("/api/events/a@example.com").json()
    check_schema("GetEventsResponse", history)
    [event] = history["events"]
    assert event["eventName"] == "signedUp" and event["eventType"] == "customEvent"
    assert event["createdAt"] == "2021-02-02 22:10:47 +00:00"
    assert event["dataFields"] == {"plan": "trial"}
    # The emulator also notes which journeys the event would enter (inspection API only).
    assert emulator.events(email="a@example.com")[0]["journeyIds"] == [60]
    assert "journeyIds" not in event


def test_track_with_user_id_new_email_and_fixed_id(us):
    assert us.post("/api/events/track", json={"eventName": "x", "userId": "ub"}).ok
    assert us.get("/api/events/b@example.com").json()["events"][0]["userId"] == "ub"
    assert us.post("/api/events/track", json={"eventName": "x", "email": "evt.new@example.com"}).ok
    assert us.user("evt.new@example.com")["email"] == "evt.new@example.com"
    for n in (1, 2):
        resp = us.post(
            "/api/events/track",
            json={"eventName": "x", "email": "a@example.com", "id": "fixed", "dataFields": {"n": n}},
        )
        assert resp.json()["params"] == {"id": "fixed"}
    [event] = us.get("/api/events/a@example.com").json()["events"]
    assert event["dataFields"] == {"n": 2}  # same id: updated, not duplicated


def test_track_without_event_name_is_bad_json_body(us, check_schema):
    resp = us.post("/api/events/track", json={"email": "a@example.com"})
    assert resp.status_code == 400
    body = resp.json()
    check_schema("IterableApiResponse", body)
    assert body["code"] == "BadJsonBody"
    assert body["params"] == {"obj.eventName": [{"msg": "error.path.missing", "args": []}]}
    blank = us.post("/api/events/track", json={"email": "a@example.com", "eventName": "  "})
    assert blank.status_code == 400
    assert blank.json()["params"] == {"obj.eventName": [{"msg": "error.path.missing", "args": []}]}


def test_track_other_errors(us):
    assert us.post("/api/events/track", json={"eventName": "x", "email": "foo@"}).json() == {
        "msg": "Invalid email: foo@",
        "code": "InvalidEmailAddressError",
        "params": None,
    }
    assert us.post("/api/events/track", json={"eventName": "x"}).json()["code"] == "BadParams"
    assert us.post("/api/events/track", json={"eventName": "x", "userId": "ghost"}).json()["code"] == (
        "UnknownUserIdError"
    )
    typed = us.post("/api/events/track", json={"eventName": 3, "email": "a@example.com", "createdAt": "now"})
    assert typed.json()["params"] == {
        "obj.eventName": [{"msg": "error.expected.jsstring", "args": []}],
        "obj.createdAt": [{"msg": "error.expected.jsnumber", "args": []}],
    }


def test_track_bulk(us, check_schema):
    resp = us.post(
        "/api/events/trackBulk",
        json={
            "events": [
                {"eventName": "a", "email": "a@example.com"},
                {"eventName": "b", "userId": "ub", "createdAt": 1612303847},
                {"eventName": "c", "email": "bad@"},
                {"eventName": "d", "userId": "ghost"},
            ]
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    check_schema("BulkTrackResponse", body)
    assert (body["successCount"], body["failCount"]) == (2, 2)
    assert body["invalidEmails"] == ["bad@"] and body["invalidUserIds"] == ["ghost"]
    assert body["failedUpdates"]["notFoundUserIds"] == ["ghost"]
    assert [e["eventName"] for e in us.get("/api/events/b@example.com").json()["events"]] == ["b"]


def test_track_bulk_body_errors_use_json_paths(us):
    missing = us.post(
        "/api/events/trackBulk",
        json={"events": [{"eventName": "a", "email": "a@example.com"}, {"email": "a@example.com"}]},
    )
    assert missing.json()["params"] == {"obj.events[1].eventName": [{"msg": "error.path.missing", "args": []}]}
    stamp = us.post(
        "/api/events/trackBulk",
        json={"events": [{"eventName": "a", "email": "a@example.com"}, {"eventName": "a", "createdAt": "yesterday"}]},
    )
    assert stamp.status_code == 400
    assert stamp.json()["params"] == {"obj.events[1].createdAt": "Number value expected"}
    assert us.get("/api/events/a@example.com").json()["events"] == []  # nothing applied


def test_events_history_order_limit_and_errors(us):
    for i in range(5):
        us.post("/api/events/track", json={"eventName": f"e{i}", "email": "a@example.com", "createdAt": 1612300000 + i})
    events = us.get("/api/events/a@example.com", params={"limit": 3}).json()["events"]
    assert [e["eventName"] for e in events] == ["e4", "e3", "e2"]
    assert all(DATE_RE.match(e["createdAt"]) for e in events)
    by_id = us.get("/api/events/byUserId/ua").json()["events"]
    assert len(by_id) == 5
    assert us.get("/api/events/nobody@example.com").json() == {"events": []}
    assert us.get("/api/events/a@example.com", params={"limit": 200}).ok
    too_many = us.get("/api/events/a@example.com", params={"limit": 201})
    assert too_many.status_code == 400 and too_many.json()["code"] == "BadParams"
    assert us.get("/api/events/foo@").json()["code"] == "InvalidEmailAddressError"


def test_events_are_per_project(us, us2):
    us.post("/api/events/track", json={"eventName": "x", "email": "shared@example.com"})
    assert us2.get("/api/events/shared@example.com").json() == {"events": []}
