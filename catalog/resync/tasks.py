"""The resync's django-q2 entry points: thin, ids only, safe to run twice.

One invocation processes a run for at most RESYNC_SLICE_SECONDS, then enqueues its continuation; a second copy
of the same task (ORM broker redelivery) finds the run's lease held, or the run finished, and returns.
"""

from catalog.models import IterableProject


def resync_run_task(run_id: int) -> str:
    """Process a resync run (a slice of it); idempotent through the run's lease and per-item checkpoints."""
    from catalog.resync.services.process import resync_process
    from catalog.resync.services.supervision import resync_overran
    from catalog.runs.tasks import run_slice_task

    return run_slice_task(run_id, process=resync_process, overran=resync_overran)


def resync_scheduled_task(project_id: int) -> int | None:
    """A project's scheduled resync: contacts changed since they were last resynced. Returns the run id."""
    from catalog.resync.services.runs import resync_start_scheduled

    project = IterableProject.objects.filter(pk=project_id).first()
    if project is None:
        return None
    run = resync_start_scheduled(project=project)
    return run.pk if run else None


def preference_import_task(import_id: int) -> str:
    """Import a queued preferences CSV; idempotent (claimed once, its rows written all-or-nothing)."""
    from catalog.resync.services.ingest import preference_import_run

    return preference_import_run(import_id=import_id)
