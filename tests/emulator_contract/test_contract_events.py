"""Events with millisecond timestamps, and trackBulk that either applies every row or none."""

from __future__ import annotations

import pytest
from _contract_seed import KNOWN, PROJECT_ID
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError

MS = 1_650_000_000_000
MS_TEXT = "2022-04-15 05:20:00 +00:00"


def _custom(emulator, email):
    return [e for e in emulator.events(project=PROJECT_ID, email=email) if e["eventType"] == "customEvent"]


def test_track_with_epoch_milliseconds_through_both_clients(emulator, ours, theirs):
    ours.track("signedUp", email=KNOWN, created_at=MS)
    answer = theirs.events.track(event_name="renewed", email=KNOWN, created_at=MS + 60_000)
    assert answer.status_code == 200 and answer.data["code"] == "Success"
    history = {e["eventName"]: e["createdAt"] for e in ours.get_events(KNOWN)}
    assert history == {"signedUp": MS_TEXT, "renewed": "2022-04-15 05:21:00 +00:00"}


def test_track_with_epoch_seconds_still_reads_as_seconds(emulator, ours):
    ours.track("signedUp", email=KNOWN, created_at=MS // 1000)
    assert ours.get_events(KNOWN)[0]["createdAt"] == MS_TEXT


def test_track_bulk_with_milliseconds_through_both_clients(emulator, ours, theirs):
    answer = ours.track_bulk([{"eventName": "a", "email": KNOWN, "createdAt": MS}])
    assert answer["successCount"] == 1
    theirs_answer = theirs.post(
        "/api/events/trackBulk", data={"events": [{"eventName": "b", "email": "new@example.com", "createdAt": MS}]}
    )
    assert theirs_answer.status_code == 200 and theirs_answer.data["successCount"] == 1
    assert [e["createdAt"] for e in _custom(emulator, KNOWN)] == [MS_TEXT]
    assert [e["createdAt"] for e in _custom(emulator, "new@example.com")] == [MS_TEXT]


def test_out_of_range_created_at_is_400_never_500(emulator, ours, theirs):
    with pytest.raises(IterableError) as caught:
        ours.track("x", email=KNOWN, created_at=10**19)
    assert caught.value.status == 400 and caught.value.code == "BadParams"
    assert caught.value.params == {"obj.createdAt": "Timestamp out of range"}
    with pytest.raises(InvalidParameters):
        theirs.events.track(event_name="x", email=KNOWN, created_at=-5)
    assert _custom(emulator, KNOWN) == []


def test_created_at_unit_switch(emulator, ours):
    emulator.configure(created_at_unit="seconds")
    with pytest.raises(IterableError) as caught:
        ours.track("x", email=KNOWN, created_at=MS)  # as seconds: the year 54258
    assert caught.value.status == 400
    emulator.configure(created_at_unit="milliseconds")
    ours.track("y", email=KNOWN, created_at=MS)
    assert ours.get_events(KNOWN)[0]["createdAt"] == MS_TEXT


def test_failing_track_bulk_applies_nothing(emulator, ours, theirs):
    rows = [
        {"eventName": "first", "email": "fresh@example.com", "createdAt": MS},
        {"eventName": "second", "email": KNOWN, "dataFields": {"n": 2}},
        {"eventName": "third", "email": KNOWN, "createdAt": 10**19},
    ]
    with pytest.raises(IterableError) as caught:
        ours.track_bulk(rows)
    assert caught.value.params == {"obj.events[2].createdAt": "Timestamp out of range"}
    with pytest.raises(InvalidParameters) as refused:
        theirs.post("/api/events/trackBulk", data={"events": rows})
    assert refused.value.args[0]["code"] == "BadParams"
    # The rows before the bad one were neither kept as events nor allowed to create a profile.
    assert emulator.events(project=PROJECT_ID) == []
    assert ours.get_user_by_email("fresh@example.com") is None


def test_a_crash_half_way_through_track_bulk_is_rolled_back(emulator, ours, monkeypatch):
    """The old failure: a 500 after some rows were applied. A handler bug on row 3 now undoes rows 1-2."""
    from iterable_emulator.app import EmulatorApp

    real = EmulatorApp._track_one
    calls = []

    def crash_on_third(self, ctx, row, path="obj"):
        calls.append(row["eventName"])
        if len(calls) == 3:
            raise RuntimeError("simulated emulator bug")
        return real(self, ctx, row, path)

    monkeypatch.setattr(EmulatorApp, "_track_one", crash_on_third)
    rows = [{"eventName": f"e{i}", "email": f"p{i}@example.com", "createdAt": MS} for i in range(4)]
    with pytest.raises(IterableError) as caught:
        ours.track_bulk(rows)
    assert caught.value.status == 500 and calls == ["e0", "e1", "e2"]
    assert emulator.events(project=PROJECT_ID) == []
    assert all(ours.get_user_by_email(f"p{i}@example.com") is None for i in range(4))
