"""Reads the jobs' pages and API share: a run's progress, its changes and failures, the deletion records."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.utils import timezone

from catalog.jobs.services.actions import CHANGES, OUTCOMES
from catalog.jobs.services.conf import ACTIVE, ENDPOINTS
from catalog.jobs.services.runs import job_run_stale
from catalog.jobs.services.supervision import job_stalled
from catalog.models import DeletionRecord, Job, JobItem, JobRun
from catalog.runs import engine


def jobs_for_list():
    return Job.objects.select_related("project").order_by("project__name", "name")


def job_runs(job: Job | None = None):
    runs = JobRun.objects.select_related("job", "job__project").order_by("-created_at", "-id")
    return runs.filter(job=job) if job is not None else runs


# A run never changes its job or the dry run it applies, so a refresh keeps them (and the job's project) as read:
# a plain refresh dropped them, and the page read them again.
RUN_COLUMNS = [field.attname for field in JobRun._meta.concrete_fields if field.name not in ("job", "source_run")]


def job_run_progress(*, run: JobRun) -> dict[str, Any]:
    """Counts by status and outcome, how far it is, its rate, and what may be done next."""
    run.refresh_from_db(fields=RUN_COLUMNS)
    by_status = {s: 0 for s in JobItem.Status.values}
    outcomes: dict[str, int] = {}
    for row in run.items.values("status", "outcome").annotate(n=Count("id")).order_by():
        by_status[row["status"]] += row["n"]
        if row["outcome"]:
            outcomes[row["outcome"]] = outcomes.get(row["outcome"], 0) + row["n"]
    total = run.total or sum(by_status.values())
    finished = total - by_status[JobItem.Status.PENDING]
    elapsed = None
    if run.started_at:
        elapsed = ((run.finished_at or timezone.now()) - run.started_at).total_seconds()
    rate = finished / elapsed if elapsed and elapsed > 0 and finished else None
    active = run.status in ACTIVE
    stalled = job_stalled(run)
    stale = job_run_stale(run)
    ended = run.status in (JobRun.Status.DONE, JobRun.Status.FAILED)
    unsent = by_status[JobItem.Status.FAILED] + (by_status[JobItem.Status.PENDING] if ended else 0)
    endpoint = ENDPOINTS[run.job.action]
    return {
        "total": total,
        "pending": by_status[JobItem.Status.PENDING],
        "done": by_status[JobItem.Status.DONE],
        "failed": by_status[JobItem.Status.FAILED],
        "skipped": by_status[JobItem.Status.SKIPPED],
        "outcomes": outcomes,
        "outcome_rows": [
            {"outcome": k, "label": OUTCOMES.get(k, k), "count": v, "change": k in CHANGES}
            for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])
        ],
        "percent": 100 if not total else int(100 * finished / total),
        "elapsed_seconds": elapsed,
        "rows_per_second": rate,
        "eta_seconds": by_status[JobItem.Status.PENDING] / rate if rate and active else None,
        "active": active or run.status == JobRun.Status.AWAITING_APPROVAL,
        "listing": not run.listed,
        "stalled": stalled,
        "endpoint": endpoint.name,
        "can_cancel": run.status in (*ACTIVE, JobRun.Status.AWAITING_APPROVAL),
        "stale": stale,
        "can_apply": run.dry_run
        and run.status == JobRun.Status.DONE
        and any(k in CHANGES for k in outcomes)
        and not stale,
        "can_dismiss_failed": not run.dry_run and ended and unsent > 0,
        "can_approve": run.status == JobRun.Status.AWAITING_APPROVAL,
        "can_retry_failed": not run.dry_run
        and by_status[JobItem.Status.FAILED] > 0
        and (run.status not in ACTIVE or (not engine.lease_held(run) and stalled))
        and run.status not in (JobRun.Status.AWAITING_APPROVAL, JobRun.Status.CANCELLED),
    }


def _field_changes(diff: dict) -> list[dict[str, Any]]:
    return [{"field": name, "before": pair[0], "after": pair[1]} for name, pair in (diff.get("fields") or {}).items()]


# A row's own choices (its prefer_user_id and merge_nested_objects columns, or the job's), in words.
CHOICE_WORDS = {
    "preferUserId": "prefers the user id over the email",
    "mergeNestedObjects": "merges nested objects",
}


def job_run_changes(*, run: JobRun, limit: int = 50) -> list[dict[str, Any]]:
    """Sample rows a dry run found would change, with each field's before and after by its name, and how the
    row is sent (its own choices, or the job's)."""
    items = run.items.filter(outcome__in=CHANGES).order_by("id")[:limit]
    return [
        {
            "row": item.row_no,
            "who": item.key,
            "outcome": item.outcome,
            "label": OUTCOMES.get(item.outcome, item.outcome),
            "changes": _field_changes(item.diff),
            "channel": (item.diff or {}).get("channel") or (item.diff or {}).get("channel_unsubscribe") or "",
            "choices": [CHOICE_WORDS.get(name, name) for name in (item.diff or {}).get("choices") or []],
        }
        for item in items
    ]


def job_run_failures(*, run: JobRun, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Rows that failed, were skipped as invalid or were given up on, with the reason."""
    items = run.items.filter(status=JobItem.Status.FAILED) | run.items.filter(outcome__in=("invalid", "given_up"))
    return [
        {
            "row": item.row_no,
            "who": item.key,
            "outcome": item.outcome,
            "label": OUTCOMES.get(item.outcome, item.outcome),
            "code": item.error_code,
            "message": item.error_message,
            "attempts": item.attempts,
        }
        for item in items.order_by("id")[offset : offset + limit]
    ]


def deletion_resync_status(record: DeletionRecord) -> str:
    """Whether the deleted person's preferences were given to Iterable again afterwards, in words."""
    contact = record.contact
    if contact is None:
        return "No preferences on record"
    if contact.resynced_at and contact.resynced_at >= record.deleted_at:
        return "Preferences resynced"
    return "Preferences not resynced yet"


def deletion_records(project_id: int | None = None):
    records = DeletionRecord.objects.select_related("project", "contact", "run").order_by("-deleted_at", "-id")
    return records.filter(project_id=project_id) if project_id else records
