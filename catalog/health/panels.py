"""What the core pages include: each function gives its template's context (home, notification, contact)."""

from collections import defaultdict

from catalog import roles
from catalog.health.alerts import alerts_open
from catalog.health.counters import ProjectMap, retention_days
from catalog.health.models import HealthAlert
from catalog.health.selectors import PERIODS, contact_recent, notification_health, orphan_sends
from catalog.models import Notification

VOLUME = ["send", "skip"]
WORDS = {"send": "Sent", "skip": "Skipped", "bounce": "Bounced", "unsubscribe": "Unsubscribed", "open": "Opened",
         "click": "Clicked"}  # fmt: skip
ENGAGEMENT = ["open", "click", "bounce", "unsubscribe"]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _chart(data: dict, kinds: list[str]) -> dict:
    return {
        "labels": data["labels"],
        "datasets": [{"label": data["series_labels"][k], "data": data["series"][k]} for k in kinds],
    }


def notification_panel(notification: Notification, request) -> dict:
    """Context of health/notification_panel.html: charts (30 or 90 days), the table behind them, rates
    against the notification's own baseline, last send and open alerts."""
    days = 90 if request.GET.get("health_days") == "90" else 30
    data = notification_health(notification, days=days)
    return {
        "data": data,
        "days": days,
        "periods": PERIODS,
        "volume": _chart(data, VOLUME),
        "engagement": _chart(data, ENGAGEMENT),
        "kinds": [data["series_labels"][k] for k in data["series"]],
        "totals": [(data["series_labels"][k], data["totals"][k]) for k in data["series"]],
        "rates": [
            {"label": r["label"], "rate": _percent(r["rate"]), "baseline": _percent(r["baseline"])}
            for r in data["rates"]
        ],
        "alerts": alerts_open(notification=notification),
        "can_acknowledge": request.user.has_perm(roles.SEND_PROOF),
        "next": request.get_full_path(),
    }


def home_panel(request) -> dict:
    """Context of health/home_panel.html: alerts nobody has acknowledged yet."""
    return {
        "alerts": alerts_open(limit=20),
        "open_total": HealthAlert.objects.filter(acknowledged_at__isnull=True).count(),
        "orphans": orphan_sends(),
        "can_acknowledge": request.user.has_perm(roles.SEND_PROOF),
        "next": request.get_full_path(),
    }


def contact_reported(*, lookups, email: str = "", user_id: str = "") -> None:
    """Put what Iterable reported for this contact beside each "would it reach them" row (`reach.reported`:
    sends, skips with reasons, bounces, unsubscribes, newest first) for the template's column."""
    if not lookups:
        return
    projects = [lookup.project for lookup in lookups]
    events = contact_recent(project_ids=[p.pk for p in projects], email=email, user_id=user_id)
    maps = {pk: ProjectMap.load(pk) for pk in {e.project_id for e in events}}
    per_notification = defaultdict(list)
    for event in events:
        event.word = WORDS.get(event.kind, event.event_name)  # type: ignore[attr-defined]  # for the template
        per_notification[maps[event.project_id].notification_for(event.campaign_id, event.template_id)].append(event)
    for lookup in lookups:
        for reach in getattr(lookup, "reach", None) or []:
            reach.reported = per_notification.get(reach.notification.pk, [])[:5]
            reach.reported_window = retention_days()
