"""A run whose task died, overran its timeout or was lost is resumed from its checkpoint (the pending
items), or fails with the reason once resuming no longer gets it further (the engine's supervisor,
``catalog/runs/engine.py``, with the resync's words)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from catalog.audit.services import audit_record
from catalog.models import ResyncRun
from catalog.resync.services.conf import ACTIVE, max_resumes, stall_seconds, task_timeout
from catalog.resync.services.queue import resync_enqueue, resync_task_name
from catalog.runs import engine


def resync_stalled(run: ResyncRun, now: datetime | None = None) -> bool:
    """Active, yet nobody has held its lease nor queued its task for ``RESYNC_STALL_SECONDS``."""
    return engine.stalled(run, active=ACTIVE, stall_seconds=stall_seconds(), now=now)


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
        failed_message=partial(engine.stopped_message, rows="contacts"),
        kind="Resync run",
    )


def resync_resume_or_fail(*, run: ResyncRun, reason: str, overran: bool = False, token: str = "") -> str:
    """Resume a stalled run from its checkpoint (smaller batches if its task overran), or fail it with
    ``reason`` after RESYNC_MAX_RESUMES resumes in a row that did not get it further."""
    return engine.resume_or_fail(_supervised(), run, reason=reason, overran=overran, token=token)


def resync_overran(*, run_id: int, token: str) -> str:
    return engine.overran(_supervised(), run_id=run_id, token=token, timeout_seconds=task_timeout())


def resync_supervise(*, queued_names: set[str] | None, now: datetime | None = None) -> dict[str, int]:
    """Resume (or fail) every stalled run whose task is not waiting in the queue. ``queued_names``: the task
    names in the broker's queue, ``None`` when they cannot be known (then only runs with no task at all)."""
    return engine.supervise(
        _supervised(), queued_names=queued_names, task_name=resync_task_name, stall_seconds=stall_seconds(), now=now
    )
