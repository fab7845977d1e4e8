"""Imports in the background. A large file takes longer than a web request may (gunicorn's timeout): the
request checks what it can at once (size, text) and queues the import; a worker runs it and records the
result, which the import's page shows. The supervisor (catalog/services/supervision.py) starts over an import
whose task was lost: it is all-or-nothing, so a stopped attempt left nothing behind."""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.audit.services import actor_label
from catalog.io.models import CatalogImport
from catalog.io.services.imports import (
    ImportResult,
    catalog_file_parse,
    catalog_file_text,
    catalog_import_data,
    guess_format,
)
from catalog.io.services.schema import SECTIONS, ImportProblem, catalog_file_problems
from catalog.runs.restart import lost_tasks_restart
from catalog.services.input_limits import unstorable
from catalog.types import Actor

IMPORT_TASK = "catalog.io.tasks.catalog_import_task"
MAX_IMPORT_ATTEMPTS = 3
logger = logging.getLogger(__name__)


def _import_task_timeout() -> int:
    return int(getattr(settings, "CATALOG_IMPORT_TASK_TIMEOUT", 300))


def catalog_import_task_name(import_id: int) -> str:
    return f"catalog-import-{import_id}"


def catalog_import_start(
    *, actor: Actor, content: bytes | str, filename: str = ""
) -> tuple[CatalogImport | None, list[ImportProblem]]:
    """Check the file's size and text, then queue its import. Returns (the import, []) or (None, problems)."""
    text, problems = catalog_file_text(content)
    if problems:
        return None, problems
    if unstorable(text):
        return None, [ImportProblem("file", "The file contains NUL characters: it is not a text file.")]
    with transaction.atomic():
        record = CatalogImport.objects.create(
            created_by=actor if isinstance(actor, User) and actor.pk else None,
            actor_label=actor_label(actor),
            filename=(filename or "")[:255],
            fmt=guess_format(filename, text),
            content=text,
            phase="Waiting for a worker",
        )
        _import_enqueue(record.pk)
    return record, []


def _import_enqueue(import_id: int) -> None:
    from catalog.observability import enqueue_supervised

    name = catalog_import_task_name(import_id)
    enqueue_supervised(
        CatalogImport, import_id, IMPORT_TASK, name=name, group="catalog-import", timeout=_import_task_timeout()
    )


def _phase(import_id: int, text: str, **fields: Any) -> None:
    CatalogImport.objects.filter(pk=import_id).update(phase=text, **fields)


def catalog_import_run(*, import_id: int) -> str:
    """Run a queued import (the task's body). Idempotent: only the worker that moves it from queued to
    running imports it; a second delivery finds it claimed or finished and returns."""
    now = timezone.now()
    claimed = CatalogImport.objects.filter(pk=import_id, status=CatalogImport.Status.QUEUED).update(
        status=CatalogImport.Status.RUNNING, started_at=now, attempts=F("attempts") + 1, phase="Reading the file"
    )
    if not claimed:
        return "skipped"
    record = CatalogImport.objects.get(pk=import_id)
    actor = record.created_by or record.actor_label
    data, problems = catalog_file_parse(record.content, record.fmt)
    if not problems:
        problems = catalog_file_problems(data)
    if not problems:
        total = sum(len(data.get(section) or []) for section in SECTIONS)
        _phase(import_id, f"Importing {total:,} objects", total=total)
        result = catalog_import_data(actor=actor, data=data, checked=True)
    else:
        result = ImportResult(errors=problems)
    CatalogImport.objects.filter(pk=import_id, status=CatalogImport.Status.RUNNING).update(
        status=CatalogImport.Status.DONE if result.ok else CatalogImport.Status.REFUSED,
        phase="",
        finished_at=timezone.now(),
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        errors=[{"location": p.location, "message": p.message} for p in result.errors[:1000]],
    )
    return "done" if result.ok else "refused"


def catalog_import_progress(record: CatalogImport) -> dict:
    """Where an import is, for its page: a percentage, what the worker is doing, and whether it is over."""
    by_status: dict[str, int] = {
        CatalogImport.Status.QUEUED: 5,
        CatalogImport.Status.RUNNING: 50,
    }
    percent = by_status.get(record.status, 100)
    return {
        "status": record.status,
        "status_label": record.get_status_display(),
        "phase": record.phase,
        "percent": percent,
        "active": record.status in (CatalogImport.Status.QUEUED, CatalogImport.Status.RUNNING),
        "total": record.total,
    }


def catalog_imports_supervise(*, queued_names: set[str] | None, now: datetime | None = None) -> dict[str, int]:
    """Imports whose task is gone (the worker died, or it overran its timeout and was acknowledged): queued
    again to start over (nothing of a stopped attempt was kept), or failed after MAX_IMPORT_ATTEMPTS."""
    return lost_tasks_restart(
        model=CatalogImport,
        queued_names=queued_names,
        task_name=catalog_import_task_name,
        enqueue=_import_enqueue,
        timeout=_import_task_timeout(),
        max_attempts=MAX_IMPORT_ATTEMPTS,
        failed_message=(
            "Its task stopped {attempts} times before finishing (it overran its {timeout} s limit or its worker "
            "died). Nothing was imported."
        ),
        now=now,
    )
