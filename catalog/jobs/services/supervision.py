"""Jobs' runs under the engine's supervisor: resumed from their checkpoint when their task was lost or
overran, or failed with the reason after too many resumes in a row."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from catalog.audit.services import audit_record
from catalog.jobs.services.conf import ACTIVE, max_resumes, stall_seconds, task_timeout
from catalog.jobs.services.queue import job_enqueue, job_task_name
from catalog.models import JobRun
from catalog.runs import engine


def _supervised() -> engine.Supervised:
    return engine.Supervised(
        model=JobRun,
        active=ACTIVE,
        failed_status=JobRun.Status.FAILED,
        max_resumes=max_resumes(),
        enqueue=job_enqueue,
        on_failed=lambda run, reason: audit_record(
            actor="supervisor", action="job_run_stalled", instance=run, changes={"reason": reason}
        ),
        failed_message=partial(engine.stopped_message, rows="rows"),
        kind="Job run",
    )


def job_stalled(run: JobRun, now: datetime | None = None) -> bool:
    return engine.stalled(run, active=ACTIVE, stall_seconds=stall_seconds(), now=now)


def job_overran(*, run_id: int, token: str) -> str:
    return engine.overran(_supervised(), run_id=run_id, token=token, timeout_seconds=task_timeout())


def jobs_supervise(*, queued_names: set[str] | None, now: datetime | None = None) -> dict[str, int]:
    return engine.supervise(
        _supervised(), queued_names=queued_names, task_name=job_task_name, stall_seconds=stall_seconds(), now=now
    )
