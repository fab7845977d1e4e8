"""A sync run per project: fetch, mirror, judge, record; several projects; enqueued and scheduled."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.audit.services import actor_label, audit_record
from catalog.guard.verdicts import refresh_verdicts
from catalog.iterable import IterableClient, IterableError, client_for_project
from catalog.models import (
    IterableProject,
    Notification,
    SyncFinding,
    SyncRun,
    SyncStatus,
)
from catalog.observability import enqueue
from catalog.sync.services.drift import catalog_drift
from catalog.sync.services.fetch import SyncFailed, fetch_catalog
from catalog.sync.services.mirror import WRITE_BATCH, mirror_write_kind
from catalog.types import Actor

logger = logging.getLogger(__name__)


SYNC_TASK = "catalog.sync.tasks.catalog_sync_task"
SCHEDULE_TASK = "catalog.sync.tasks.catalog_sync_all_task"
# A project sync makes a handful of paced calls; five minutes leaves room for Iterable's 429 back-offs.
SYNC_TASK_OPTIONS: dict[str, Any] = {"timeout": 300, "ack_failure": True, "group": "catalog-sync"}
SCHEDULE_NAME = "catalog-sync-all"  # also in migration 0006_sync_mirror


def _error_record(error: IterableError) -> dict:
    return {"code": error.code, "msg": error.msg, "status": error.status, "endpoint": error.endpoint}


def catalog_sync_project(
    *, project: IterableProject, actor: Actor = None, trigger: str = "manual", client: IterableClient | None = None
) -> SyncRun:
    """Sync one project from Iterable (see the module docstring). Never raises for Iterable's or our failures:
    the returned run says ``failed`` with the error; the mirror and findings are then left as they were."""
    run = SyncRun.objects.create(
        project=project, trigger=trigger, actor_label=actor_label(actor), started_at=timezone.now()
    )
    try:
        fetched = fetch_catalog(client or client_for_project(project))
        with transaction.atomic():
            # Serialise concurrent runs of one project (a schedule and a click; a redelivered task).
            IterableProject.objects.select_for_update().filter(pk=project.pk).first()
            now = timezone.now()
            run.counts = {kind: mirror_write_kind(project, kind, items, now) for kind, items in fetched.items.items()}
            found = catalog_drift(project=project)
            SyncFinding.objects.filter(project=project).delete()
            SyncFinding.objects.bulk_create(
                [
                    SyncFinding(
                        project=project,
                        run=run,
                        category=f.category,
                        code=f.code,
                        severity=f.severity,
                        notification_id=f.notification_id,
                        iterable_kind=f.iterable_kind,
                        iterable_id=f.iterable_id,
                        message=f.message,
                        details=f.details,
                    )
                    for f in found
                ],
                batch_size=WRITE_BATCH,
            )
            # The one verdict: every notification of the project is judged again with these findings.
            refresh_verdicts(Notification.objects.filter(project=project))
            run.calls = dict(fetched.calls)
            run.findings = dict(sorted(Counter(f.code for f in found).items()))
            run.status = SyncStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.save()
            audit_record(actor=actor, action="sync", instance=run, changes=_audit_changes(run))
    except SyncFailed as failure:
        _fail(run, actor, _error_record(failure.error), failure.calls)
    except IterableError as error:  # building the client: missing key variable, bad configuration
        _fail(run, actor, _error_record(error), Counter())
    except Exception as error:  # a bug or a database failure must not stop the other projects
        logger.exception("Catalog sync of project %s failed", project)
        _fail(run, actor, {"code": "InternalError", "msg": f"{type(error).__name__}: {error}"[:500]}, Counter())
    return run


def _audit_changes(run: SyncRun) -> dict:
    return {
        "status": run.status,
        "counts": run.counts,
        "calls": run.calls,
        "findings": run.findings,
        "errors": run.errors,
    }


def _fail(run: SyncRun, actor: Actor, error: dict[str, Any], calls: Counter[str]) -> None:
    run.status = SyncStatus.FAILED
    run.errors = [error]
    run.calls = dict(calls)
    run.finished_at = timezone.now()
    run.save()
    audit_record(actor=actor, action="sync", instance=run, changes=_audit_changes(run))


def catalog_sync(
    *, project_ids: Iterable[int] | None = None, actor: Actor = None, trigger: str = "manual"
) -> list[SyncRun]:
    """Sync these projects (all when None), one after another; each is recorded, none stops the others."""
    projects = IterableProject.objects.all()
    if project_ids is not None:
        projects = projects.filter(pk__in=list(project_ids))
    return [catalog_sync_project(project=p, actor=actor, trigger=trigger) for p in projects]


def catalog_sync_enqueue(
    *, project_ids: Iterable[int] | None = None, actor: Actor = None, trigger: str = "manual"
) -> None:
    """Queue one django-q2 task per project once the current transaction commits (ids only in the task)."""
    projects = IterableProject.objects.all()
    if project_ids is not None:
        projects = projects.filter(pk__in=list(project_ids))
    ids = list(projects.values_list("pk", flat=True))
    actor_id = getattr(actor, "pk", None)

    def enqueue_all() -> None:
        for project_id in ids:
            enqueue(
                SYNC_TASK,
                project_id,
                actor_id,
                trigger,
                q_options={**SYNC_TASK_OPTIONS, "task_name": f"catalog-sync-{project_id}"},
            )

    transaction.on_commit(enqueue_all)


def catalog_sync_schedule_ensure() -> tuple[Any, bool]:
    """The hourly schedule of ``SCHEDULE_TASK``; created if missing, left alone if present."""
    from django_q.models import Schedule

    return Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_TASK, "schedule_type": Schedule.HOURLY, "repeats": -1},
    )
