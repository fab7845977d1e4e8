"""History from Iterable's campaign metrics, for days the webhooks did not cover (a new notification, downtime).

One call per day not backfilled yet (all the notification's campaigns at once), paced by the client to the
endpoint's limit (10 a minute per project). A day the webhooks counted is read too (after downtime its count is
partial); a day already backfilled is not, so a second run costs no call for it. Campaign metrics count Email
only.

The two accounts never add up: the backfill sets its number beside the webhooks' count (`backfill_count`,
replaced by a later backfill, never added to), and a day shows the larger of the two. So a late webhook for a
backfilled day, or a backfill that races the counting of a day's first events, counts nothing twice.
"""

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.health.counters import ProjectMap, bucket_of, counting_lock
from catalog.health.models import EventKind, HealthDaily
from catalog.iterable import client_for_project
from catalog.models import Notification

MAX_DAYS = 90
# Iterable's metric name -> our kind.
METRICS = {
    "Total Email Sends": EventKind.SEND,
    "Total Email Opens": EventKind.OPEN,
    "Total Emails Clicked": EventKind.CLICK,
    "Total Emails Bounced": EventKind.BOUNCE,
    "Total Unsubscribes": EventKind.UNSUBSCRIBE,
    "Total Complaints": EventKind.COMPLAINT,
}


def _iterable_time(day: date) -> str:
    return datetime.combine(day, time(0), tzinfo=timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M:%S %z")


def _count(value: str) -> int:
    try:
        return max(0, int(float(value or 0)))
    except ValueError:
        return 0


def notification_campaigns(notification: Notification) -> list[int]:
    pmap = ProjectMap.load(notification.project_id)
    return sorted(c for c, n in pmap.by_campaign.items() if n == notification.pk)


def health_backfill(*, notification: Notification, days: int = 30, client=None) -> dict:
    """Fill the notification's days without counters from Iterable's campaign metrics; returns what it did."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    campaigns = notification_campaigns(notification)
    today = timezone.localdate()
    wanted = [today - timedelta(days=i) for i in range(days, 0, -1)]  # whole days only: today is still going
    # A day already backfilled is not read again. A day the webhooks counted is read once: after downtime its
    # count may be partial (the door was down part of the day), and the larger of the two accounts is shown.
    covered = set(
        HealthDaily.objects.filter(notification=notification, day__in=wanted, backfill_count__gt=0).values_list(
            "day", flat=True
        )
    )
    missing = [d for d in wanted if d not in covered]
    result: dict[str, Any] = {"campaigns": campaigns, "days_missing": len(missing), "days_filled": 0, "calls": 0}
    if not campaigns or not missing:
        return result
    client = client or client_for_project(notification.project)
    bucket = bucket_of(notification.pk, None, None)
    for day in missing:
        rows = client.get_campaign_metrics(
            campaigns, start=_iterable_time(day), end=_iterable_time(day + timedelta(days=1))
        )
        result["calls"] += 1
        read = {kind.value: sum(_count(row.get(name, "0")) for row in rows) for name, kind in METRICS.items()}
        totals = {kind: n for kind, n in read.items() if n}
        if not totals:
            continue
        with transaction.atomic():
            counting_lock()  # the counting worker's lock: nobody adds to these rows meanwhile
            backfill_record(notification=notification, bucket=bucket, day=day, totals=totals)
        result["days_filled"] += 1
    return result


def backfill_record(*, notification: Notification, bucket: str, day: date, totals: dict[str, int]) -> None:
    """Set Iterable's numbers for the day beside whatever the webhooks counted; shown is the larger."""
    existing = {
        row.kind: row
        for row in HealthDaily.objects.select_for_update().filter(
            project_id=notification.project_id, bucket=bucket, day=day, kind__in=totals
        )
    }
    for kind, n in totals.items():
        row = existing.get(kind)
        if row is None:
            HealthDaily.objects.create(
                project_id=notification.project_id,
                bucket=bucket,
                notification=notification,
                day=day,
                kind=kind,
                backfill_count=n,
                count=n,
            )
            continue
        row.backfill_count = n
        row.count = max(row.webhook_count, n)
        row.save(update_fields=["backfill_count", "count"])
