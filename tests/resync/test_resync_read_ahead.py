"""A resync reads and merges its next batch while the current batch's write is in flight, and never waits for
Iterable to stop when its time is up (the engine's ``ReadAhead`` and ``iterable_support.call_while``)."""

from __future__ import annotations

import threading
import time

import pytest
from _resync_seed import iterable_user

from catalog.iterable import IterableClient, IterableError
from catalog.models import ContactPreference, ResyncItem
from catalog.resync.selectors import resync_progress
from catalog.resync.services import process
from catalog.resync.services.ingest import preference_upsert
from catalog.resync.services.process import resync_process
from catalog.resync.services.rules import resync_settings_update
from catalog.resync.services.runs import resync_start
from catalog.services.iterable_support import call_while

WRITE = "POST /api/users/bulkUpdateSubscriptions"


@pytest.fixture
def timeline(monkeypatch):
    """What happened, in order: each batch read ("read", after) and each write's start and end."""
    events: list[tuple] = []
    lock = threading.Lock()
    read, write = process._next_items, IterableClient.bulk_update_subscriptions

    def reading(run, after):
        items = read(run, after)
        with lock:
            events.append(("read", after, [item.pk for item in items]))
        return items

    def writing(self, rows, **options):
        with lock:
            events.append(("write", "start", [row["email"] for row in rows]))
        try:
            return write(self, rows, **options)
        finally:
            with lock:
                events.append(("write", "end", None))

    monkeypatch.setattr(process, "_next_items", reading)
    monkeypatch.setattr(IterableClient, "bulk_update_subscriptions", writing)
    return events


