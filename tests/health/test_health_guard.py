"""The guard watching real sends: forbidden types, unknown campaigns and spikes alert the owners, once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from catalog.health.alerts import alert_acknowledge
from catalog.health.counters import health_process
from catalog.health.models import AlertKind, HealthAlert, HealthDaily, OwnerAlertHook
from catalog.models import AuditEvent
from tests.health.conftest import FORBIDDEN_CAMPAIGN, PROJECT_ID, UNKNOWN_CAMPAIGN

pytestmark = pytest.mark.django_db


def _edit_template_type_in_iterable(emulator, template_id, type_id):
    # Someone changes the template's message type in Iterable's UI; the catalog is not told.
    emulator.state.projects[PROJECT_ID].templates[template_id]["messageTypeId"] = type_id


def test_a_send_on_marketing_message_alerts_the_owners_by_email_and_webhook(health, receiver):
    OwnerAlertHook.objects.create(owner=health.owner, url=f"{receiver.url}/chat")
    _edit_template_type_in_iterable(health.emulator, 501, 12)
    health.client.email_target(401, recipient_email="person1@example.com")
    health.client.email_target(401, recipient_email="person2@example.com")
    # The webhook request itself queues the judging (django-q runs it inline in tests): no schedule needed.
    health.deliver()

    alert = HealthAlert.objects.get(kind=AlertKind.FORBIDDEN_TYPE)
    assert alert.notification == health.digest
    assert alert.occurrences == 2
    assert "'Marketing Message'" in alert.message and "Iterable's opt-out" in alert.message
    assert alert.first_seen_at > timezone.now() - timedelta(minutes=1)
    assert [m.to for m in mail.outbox] == [["lifecycle@example.com"]]
    assert "Sent on a forbidden message type: Weekly digest" in mail.outbox[0].subject
    assert [r["path"] for r in receiver.received] == ["/chat"]
    assert receiver.received[0]["body"]["alert"] == alert.pk
    assert {d["channel"]: d["ok"] for d in HealthAlert.objects.get().deliveries} == {"email": True, "webhook": True}


def test_an_opt_out_type_moved_to_a_marketing_channel_in_iterable_alerts_too(health):
    project = health.emulator.state.projects[PROJECT_ID]
    project.message_types[13]["channelId"] = 1  # "Transactional" now on the Marketing channel, in Iterable only
    health.client.email_target(402, recipient_email="person1@example.com")
    health.deliver()
    health_process()
    # The catalog still says type 13 is on the Transactional channel: the send is judged on the catalog's facts
    # unless Iterable's message type is unknown to it, so this one is judged ok ...
    assert not HealthAlert.objects.filter(kind=AlertKind.FORBIDDEN_TYPE).exists()
    # ... while a type the catalog lacks is judged on what the last sync saw (here: the Marketing channel).
    from catalog.models import IterableMirror

    IterableMirror.objects.create(
        project=health.project,
        kind="message_type",
        iterable_id=77,
        payload={"id": 77, "name": "Promo blast", "channelId": 1, "subscriptionPolicy": "OptOut"},
        first_seen_at=timezone.now(),
        changed_at=timezone.now(),
    )
    IterableMirror.objects.create(
        project=health.project,
        kind="channel",
        iterable_id=1,
        payload={"id": 1, "name": "Marketing Channel", "channelType": "Marketing"},
        first_seen_at=timezone.now(),
        changed_at=timezone.now(),
    )
    event = {
        "email": "person1@example.com",
        "eventName": "emailSend",
        "dataFields": {"campaignId": 402, "templateId": 503, "messageTypeId": 77, "messageId": "x"},
    }
    health.post(event)
    alert = HealthAlert.objects.get(kind=AlertKind.FORBIDDEN_TYPE)
    assert alert.notification == health.receipt
    assert "opt-out message type 'Promo blast' on the Marketing channel 'Marketing Channel'" in alert.message


def test_a_campaign_outside_the_catalog_alerts_and_so_does_its_forbidden_type(health, settings):
    settings.HEALTH_ALERT_EMAILS = ["guard@example.com"]
    health.client.email_target(UNKNOWN_CAMPAIGN, recipient_email="person1@example.com")
    health.client.email_target(FORBIDDEN_CAMPAIGN, recipient_email="person2@example.com")
    health.deliver()
    kinds = sorted(HealthAlert.objects.values_list("kind", "details__campaign_id"))
    assert kinds == [
        (AlertKind.FORBIDDEN_TYPE, FORBIDDEN_CAMPAIGN),
        (AlertKind.UNKNOWN_CAMPAIGN, FORBIDDEN_CAMPAIGN),
        (AlertKind.UNKNOWN_CAMPAIGN, UNKNOWN_CAMPAIGN),
    ]
    assert {tuple(m.to) for m in mail.outbox} == {("guard@example.com",)}
    assert len(mail.outbox) == 3


def test_allowed_sends_raise_nothing(health):
    for n in range(1, 6):
        health.client.email_target(401, recipient_email=f"person{n}@example.com")
        health.client.email_target(402, recipient_email=f"person{n}@example.com")
    health.deliver()
    health_process()
    assert HealthAlert.objects.count() == 0 and mail.outbox == []


def test_alerts_are_deduplicated_until_acknowledged_and_the_acknowledgement_is_audited(health, user_in_role):
    _edit_template_type_in_iterable(health.emulator, 501, 12)
    health.client.email_target(401, recipient_email="person1@example.com")
    health.deliver()
    health.client.email_target(401, recipient_email="person2@example.com")
    health.deliver()
    alert = HealthAlert.objects.get()
    assert alert.occurrences == 2 and len(mail.outbox) == 1

    person = user_in_role("marketing")
    alert_acknowledge(alert=alert, actor=person, note="Template moved back in Iterable")
    audit = AuditEvent.objects.get(object_type="healthalert", action="acknowledge")
    assert (audit.actor, audit.changes) == (person, {"note": "Template moved back in Iterable"})

    health.client.email_target(401, recipient_email="person3@example.com")
    health.deliver()
    assert HealthAlert.objects.count() == 2 and len(mail.outbox) == 2
    assert HealthAlert.objects.filter(acknowledged_at__isnull=True).count() == 1


def _history(notification, *, days, sends, kind, count):
    today = timezone.localdate()
    for d in range(1, days + 1):
        day = today - timedelta(days=d)
        for k, n in (("send", sends), (kind, count)):
            HealthDaily.objects.create(
                project=notification.project,
                bucket=f"n:{notification.pk}",
                notification=notification,
                day=day,
                kind=k,
                count=n,
            )


def _unsubscribes(health, n, start=0):
    events = [
        {
            "email": f"person{i}@example.com",
            "eventName": "emailUnSubscribe",
            "dataFields": {"campaignId": 401, "templateId": 501, "messageId": f"u{i}"},
        }
        for i in range(start, start + n)
    ]
    health.post(events)


def test_an_unsubscribe_spike_against_the_baseline_alerts_the_owners(health):
    _history(health.digest, days=28, sends=100, kind="unsubscribe", count=1)  # a 1% baseline
    for n in range(1, 11):
        health.client.email_target(401, recipient_email=f"person{n}@example.com")
    health.deliver()
    _unsubscribes(health, 4)
    assert not HealthAlert.objects.exists()  # under the minimum count
    _unsubscribes(health, 2, start=4)
    alert = HealthAlert.objects.get()
    assert alert.kind == AlertKind.UNSUBSCRIBE_SPIKE and alert.notification == health.digest
    assert alert.details["count"] == 6 and alert.details["sends"] == 10 and alert.details["baseline"] == 0.01
    assert [m.to for m in mail.outbox] == [["lifecycle@example.com"]]


def test_unsubscribes_in_line_with_the_baseline_do_not_alert(health):
    _history(health.digest, days=28, sends=100, kind="unsubscribe", count=30)  # 30% is this one's normal
    for n in range(1, 21):
        health.client.email_target(401, recipient_email=f"person{n}@example.com")
    health.deliver()
    _unsubscribes(health, 6)
    assert not HealthAlert.objects.exists()


def test_acknowledging_twice_is_refused_with_who_did_it(health, user_in_role, client):
    _edit_template_type_in_iterable(health.emulator, 501, 12)
    health.client.email_target(401, recipient_email="person1@example.com")
    health.deliver()
    alert = HealthAlert.objects.get()
    client.force_login(user_in_role("marketing"))
    first = client.post(
        f"/api/health/alerts/{alert.pk}/acknowledge/", {"note": "on it"}, content_type="application/json"
    )
    second = client.post(f"/api/health/alerts/{alert.pk}/acknowledge/", {}, content_type="application/json")
    assert first.status_code == 200 and first.json()["acknowledged_label"] == "marketing-user"
    assert second.status_code == 400
    assert second.json()["errors"][0]["message"].startswith("marketing-user already acknowledged this alert on ")
    viewer = user_in_role("viewer")
    client.force_login(viewer)
    assert (
        client.post(f"/api/health/alerts/{alert.pk}/acknowledge/", {}, content_type="application/json").status_code
        == 403
    )
    assert client.get("/api/health/alerts/?open=false").json()["results"][0]["id"] == alert.pk


def test_a_type_the_last_sync_saw_move_to_marketing_alerts_even_if_the_catalog_says_transactional(health):
    from catalog.models import IterableMirror

    now = timezone.now()
    # The catalog still has type 13 on the Transactional channel; Iterable (as the last sync saw it) moved it.
    IterableMirror.objects.create(
        project=health.project,
        kind="message_type",
        iterable_id=13,
        first_seen_at=now,
        changed_at=now,
        payload={"id": 13, "name": "Transactional", "channelId": 1, "subscriptionPolicy": "OptOut"},
    )
    IterableMirror.objects.create(
        project=health.project,
        kind="channel",
        iterable_id=1,
        first_seen_at=now,
        changed_at=now,
        payload={"id": 1, "name": "Marketing Channel", "channelType": "Marketing"},
    )
    health.post(
        {
            "email": "person1@example.com",
            "eventName": "emailSend",
            "dataFields": {"campaignId": 402, "templateId": 503, "messageTypeId": 13, "messageId": "y"},
        }
    )
    alert = HealthAlert.objects.get(kind=AlertKind.FORBIDDEN_TYPE)
    assert alert.notification == health.receipt and "Marketing Channel" in alert.message


def test_a_send_on_a_type_nobody_knows_fails_closed(health):
    health.post(
        {
            "email": "person1@example.com",
            "eventName": "emailSend",
            "dataFields": {"campaignId": 402, "templateId": 503, "messageTypeId": 424242, "messageId": "z"},
        }
    )
    alert = HealthAlert.objects.get(kind=AlertKind.FORBIDDEN_TYPE)
    assert "#424242" in alert.message and "unknown" in alert.message


def test_a_chat_webhook_url_is_never_stored_or_logged_whole(health, caplog):
    secret_path = "/services/T000/B000/very-secret-token"
    OwnerAlertHook.objects.create(owner=health.owner, url=f"http://127.0.0.1:9{secret_path}")  # nothing listens
    _edit_template_type_in_iterable(health.emulator, 501, 12)
    health.client.email_target(401, recipient_email="person1@example.com")
    health.deliver()
    deliveries = HealthAlert.objects.get(kind=AlertKind.FORBIDDEN_TYPE).deliveries
    webhooks = [d for d in deliveries if d["channel"] == "webhook"]
    assert [d["ok"] for d in webhooks] == [False] and webhooks[0]["to"] == "http://127.0.0.1/…"
    assert "very-secret-token" not in str(deliveries) and "very-secret-token" not in caplog.text
    assert "Webhook" in caplog.text or "webhook" in caplog.text  # the failure is logged, without the secret
