"""The client under a deadline (a web request's Iterable budget): every wait is held to what is left."""

import pytest

from catalog.iterable import IterableError
from catalog.iterable.client import MIN_ATTEMPT_SECONDS, call_deadline


def test_a_pacing_wait_past_the_deadline_raises_at_once(make_client, emulator, fake_sleep):
    client = make_client(pacing=True, rate_limits={"GET /api/channels": (1, 60)})
    client.get_channels()  # takes the minute's only slot
    emulator.clear_requests()
    with call_deadline(2), pytest.raises(IterableError) as caught:
        client.get_channels()
    assert caught.value.code == "DeadlineExceeded" and "rate limit" in caught.value.msg
    assert fake_sleep.calls == [] and emulator.requests() == []  # neither waited nor sent


def test_a_retry_pause_past_the_deadline_raises_instead_of_sleeping(make_client, emulator, fake_sleep):
    emulator.configure(faults=[{"endpoint": "GET /api/channels", "kind": "error503", "count": 5}])
    client = make_client(backoff_base=5, backoff_max=5)  # a 2.5-5 s pause: more than the deadline leaves
    with call_deadline(1), pytest.raises(IterableError) as caught:
        client.get_channels()
    assert caught.value.code == "DeadlineExceeded" and caught.value.retryable
    assert "last answer" in caught.value.msg and fake_sleep.calls == []
    assert len(emulator.requests(path="/api/channels")) == 1


def test_no_attempt_starts_once_the_deadline_has_passed(make_client, emulator):
    client = make_client()
    with call_deadline(MIN_ATTEMPT_SECONDS / 2), pytest.raises(IterableError) as caught:
        client.get_channels()
    assert caught.value.code == "DeadlineExceeded"
    assert emulator.requests() == []


def test_without_a_deadline_nothing_changes(make_client, emulator, fake_sleep):
    emulator.configure(faults=[{"endpoint": "GET /api/channels", "kind": "error503", "count": 2}])
    client = make_client(backoff_base=5, backoff_max=5)
    assert client.get_channels()  # two pauses (recorded, not slept), then an answer
    assert len(fake_sleep.calls) == 2
