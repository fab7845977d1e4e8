"""How a run reaches a worker: its task (ids only), the task's name, and the lease one worker holds on it."""

from datetime import datetime

from catalog.models import ResyncRun
from catalog.observability import enqueue_supervised
from catalog.resync.services.conf import TASK, task_timeout
from catalog.runs import engine


def resync_enqueue(run_id: int) -> None:
    # The task's timeout is longer than a slice and shorter than Q_CLUSTER's retry.
    enqueue_supervised(ResyncRun, run_id, TASK, name=resync_task_name(run_id), group="resync", timeout=task_timeout())


def resync_task_name(run_id: int) -> str:
    return f"resync-run-{run_id}"


def lease_held(run: ResyncRun, now: datetime | None = None) -> bool:
    return engine.lease_held(run, now)
