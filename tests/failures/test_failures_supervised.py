"""The supervisor's other duties: a test send left pending becomes unknown (never re-sent), a sync left
running fails with the reason, a catalog import whose task was lost starts over or fails."""

import json
from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule

from catalog.io.services.export import catalog_export_data
from catalog.io.services.runs import MAX_IMPORT_ATTEMPTS, catalog_import_start
from catalog.models import CatalogImport, Notification, ProofOutcome, ProofSend, SyncRun, SyncStatus
from catalog.services.supervision import SCHEDULE_FUNC, SCHEDULE_NAME, runs_supervise, supervise_schedule_ensure

LATER = timedelta(minutes=30)


def test_the_supervisor_runs_every_minute(db):
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)  # made by the migration
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (SCHEDULE_FUNC, Schedule.MINUTES, 1)
    schedule.delete()
    supervise_schedule_ensure()
    assert Schedule.objects.filter(name=SCHEDULE_NAME, func=SCHEDULE_FUNC).exists()


def test_a_pending_test_send_past_its_deadline_becomes_unknown_and_is_not_resent(small_catalog, user_in_role):
    attempt = ProofSend.objects.create(
        actor=user_in_role("marketing"),
        actor_label="m",
        project=small_catalog.project,
        notification=small_catalog.digest,
        notification_key="weekly_digest",
        recipient_email="qa@example.com",
        mode="campaign",
        endpoint="POST /api/email/target",
    )
    assert runs_supervise()["test_sends_unknown"] == 0  # within its deadline: may still be in flight
    assert runs_supervise(now=timezone.now() + LATER)["test_sends_unknown"] == 1
    attempt.refresh_from_db()
    assert attempt.outcome == ProofOutcome.UNKNOWN and attempt.finished_at is not None
    assert "may or may not have gone out" in attempt.message and "not resent" in attempt.message
    assert runs_supervise(now=timezone.now() + LATER)["test_sends_unknown"] == 0
    assert ProofSend.objects.count() == 1  # nothing sent again


def test_a_sync_left_running_fails_with_the_reason(small_catalog):
    old = SyncRun.objects.create(project=small_catalog.project, started_at=timezone.now())
    assert runs_supervise()["syncs_failed"] == 0
    assert runs_supervise(now=timezone.now() + LATER)["syncs_failed"] == 1
    old.refresh_from_db()
    assert old.status == SyncStatus.FAILED and old.errors[-1]["code"] == "TaskStopped"


def _queued_import(small_catalog, django_capture_on_commit_callbacks):
    data = catalog_export_data()
    data["notifications"] = [dict(data["notifications"][0], key="from_a_lost_task", campaign_id=779)]
    with django_capture_on_commit_callbacks():  # the task is lost
        record, problems = catalog_import_start(actor="t", content=json.dumps(data).encode(), filename="c.json")
    assert problems == []
    return record


def test_a_lost_import_starts_over_then_imports(small_catalog, django_capture_on_commit_callbacks):
    record = _queued_import(small_catalog, django_capture_on_commit_callbacks)
    assert runs_supervise()["imports_resumed"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert runs_supervise(now=timezone.now() + LATER)["imports_resumed"] == 1
    record.refresh_from_db()
    assert record.status == CatalogImport.Status.DONE and record.created == {"notifications": 1}
    assert Notification.objects.filter(key="from_a_lost_task").exists()


def test_an_import_that_keeps_dying_fails_saying_so(small_catalog, django_capture_on_commit_callbacks):
    record = _queued_import(small_catalog, django_capture_on_commit_callbacks)
    CatalogImport.objects.filter(pk=record.pk).update(
        status="running", attempts=MAX_IMPORT_ATTEMPTS, started_at=timezone.now()
    )
    assert runs_supervise(now=timezone.now() + LATER)["imports_failed"] == 1
    record.refresh_from_db()
    assert record.status == CatalogImport.Status.FAILED
    assert f"stopped {MAX_IMPORT_ATTEMPTS} times" in record.last_error
    assert not Notification.objects.filter(key="from_a_lost_task").exists()
