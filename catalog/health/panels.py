"""What the core pages include: each function gives its template's context (home, notification, contact). The
notification page's panel, the list's "Sends, 30 days" column and its sends filter are registered with the core
(catalog/core/extensions.py) at the end of this module, which CatalogConfig.ready() imports."""

import re
from collections import defaultdict
from datetime import UTC, date, datetime

import django_filters
from django.db.models import Aggregate, JSONField, Max, OuterRef, Subquery
from django.db.models.functions import JSONObject

from catalog import roles
from catalog.core.extensions import ListColumn, ListFilter, Panel, register_column, register_filter, register_panel
from catalog.health.alerts import alerts_open
from catalog.health.counters import ProjectMap, retention_days
from catalog.health.models import EventKind, HealthAlert, HealthDaily
from catalog.health.selectors import (
    PERIODS,
    contact_recent,
    health_from_counts,
    health_window_start,
    orphan_sends,
    sends_in_days_expression,
)
from catalog.models import IterableProject, Notification

VOLUME = ["send", "skip"]
WORDS = {"send": "Sent", "skip": "Skipped", "bounce": "Bounced", "unsubscribe": "Unsubscribed", "open": "Opened",
         "click": "Clicked"}  # fmt: skip
ENGAGEMENT = ["open", "click", "bounce", "unsubscribe"]
# Iterable's send-skip reasons (its codes, and the emulator's) in people's words; a code not listed here is split
# into its words, and a bounce's message is already a sentence.
SKIP_REASONS = {
    "MessageTypeNotOptedIn": "not opted in to this message type",
    "MessageTypeUnsubscribe": "unsubscribed from this message type",
    "ChannelUnsubscribe": "unsubscribed from this channel",
    "CampaignDeactivated": "the campaign was deactivated",
    "DuplicateMarketingMessage": "already sent this marketing message",
    "FrequencyCapping": "over the frequency cap",
}
_CODE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def reason_words(reason: str) -> str:
    """A skip reason as people say it: "MessageTypeNotOptedIn" -> "not opted in to this message type"."""
    if reason in SKIP_REASONS:
        return SKIP_REASONS[reason]
    if re.fullmatch(r"[A-Za-z0-9]+", reason or "") and any(c.isupper() for c in reason[1:]):
        return " ".join(_CODE.findall(reason)).lower()
    return reason


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _chart(data: dict, kinds: list[str]) -> dict:
    return {
        "labels": data["labels"],
        "datasets": [{"label": data["series_labels"][k], "data": data["series"][k]} for k in kinds],
    }


