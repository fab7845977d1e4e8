"""django-q2 entry points that belong to no one capability, and the old dotted paths of moved tasks.

Each capability's tasks live in its package (catalog/<capability>/tasks.py): thin, ids only, safe to run twice.
Task options are explicit. Per task, django-q2 takes ``timeout`` and ``ack_failure``; ``retry`` (720 s) and
``max_attempts`` (3) are cluster-wide in settings.Q_CLUSTER, and ``retry`` must exceed every task's timeout or
a long task is handed to a second worker while the first still runs.
"""

# Tasks queued before the tasks moved into their capability's package name these paths (schedules were renamed
# by migration 0014); they resolve here until those queues have drained.
from catalog.guard.tasks import verdicts_refresh_task  # noqa: F401
from catalog.io.tasks import catalog_import_task  # noqa: F401
from catalog.resync.tasks import preference_import_task, resync_run_task, resync_scheduled_task  # noqa: F401
from catalog.sync.tasks import catalog_sync_all_task, catalog_sync_task  # noqa: F401


def runs_supervise_task() -> dict:
    """The supervisor's schedule (every minute): stalled runs resumed or failed, lost work given a state."""
    from catalog.services.supervision import runs_supervise

    return runs_supervise()
