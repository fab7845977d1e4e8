"""django-q2 entry points: thin, take ids only, call a service, and are safe to run twice.

Task options are explicit. Per task, django-q2 takes ``timeout`` and ``ack_failure``; ``retry`` (720 s) and
``max_attempts`` (3) are cluster-wide in settings.Q_CLUSTER, and ``retry`` must exceed every task's timeout or
a long task is handed to a second worker while the first still runs.
"""

# Tasks queued before the import's task moved into its slice name this path.
from catalog.io.tasks import catalog_import_task  # noqa: F401
from catalog.models import IterableProject

# Tasks queued, and schedules saved, before the sync's tasks moved into their slice name these paths.
from catalog.sync.tasks import catalog_sync_all_task, catalog_sync_task  # noqa: F401

# -- preference resync (issue #8) ---------------------------------------------------------------------------
# One invocation processes a run for at most RESYNC_SLICE_SECONDS, then enqueues its continuation; a second
# copy of the same task (ORM broker redelivery) finds the run's lease held, or the run finished, and returns.


def resync_run_task(run_id: int) -> str:
    """Process a resync run (a slice of it); idempotent through the run's lease and per-item checkpoints.

    django-q stops a task at its timeout by raising in it and then acknowledges it as failed, so it is never
    delivered again: the run is resumed here, from its checkpoint, before the exception goes on."""
    import uuid

    from django.db import connection
    from django_q.exceptions import TimeoutException

    from catalog.services.resync import resync_overran, resync_process

    token = uuid.uuid4().hex
    try:
        return resync_process(run_id=run_id, token=token)
    except TimeoutException:
        connection.close()  # it may have struck mid-query: start the bookkeeping on a fresh connection
        resync_overran(run_id=run_id, token=token)
        raise


def runs_supervise_task() -> dict:
    """The supervisor's schedule (every minute): stalled runs resumed or failed, lost work given a state."""
    from catalog.services.supervision import runs_supervise

    return runs_supervise()


def resync_scheduled_task(project_id: int) -> int | None:
    """A project's scheduled resync: contacts changed since they were last resynced. Returns the run id."""
    from catalog.services.resync import resync_start_scheduled

    project = IterableProject.objects.filter(pk=project_id).first()
    if project is None:
        return None
    run = resync_start_scheduled(project=project)
    return run.pk if run else None


def preference_import_task(import_id: int) -> str:
    """Import a queued preferences CSV; idempotent (claimed once, its rows written all-or-nothing)."""
    from catalog.services.resync_ingest import preference_import_run

    return preference_import_run(import_id=import_id)


def verdicts_refresh_task(model_name: str, pk: int) -> int:
    """Refresh the stored verdicts of a widely used message type's, channel's or template's notifications."""
    from catalog.guard.verdicts import verdicts_refresh_run

    return verdicts_refresh_run(model_name, pk)
