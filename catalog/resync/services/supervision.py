"""A run whose task died, overran its timeout or was lost is resumed from its checkpoint (the pending
items), or fails with the reason once resuming no longer gets it further."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.audit.services import audit_record
from catalog.models import (
    ResyncRun,
)
from catalog.resync.services.conf import ACTIVE, max_resumes, stall_seconds, task_timeout
from catalog.resync.services.queue import resync_enqueue, resync_task_name

logger = logging.getLogger(__name__)


def resync_stalled(run: ResyncRun, now: datetime | None = None) -> bool:
    """Active, yet nobody has held its lease nor queued its task for ``RESYNC_STALL_SECONDS``."""
    now = now or timezone.now()
    if run.status not in ACTIVE:
        return False
    quiet_since = now - timedelta(seconds=stall_seconds())
    if run.lease_until and run.lease_until > quiet_since:
        return False
    return not (run.enqueued_at and run.enqueued_at > quiet_since)


def _last_task_failure(run: ResyncRun) -> str:
    """What django-q recorded about the run's last failed task since it was queued, in one line."""
    from django_q.models import Task

    failures = Task.objects.filter(name=resync_task_name(run.pk), success=False)
    if run.enqueued_at:
        failures = failures.filter(stopped__gte=run.enqueued_at)
    task = failures.order_by("-stopped").first()
    if task is None:
        return ""
    return str(task.result or "").split(" : ", 1)[0].strip()[:300]


def resync_resume_or_fail(*, run: ResyncRun, reason: str, overran: bool = False, token: str = "") -> str:
    """Resume a stalled run from its checkpoint, halving its batches when its task overran (a batch must fit
    in the task's time), or fail it with ``reason`` after RESYNC_MAX_RESUMES resumes in a row that did not
    get it further. Returns ``"resumed"``, ``"failed"`` or ``"skipped"`` (no longer active)."""
    run.refresh_from_db()
    if run.status not in ACTIVE:
        return "skipped"
    resumes = 1 if run.batches_done > run.resumed_at_batch else run.resumes + 1
    lease = Q(lease_owner=token) if token else Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    with transaction.atomic():
        if resumes > max_resumes():
            message = (
                f"Stopped: its task was resumed {resumes - 1} times without getting further. Last reason: {reason}. "
                "Its pending contacts were not sent; fix the cause, then use 'retry failed'."
            )
            updated = ResyncRun.objects.filter(lease, pk=run.pk, status__in=ACTIVE).update(
                status=ResyncRun.Status.FAILED,
                finished_at=timezone.now(),
                last_error=message[:2000],
                lease_owner="",
                lease_until=None,
            )
            if updated:
                audit_record(actor="supervisor", action="resync_stalled", instance=run, changes={"reason": reason})
            return "failed" if updated else "skipped"
        batch_size = max(1, run.batch_size // 2) if overran else run.batch_size
        updated = ResyncRun.objects.filter(lease, pk=run.pk, status__in=ACTIVE).update(
            resumes=resumes,
            resumed_at_batch=run.batches_done,
            batch_size=batch_size,
            last_error=f"Resumed from its checkpoint after batch {run.batches_done}: {reason}."[:2000],
            lease_owner="",
            lease_until=None,
        )
        if updated:
            logger.warning("Resync run %s resumed (%s); batches of %d", run.pk, reason, batch_size)
            resync_enqueue(run.pk)
    return "resumed" if updated else "skipped"


def resync_overran(*, run_id: int, token: str) -> str:
    """The run's task hit its timeout mid-slice: resume from the checkpoint with smaller batches now, rather
    than wait for the supervisor (django-q acknowledges a timed-out task and never delivers it again)."""
    run = ResyncRun.objects.filter(pk=run_id).first()
    if run is None:
        return "skipped"
    reason = f"its task overran its {task_timeout()} s time limit (Iterable slow to answer?)"
    return resync_resume_or_fail(run=run, reason=reason, overran=True, token=token)


def resync_supervise(*, queued_names: set[str] | None, now: datetime | None = None) -> dict[str, int]:
    """Resume (or fail) every stalled run whose task is not waiting in the queue. ``queued_names``: the task
    names in the broker's queue, ``None`` when they cannot be known (then only runs with no task at all)."""
    now = now or timezone.now()
    counts = {"resumed": 0, "failed": 0}
    for run in ResyncRun.objects.filter(status__in=ACTIVE).order_by("pk"):
        if not resync_stalled(run, now):
            continue
        if queued_names is None or resync_task_name(run.pk) in queued_names:
            continue  # the broker still holds its task and will deliver it (again)
        failure = _last_task_failure(run)
        overran = "timeout" in failure.lower()
        reason = failure or "its task was lost (the worker stopped, or the queue dropped it)"
        outcome = resync_resume_or_fail(run=run, reason=reason, overran=overran)
        if outcome in counts:
            counts[outcome] += 1
    return counts
