"""The pictures: the notification's charts (data in JSON elements, a table for each), rates, last send,
alerts on home and the notification page with their acknowledge button, and the list's sends filter."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.health.models import HealthAlert, HealthDaily
from catalog.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db


def _day(notification, days_ago, **counts):
    day = timezone.localdate() - timedelta(days=days_ago)
    for kind, count in counts.items():
        HealthDaily.objects.create(
            project=notification.project,
            bucket=f"n:{notification.pk}",
            notification=notification,
            day=day,
            kind=kind,
            count=count,
            last_at=timezone.now() - timedelta(days=days_ago),
        )


def _json(html: str, element_id: str) -> dict:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_notification_page_charts_30_and_90_days_with_tables_and_rates(health, client, user_in_role):
    _day(health.digest, 0, send=100, open=40, unsubscribe=2)
    _day(health.digest, 3, send=50, skip=5, bounce=1)
    _day(health.digest, 60, send=10)
    _day(health.digest, 40, send=100, unsubscribe=1)  # in the 28 days before the 30-day period
    client.force_login(user_in_role("viewer"))
    html = client.get(f"/notifications/{health.digest.key}/").content.decode()
    volume = _json(html, "health-volume")
    assert len(volume["labels"]) == 30
    assert [d["label"] for d in volume["datasets"]] == ["Sends", "Skips"]
    assert volume["datasets"][0]["data"][-1] == 100 and volume["datasets"][0]["data"][-4] == 50
    assert sum(volume["datasets"][1]["data"]) == 5
    engagement = _json(html, "health-engagement")
    assert [d["label"] for d in engagement["datasets"]] == ["Opens", "Clicks", "Bounces", "Unsubscribes"]
    assert 'data-chart-source="health-volume"' in html and "vendor/chartjs/chart.umd.min.js" in html
    # The text alternative: every charted number in a table.
    table = html[html.index('id="health-days"') :]
    assert re.search(r">\s*" + str(timezone.localdate()) + r"\s*<.*?>100<.*?>40<", table, re.S)
    # 2 unsubscribes per 150 sends, against 1 per 100 in the 28 days before.
    rates = html[html.index('id="health-rates"') :]
    assert re.search(r"Unsubscribes</th><td class=\"num\">1\.3%</td><td class=\"num\">1\.0%</td>", rates)
    assert "Last sent: <time" in html
    # No inline script: only files and JSON data elements (the Content-Security-Policy forbids the rest).
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag

    ninety = client.get(f"/notifications/{health.digest.key}/?health_days=90").content.decode()
    assert len(_json(ninety, "health-volume")["labels"]) == 90
    assert sum(_json(ninety, "health-volume")["datasets"][0]["data"]) == 260


def test_a_quiet_notification_says_never_reported(health, client, user_in_role):
    client.force_login(user_in_role("viewer"))
    html = client.get(f"/notifications/{health.receipt.key}/").content.decode()
    assert "<strong>never reported</strong>" in html and "Nothing reported in these 30 days." in html


def test_alerts_show_on_home_and_the_notification_and_a_person_acknowledges_them(health, client, user_in_role):
    health.emulator.state.projects[7].templates[501]["messageTypeId"] = 12
    health.client.email_target(401, recipient_email="person1@example.com")
    health.deliver()
    alert = HealthAlert.objects.get()
    viewer = user_in_role("viewer")
    client.force_login(viewer)
    home = client.get("/").content.decode()
    assert "Alerts from real sends (1)" in home and "Sent on a forbidden message type" in home
    assert ">Acknowledge</button>" not in home  # viewers see, they do not acknowledge
    assert client.post(f"/api/health/alerts/{alert.pk}/acknowledge-form/").status_code == 403

    person = user_in_role("marketing")
    client.force_login(person)
    page = client.get(f"/notifications/{health.digest.key}/").content.decode()
    assert 'data-testid="health-alert"' in page and ">Acknowledge</button>" in page
    response = client.post(
        f"/api/health/alerts/{alert.pk}/acknowledge-form/",
        {"note": "Reverted in Iterable", "next": f"/notifications/{health.digest.key}/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/notifications/{health.digest.key}/"
    alert.refresh_from_db()
    assert alert.acknowledged_by == person
    assert AuditEvent.objects.get(action="acknowledge").changes == {"note": "Reverted in Iterable"}
    assert "Alerts from real sends" not in client.get("/").content.decode()
    # An outside address in `next` is not followed.
    other = HealthAlert.objects.create(
        project=health.project,
        kind="bounce-spike",
        dedupe_key="x",
        message="m",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    response = client.post(f"/api/health/alerts/{other.pk}/acknowledge-form/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_list_filters_active_notifications_with_nothing_sent_and_sorts_by_sends(health, client, user_in_role):
    _day(health.digest, 1, send=7)
    _day(health.receipt, 45, send=500)  # sent, but not in the last 30 days
    client.force_login(user_in_role("viewer"))
    quiet = client.get("/notifications/?status=active&sends=none").content.decode()
    assert "receipt" in quiet and "weekly_digest" not in quiet
    by_sends = client.get("/notifications/?ordering=-sends").content.decode()
    assert by_sends.index(">weekly_digest<") < by_sends.index(">receipt<")
    api = client.get("/api/notifications/?sends=some").json()
    assert [n["key"] for n in api["results"]] == ["weekly_digest"]
    assert Notification.objects.count() == 2


def test_contact_lookup_shows_what_iterable_reported_next_to_the_prediction(health, client, user_in_role):
    # person2 unsubscribed from the opt-in type in Iterable: the send to them is skipped, with its reason.
    health.client.update_subscriptions(email="person2@example.com", subscribed_message_type_ids=[])
    health.client.email_target(401, recipient_email="person1@example.com")
    health.client.email_target(401, recipient_email="person2@example.com")
    payloads = health.deliver()
    assert [p["eventName"] for p in payloads] == ["emailUnSubscribe", "emailSend", "emailSendSkip"]
    reason = payloads[2]["dataFields"]["reason"]
    assert reason
    client.force_login(user_in_role("marketing"))
    page = client.post("/contacts/", {"email": "person2@example.com", "project": health.project.pk}).content.decode()
    row = page[page.index('<code class="muted">weekly_digest</code>') :]
    row = row[: row.index("</tr>")]
    # The reason in people's words, never Iterable's code.
    assert reason == "MessageTypeNotOptedIn"
    assert "<strong>Skipped</strong>" in row and "(not opted in to this message type)" in row
    assert reason not in row
    assert '<span class="badge warning">No</span>' in row  # the prediction agrees: it would not reach them
    other = client.post("/contacts/", {"email": "person1@example.com", "project": health.project.pk}).content.decode()
    row = other[other.index('<code class="muted">weekly_digest</code>') :]
    assert "<strong>Sent</strong>" in row[: row.index("</tr>")]


def test_the_api_gives_the_same_series_and_refuses_other_periods(health, client, user_in_role):
    _day(health.digest, 0, send=12, bounce=1)
    _day(health.digest, 50, send=3)
    client.force_login(user_in_role("viewer"))
    thirty = client.get(f"/api/health/notifications/{health.digest.key}/").json()
    assert thirty["totals"]["send"] == 12 and thirty["series"]["bounce"][-1] == 1 and len(thirty["labels"]) == 30
    bounce = next(r for r in thirty["rates"] if r["kind"] == "bounce")
    assert bounce == {"kind": "bounce", "label": "Bounces", "rate": 1 / 12, "baseline": 0.0}  # 3 sends, no bounce
    assert client.get(f"/api/health/notifications/{health.digest.key}/?days=90").json()["totals"]["send"] == 15
    bad = client.get(f"/api/health/notifications/{health.digest.key}/?days=7")
    assert bad.status_code == 400 and bad.json()["errors"][0] == {
        "field": "days",
        "code": "invalid",
        "message": "Use one of 30, 90.",
    }
    assert client.get("/api/health/notifications/no-such-thing/").status_code == 404


def test_home_lists_sends_from_campaigns_outside_the_catalog(health, client, user_in_role):
    health.client.email_target(409, recipient_email="person1@example.com")
    health.client.email_target(409, recipient_email="person2@example.com")
    health.deliver()
    client.force_login(user_in_role("viewer"))
    home = client.get("/").content.decode()
    table = home[home.index('id="health-orphan-sends"') :]
    assert re.search(r"<td>Test project</td><td>Campaign 409</td><td class=\"num\">2</td>", table)
