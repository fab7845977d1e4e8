"""What the core pages include: each function gives its template's context (home, notification, contact)."""

from collections import defaultdict

from catalog import roles
from catalog.health.alerts import alerts_open
from catalog.health.counters import ProjectMap, retention_days
from catalog.health.models import HealthAlert
from catalog.health.selectors import PERIODS, contact_recent, notification_health
from catalog.models import Notification

VOLUME = ["send", "skip"]
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
        "can_acknowledge": request.user.has_perm(roles.SEND_PROOF),
        "next": request.get_full_path(),
    }


def contact_panel(*, projects, email: str = "", user_id: str = "") -> dict:
    """Context of health/contact_panel.html: the contact's recent sends and skips, per notification."""
    events = contact_recent(project_ids=[p.pk for p in projects], email=email, user_id=user_id)
    maps = {p.pk: ProjectMap.load(p.pk) for p in {e.project for e in events}} if events else {}
    ids = {maps[e.project_id].notification_for(e.campaign_id, e.template_id) for e in events}
    names = dict(Notification.objects.filter(pk__in=ids - {None}).values_list("pk", "key"))
    grouped = defaultdict(list)
    for event in events:
        key = names.get(maps[event.project_id].notification_for(event.campaign_id, event.template_id))
        grouped[key].append(event)
    return {
        "groups": sorted(grouped.items(), key=lambda item: (item[0] is None, item[0] or "")),
        "window": retention_days(),
    }
