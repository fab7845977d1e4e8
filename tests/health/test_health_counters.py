"""Counters and the raw window: counted per day in the event's own day, kept when the raw rows go."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.health.counters import health_process, health_retention_purge
from catalog.health.models import HealthDaily, HealthEvent

pytestmark = pytest.mark.django_db


def _event(health, n, *, kind="emailSend", campaign=401, at="2026-11-20 10:00:00 +00:00"):
    return {"email": f"p{n}@example.com", "eventName": kind,
            "dataFields": {"campaignId": campaign, "messageId": f"m{n}", "createdAt": at}}  # fmt: skip


def test_counters_follow_the_day_each_event_happened_and_its_template_when_the_campaign_is_unknown(health):
    events = [_event(health, n) for n in range(3)] + [_event(health, 9, at="2026-11-21 23:59:59 +00:00")]
    events.append({"email": "p@example.com", "eventName": "emailClick", "dataFields": {"templateId": 501}})
    assert health.post(events).status_code == 200
    days = sorted(
        (str(d.day), d.kind, d.count, d.notification.key)
        for d in HealthDaily.objects.select_related("notification")
        if d.kind == "send"
    )
    assert days == [("2026-11-20", "send", 3, "weekly_digest"), ("2026-11-21", "send", 1, "weekly_digest")]
    click = HealthDaily.objects.get(kind="click")
    assert click.notification == health.digest and click.bucket == f"n:{health.digest.pk}"


def _at(days_ago: int) -> str:
    return f"{timezone.localdate() - timedelta(days=days_ago)} 12:00:00 +00:00"


def test_retention_deletes_the_old_days_counted_events_in_batches_and_keeps_the_counters(health, settings):
    settings.HEALTH_RAW_RETENTION_DAYS = 7
    # Outside the window, and older than any day partition on PostgreSQL: its default partition holds them.
    old = [_event(health, n, at=_at(40 if n % 2 else 45)) for n in range(20)]
    assert health.post(old + [_event(health, n, at=_at(7)) for n in range(20, 25)]).status_code == 200
    # An old event nobody has counted yet stays until it is counted.
    HealthEvent.objects.filter(email="p0@example.com").update(counted=False)
    assert health_retention_purge(batch=6)["deleted"] == 19
    assert sorted({(timezone.localdate() - e.day).days for e in HealthEvent.objects.all()}) == [7, 45]
    health_process()
    assert health_retention_purge(batch=6)["deleted"] == 1
    assert HealthEvent.objects.count() == 5
    sends = HealthDaily.objects.filter(kind="send")
    assert sum(d.count for d in sends) == 26  # p0 counted twice: it was made uncounted by hand


def test_an_unsubscribe_made_through_the_api_is_delivered_and_counted_for_its_campaign(health):
    health.client.update_subscriptions(email="person1@example.com", subscribed_message_type_ids=[], campaign_id=401)
    health.client.update_subscriptions(email="person2@example.com", unsubscribed_channel_ids=[2])
    health.client.update_subscriptions(email="person3@example.com", subscribed_message_type_ids=[11])  # no change
    payloads = health.deliver()
    assert [(p["email"], p["dataFields"]["messageTypeIds"], p["dataFields"]["channelIds"]) for p in payloads] == [
        ("person1@example.com", [11], []),
        ("person2@example.com", [], [2]),
    ]
    assert HealthDaily.objects.get(notification=health.digest).kind == "unsubscribe"
    assert HealthDaily.objects.get(notification__isnull=True).bucket == "-"  # not attributed to any campaign


def test_deleting_a_project_takes_its_raw_events_and_counters_with_it(health):
    from catalog.health.ingest import events_ingest
    from catalog.models import IterableProject

    spare = IterableProject.objects.create(name="Spare", api_key_env="ITERABLE_API_KEY_SPARE")
    events_ingest(project_id=spare.pk, body=[_event(health, n, at=_at(n)) for n in range(3)])
    health_process()
    assert HealthEvent.objects.filter(project=spare).count() == 3
    assert HealthDaily.objects.filter(project=spare).count() == 3
    spare.delete()
    assert not HealthEvent.objects.exists() and not HealthDaily.objects.exists()
