"""The supervisor's pass over all-or-nothing work (catalog imports, preference uploads): a record whose task is
gone (the worker died, or it overran its timeout and was acknowledged) is queued again to start over (a stopped
attempt wrote nothing), or failed after ``max_attempts``, saying why. One helper for every such kind; the
supervisor (catalog/services/supervision.py) calls each kind's wrapper."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone


def lost_tasks_restart(
    *,
    model: type[Model],
    queued_names: set[str] | None,
    task_name: Callable[[int], str],
    enqueue: Callable[[int], None],
    timeout: int,
    max_attempts: int,
    failed_message: str,
    now: datetime | None = None,
) -> dict[str, int]:
    """Restart (or fail) every queued or running record of ``model`` past its task's ``timeout`` plus a minute
    whose task is not in the queue. ``model.Status`` needs QUEUED, RUNNING and FAILED; the record ``status``,
    ``started_at``, ``enqueued_at``, ``attempts``, ``phase``, ``finished_at`` and ``last_error``."""
    now = now or timezone.now()
    grace = timedelta(seconds=timeout + 60)
    counts = {"resumed": 0, "failed": 0}
    if queued_names is None:
        return counts
    status = model.Status  # type: ignore[attr-defined]
    manager = model._default_manager
    stalled = manager.filter(
        Q(status=status.RUNNING, started_at__lt=now - grace) | Q(status=status.QUEUED, enqueued_at__lt=now - grace)
    ).only("pk", "status", "attempts")
    record: Any
    for record in stalled:
        if task_name(record.pk) in queued_names:
            continue
        with transaction.atomic():
            if record.attempts >= max_attempts:
                counts["failed"] += manager.filter(pk=record.pk, status=record.status).update(
                    status=status.FAILED,
                    phase="",
                    finished_at=now,
                    last_error=failed_message.format(attempts=record.attempts, timeout=timeout),
                )
                continue
            updated = manager.filter(pk=record.pk, status=record.status).update(
                status=status.QUEUED,
                phase="Queued again: the previous attempt stopped before finishing",
            )
            if updated:
                enqueue(record.pk)
                counts["resumed"] += 1
    return counts
