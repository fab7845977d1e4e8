"""Resync runs against the emulator over loopback: dry run, apply, failures, retries, cancel, schedule."""

import time
from datetime import UTC, datetime

import pytest
from _resync_seed import iterable_user
from django.core.exceptions import ValidationError
from django_q.models import Schedule

from catalog.models import ContactPreference, ResyncItem, ResyncRun
from catalog.resync.selectors import resync_dry_run_report, resync_failures, resync_progress
from catalog.resync.services.ingest import preference_upsert
from catalog.resync.services.process import resync_process
from catalog.resync.services.rules import resync_settings_update
from catalog.resync.services.runs import (
    resync_apply,
    resync_cancel,
    resync_parse_emails,
    resync_retry_failed,
    resync_start,
)
from catalog.resync.tasks import resync_scheduled_task

WRITE = "POST /api/users/bulkUpdateSubscriptions"


def truth(project, rows):
    record = preference_upsert(project=project, actor="tests", rows=rows)
    assert record.rejected == 0, record.errors
    return record


def run_to_end(run):
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"
    run.refresh_from_db()
    return run


ROWS = [
    # Ada: unsubscribe from marketing push (3), opt into 11, join list 21; her channel 2, type 14 and list 23 stay.
    {
        "email": "ada@example.com",
        "unsubscribed_channel_ids": [3],
        "subscribed_message_type_ids": [11],
        "email_list_ids": [21],
    },
    # Bob already has exactly this: in sync.
    {"email": "bob@example.com", "subscribed_message_type_ids": [11]},
    # Cy is new to Iterable.
    {"email": "cy@example.com", "unsubscribed_channel_ids": [1], "email_list_ids": [22]},
]


def test_dry_run_reads_and_writes_nothing_then_apply_sends_only_differences(project, emulator):
    truth(project, ROWS)
    dry = run_to_end(resync_start(project=project, actor="tests", everyone=True, dry_run=True).run)
    assert emulator.requests(path=WRITE) == []
    report = resync_dry_run_report(run=dry)
    assert report["progress"]["outcomes"] == {"would_change": 2, "in_sync": 1}
    assert report["contacts_by_change"]["unsubscribedChannelIds:add"] == 2
    ada = next(s for s in report["samples"] if s["email"] == "ada@example.com")
    assert ada["arrays"]["subscribedMessageTypeIds"] == {"add": [11], "remove": []}
    assert not ContactPreference.objects.filter(resynced_at__isnull=False).exists()  # a dry run marks nothing

    applied = run_to_end(resync_apply(run=dry, actor="tests"))
    progress = resync_progress(run=applied)
    assert (progress["total"], progress["done"], progress["failed"], progress["pending"]) == (2, 2, 0, 0)
    [write] = emulator.requests(path=WRITE)
    rows = {r["email"]: r for r in write["body"]["updateSubscriptionsRequests"]}
    assert set(rows) == {"ada@example.com", "cy@example.com"}
    # Only arrays that differ are sent, each merged with what Iterable had outside the scope.
    assert rows["ada@example.com"] == {
        "email": "ada@example.com",
        "unsubscribedChannelIds": [2, 3],
        "subscribedMessageTypeIds": [14, 11],
        "emailListIds": [23, 21],
        # Type 14 (push promos, not owned by the truth) stays opted in although channel 3 is now unsubscribed.
        "validateChannelAlignment": False,
    }
    assert iterable_user(emulator, "ada@example.com") == {
        "unsubscribedChannelIds": [2, 3],
        "unsubscribedMessageTypeIds": [],
        "subscribedMessageTypeIds": [11, 14],
        "emailListIds": [21, 23],
    }
    assert iterable_user(emulator, "cy@example.com")["unsubscribedChannelIds"] == [1]
    ada = ContactPreference.objects.get(email="ada@example.com")
    assert ada.resynced_run == applied and ada.resynced_at is not None


