"""A morning's worth of facts for the home page: two projects (one synced with findings, one whose last sync
failed), resyncs running and failed, test sends accepted and refused, a notification without an owner."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from factories import NotificationFactory, ProjectFactory

from catalog import models
from catalog.guard import policy


def sync_run(project, *, status="succeeded", ago=timedelta(hours=8), findings=None, errors=None):
    now = timezone.now()
    return models.SyncRun.objects.create(
        project=project,
        started_at=now - ago,
        finished_at=now - ago + timedelta(minutes=1),
        status=status,
        findings=findings or {},
        errors=errors or [],
    )


def resync_run(project, *, status, dry_run=False, total=10, last_error=""):
    return models.ResyncRun.objects.create(
        project=project,
        actor_label="engineer",
        status=status,
        dry_run=dry_run,
        selection=models.ResyncRun.Selection.EVERYONE,
        batch_size=100,
        rate_per_second=5,
        on_batch_error="stop",
        total=total,
        last_error=last_error,
    )


def proof_send(notification, *, outcome, actor_label="marketer", ago=timedelta(hours=1)):
    send = models.ProofSend.objects.create(
        actor_label=actor_label,
        project=notification.project,
        notification=notification,
        notification_key=notification.key,
        recipient_email="tester@example.com",
        mode=models.ProofMode.CAMPAIGN,
        outcome=outcome,
    )
    models.ProofSend.objects.filter(pk=send.pk).update(created_at=timezone.now() - ago)
    return send


@pytest.fixture
def morning(small_catalog):
    c = small_catalog
    other = ProjectFactory(name="Employer project", api_key_env="ITERABLE_API_KEY_OTHER")
    sync_run(c.project, ago=timedelta(days=3), findings={"campaign-missing": 1})
    synced = sync_run(
        c.project,
        ago=timedelta(minutes=30),
        findings={"campaign-missing": 2, "orphan-template": 1, policy.OPTOUT_MARKETING: 1},
    )
    failed = sync_run(
        other,
        status="failed",
        ago=timedelta(hours=2),
        errors=[{"code": "Unauthorized", "msg": "The API key was refused"}],
    )
    finding = dict(project=c.project, run=synced)
    models.SyncFinding.objects.create(
        **finding, category="drift", code="campaign-missing", severity="error", notification=c.digest, message="m"
    )
    models.SyncFinding.objects.create(
        **finding, category="drift", code="campaign-missing", severity="error", notification=c.receipt, message="m"
    )
    models.SyncFinding.objects.create(
        **finding, category="orphan", code="orphan-template", severity="info", iterable_id=777, message="m"
    )
    models.SyncFinding.objects.create(
        **finding,
        category="guard",
        code=policy.OPTOUT_MARKETING,
        severity="error",
        iterable_kind="template",
        iterable_id=502,
        message="m",
    )
    running = resync_run(c.project, status="running", total=40)
    stopped = resync_run(c.project, status="failed", last_error="Iterable refused the batch")
    done = resync_run(c.project, status="done")
    sent = proof_send(c.digest, outcome=models.ProofOutcome.SENT)
    refused = proof_send(c.receipt, outcome=models.ProofOutcome.REFUSED_GUARD, ago=timedelta(days=2))
    unowned = NotificationFactory(key="lonely_alert", name="Lonely alert", message_type=c.transactional_type)
    return SimpleNamespace(
        **vars(c),
        other=other,
        synced=synced,
        failed=failed,
        running=running,
        stopped=stopped,
        done=done,
        sent=sent,
        refused=refused,
        unowned=unowned,
    )
