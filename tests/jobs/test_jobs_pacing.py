"""A job's calls per row (deletes, reads) start in order, evenly spaced, so threads sharing a window never
reach Iterable faster than its limit (the emulator's rate limiter on, as Iterable's)."""

import time

import pytest
from factories import UserFactory

from catalog.iterable import client_for_project
from catalog.iterable.pacing import SlidingWindow
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


def test_a_spread_window_hands_out_slots_in_order_and_evenly_spaced():
    clock = FakeClock()
    window = SlidingWindow(4, 1.0, clock=clock, spread=True)
    assert [window.acquire() for _ in range(6)] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0, 1.25])
    clock.now += 10  # after a pause, no burst to catch up: the next slot is now, then a gap again
    assert [window.acquire() for _ in range(2)] == pytest.approx([0, 0.25])


def test_a_plain_window_still_allows_a_burst():
    window = SlidingWindow(4, 1.0, clock=FakeClock())
    assert [window.acquire() for _ in range(5)] == pytest.approx([0, 0, 0, 0, 1.0])


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
