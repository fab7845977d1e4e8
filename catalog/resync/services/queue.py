"""How a run reaches a worker: its task (ids only), the task's name, and the lease one worker holds on it."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.models import ResyncRun
from catalog.resync.services.conf import TASK, task_timeout


def resync_enqueue(run_id: int) -> None:
    from catalog.observability import enqueue

    # Only the id travels: task arguments are pickled into the database and shown in the admin.
    options = {
        "timeout": task_timeout(),  # > slice, < Q_CLUSTER retry
        "ack_failure": True,
        "group": "resync",
        "task_name": resync_task_name(run_id),
    }
    ResyncRun.objects.filter(pk=run_id).update(enqueued_at=timezone.now())
    transaction.on_commit(lambda: enqueue(TASK, run_id, q_options=options))


def resync_task_name(run_id: int) -> str:
    return f"resync-run-{run_id}"


def lease_held(run: ResyncRun, now: datetime | None = None) -> bool:
    return bool(run.lease_until and run.lease_until > (now or timezone.now()))
