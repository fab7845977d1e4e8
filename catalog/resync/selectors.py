"""Reads for the run list and the run page: progress, failures, the dry run's report."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from catalog.models import (
    IterableProject,
    ResyncItem,
    ResyncRun,
)
from catalog.resync.services.conf import ACTIVE
from catalog.resync.services.process import resync_listing
from catalog.resync.services.queue import lease_held
from catalog.resync.services.supervision import resync_stalled

logger = logging.getLogger(__name__)


def resync_runs(*, project: IterableProject | None = None) -> QuerySet[ResyncRun]:
    """Runs for the run list, newest first (a queryset: the door paginates)."""
    runs = ResyncRun.objects.select_related("project")
    return runs.filter(project=project) if project is not None else runs


# What a worker changes on a run: its project, source run and author never change, so a refresh keeps them as read.
RUN_COLUMNS = [field.attname for field in ResyncRun._meta.concrete_fields if not field.is_relation]


def resync_progress(*, run: ResyncRun, refresh: bool = True) -> dict[str, Any]:
    """Counts for the run page: pending/done/failed/skipped, outcomes, batches, rate and an ETA.

    ``refresh``: read the run's columns again first, as a worker may have moved it on since it was read; False
    for a run read in this same request."""
    if refresh:
        run.refresh_from_db(fields=RUN_COLUMNS)
    counts = dict.fromkeys(ResyncItem.Status.values, 0)
    by_outcome: dict[str, int] = {}
    grouped = run.items.order_by().values_list("status", "outcome").annotate(n=Count("id"))
    for status, outcome, n in grouped.values_list("status", "outcome", "n"):
        if status in counts:
            counts[status] += n
        if outcome:
            by_outcome[outcome] = by_outcome.get(outcome, 0) + n
    processed = counts["done"] + counts["failed"] + counts["skipped"]
    elapsed = None
    rate = None
    if run.started_at:
        elapsed = ((run.finished_at or timezone.now()) - run.started_at).total_seconds()
        rate = processed / elapsed if elapsed > 0 else None
    eta = counts["pending"] / rate if rate and run.status in ACTIVE else None
    return {
        "id": run.pk,
        "status": run.status,
        "dry_run": run.dry_run,
        "selection": run.selection,
        "selection_detail": run.selection_detail,
        "total": run.total,
        **counts,
        "outcomes": by_outcome,
        "batches_done": run.batches_done,
        "batch_size": run.batch_size,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "elapsed_seconds": elapsed,
        "contacts_per_second": rate,
        "eta_seconds": eta,
        "last_error": run.last_error,
        "can_cancel": run.status in ACTIVE,
        "stalled": resync_stalled(run),
        "resumes": run.resumes,
        "can_retry_failed": (run.status not in ACTIVE and (counts["failed"] > 0 or run.status == "failed"))
        or (run.status in ACTIVE and not lease_held(run) and (counts["failed"] > 0 or resync_stalled(run))),
        "can_apply": run.dry_run and run.status == ResyncRun.Status.DONE,
        "listing": resync_listing(run),
    }


def resync_failures(*, run: ResyncRun, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Failed contacts with their reason, for the run page."""
    items = (
        run.items.filter(status=ResyncItem.Status.FAILED)
        .select_related("contact")
        .order_by("id")[offset : offset + limit]
    )
    return [
        {
            "email": i.contact.email,
            "code": i.error_code,
            "message": i.error_message,
            "attempts": i.attempts,
            "batch": i.batch_no,
            "at": i.processed_at,
        }
        for i in items
    ]


def resync_dry_run_report(*, run: ResyncRun, samples: int = 20) -> dict[str, Any]:
    """A dry run's summary: how many contacts would change, per array and direction, and sample diffs."""
    per_array: Counter[str] = Counter()
    dropped = 0
    sample: list[dict[str, Any]] = []
    # One pass, oldest first: the counts read every difference, and the samples are the first ones.
    changes = run.items.filter(outcome="would_change").order_by("id").values_list("diff", "contact__email")
    for diff, email in changes.iterator(chunk_size=2000):
        for array, change in diff.get("arrays", {}).items():
            if change.get("add"):
                per_array[f"{array}:add"] += 1
            if change.get("remove"):
                per_array[f"{array}:remove"] += 1
        dropped += bool(diff.get("dropped"))
        if len(sample) < samples:
            sample.append({"email": email, **diff})
    return {
        "progress": resync_progress(run=run),
        "contacts_by_change": dict(sorted(per_array.items())),
        "contacts_with_alignment_drops": dropped,
        "samples": sample,
        "failures": resync_failures(run=run, limit=samples),
    }
