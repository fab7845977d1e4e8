"""The notification page's live health panel reads what it shows in one query, and shows what the health
selectors read one table at a time: the daily counts with their baseline, the last send (however old), and the
open alerts of that notification only, newest first."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.health.alerts import alerts_open
from catalog.health.models import AlertKind, EventKind, HealthAlert, HealthDaily
from catalog.health.panels import notification_panel
from catalog.health.selectors import notification_health


@pytest.fixture(autouse=True)
def json_probed():
    # SQLite's JSON support is probed once per connection, by Django, on first use: not the panel's cost.
    assert connection.features.supports_json_field


def daily(notification, days_ago: int, kind: str, count: int) -> HealthDaily:
    today = timezone.localdate()
    return HealthDaily.objects.create(
        project=notification.project,
        bucket=f"n:{notification.pk}",
        notification=notification,
        day=today - timedelta(days=days_ago),
        kind=kind,
        count=count,
        webhook_count=count,
        last_at=timezone.now() - timedelta(days=days_ago, hours=1),
    )


def alert(notification, key: str, hours_ago: int, *, acknowledged: bool = False) -> HealthAlert:
    seen = timezone.now() - timedelta(hours=hours_ago)
    return HealthAlert.objects.create(
        project=notification.project,
        notification=notification,
        kind=AlertKind.BOUNCE_SPIKE,
        dedupe_key=key,
        message=f"Bounces <b>{key}</b>",
        occurrences=hours_ago + 1,
        first_seen_at=seen,
        last_seen_at=seen,
        acknowledged_at=timezone.now() if acknowledged else None,
    )


@pytest.fixture
def activity(small_catalog):
    digest, receipt = small_catalog.digest, small_catalog.receipt
    daily(digest, 300, EventKind.SEND, 7)  # the last send is older than any window the panel charts
    for days_ago, kind, count in [(2, "send", 100), (2, "open", 40), (2, "bounce", 3), (20, "send", 50),
                                  (45, "send", 80), (45, "click", 9), (100, "send", 60)]:  # fmt: skip
        daily(digest, days_ago, kind, count)
    daily(receipt, 1, EventKind.SEND, 999)
    alert(digest, "old", 30)
    alert(digest, "new", 2)
    alert(digest, "gone", 1, acknowledged=True)
    alert(receipt, "other", 1)
    return small_catalog


@pytest.mark.django_db
@pytest.mark.parametrize("days", [30, 90])
def test_the_panel_reads_in_one_query_what_the_selectors_read_in_three(activity, user_in_role, days):
    digest = activity.digest
    request = RequestFactory().get(f"/notifications/{digest.key}/", {"health_days": days})
    request.user = user_in_role("engineering")
    request.user.has_perm("catalog.view_notification")  # the user's permissions are the page's, not the panel's

    with CaptureQueriesContext(connection) as queries:
        panel = notification_panel(digest, request)

    assert len(queries) == 1, [q["sql"][:150] for q in queries.captured_queries]
    assert panel["data"] == notification_health(digest, days=days)
    assert panel["data"]["last_sent"] is not None and panel["data"]["totals"]["send"] > 0
    expected = alerts_open(notification=digest)
    assert [a.dedupe_key for a in expected] == ["new", "old"]
    assert [(a.pk, a.kind, a.message, a.occurrences, a.last_seen_at, a.project.name) for a in panel["alerts"]] == [
        (a.pk, a.kind, a.message, a.occurrences, a.last_seen_at, a.project.name) for a in expected
    ]


@pytest.mark.django_db
def test_a_quiet_notification_reads_empty_in_one_query(small_catalog, user_in_role):
    request = RequestFactory().get("/")
    request.user = user_in_role("viewer")
    request.user.has_perm("catalog.view_notification")
    with CaptureQueriesContext(connection) as queries:
        panel = notification_panel(small_catalog.digest, request)
    assert len(queries) == 1
    assert (panel["alerts"], panel["data"]["last_sent"], panel["data"]["rows"]) == ([], None, [])
