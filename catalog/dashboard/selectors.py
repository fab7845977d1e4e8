"""The home page's reads: the morning questions answered in a fixed number of queries, whatever the catalog's size.

Everything here is the same for every visitor, so it is built once and kept in the cache for DIGEST_SECONDS;
writes to what it is read from clear it (the receivers at the bottom). What a role may not see is left out when
the page is drawn, not here.

History the catalog does not keep: a notification's verdict is stored as it is now, not day by day. The
30-day picture of the guard and drift is therefore read from the sync runs, each of which recorded how many
findings of each kind it made in Iterable (`SyncRun.findings`); a project's count on a day is its last
successful sync's, carried forward to the days it was not synced.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from catalog import models
from catalog.guard import policy
from catalog.guard.verdicts import iterable_check
from catalog.services.summary import catalog_summary
from catalog.sync.services.drift import ORPHAN_CODES

DIGEST_KEY = "dashboard:home-digest"
DIGEST_SECONDS = 60
# "Not tested lately": no test send accepted by Iterable within this many days.
UNTESTED_DAYS = 30
HISTORY_DAYS = 30
# Notifications with guard errors named on the page (the tile links to all of them), and errors shown each.
FLAGGED_SHOWN = 5
ERRORS_PER_NOTIFICATION = 2
RECENT_SENDS = 6
RESYNCS_SHOWN = 5
# A failed resync stays on the home page this long (a week covers a weekend and a holiday).
FAILED_RESYNC_DAYS = 7
GUARD_CODES = {policy.OPTOUT_MARKETING, policy.MARKETING_MESSAGE_TYPE}

# Colours the charts share with the page's badges (error red, warning amber, ok green, neutral grey-blue).
COLOURS = {
    "error": "#b3261e",
    "warning": "#b26a00",
    "ok": "#2e7d32",
    "neutral": "#5b6b7f",
    "info": "#1565c0",
}


def home_digest() -> dict:
    """The home page's facts (see the module's docstring), from the cache or rebuilt."""
    digest = cache.get(DIGEST_KEY)
    if digest is None:
        digest = home_digest_built()
        cache.set(DIGEST_KEY, digest, DIGEST_SECONDS)
    return digest


def home_digest_built(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    projects = _projects()
    return {
        "built_at": now,
        "findings": _findings_now(),
        **_unowned_and_untested(now),
        "untested_days": UNTESTED_DAYS,
        "projects": projects,
        "resyncs": _resyncs(now),
        "sends": _sends(now),
        "charts": {
            "findings": _findings_history(now),
        },
    }


def home_verdicts(*, projects: list[dict]) -> dict:
    """The one verdict counted in its four states, as the notification list's Guard column and its ?verdict=
    filter read them (catalog/guard/verdicts.py verdict_summary): errors always; without errors, a project not
    checked in Iterable lately is "not checked"; then warnings; then ok. From the catalog's summary (kept by
    catalog/services/summary.py, cleared by its own writes), with a chart and the first notifications in error."""
    summary = catalog_summary()
    unjudged, warned = summary["unjudged_by_project"], summary.get("warning_by_project", {})
    stale = [p for p in projects if p["check"].stale]
    stale_ids = {p["pk"] for p in stale}
    errors = summary["error_total"]
    not_checked = sum(unjudged.get(pk, 0) for pk in stale_ids)
    warnings = sum(n for pk, n in warned.items() if pk not in stale_ids)
    ok = summary["total"] - errors - not_checked - warnings
    # The summary lists flagged notifications errors first: the first few with an error, and what it is.
    flagged = [
        (key, [v for v in violations if v.is_error][:ERRORS_PER_NOTIFICATION])
        for key, violations in summary["verdicts"]
        if any(v.is_error for v in violations)
    ][:FLAGGED_SHOWN]
    return {
        "flagged": flagged,
        "total": summary["total"],
        "errors": errors,
        "warnings": warnings,
        "not_checked_total": not_checked,
        "ok": ok,
        "not_checked": [(p, unjudged.get(p["pk"], 0)) for p in stale],
        "chart": {
            "type": "doughnut",
            "labels": ["With guard errors", "With warnings", "Not checked in Iterable lately", "No fault found"],
            "datasets": [
                {
                    "label": "Notifications",
                    "data": [errors, warnings, not_checked, ok],
                    "backgroundColor": [COLOURS["error"], COLOURS["warning"], COLOURS["neutral"], COLOURS["ok"]],
                }
            ],
        },
    }


def _findings_now() -> dict:
    """The latest sync's findings in Iterable, per kind: how many, about how many notifications, errors among them."""
    found = {category: {"findings": 0, "notifications": 0, "errors": 0} for category in models.FindingCategory.values}
    rows = (
        models.SyncFinding.objects.order_by()
        .values("category")
        .annotate(
            findings=Count("pk"),
            notifications=Count("notification", distinct=True),
            errors=Count("pk", filter=Q(severity=policy.ERROR)),
        )
    )
    for row in rows:
        found[row["category"]] = {key: row[key] for key in ("findings", "notifications", "errors")}
    return found