class JSONRows(Aggregate):
    """The grouped rows' values as one JSON array."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra):
        # jsonb, which Django's JSONField reads back (it decodes jsonb's text, not json's).
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra)


def _moment(text: str) -> datetime:
    # PostgreSQL writes the offset; SQLite stores UTC without one.
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


ALERT_FIELDS = ["id", "project_id", "kind", "message", "occurrences", "last_seen_at"]
# What the panel reads from the notification's row, under these names (_panel_reads).
READ = ("panel_health_daily", "panel_health_last_sent", "panel_health_alerts")


def _days(request) -> int:
    return 90 if request.GET.get("health_days") == "90" else 30


def _panel_reads(days: int) -> dict:
    """The panel's read as subqueries on a notification's row: the daily counts since the baseline's first day,
    the last send, and the open alerts."""
    mine = {"notification": OuterRef("pk")}
    daily = HealthDaily.objects.filter(**mine, day__gte=health_window_start(days)).order_by().values("notification")
    sends = HealthDaily.objects.filter(**mine, kind=EventKind.SEND).order_by().values("notification")
    alerts = HealthAlert.objects.filter(**mine, acknowledged_at__isnull=True).order_by().values("notification")
    return {
        "panel_health_daily": Subquery(
            daily.annotate(rows=JSONRows(JSONObject(day="day", kind="kind", count="count"))).values("rows")
        ),
        "panel_health_last_sent": Subquery(sends.annotate(at=Max("last_at")).values("at")),
        "panel_health_alerts": Subquery(
            alerts.annotate(
                rows=JSONRows(JSONObject(**{f: f for f in ALERT_FIELDS}, project_name="project__name"))
            ).values("rows")
        ),
    }


def _with_panel_read(queryset, request):
    """The notification page's read of the notification, with the panel's: the panel then reads nothing itself."""
    return queryset.annotate(**_panel_reads(_days(request)))


def _panel_read(notification: Notification, days: int) -> tuple[list, datetime | None, list[HealthAlert]]:
    """What the panel shows, read with the notification by the page (`_with_panel_read`), else in one query of
    its own (the notification page's budget is ten): the daily counts, the last send, and the open alerts, newest
    first."""
    if all(hasattr(notification, name) for name in READ):
        found = tuple(getattr(notification, name) for name in READ)
    else:
        found = Notification.objects.filter(pk=notification.pk).annotate(**_panel_reads(days)).values_list(*READ).get()
    rows, last_sent, open_alerts = found
    counts = [(date.fromisoformat(r["day"]), r["kind"], r["count"]) for r in rows or []]
    shown = [
        HealthAlert(
            **{f: r[f] for f in ALERT_FIELDS if f != "last_seen_at"},
            notification=notification,
            last_seen_at=_moment(r["last_seen_at"]),
            project=IterableProject(pk=r["project_id"], name=r["project_name"]),
        )
        for r in open_alerts or []
    ]
    shown.sort(key=lambda a: (a.last_seen_at, a.pk), reverse=True)
    return counts, last_sent, shown[:20]


def notification_panel(notification: Notification, request) -> dict:
    """Context of health/notification_panel.html: charts (30 or 90 days), the table behind them, rates
    against the notification's own baseline, last send and open alerts."""
    days = _days(request)
    counts, last_sent, alerts = _panel_read(notification, days)
    data = health_from_counts(counts, last_sent, days=days)
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
        "alerts": alerts,
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
        event.reason_words = reason_words(event.reason)  # type: ignore[attr-defined]
        per_notification[maps[event.project_id].notification_for(event.campaign_id, event.template_id)].append(event)
    for lookup in lookups:
        for reach in getattr(lookup, "reach", None) or []:
            reach.reported = per_notification.get(reach.notification.pk, [])[:5]
            reach.reported_window = retention_days()


# ------------------------------------------------------------------------------------------ the core's pages

SENDS_30D = "sends_30d"


def with_sends_30d(queryset):
    """Each notification's sends over the last 30 days (a subquery per row), once."""
    if SENDS_30D in queryset.query.annotations:
        return queryset
    return queryset.annotate(**{SENDS_30D: sends_in_days_expression(30)})


def _sends_cell(notification) -> str:
    return f'<td class="num">{int(getattr(notification, SENDS_30D, 0) or 0)}</td>'


def _filter_sends(queryset, name, value):
    queryset = with_sends_30d(queryset)
    return queryset.filter(sends_30d=0) if value == "none" else queryset.filter(sends_30d__gt=0)


def _sends_filter():
    return django_filters.ChoiceFilter(
        choices=[("none", "Nothing sent in 30 days"), ("some", "Sent in the last 30 days")],
        method=_filter_sends,
        label="Sends (30 days)",
        help_text="What Iterable's webhooks reported; with Status: active, the ones that went quiet",
    )


def _notification_section(notification: Notification, request) -> dict:
    return {"health": notification_panel(notification, request)}


register_panel(
    Panel("health-live", "health/notification_panel.html", _notification_section, order=10, annotate=_with_panel_read)
)
register_column(
    ListColumn("sends", "Sends, 30 days", with_sends_30d, _sends_cell, sort="sends", sort_field=SENDS_30D, order=10)
)
register_filter(ListFilter("sends", _sends_filter, annotate=with_sends_30d, order=10))
