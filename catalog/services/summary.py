"""The home page's account of the catalog: how many notifications of each kind, how many the guard faults, and
the verdicts of the first flagged ones.

Counting every notification by four fields scans the whole table (100,000 rows: tens of milliseconds, on every
visit to the most visited page), so the account is computed in one pass and kept in the cache for
SUMMARY_SECONDS. Any write to what it is computed from clears it (the receivers below); verdicts rewritten in
bulk by a refresh, and another process's writes when the cache is not shared between processes, show within
SUMMARY_SECONDS.
"""

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.signals import m2m_changed, post_delete, post_save

from catalog import models
from catalog.guard.verdicts import notification_verdict, prefetch_iterable_violations

SUMMARY_KEY = "catalog:home-summary"
SUMMARY_SECONDS = 60
FLAGGED_SHOWN = 100
COUNTED_FIELDS = {
    "by_trigger": ("trigger_type", models.TriggerType.choices),
    "by_medium": ("medium", models.Medium.choices),
    "by_audience": ("audience", models.Audience.choices),
    "by_status": ("status", models.NotificationStatus.choices),
}


def catalog_summary() -> dict:
    """total, error_total, warning_total, by_trigger/by_medium/by_audience/by_status as (value, label, count),
    unjudged_by_project (notifications without errors, per project id), warning_by_project (with warnings and
    no error, per project id) and verdicts: (key, violations) of the first FLAGGED_SHOWN notifications with an
    error or a warning, errors first."""
    summary = cache.get(SUMMARY_KEY)
    if summary is None:
        summary = _computed()
        cache.set(SUMMARY_KEY, summary, SUMMARY_SECONDS)
    return summary


def _computed() -> dict:
    notifications = models.Notification.objects.order_by()
    counts = {
        "total": Count("pk"),
        "error_total": Count("pk", filter=Q(verdict_errors__gt=0)),
        "warning_total": Count("pk", filter=Q(verdict_errors=0, verdict_warnings__gt=0)),
    }
    for name, (field, choices) in COUNTED_FIELDS.items():
        for i, (value, _) in enumerate(choices):
            counts[f"{name}_{i}"] = Count("pk", filter=Q(**{field: value}))
    # One pass over the table, per project: the catalog's counts are the projects' sums.
    per_project = list(notifications.values("project").annotate(**counts))
    found = {key: sum(row[key] for row in per_project) for key in counts}
    summary = {key: found[key] for key in ("total", "error_total", "warning_total")}
    for name, (_, choices) in COUNTED_FIELDS.items():
        summary[name] = [(value, label, found[f"{name}_{i}"]) for i, (value, label) in enumerate(choices)]
    summary["unjudged_by_project"] = {
        row["project"]: row["total"] - row["error_total"] for row in per_project if row["total"] > row["error_total"]
    }
    summary["warning_by_project"] = {
        row["project"]: row["warning_total"] for row in per_project if row["warning_total"]
    }
    # The shown ones picked first by their verdict columns (indexed), so the owners are counted for those rows
    # only: counting them before the sort grouped every flagged notification (0.3 s at 100,000).
    shown = (
        notifications.filter(Q(verdict_errors__gt=0) | Q(verdict_warnings__gt=0))
        .order_by("-verdict_errors", "-verdict_warnings", "key")
        .values("pk")[:FLAGGED_SHOWN]
    )
    flagged = (
        notifications.filter(pk__in=shown)
        .select_related("project", "message_type__channel", "event", "journey")
        .prefetch_related("templates__message_type__channel", prefetch_iterable_violations())
        .annotate(owner_total=Count("owners", distinct=True))
        .order_by("-verdict_errors", "-verdict_warnings", "key")
    )
    summary["verdicts"] = [(n.key, notification_verdict(n)) for n in flagged]
    return summary


def _summary_changed(sender, **kwargs) -> None:
    cache.delete(SUMMARY_KEY)


# Everything a verdict or a count is computed from.
for _model in (
    models.Notification,
    models.MessageType,
    models.Channel,
    models.Template,
    models.Owner,
    models.IterableProject,
    models.SyncRun,
    models.SyncFinding,
):
    post_save.connect(_summary_changed, sender=_model, dispatch_uid=f"home-summary-save-{_model.__name__}")
    post_delete.connect(_summary_changed, sender=_model, dispatch_uid=f"home-summary-delete-{_model.__name__}")
for _through in (models.Notification.owners.through, models.Notification.templates.through):
    m2m_changed.connect(_summary_changed, sender=_through, dispatch_uid=f"home-summary-m2m-{_through.__name__}")
