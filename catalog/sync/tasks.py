"""The sync's django-q2 entry points: thin, ids only, safe to run twice."""

from django.contrib.auth import get_user_model

from catalog.models import IterableProject
from catalog.sync.services.runs import catalog_sync_enqueue, catalog_sync_project


def catalog_sync_task(project_id: int, actor_id: int | None = None, trigger: str = "manual") -> dict:
    """Sync one project from Iterable; idempotent (same Iterable data, same mirror, findings recomputed)."""
    project = IterableProject.objects.filter(pk=project_id).first()
    if project is None:  # deleted since it was queued
        return {"project_id": project_id, "status": "skipped"}
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    run = catalog_sync_project(project=project, actor=actor, trigger=trigger)
    return {"project_id": project_id, "run_id": run.pk, "status": run.status}


def catalog_sync_all_task() -> int:
    """The schedule's entry point: fan out one task per project, so a slow project cannot time out the rest."""
    catalog_sync_enqueue(trigger="schedule")
    return IterableProject.objects.count()
