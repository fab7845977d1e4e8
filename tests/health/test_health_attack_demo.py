"""The demo's traffic fills more than the sends chart: a recipient who unsubscribes through Iterable's API is
delivered as Iterable's emailUnSubscribe webhook and counted for the notification, and later sends to them are
skipped with the reason."""

import random

import pytest

from catalog.health import demo
from catalog.health.counters import health_process
from catalog.health.models import HealthDaily

pytestmark = pytest.mark.django_db


def test_demo_traffic_unsubscribes_some_recipients_and_the_charts_show_it(health, monkeypatch):
    health.digest.trigger_type = "api_send"
    health.digest.status = "active"
    health.digest.save()
    health.receipt.status = "draft"
    health.receipt.save()
    monkeypatch.setattr(demo, "_contacts", lambda project: ["person1@example.com"])
    monkeypatch.setattr(demo, "UNSUBSCRIBE_EVERY", 1)
    monkeypatch.setattr(demo, "_come_back", lambda *args: None)
    tally = demo.demo_traffic_round(sends=3, rng=random.Random(1))
    assert tally == {"sent": 3, "errors": 0, "unsubscribed": 3}
    names = [p["eventName"] for p in health.deliver()]
    assert names == ["emailSend", "emailUnSubscribe", "emailSendSkip", "emailSendSkip"]
    health_process()
    kinds = set(HealthDaily.objects.filter(notification=health.digest).values_list("kind", flat=True))
    assert {"send", "unsubscribe", "skip"} <= kinds