def test_one_contact_and_pasted_list(project, emulator):
    truth(project, ROWS)
    emails, errors = resync_parse_emails("BOB@example.com, nobody@example.com\nnot-an-email")
    assert errors == [{"line": 2, "email": "not-an-email", "errors": ["invalid email"]}]
    start = resync_start(project=project, actor="tests", emails=emails)
    assert start.unknown_emails == ["nobody@example.com"]
    run = run_to_end(start.run)
    assert resync_progress(run=run)["outcomes"] == {"in_sync": 1}
    assert emulator.requests(path=WRITE) == []  # bob was already right: nothing sent
    assert ContactPreference.objects.get(email="bob@example.com").resynced_run == run


def test_auto_compare_with_owned_arrays_writes_without_reading(project, emulator):
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"})
    truth(project, [{"email": f"u{i}@example.com", "email_list_ids": [21]} for i in range(5)])
    run = run_to_end(resync_start(project=project, actor="t", everyone=True, compare="auto").run)
    assert emulator.requests(path="GET /api/users/getByEmail") == []
    assert len(emulator.requests(path=WRITE)) == 1
    assert resync_progress(run=run)["done"] == 5


def test_per_row_failures_are_recorded_and_retried(project, emulator):
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"})
    truth(
        project,
        [{"email": "ok@example.com", "email_list_ids": [21]}, {"email": "bad@example.com", "email_list_ids": [99]}],
    )
    run = run_to_end(resync_start(project=project, actor="t", everyone=True).run)
    [failure] = resync_failures(run=run)
    assert (failure["email"], failure["code"]) == ("bad@example.com", "validEmailFailure")
    assert ContactPreference.objects.get(email="bad@example.com").resynced_at is None
    truth(project, [{"email": "bad@example.com", "email_list_ids": [22]}])  # the truth is fixed
    assert resync_retry_failed(run=run, actor="t") == 1
    run = run_to_end(run)
    assert resync_progress(run=run)["failed"] == 0
    assert iterable_user(emulator, "bad@example.com")["emailListIds"] == [22]


def test_429_and_500_are_retried_by_the_client(project, emulator):
    truth(project, ROWS)
    emulator.configure(
        faults=[
            {"endpoint": WRITE, "kind": "error429", "count": 1},
            {"endpoint": WRITE, "kind": "error500", "count": 1},
        ]
    )
    run = run_to_end(resync_start(project=project, actor="t", everyone=True).run)
    assert resync_progress(run=run)["done"] == 2
    assert len(emulator.requests(path=WRITE)) == 3


