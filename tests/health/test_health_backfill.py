"""History from Iterable's campaign metrics: days the webhooks missed are filled, covered days left alone."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from catalog.health.backfill import health_backfill
from catalog.health.models import HealthDaily
from tests.health.conftest import PROJECT_ID

pytestmark = pytest.mark.django_db


def _ms(days_ago: int) -> int:
    noon = datetime.combine(timezone.localdate() - timedelta(days=days_ago), datetime.min.time()) + timedelta(hours=12)
    return int(timezone.make_aware(noon).timestamp() * 1000)


def _in_the_past(health, days_ago_per_send: list[int], opens_days_ago: list[int]):
    """Sends made through the client, then dated back, as if Iterable had sent them on those days."""
    for n, _ in enumerate(days_ago_per_send):
        health.client.email_target(401, recipient_email=f"person{n + 1}@example.com")
    state = health.emulator.state
    with state.lock:
        sends = [s for s in state.sends if s["campaignId"] == 401]
        for send, days_ago in zip(sends, days_ago_per_send, strict=True):
            send["createdAtMs"] = _ms(days_ago)
        for n, days_ago in enumerate(opens_days_ago):
            state.events.append(
                {
                    "id": f"open{n}",
                    "projectId": PROJECT_ID,
                    "eventType": "emailOpen",
                    "campaignId": 401,
                    "email": f"person{n + 1}@example.com",
                    "createdAtMs": _ms(days_ago),
                    "createdAt": "x",
                }
            )


def _days(notification):
    return {
        ((timezone.localdate() - d.day).days, d.kind): d.count
        for d in HealthDaily.objects.filter(notification=notification)
    }


def test_backfill_fills_the_missing_days_and_leaves_covered_ones(
    health, client, user_in_role, django_capture_on_commit_callbacks
):
    _in_the_past(health, [1, 1, 3, 2], opens_days_ago=[1])
    # Day 2 was seen by the webhooks already (5 sends): the metrics' 1 send must not be added to it.
    HealthDaily.objects.create(
        project=health.project,
        bucket=f"n:{health.digest.pk}",
        notification=health.digest,
        day=timezone.localdate() - timedelta(days=2),
        kind="send",
        count=5,
    )
    client.force_login(user_in_role("engineering"))
    with django_capture_on_commit_callbacks(execute=True):  # the task is queued when the request commits
        response = client.post(
            f"/api/health/notifications/{health.digest.key}/backfill/", {"days": 5}, content_type="application/json"
        )
    assert response.status_code == 202 and response.json()["campaigns"] == [401]
    assert _days(health.digest) == {(1, "send"): 2, (1, "open"): 1, (2, "send"): 5, (3, "send"): 1}
    calls = [r for r in health.emulator.requests(path="/api/campaigns/metrics")]
    assert len(calls) == 4  # days 5, 4, 3 and 1: day 2 was covered

    again = health_backfill(notification=health.digest, days=5)
    assert again["days_filled"] == 0 and _days(health.digest)[(1, "send")] == 2


def test_backfill_refuses_what_it_cannot_do(health, client, user_in_role):
    url = f"/api/health/notifications/{health.digest.key}/backfill/"
    client.force_login(user_in_role("marketing"))
    assert client.post(url, {}, content_type="application/json").status_code == 403
    client.force_login(user_in_role("engineering", username="eng"))
    bad = client.post(url, {"days": 400}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "days"
    health.digest.status = "draft"
    health.digest.campaign_id = None
    health.digest.save()
    health.digest.templates.clear()
    none = client.post(url, {}, content_type="application/json")
    assert none.status_code == 400
    assert none.json()["errors"][0]["message"] == "This notification has no Iterable campaign to read metrics for."
