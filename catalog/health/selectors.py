"""Reads for pages and the API: a notification's series, rates and last send; a contact's recent events."""

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Max, Q, Sum
from django.utils import timezone

from catalog.health.models import EventKind, HealthDaily, HealthEvent
from catalog.models import IterableMirror, MirrorKind

CHART_KINDS = [
    EventKind.SEND, EventKind.OPEN, EventKind.CLICK, EventKind.BOUNCE, EventKind.UNSUBSCRIBE, EventKind.SKIP,
]  # fmt: skip
RATE_KINDS = [EventKind.OPEN, EventKind.CLICK, EventKind.BOUNCE, EventKind.UNSUBSCRIBE, EventKind.COMPLAINT]
PERIODS = (30, 90)
BASELINE_DAYS = 28


def _today() -> date:
    return timezone.localdate()


def notification_health(notification, *, days: int = 30) -> dict:
    """Per-day counts of the chart kinds over `days`, totals, rates against the baseline before, last send."""
    rows = HealthDaily.objects.filter(notification=notification, day__gte=health_window_start(days)).values_list(
        "day", "kind", "count"
    )
    last_sent = HealthDaily.objects.filter(notification=notification, kind=EventKind.SEND).aggregate(at=Max("last_at"))[
        "at"
    ]
    return health_from_counts(rows, last_sent, days=days)


def health_window_start(days: int) -> date:
    """The first day a notification's health over `days` reads: the baseline's first day."""
    if days not in PERIODS:
        raise ValueError(f"days must be one of {', '.join(map(str, PERIODS))}")
    return _today() - timedelta(days=days - 1 + BASELINE_DAYS)


def health_from_counts(rows, last_sent, *, days: int) -> dict:
    """notification_health's answer from the notification's (day, kind, count) rows since
    health_window_start(days) and its last send."""
    start = health_window_start(days) + timedelta(days=BASELINE_DAYS)
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: defaultdict[str, int] = defaultdict(int)
    baseline: defaultdict[str, int] = defaultdict(int)
    for day, kind, count in rows:
        if day >= start:
            per_day[day][kind] += count
            totals[kind] += count
        else:
            baseline[kind] += count
    labels = [start + timedelta(days=i) for i in range(days)]
    series = {kind.value: [per_day[d][kind] for d in labels] for kind in CHART_KINDS}

    def rate(counts, kind):
        return counts[kind] / counts[EventKind.SEND] if counts[EventKind.SEND] else None

    rates = [
        {
            "kind": kind.value,
            "label": kind.label,
            "rate": rate(totals, kind),
            "baseline": rate(baseline, kind),
        }
        for kind in RATE_KINDS
    ]
    return {
        "days": days,
        "labels": [d.isoformat() for d in labels],
        "series": series,
        "series_labels": {kind.value: kind.label for kind in CHART_KINDS},
        "totals": {kind.value: totals[kind] for kind in CHART_KINDS},
        "rates": rates,
        "last_sent": last_sent,
        "rows": [(d, counts) for d in reversed(labels) if any(counts := [per_day[d][kind] for kind in CHART_KINDS])],
    }


def contact_recent(*, project_ids, email: str = "", user_id: str = "", limit: int = 50) -> list[HealthEvent]:
    """A contact's recent sends and skips (and what followed them), newest first, within the raw window."""
    who = Q()
    if email:
        who |= Q(email=email.strip().lower())
    if user_id:
        who |= Q(user_id=user_id)
    if not who:
        return []
    kinds = [EventKind.SEND, EventKind.SKIP, EventKind.BOUNCE, EventKind.UNSUBSCRIBE, EventKind.OPEN, EventKind.CLICK]
    return list(
        HealthEvent.objects.filter(who, project_id__in=project_ids, kind__in=kinds).order_by("-occurred_at")[:limit]
    )


def sends_in_days_expression(days: int = 30):
    """Each notification's sends over the last `days` days, for annotating a notification queryset."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    since = _today() - timedelta(days=days - 1)
    sends = (
        HealthDaily.objects.filter(notification=OuterRef("pk"), kind=EventKind.SEND, day__gte=since)
        .order_by()
        .values("notification")
        .annotate(n=Sum("count"))
        .values("n")
    )
    return Coalesce(Subquery(sends), 0)


def orphan_sends(*, days: int = 30, limit: int = 10) -> list[dict]:
    """Campaigns (or templates) Iterable reported sends for that no notification declares, most sends first."""
    since = _today() - timedelta(days=days - 1)
    rows = (
        HealthDaily.objects.filter(notification__isnull=True, kind=EventKind.SEND, day__gte=since)
        .values("project_id", "project__name", "bucket", "campaign_id", "template_id")
        .annotate(sends=Sum("count"), last=Max("last_at"))
        .order_by("-sends", "bucket")
    )
    found = list(rows[:limit])
    if not found:
        return found
    # Named as the last sync saw them in Iterable, where it did (one query): people know campaigns by name.
    wanted = Q()
    for row in found:
        kind, iterable_id = (
            (MirrorKind.CAMPAIGN, row["campaign_id"])
            if row["campaign_id"]
            else (MirrorKind.TEMPLATE, row["template_id"])
        )
        row["mirror"] = (row["project_id"], kind, iterable_id)
        if iterable_id:
            wanted |= Q(project_id=row["project_id"], kind=kind, iterable_id=iterable_id)
    names = {
        (project_id, kind, iterable_id): (payload or {}).get("name")
        for project_id, kind, iterable_id, payload in (
            IterableMirror.objects.filter(wanted).values_list("project_id", "kind", "iterable_id", "payload")
            if wanted
            else []
        )
    }
    for row in found:
        row["name"] = names.get(row.pop("mirror"))
    return found