def _unowned_and_untested(now: datetime) -> dict[str, int]:
    """Notifications without an owner, and without a test send Iterable accepted in UNTESTED_DAYS, counted in one
    pass (each a hashed NOT IN: the join through owners took 0.14 s at 100,000 notifications, this 0.04 s)."""
    owned = models.Notification.owners.through.objects.values("notification_id")
    tested = models.ProofSend.objects.filter(
        outcome=models.ProofOutcome.SENT,
        created_at__gte=now - timedelta(days=UNTESTED_DAYS),
        notification__isnull=False,
    ).values("notification_id")
    return models.Notification.objects.order_by().aggregate(
        no_owner=Count("pk", filter=~Q(pk__in=owned)), untested=Count("pk", filter=~Q(pk__in=tested))
    )


def _projects() -> list[dict]:
    """Each project with its latest sync run (whatever its outcome) and when Iterable was last read successfully."""
    runs = models.SyncRun.objects.filter(project=OuterRef("pk")).order_by("-started_at", "-id")
    succeeded = runs.filter(status=models.SyncStatus.SUCCEEDED)
    rows = list(
        models.IterableProject.objects.order_by("name").annotate(
            last_run=Subquery(runs.values("pk")[:1]), checked_at=Subquery(succeeded.values("finished_at")[:1])
        )
    )
    last = models.SyncRun.objects.in_bulk([p.last_run for p in rows if p.last_run])
    found = []
    for project in rows:
        run = last.get(project.last_run)
        found.append(
            {
                "pk": project.pk,
                "name": project.name,
                "run": _run_facts(run) if run else None,
                "check": iterable_check(project.checked_at),
            }
        )
    return found


def _run_facts(run: models.SyncRun) -> dict:
    errors = [e.get("msg") or e.get("code") or "" for e in run.errors if isinstance(e, dict)] if run.errors else []
    return {
        "pk": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "trigger": run.trigger,
        "findings": sum(v for v in (run.findings or {}).values() if isinstance(v, int)),
        "errors": [str(e) for e in errors][:3],
    }


def _resyncs(now: datetime) -> dict:
    Status = models.ResyncRun.Status
    active = Q(status__in=[Status.QUEUED, Status.RUNNING])
    failed = Q(status=Status.FAILED, created_at__gte=now - timedelta(days=FAILED_RESYNC_DAYS))
    counts = models.ResyncRun.objects.aggregate(active=Count("pk", filter=active), failed=Count("pk", filter=failed))
    shown = list(
        models.ResyncRun.objects.filter(active | failed)
        .select_related("project")
        .order_by("-created_at", "-id")[:RESYNCS_SHOWN]
    )
    since = now - timedelta(days=HISTORY_DAYS)
    per_day = (
        models.ResyncRun.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "status")
        .annotate(n=Count("pk"))
    )
    outcomes: list[tuple[str, str, str]] = [
        (Status.DONE, Status.DONE.label, COLOURS["ok"]),
        (Status.FAILED, Status.FAILED.label, COLOURS["error"]),
        (Status.CANCELLED, Status.CANCELLED.label, COLOURS["neutral"]),
        (Status.RUNNING, "Queued or running", COLOURS["info"]),
    ]
    merged = [
        {"day": r["day"], "status": Status.RUNNING if r["status"] == Status.QUEUED else r["status"], "n": r["n"]}
        for r in per_day
    ]
    return {
        "active_total": counts["active"],
        "failed_total": counts["failed"],
        "failed_days": FAILED_RESYNC_DAYS,
        "shown": [
            {
                "pk": run.pk,
                "label": str(run),
                "project": run.project.name,
                "status": run.status,
                "status_label": run.get_status_display(),
                "dry_run": run.dry_run,
                "total": run.total,
                "created_at": run.created_at,
                "last_error": run.last_error[:200],
            }
            for run in shown
        ],
        "chart": _daily_chart(merged, "status", outcomes, now, stacked=True),
    }


def _sends(now: datetime) -> dict:
    Outcome = models.ProofOutcome
    recent = list(
        models.ProofSend.objects.order_by("-created_at", "-id").values(
            "pk", "created_at", "actor_label", "notification_key", "outcome", "mode"
        )[:RECENT_SENDS]
    )
    labels = dict(Outcome.choices)
    shown: list[dict] = [{**send, "outcome_label": labels.get(send["outcome"], send["outcome"])} for send in recent]
    per_day = list(
        models.ProofSend.objects.filter(created_at__gte=now - timedelta(days=HISTORY_DAYS))
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "outcome")
        .annotate(n=Count("pk"))
    )
    refused = {Outcome.REFUSED_GUARD, Outcome.REFUSED_ITERABLE, Outcome.RATE_LIMITED}
    grouped = [
        {
            "day": r["day"],
            "kind": "sent" if r["outcome"] == Outcome.SENT else "refused" if r["outcome"] in refused else "other",
            "n": r["n"],
        }
        for r in per_day
    ]
    kinds = [
        ("sent", "Accepted by Iterable", COLOURS["ok"]),
        ("refused", "Refused (guard, Iterable or too many)", COLOURS["error"]),
        ("other", "In progress or unknown", COLOURS["neutral"]),
    ]
    return {
        "recent": shown,
        "total_30": sum(r["n"] for r in per_day),
        "chart": _daily_chart(grouped, "kind", kinds, now, stacked=True),
    }