def test_dropped_connections_and_timeouts_on_writes_are_retried(project, emulator, caplog):
    """Failure drill: the overwrite is safe to repeat, so a dropped connection or a read timeout (even after
    Iterable applied the batch) is retried, and the final state is the desired one."""
    from catalog.iterable import client_for_project

    client_for_project(project).timeout = (1.0, 0.5)
    truth(project, ROWS)
    emulator.configure(
        faults=[
            {"endpoint": WRITE, "kind": "drop", "count": 1, "process": True},
            {"endpoint": WRITE, "kind": "slow", "seconds": 1.0, "count": 1, "process": True},
        ]
    )
    run = run_to_end(resync_start(project=project, actor="t", everyone=True).run)
    assert resync_progress(run=run)["failed"] == 0
    retried = [r.getMessage() for r in caplog.records if "bulkUpdateSubscriptions failed" in r.getMessage()]
    assert [("ConnectionDropped" in m, "ReadTimeout" in m) for m in retried] == [(True, False), (False, True)]
    # The slow request the client gave up on is still finishing in the emulator: let it, so its record
    # cannot land in the next test's request log.
    deadline = time.monotonic() + 5
    while len(emulator.requests(path=WRITE)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(emulator.requests(path=WRITE)) == 3
    assert iterable_user(emulator, "cy@example.com")["unsubscribedChannelIds"] == [1]


@pytest.mark.parametrize("policy", ["continue", "stop"])
def test_a_batch_that_finally_fails(project, emulator, policy):
    resync_settings_update(project=project, actor="t", on_batch_error=policy, batch_size=2)
    truth(project, ROWS)
    emulator.configure(faults=[{"endpoint": WRITE, "kind": "error503", "count": 4}])  # the client tries 4 times
    run = resync_start(project=project, actor="t", everyone=True).run
    result = resync_process(run_id=run.pk, slice_seconds=60)
    progress = resync_progress(run=run)
    if policy == "continue":
        assert result == "done"
        assert (progress["failed"], progress["status"]) == (1, "done")  # ada; bob in sync; cy in batch 2
        assert {f["code"] for f in resync_failures(run=run)} == {"ServerError"}
    else:
        assert result == "stopped"
        assert (progress["status"], progress["pending"], progress["failed"]) == ("failed", 3, 0)
        assert "503" in progress["last_error"]
    resync_retry_failed(run=run, actor="t")
    run = run_to_end(run)
    assert resync_progress(run=run)["failed"] == 0
    assert iterable_user(emulator, "cy@example.com")["unsubscribedChannelIds"] == [1]


def test_progress_reads_what_the_worker_did_since_and_keeps_the_project_as_read(
    project, emulator, django_assert_num_queries
):
    truth(project, ROWS)
    started = resync_start(project=project, actor="t", emails=[row["email"] for row in ROWS], dry_run=True).run
    run = ResyncRun.objects.select_related("project").get(pk=started.pk)
    assert resync_process(run_id=run.pk, slice_seconds=60) == "done"  # the worker moves its own copy on
    assert run.status == "queued"
    progress = resync_progress(run=run)
    assert (progress["status"], progress["done"], progress["skipped"], progress["pending"]) == ("done", 2, 1, 0)
    assert progress["outcomes"] == {"would_change": 2, "in_sync": 1} and run.status == "done"
    with django_assert_num_queries(0):
        assert run.project.pk == project.pk


def test_batch_too_large_halves_the_batch(project, emulator):
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"}, batch_size=8)
    emulator.configure(batch_limits={WRITE: 3})
    truth(project, [{"email": f"u{i}@example.com", "email_list_ids": [21]} for i in range(7)])
    run = run_to_end(resync_start(project=project, actor="t", everyone=True, compare="auto").run)
    assert run.batch_size == 3  # 7 pending // 2, under the limit of 3
    assert resync_progress(run=run)["done"] == 7
    assert all(iterable_user(emulator, f"u{i}@example.com")["emailListIds"] == [21] for i in range(7))


def test_cancel_skips_pending_and_stops_the_worker(project, emulator):
    truth(project, ROWS)
    run = resync_start(project=project, actor="t", emails=[row["email"] for row in ROWS]).run
    resync_cancel(run=run, actor="t")
    assert resync_process(run_id=run.pk) == "busy"
    progress = resync_progress(run=run)
    assert (progress["status"], progress["skipped"], progress["outcomes"]) == ("cancelled", 3, {"cancelled": 3})
    assert emulator.requests(path=WRITE) == []
    # Everyone, cancelled before its task listed anyone: nothing is listed, nothing is sent.
    everyone = resync_start(project=project, actor="t", everyone=True).run
    resync_cancel(run=everyone, actor="t")
    assert resync_process(run_id=everyone.pk) == "busy"
    progress = resync_progress(run=everyone)
    assert (progress["status"], progress["total"], progress["listing"]) == ("cancelled", 0, False)
    assert emulator.requests(path=WRITE) == []


def test_everyone_is_listed_by_the_task_not_the_request(project, emulator, django_capture_on_commit_callbacks):
    truth(project, ROWS)
    with django_capture_on_commit_callbacks() as queued:
        run = resync_start(project=project, actor="t", everyone=True, dry_run=True).run
    assert (run.total, run.items.count()) == (0, 0)  # the request wrote the run alone
    progress = resync_progress(run=run)
    assert (progress["status"], progress["listing"]) == ("queued", True)
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()  # its task: lists the contacts, then resyncs them
    run.refresh_from_db()
    assert (run.status, run.total, run.items.count()) == ("done", 3, 3)
    assert resync_progress(run=run)["listing"] is False
    # Applying the dry run is listed by its task too: the contacts it found different.
    with django_capture_on_commit_callbacks(execute=True):
        applied = resync_apply(run=run, actor="t")
    applied.refresh_from_db()
    assert applied.status == "done" and applied.total == run.items.filter(outcome="would_change").count() > 0


def test_listed_items_are_the_selection_as_fresh_pending_items(project):
    from catalog.resync.services.process import _acquire, _list_contacts

    truth(project, ROWS)
    later = ContactPreference.objects.filter(project=project).order_by("pk").last()
    ContactPreference.objects.filter(pk=later.pk).update(changed_at="2999-01-01T00:00:00Z")
    run = resync_start(project=project, actor="t", changed_since=datetime(2500, 1, 1, tzinfo=UTC)).run
    assert _acquire(run.pk, "me")
    _list_contacts(run, "me")
    _list_contacts(run, "me")  # a second listing finds the items there and adds none
    run.refresh_from_db()
    items = list(run.items.values("contact_id", "status", "outcome", "diff", "error_code", "attempts", "batch_no"))
    assert run.total == 1 and items == [
        {"contact_id": later.pk, "status": "pending", "outcome": "", "diff": {}, "error_code": "", "attempts": 0,
         "batch_no": None}
    ]  # fmt: skip


def test_a_run_over_an_import_waits_for_the_import_to_finish(project):
    from catalog.resync.services.ingest import preference_import_start

    queued = preference_import_start(project=project, actor="t", file="email\nq@example.com\n")
    with pytest.raises(ValidationError, match="has not finished"):
        resync_start(project=project, actor="t", import_record=queued)


def test_lease_keeps_a_second_worker_out_and_slices_continue(project, emulator, django_capture_on_commit_callbacks):
    resync_settings_update(project=project, actor="t", batch_size=1)
    truth(project, ROWS)
    with django_capture_on_commit_callbacks() as started:
        run = resync_start(project=project, actor="t", everyone=True).run
    assert len(started) == 1  # enqueued on commit
    ResyncRun.objects.filter(pk=run.pk).update(lease_owner="someone-else", lease_until="2999-01-01T00:00:00Z")
    assert resync_process(run_id=run.pk) == "busy"
    ResyncRun.objects.filter(pk=run.pk).update(lease_owner="", lease_until=None)
    with django_capture_on_commit_callbacks() as continuation:
        assert resync_process(run_id=run.pk, slice_seconds=0) == "continue"
    assert len(continuation) == 1
    assert resync_progress(run=run)["pending"] == 2
    # The continuation runs the task (Q_CLUSTER sync=True in the test settings) until the run is done.
    with django_capture_on_commit_callbacks(execute=True):
        continuation[0]()
    assert resync_progress(run=run)["status"] == "done"


def test_task_through_django_q_sync(project, emulator, django_capture_on_commit_callbacks):
    truth(project, ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        run = resync_start(project=project, actor="t", everyone=True).run
    run.refresh_from_db()
    assert run.status == "done" and run.total == 3


def test_scheduled_resync_of_changed_contacts(project, emulator):
    resync_settings_update(project=project, actor="t", schedule_enabled=True, schedule_minutes=15)
    schedule = Schedule.objects.get(name=f"resync-project-{project.pk}")
    assert (schedule.func, schedule.args, schedule.minutes) == (
        "catalog.resync.tasks.resync_scheduled_task",
        repr(project.pk),
        15,
    )
    truth(project, ROWS)
    run_id = resync_scheduled_task(project.pk)
    assert resync_scheduled_task(project.pk) is None  # one scheduled run at a time
    run_to_end(ResyncRun.objects.get(pk=run_id))
    assert resync_scheduled_task(project.pk) is None  # nothing changed since
    truth(project, [{"email": "bob@example.com", "subscribed_message_type_ids": [11, 12]}])
    second = ResyncRun.objects.get(pk=resync_scheduled_task(project.pk))
    assert list(second.items.values_list("contact__email", flat=True)) == ["bob@example.com"]
    resync_settings_update(project=project, actor="t", schedule_enabled=False)
    assert not Schedule.objects.filter(name=f"resync-project-{project.pk}").exists()


def test_read_failure_never_leads_to_a_write(project, emulator):
    truth(project, ROWS[:1])
    emulator.configure(faults=[{"endpoint": "GET /api/users/getByEmail", "kind": "error503", "count": 4}])
    run = run_to_end(resync_start(project=project, actor="t", everyone=True).run)
    assert emulator.requests(path=WRITE) == []
    assert ResyncItem.objects.get(run=run).status == "failed"
