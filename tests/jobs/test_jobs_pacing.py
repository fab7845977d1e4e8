"""A job's calls per row (deletes, reads) start in order, evenly spaced, so threads sharing a window never
reach Iterable faster than its limit (the emulator's rate limiter on, as Iterable's)."""

import threading
import time

import pytest
from factories import UserFactory

from catalog.iterable import client_for_project
from catalog.iterable.pacing import SpacedWindow
from catalog.jobs.services.process import job_process
from catalog.jobs.services.runs import job_run_approve, job_run_start
from catalog.jobs.services.setup import job_save
from catalog.jobs.services.sources import rows_from_json
from catalog.models import JobItem

DELETE = "DELETE /api/users/{email}"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_calls_start_in_order_evenly_spaced():
    clock = FakeClock()
    window = SpacedWindow(4, 1.0, clock=clock)
    calls = [window.acquire() for _ in range(4)]
    assert [delay for _, delay in calls] == pytest.approx([0, 0.25, 0.5, 0.75])
    for call, _ in calls:
        window.release(call)
    clock.now += 10  # after a pause, no burst to catch up: the next call starts now, then a gap again
    assert [window.acquire()[1] for _ in range(2)] == pytest.approx([0, 0.25])


def test_a_call_waits_a_window_after_the_call_a_window_before_it_ended():
    """The call a window before started on time but its answer came late (its thread was descheduled, the
    server was busy): the next window counts from that answer, which came after the server counted it."""
    clock = FakeClock()
    window = SpacedWindow(2, 1.0, clock=clock)
    first, _ = window.acquire()
    second, delay = window.acquire()
    assert delay == pytest.approx(0.5)
    clock.now += 0.8
    window.release(first)  # answered 0.8 s after it started
    clock.now += 0.1
    window.release(second)
    _, delay = window.acquire()
    assert delay == pytest.approx(0.8 + 1.0 - 0.9)  # a period after the first call ended, not after it started


def test_a_window_full_of_calls_in_flight_waits_for_one_to_end():
    clock = FakeClock()
    window = SpacedWindow(1, 1.0, clock=clock)
    first, _ = window.acquire()
    started = []
    waiter = threading.Thread(target=lambda: started.append(window.acquire()))
    waiter.start()
    waiter.join(timeout=0.2)
    assert waiter.is_alive() and not started  # the only place is still in flight
    window.release(first)
    waiter.join(timeout=2)
    assert started and started[0][1] == pytest.approx(1.0)


@pytest.fixture
def limited_emulator(emulator):
    emulator.configure(rate_limits_enabled=True)
    yield emulator
    emulator.configure(rate_limits_enabled=False)  # the config outlives reset(): the other tests run unlimited


def test_parallel_deletes_meet_no_rate_limit(project, limited_emulator):
    """Eight threads deleting 250 people at the documented 100 a second: not one 429, every one deleted."""
    emails = [f"gone{i}@example.com" for i in range(250)]
    client_for_project(project).bulk_update_users([{"email": e, "dataFields": {"plan": "free"}} for e in emails])
    requester, approver = UserFactory(username="req"), UserFactory(username="appr")
    data = {"project": project, "name": "iterable_user_deletion", "action": "delete_users", "read_concurrency": 8,
            "batch_size": 100}  # fmt: skip
    job = job_save(actor=requester, data=data)
    run = job_run_start(actor=requester, job=job, rows=rows_from_json([{"email": e} for e in emails]), origin="api")
    job_run_approve(actor=approver, run=run)
    limited_emulator.clear_requests()
    began = time.monotonic()
    assert job_process(run_id=run.pk, slice_seconds_=60) == "done"
    elapsed = time.monotonic() - began
    deletes = limited_emulator.requests(path=DELETE)
    assert [r["status"] for r in deletes if r["status"] != 200] == []
    assert len(deletes) == 250
    assert run.items.filter(status=JobItem.Status.DONE, outcome="deleted").count() == 250
    assert elapsed >= 249 * 1.0 / 100  # evenly spaced at (a little under) 100 a second, never a burst