def test_the_next_batch_is_read_while_the_write_is_in_flight_and_each_row_is_sent_once(project, emulator, timeline):
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"}, batch_size=2)
    emails = [f"a{i}@example.com" for i in range(5)]
    preference_upsert(project=project, actor="t", rows=[{"email": e, "email_list_ids": [21]} for e in emails])
    emulator.configure(latency_ms={WRITE: 300})  # a write long enough that a read done meanwhile is surely inside
    run = resync_start(project=project, actor="t", everyone=True, compare="auto").run
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"

    reads = [event for event in timeline if event[0] == "read"]
    batches = [event[2] for event in reads if event[2]]
    item_ids = list(ResyncItem.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    assert batches == [item_ids[0:2], item_ids[2:4], item_ids[4:5]]  # in order, none read twice
    # The last read ahead finds none; the loop's own read, from the first pending row, decides the run is done.
    assert [event[1] for event in reads] == [0, item_ids[1], item_ids[3], item_ids[4], 0]
    # Every read but the first happened between a write's start and its end: while it was in flight.
    for _, after, _ in reads[1:-1]:
        at = next(i for i, event in enumerate(timeline) if event[:2] == ("read", after))
        assert timeline[at - 1][:2] == ("write", "start") and timeline[at + 1][:2] == ("write", "end"), timeline
    sent = [email for event in timeline if event[:2] == ("write", "start") for email in event[2]]
    assert sorted(sent) == emails  # each contact once
    assert resync_progress(run=run)["done"] == 5
    assert all(iterable_user(emulator, e)["emailListIds"] == [21] for e in emails)


def test_a_batch_read_ahead_is_dropped_when_its_batch_must_be_sent_again(project, emulator, timeline):
    """A batch refused as too large is halved and its rows stay pending: the batch read meanwhile, which starts
    after them, is not used; the next read starts again from the first pending row."""
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"}, batch_size=4)
    emulator.configure(batch_limits={WRITE: 3})
    emails = [f"b{i}@example.com" for i in range(6)]
    preference_upsert(project=project, actor="t", rows=[{"email": e, "email_list_ids": [22]} for e in emails])
    run = resync_start(project=project, actor="t", everyone=True, compare="auto").run
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"
    item_ids = list(ResyncItem.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    reads = [(event[1], event[2]) for event in timeline if event[0] == "read"]
    assert reads[0] == (0, item_ids[:4])  # refused: 4 rows over the limit of 3
    assert reads[1] == (item_ids[3], item_ids[4:])  # read while the refused write was in flight...
    assert reads[2] == (0, item_ids[:2])  # ...and dropped: the halved batch starts from the first row again
    accepted = [event[2] for event in timeline if event[:2] == ("write", "start")][1:]
    assert sorted(email for rows in accepted for email in rows) == emails
    assert resync_progress(run=run)["done"] == 6
    assert all(iterable_user(emulator, e)["emailListIds"] == [22] for e in emails)


def test_a_read_ahead_is_not_used_once_someone_else_moved_the_run(project, emulator, timeline, monkeypatch):
    """Another worker's checkpoint (a resume after this one's lease lapsed) makes the batch read ahead stale:
    the loop reads again from the first pending row, and each row is still sent once."""
    from catalog.models import ResyncRun

    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"}, batch_size=2)
    emails = [f"s{i}@example.com" for i in range(4)]
    preference_upsert(project=project, actor="t", rows=[{"email": e, "email_list_ids": [21]} for e in emails])
    read = process._next_items
    bumped = []

    def moved_meanwhile(run, after):
        items = read(run, after)
        if after and not bumped:  # the first read ahead: someone else checkpoints a batch meanwhile
            bumped.append(after)
            ResyncRun.objects.filter(pk=run.pk).update(batches_done=run.batches_done + 5)
        return items

    monkeypatch.setattr(process, "_next_items", moved_meanwhile)
    run = resync_start(project=project, actor="t", everyone=True, compare="auto").run
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"
    item_ids = list(ResyncItem.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    reads = [event[1] for event in timeline if event[0] == "read"]
    assert reads[:3] == [0, item_ids[1], 0]  # read ahead, found stale, read again from the start
    sent = [email for event in timeline if event[:2] == ("write", "start") for email in event[2]]
    assert sorted(sent) == emails
    assert resync_progress(run=run)["done"] == 4


def test_a_failed_read_ahead_leaves_the_batch_written_and_checkpointed(project, emulator, monkeypatch, caplog):
    """The read done during a write fails (a database hiccup): the write is still checkpointed, the error is
    logged, and the loop reads the next batch itself."""
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"}, batch_size=2)
    emails = [f"f{i}@example.com" for i in range(3)]
    preference_upsert(project=project, actor="t", rows=[{"email": e, "email_list_ids": [23]} for e in emails])
    read = process._next_items
    failed = []

    def failing_once(run, after):
        if after and not failed:
            failed.append(after)
            raise RuntimeError("the database went away for a moment")
        return read(run, after)

    monkeypatch.setattr(process, "_next_items", failing_once)
    run = resync_start(project=project, actor="t", everyone=True, compare="auto").run
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"
    assert failed and "Reading the next batch ahead failed" in caplog.text
    assert len(emulator.requests(path=WRITE)) == 2  # nothing sent twice
    assert resync_progress(run=run)["done"] == 3


def test_an_empty_read_ahead_does_not_end_a_run_that_has_rows_pending(project, emulator, monkeypatch):
    """Rows put back to pending below the batch (failed ones retried) are not in a read ahead, which starts
    after the batch: a read ahead that finds nothing never ends the run; the loop's own read finds them."""
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"}, batch_size=2)
    emails = [f"e{i}@example.com" for i in range(3)]  # batches [e0, e1] and [e2]
    preference_upsert(project=project, actor="t", rows=[{"email": e, "email_list_ids": [21]} for e in emails])
    read = process._next_items
    reset = []

    def reset_meanwhile(run, after):
        items = read(run, after)
        if after and not items and not reset:  # the last read ahead, during the last write
            reset.append(after)
            # A row of an earlier batch, failed and put back by "retry failed" (its id is below the batch's).
            first = ResyncItem.objects.filter(run=run).order_by("id").first()
            ResyncItem.objects.filter(pk=first.pk).update(status=ResyncItem.Status.PENDING)
        return items

    monkeypatch.setattr(process, "_next_items", reset_meanwhile)
    run = resync_start(project=project, actor="t", everyone=True, compare="auto").run
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"
    assert reset
    assert not ResyncItem.objects.filter(run=run, status=ResyncItem.Status.PENDING).exists()
    assert len(emulator.requests(path=WRITE)) == 3  # the put-back row was sent again in a batch of its own


def test_a_merge_that_reads_iterable_reads_it_for_its_own_batch_not_ahead(project, emulator, monkeypatch):
    """With an array owned in part, the merge needs Iterable's current state. Read a whole write early, a change
    made in Iterable meanwhile would be overwritten: those reads wait for their own batch, after the write
    before it has its answer."""
    resync_settings_update(project=project, actor="t", scope={"emailListIds": [21, 22]}, batch_size=1)
    emails = ["p0@example.com", "p1@example.com"]
    preference_upsert(project=project, actor="t", rows=[{"email": e, "email_list_ids": [22]} for e in emails])
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    get, write = IterableClient.get_user_by_email, IterableClient.bulk_update_subscriptions

    def reading(self, email, **options):
        with lock:
            events.append(("read", email))
        return get(self, email, **options)

    def writing(self, rows, **options):
        try:
            return write(self, rows, **options)
        finally:
            with lock:
                events.append(("written", rows[0]["email"]))

    monkeypatch.setattr(IterableClient, "get_user_by_email", reading)
    monkeypatch.setattr(IterableClient, "bulk_update_subscriptions", writing)
    emulator.configure(latency_ms={WRITE: 300})
    run = resync_start(project=project, actor="t", everyone=True, compare="auto").run
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"
    assert events == [("read", emails[0]), ("written", emails[0]), ("read", emails[1]), ("written", emails[1])]


def test_a_contact_changed_after_its_batch_was_read_stays_changed(project, emulator, monkeypatch):
    """The "resynced" marker is the time the batch's contacts were read: a change stored after that (here while
    the second batch is merged, during the first batch's write) is still "changed since the last resync"."""
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"}, batch_size=1)
    emails = ["c0@example.com", "c1@example.com"]
    preference_upsert(project=project, actor="t", rows=[{"email": e, "email_list_ids": [21]} for e in emails])
    merged = process._merged

    def change_meanwhile(run, items, *args):
        decided = merged(run, items, *args)
        changed = [item.contact.email for item in items]
        ContactPreference.objects.filter(email__in=changed).update(changed_at=process.timezone.now())
        return decided

    monkeypatch.setattr(process, "_merged", change_meanwhile)
    run = resync_start(project=project, actor="t", everyone=True, compare="auto").run
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"
    for contact in ContactPreference.objects.filter(email__in=emails):
        assert contact.resynced_at < contact.changed_at, contact.email


def test_call_while_runs_both_at_once_and_returns_the_calls_answer():
    started = threading.Event()

    def call():
        assert started.wait(5), "meanwhile did not run while the call was in flight"
        return "answer"

    assert call_while(call, started.set) == "answer"


def test_call_while_raises_the_calls_iterable_error():
    def call():
        raise IterableError("Exceeded rate limit", code="RateLimitExceeded", status=429)

    with pytest.raises(IterableError) as exc:
        call_while(call, lambda: None)
    assert exc.value.code == "RateLimitExceeded"


def test_call_while_does_not_wait_for_the_call_when_this_thread_is_stopped():
    """A task stopped at its time limit raises in its own thread: it ends then, not when Iterable answers."""
    answered = threading.Event()

    def slow_call():
        answered.wait(10)

    def stopped():
        raise TimeoutError("the task's time is up")

    began = time.monotonic()
    with pytest.raises(TimeoutError):
        call_while(slow_call, stopped)
    assert time.monotonic() - began < 5
    answered.set()
