"""Runs whose task died, overran or was lost: the supervisor resumes them from their checkpoint (smaller
batches after an overrun), or fails them with the reason; "retry failed" works on a stalled run."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from django_q.models import Task

from catalog.models import AuditEvent, ResyncItem, ResyncRun
from catalog.resync.selectors import resync_progress
from catalog.resync.services.ingest import preference_upsert
from catalog.resync.services.process import resync_process
from catalog.resync.services.queue import resync_task_name
from catalog.resync.services.rules import resync_settings_update
from catalog.resync.services.runs import resync_retry_failed, resync_start
from catalog.resync.services.supervision import resync_overran, resync_stalled, resync_supervise
from catalog.services.supervision import queued_task_names, runs_supervise

ROWS = [{"email": f"c{i}@example.com", "email_list_ids": [21], "unsubscribed_channel_ids": [1]} for i in range(6)]
LATER = timedelta(minutes=10)


@pytest.fixture
def stalled_run(project, django_capture_on_commit_callbacks):
    """A run whose task never ran (lost): enqueued, but the on-commit enqueue was never executed."""
    resync_settings_update(project=project, actor="t", batch_size=2)
    record = preference_upsert(project=project, actor="t", rows=ROWS)
    assert record.rejected == 0
    emails = [row["email"] for row in ROWS]
    with django_capture_on_commit_callbacks():  # captured, not executed: the task is lost
        run = resync_start(project=project, actor="t", emails=emails, compare="auto").run
    run.refresh_from_db()
    return run


def _emails_synced(emulator) -> set[str]:
    return {
        row["email"]
        for w in emulator.requests(path="/api/users/bulkUpdateSubscriptions")
        for row in w["body"]["updateSubscriptionsRequests"]
    }


def test_a_lost_task_is_noticed_after_the_stall_time_and_resumed(
    stalled_run, emulator, django_capture_on_commit_callbacks
):
    run = stalled_run
    assert not resync_stalled(run)  # just queued: it has the stall time to start
    assert runs_supervise()["resync_resumed"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        done = runs_supervise(now=timezone.now() + LATER)
    assert done["resync_resumed"] == 1
    run.refresh_from_db()
    assert run.status == "done", run.last_error
    assert run.resumes == 1 and "Resumed from its checkpoint after batch 0" in run.last_error
    assert run.items.filter(status=ResyncItem.Status.DONE).count() == len(ROWS)
    assert _emails_synced(emulator) == {r["email"] for r in ROWS}


def test_a_queued_task_is_left_to_the_broker(stalled_run):
    counts = resync_supervise(queued_names={resync_task_name(stalled_run.pk)}, now=timezone.now() + LATER)
    assert counts == {"resumed": 0, "failed": 0}
    assert resync_supervise(queued_names=None, now=timezone.now() + LATER) == {"resumed": 0, "failed": 0}
    assert queued_task_names() == set()  # in the tests django-q runs tasks in process: nothing waits


def test_a_run_held_by_a_live_worker_is_not_stalled(stalled_run):
    ResyncRun.objects.filter(pk=stalled_run.pk).update(
        status="running", lease_owner="w", lease_until=timezone.now() + timedelta(minutes=20)
    )
    stalled_run.refresh_from_db()
    assert not resync_stalled(stalled_run, timezone.now() + LATER)
    with pytest.raises(ValidationError, match="being processed right now"):
        resync_retry_failed(run=stalled_run, actor="t")


def test_an_overrun_recorded_by_django_q_halves_the_batches(stalled_run, django_capture_on_commit_callbacks):
    run = stalled_run
    ResyncRun.objects.filter(pk=run.pk).update(status="running", lease_owner="dead", lease_until=timezone.now())
    now = timezone.now()
    Task.objects.create(
        id="a" * 32,
        name=resync_task_name(run.pk),
        func="catalog.resync.tasks.resync_run_task",
        started=now,
        stopped=now,
        success=False,
        result="Task exceeded maximum timeout value (300 seconds) : Traceback ...",
    )
    with django_capture_on_commit_callbacks() as queued:
        assert resync_supervise(queued_names=set(), now=now + LATER) == {"resumed": 1, "failed": 0}
    assert len(queued) == 1
    run.refresh_from_db()
    assert run.batch_size == 1 and run.lease_owner == ""
    assert "Task exceeded maximum timeout value (300 seconds)" in run.last_error


def test_the_task_resumes_at_once_when_it_overruns(stalled_run, django_capture_on_commit_callbacks):
    run = stalled_run
    ResyncRun.objects.filter(pk=run.pk).update(
        status="running", lease_owner="tok", lease_until=timezone.now() + timedelta(minutes=2)
    )
    with django_capture_on_commit_callbacks() as queued:
        assert resync_overran(run_id=run.pk, token="someone-else") == "skipped"  # not the holder
        assert resync_overran(run_id=run.pk, token="tok") == "resumed"
    assert len(queued) == 1
    run.refresh_from_db()
    assert (run.batch_size, run.lease_owner, run.resumes) == (1, "", 1)
    assert "overran its 300 s time limit" in run.last_error


@override_settings(RESYNC_MAX_RESUMES=2)
def test_resuming_without_getting_further_ends_in_failed_with_the_reason(
    stalled_run, django_capture_on_commit_callbacks
):
    run = stalled_run
    outcomes = []
    for attempt in range(3):
        with django_capture_on_commit_callbacks():  # the resumed task is lost again each time
            counts = resync_supervise(queued_names=set(), now=timezone.now() + LATER * (attempt + 1))
        outcomes.append(counts)
    assert outcomes == [{"resumed": 1, "failed": 0}, {"resumed": 1, "failed": 0}, {"resumed": 0, "failed": 1}]
    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert "resumed 2 times without getting further" in run.last_error and "task was lost" in run.last_error
    assert AuditEvent.objects.filter(action="resync_stalled", object_id=str(run.pk)).exists()
    assert run.items.filter(status=ResyncItem.Status.PENDING).count() == len(ROWS)  # nothing lost: still pending


def test_progress_made_between_resumes_resets_the_count(stalled_run, django_capture_on_commit_callbacks):
    run = stalled_run
    with django_capture_on_commit_callbacks():
        resync_supervise(queued_names=set(), now=timezone.now() + LATER)
    assert resync_process(run_id=run.pk, slice_seconds=0) == "continue"  # one batch, then its task is lost
    ResyncRun.objects.filter(pk=run.pk).update(lease_until=None, enqueued_at=timezone.now() - LATER)
    with django_capture_on_commit_callbacks():
        resync_supervise(queued_names=set(), now=timezone.now() + LATER)
    run.refresh_from_db()
    assert (run.resumes, run.resumed_at_batch) == (1, 1)


def test_retry_failed_works_on_a_stalled_run(stalled_run, emulator, django_capture_on_commit_callbacks):
    run = stalled_run
    ResyncRun.objects.filter(pk=run.pk).update(status="running", lease_owner="dead", lease_until=timezone.now())
    run.items.filter(pk=run.items.order_by("pk").first().pk).update(status="failed", error_code="X")
    run.refresh_from_db()
    progress = resync_progress(run=run)
    assert progress["can_retry_failed"] and progress["status"] == "running"
    with django_capture_on_commit_callbacks(execute=True):
        assert resync_retry_failed(run=run, actor="t") == 1
    run.refresh_from_db()
    assert run.status == "done"
    assert run.items.filter(status=ResyncItem.Status.DONE).count() == len(ROWS)


def test_the_run_page_says_a_run_is_stalled_and_offers_to_resume_it(stalled_run, client, user_in_role):
    ResyncRun.objects.filter(pk=stalled_run.pk).update(
        status="running", lease_owner="dead", lease_until=timezone.now() - LATER, enqueued_at=timezone.now() - LATER
    )
    client.force_login(user_in_role("engineering"))
    page = client.get(f"/resync/runs/{stalled_run.pk}/").content.decode()
    assert 'id="run-stalled"' in page and "Retry (resume now)" in page


def test_an_everyone_run_whose_task_was_lost_before_listing_is_resumed_and_lists(
    project, emulator, django_capture_on_commit_callbacks
):
    record = preference_upsert(project=project, actor="t", rows=ROWS)
    assert record.rejected == 0
    with django_capture_on_commit_callbacks():  # lost before it listed anyone
        run = resync_start(project=project, actor="t", everyone=True, compare="auto").run
    assert run.items.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert resync_supervise(queued_names=set(), now=timezone.now() + LATER)["resumed"] == 1
    run.refresh_from_db()
    assert (run.status, run.total) == ("done", len(ROWS))
    assert not run.items.exclude(status=ResyncItem.Status.DONE).exists()
