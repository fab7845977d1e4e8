"""History from Iterable's campaign metrics: days the webhooks missed are filled, covered days left alone."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from catalog.health.backfill import backfill_record, health_backfill
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
        webhook_count=5,
    )
    client.force_login(user_in_role("engineering"))
    with django_capture_on_commit_callbacks(execute=True):  # the task is queued when the request commits
        response = client.post(
            f"/api/health/notifications/{health.digest.key}/backfill/", {"days": 5}, content_type="application/json"
        )
    assert response.status_code == 202 and response.json()["campaigns"] == [401]
    assert _days(health.digest) == {(1, "send"): 2, (1, "open"): 1, (2, "send"): 5, (3, "send"): 1}
    calls = [r for r in health.emulator.requests(path="/api/campaigns/metrics")]
    assert len(calls) == 5  # day 2 too (the webhooks may have missed some): its 5 stay, the metrics' 1 is smaller

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


def _late_send(n: int, days_ago: int) -> dict:
    day = timezone.localdate() - timedelta(days=days_ago)
    return {"email": f"late{n}@example.com", "eventName": "emailSend",
            "dataFields": {"campaignId": 401, "templateId": 501, "messageId": f"late{n}",
                           "createdAt": f"{day} 12:00:00 +00:00"}}  # fmt: skip


def test_a_backfilled_day_and_the_late_webhooks_for_it_are_never_added_up(health):
    _in_the_past(health, [2, 2, 2], opens_days_ago=[2])
    assert health_backfill(notification=health.digest, days=3)["days_filled"] == 1
    assert _days(health.digest) == {(2, "send"): 3, (2, "open"): 1}
    # Iterable's webhooks for that day arrive late: two of the three sends the metrics already counted.
    assert health.post([_late_send(n, 2) for n in range(2)]).status_code == 200
    assert _days(health.digest) == {(2, "send"): 3, (2, "open"): 1}
    # More arrive than the metrics had seen when they were read: the webhooks' count is the fuller one now.
    assert health.post([_late_send(n, 2) for n in range(2, 5)]).status_code == 200
    assert _days(health.digest) == {(2, "send"): 5, (2, "open"): 1}
    send = HealthDaily.objects.get(notification=health.digest, kind="send")
    assert (send.webhook_count, send.backfill_count) == (5, 3)
    # A second backfill reads only the days without counters (3 and 1, nothing sent) and leaves day 2 as it is.
    again = health_backfill(notification=health.digest, days=3)
    assert (again["calls"], again["days_filled"]) == (2, 0)
    assert _days(health.digest) == {(2, "send"): 5, (2, "open"): 1}


def test_a_day_the_webhooks_counted_is_not_backfilled_on_top_of_them(health):
    assert health.post([_late_send(n, 3) for n in range(2)]).status_code == 200
    _in_the_past(health, [3, 3, 3, 3], opens_days_ago=[])  # Iterable's metrics: 4 sends that day
    result = health_backfill(notification=health.digest, days=3)
    # Day 3 is read too (the door may have been down part of it): the metrics' 4 are shown, the webhooks' 2 kept.
    assert result["calls"] == 3 and result["days_filled"] == 1
    assert _days(health.digest) == {(3, "send"): 4}
    send = HealthDaily.objects.get(notification=health.digest, kind="send")
    assert (send.webhook_count, send.backfill_count) == (2, 4)
    # A second backfill does not read the backfilled day again.
    assert health_backfill(notification=health.digest, days=3)["calls"] == 2
    # A backfill that read its numbers just before the webhooks' first events for the day were counted sets
    # its number beside theirs; later webhooks and a repeated backfill still count every send once.
    day, bucket = timezone.localdate() - timedelta(days=3), f"n:{health.digest.pk}"
    backfill_record(notification=health.digest, bucket=bucket, day=day, totals={"send": 4})
    assert _days(health.digest) == {(3, "send"): 4}
    assert health.post([_late_send(n, 3) for n in range(2, 4)]).status_code == 200
    backfill_record(notification=health.digest, bucket=bucket, day=day, totals={"send": 4})
    assert _days(health.digest) == {(3, "send"): 4}
    send = HealthDaily.objects.get(notification=health.digest, kind="send")
    assert (send.webhook_count, send.backfill_count) == (4, 4)
