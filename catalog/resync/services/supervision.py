"""A run whose task died, overran its timeout or was lost is resumed from its checkpoint (the pending
items), or fails with the reason once resuming no longer gets it further (the engine's supervisor,
``catalog/runs/engine.py``, with the resync's words)."""

from __future__ import annotations

from datetime import datetime

from catalog.audit.services import audit_record
from catalog.models import ResyncRun
from catalog.resync.services.conf import ACTIVE, max_resumes, stall_seconds, task_timeout
from catalog.resync.services.queue import resync_enqueue, resync_task_name
from catalog.runs import engine


def resync_stalled(run: ResyncRun, now: datetime | None = None) -> bool:
    """Active, yet nobody has held its lease nor queued its task for ``RESYNC_STALL_SECONDS``."""
    return engine.stalled(run, active=ACTIVE, stall_seconds=stall_seconds(), now=now)


def _failed_message(resumes: int, reason: str) -> str:
    return (
        f"Stopped: its task was resumed {resumes} times without getting further. Last reason: {reason}. "
        "Its pending contacts were not sent; fix the cause, then use 'retry failed'."
    )


def _on_failed(run: ResyncRun, reason: str) -> None:
    audit_record(actor="supervisor", action="resync_stalled", instance=run, changes={"reason": reason})


def _supervised() -> engine.Supervised:
    return engine.Supervised(
        model=ResyncRun,
        active=ACTIVE,
        failed_status=ResyncRun.Status.FAILED,
        max_resumes=max_resumes(),
        enqueue=resync_enqueue,
        on_failed=_on_failed,
        failed_message=_failed_message,
        kind="Resync run",
    )


def resync_resume_or_fail(*, run: ResyncRun, reason: str, overran: bool = False, token: str = "") -> str:
    """Resume a stalled run from its checkpoint (smaller batches if its task overran), or fail it with
    ``reason`` after RESYNC_MAX_RESUMES resumes in a row that did not get it further."""
    return engine.resume_or_fail(_supervised(), run, reason=reason, overran=overran, token=token)


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
    return engine.supervise(
        _supervised(), queued_names=queued_names, task_name=resync_task_name, stall_seconds=stall_seconds(), now=now
    )