def _days(now: datetime) -> list[date]:
    today = timezone.localdate(now)
    return [today - timedelta(days=i) for i in range(HISTORY_DAYS - 1, -1, -1)]


def _daily_chart(
    rows: list[dict], key: str, series: list[tuple[str, str, str]], now: datetime, *, stacked: bool
) -> dict:
    """Chart.js data (labels and datasets) plus the same numbers as table rows for the text alternative."""
    days = _days(now)
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for row in rows:
        day = row["day"]
        if isinstance(day, datetime):
            day = day.date()
        counts[(day, row[key])] += row["n"]
    datasets = [
        {
            "label": label,
            "data": [counts[(day, value)] for day in days],
            "backgroundColor": colour,
            "borderColor": colour,
        }
        for value, label, colour in series
    ]
    return {
        "type": "bar",
        "stacked": stacked,
        "labels": [f"{day:%b %d}" for day in days],
        "datasets": datasets,
        "table": {
            "columns": [label for _, label, _ in series],
            "rows": [
                (day, [d["data"][i] for d in datasets])
                for i, day in enumerate(days)
                if any(d["data"][i] for d in datasets)
            ],
        },
        "total": sum(counts.values()),
    }


def finding_kind(code: str) -> str:
    """The kind of finding a sync run's code counts: the guard's (a forbidden type in Iterable), an orphan or drift."""
    if code in GUARD_CODES:
        return models.FindingCategory.GUARD
    if code in ORPHAN_CODES:
        return models.FindingCategory.ORPHAN
    return models.FindingCategory.DRIFT


def _findings_history(now: datetime) -> dict:
    """Findings in Iterable per day over HISTORY_DAYS, per kind, from the successful sync runs' counts."""
    days = _days(now)
    runs = (
        models.SyncRun.objects.filter(
            status=models.SyncStatus.SUCCEEDED,
            started_at__gte=now - timedelta(days=HISTORY_DAYS),
        )
        .order_by("started_at", "id")
        .values_list("project_id", "started_at", "findings")
    )
    # Per project, its counts at the end of each day it was synced (the day's last run wins).
    per_project: dict[int, dict[date, dict[str, int]]] = defaultdict(dict)
    for project_id, started_at, findings in runs.iterator(chunk_size=2000):
        kinds: dict[str, int] = defaultdict(int)
        for code, count in (findings or {}).items():
            if isinstance(count, int):
                kinds[finding_kind(code)] += count
        per_project[project_id][timezone.localdate(started_at)] = dict(kinds)
    totals: dict[date, dict[str, int]] = {day: defaultdict(int) for day in days}
    synced_days = set()
    for by_day in per_project.values():
        current: dict[str, int] | None = None
        for day in days:
            if day in by_day:
                current = by_day[day]
                synced_days.add(day)
            for kind, count in (current or {}).items():
                totals[day][kind] += count
    series = [
        (models.FindingCategory.GUARD, "Forbidden types in Iterable (guard)", COLOURS["error"]),
        (models.FindingCategory.DRIFT, "Drift from the catalog", COLOURS["warning"]),
        (models.FindingCategory.ORPHAN, "In Iterable, not in the catalog", COLOURS["info"]),
    ]
    datasets = [
        {
            "label": label,
            "data": [totals[day][kind] if per_project and _known(day, per_project) else None for day in days],
            "backgroundColor": colour,
            "borderColor": colour,
        }
        for kind, label, colour in series
    ]
    return {
        "type": "line",
        "stacked": False,
        "labels": [f"{day:%b %d}" for day in days],
        "datasets": datasets,
        "table": {
            "columns": [label for _, label, _ in series],
            "rows": [(day, [d["data"][i] for d in datasets]) for i, day in enumerate(days) if day in synced_days],
        },
        "total": len(synced_days),
    }


def _known(day: date, per_project: dict[int, dict[date, dict[str, int]]]) -> bool:
    """Whether any project had been synced by the end of `day` within the window (else the day has no value)."""
    return any(min(by_day) <= day for by_day in per_project.values())


def _digest_changed(sender, **kwargs) -> None:
    cache.delete(DIGEST_KEY)


# Everything the digest is read from (the catalog's counts clear themselves in catalog/services/summary.py, and
# the digest is rebuilt with them only when either changes).
for _model in (
    models.Notification,
    models.IterableProject,
    models.SyncRun,
    models.SyncFinding,
    models.ResyncRun,
    models.ProofSend,
):
    post_save.connect(_digest_changed, sender=_model, dispatch_uid=f"home-digest-save-{_model.__name__}")
    post_delete.connect(_digest_changed, sender=_model, dispatch_uid=f"home-digest-delete-{_model.__name__}")
m2m_changed.connect(_digest_changed, sender=models.Notification.owners.through, dispatch_uid="home-digest-m2m-owners")
