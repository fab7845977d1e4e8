"""The emulator posts the system webhooks it records, from its own thread, to the live dashboard over
loopback; the dashboard counts them and the guard alerts the owner. Nothing but loopback is ever called."""

import time

import pytest
from django.core import mail

from catalog.health.models import AlertKind, HealthAlert, HealthDaily, HealthEvent
from iterable_emulator.delivery import WebhookDelivery
from tests.health.conftest import PROJECT_ID, WEBHOOK_ID

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _wait(condition, seconds=15):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _point_webhook(emulator, endpoint, secret):
    with emulator.state.lock:
        hook = emulator.state.projects[PROJECT_ID].webhooks[WEBHOOK_ID]
        hook["endpoint"] = endpoint
        hook["headers"] = [{"key": "X-Webhook-Secret", "value": secret}]


def test_the_emulator_delivers_its_webhooks_to_the_dashboard_which_alerts_the_owner(health, live_server):
    _point_webhook(health.emulator, f"{live_server.url}/api/health/webhooks/{health.project.pk}/", health.secret)
    health.emulator.state.projects[PROJECT_ID].templates[501]["messageTypeId"] = 12  # edited in Iterable
    with WebhookDelivery(health.emulator.state, rate=200) as delivery:
        for n in range(1, 4):
            health.client.email_target(401, recipient_email=f"person{n}@example.com")
        health.client.email_target(402, recipient_email="person9@example.com")
        _wait(lambda: HealthEvent.objects.filter(counted=True).count() == 4)
        _wait(lambda: HealthAlert.objects.filter(notified_at__isnull=False).exists())
    assert delivery.stats == {"delivered": 4, "failed": 0, "refused": 0, "dropped": 0}
    assert HealthDaily.objects.get(notification=health.receipt, kind="send").count == 1
    alert = HealthAlert.objects.get()
    assert (alert.kind, alert.notification, alert.occurrences) == (AlertKind.FORBIDDEN_TYPE, health.digest, 3)
    assert [m.to for m in mail.outbox] == [["lifecycle@example.com"]]


def test_deliveries_go_only_to_allowed_hosts_and_the_queue_is_bounded(health, receiver):
    _point_webhook(health.emulator, "http://example.com/hooks", health.secret)
    with WebhookDelivery(health.emulator.state, rate=200) as delivery:
        health.client.email_target(401, recipient_email="person1@example.com")
        _wait(lambda: delivery.stats["refused"] == 1)
    assert delivery.stats["delivered"] == 0

    _point_webhook(health.emulator, f"{receiver.url}/in", health.secret)
    for n in range(1, 8):
        health.client.email_target(401, recipient_email=f"person{n}@example.com")
    # Eight waiting (the refused one above included, for this new deliverer), three allowed to wait.
    slow = WebhookDelivery(health.emulator.state, rate=100, max_pending=3)
    with slow:
        _wait(lambda: slow.pending() == 0 and slow.stats["delivered"] == 3)
    assert slow.stats["dropped"] == 5
    assert [r["body"]["eventName"] for r in receiver.received] == ["emailSend"] * 3
    assert {r["path"] for r in receiver.received} == {"/in"}


def test_a_failing_receiver_is_retried_then_counted_as_failed(health):
    _point_webhook(health.emulator, "http://127.0.0.1:9/closed", health.secret)  # nothing listens on port 9
    with WebhookDelivery(health.emulator.state, rate=200, timeout=1, attempts=2) as delivery:
        health.client.email_target(401, recipient_email="person1@example.com")
        _wait(lambda: delivery.stats["failed"] == 1)
    assert delivery.stats["delivered"] == 0
