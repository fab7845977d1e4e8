"""Live health attacked from outside: every event kind Iterable's system webhooks send is counted under the
right word, a redelivery is one event whatever its byte layout, every way Iterable writes a time lands on the
same day, a list with one bad event is refused whole and says which, and a campaign declared after its sends
were counted as an orphan takes them with it."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db.models import Sum
from django.utils import timezone

from catalog.health.counters import health_process
from catalog.health.models import AlertKind, HealthAlert, HealthDaily, HealthEvent
from catalog.health.selectors import orphan_sends
from catalog.models import IterableMirror
from tests.factories import NotificationFactory
from tests.health.conftest import UNKNOWN_CAMPAIGN

pytestmark = pytest.mark.django_db

MOMENT = "2026-11-29 10:00:00 +00:00"


def _event(name="emailSend", n=1, **data) -> dict:
    fields = {"campaignId": 401, "templateId": 501, "messageId": f"m{n}", "createdAt": MOMENT}
    fields.update(data)
    return {"email": f"person{n}@example.com", "eventName": name, "dataFields": fields}


def _counts(**filters) -> dict[str, int]:
    rows = HealthDaily.objects.filter(**filters).values("kind").annotate(n=Sum("count"))
    return {r["kind"]: r["n"] for r in rows}


# Every event the issue names, as Iterable names it in its system webhooks (and its export's data types), and
# the kind it must be counted under; and the other message events Iterable sends for the same mediums.
KINDS = {
    "emailSend": "send", "emailOpen": "open", "emailClick": "click", "emailBounce": "bounce",
    "emailComplaint": "complaint", "emailUnSubscribe": "unsubscribe", "emailSubscribe": "subscribe",
    "emailSendSkip": "skip", "pushSend": "send", "pushOpen": "open", "pushBounce": "bounce",
    "pushUninstall": "uninstall", "pushSendSkip": "skip", "smsSend": "send", "smsBounce": "bounce",
    "smsSendSkip": "skip", "smsClick": "click", "inAppSend": "send", "inAppSendSkip": "skip", "inAppOpen": "open",
    "inAppClick": "click", "webPushSend": "send", "webPushClick": "click", "webPushSendSkip": "skip",
}  # fmt: skip


@pytest.mark.parametrize(("name", "kind"), sorted(KINDS.items()))
def test_each_event_iterable_sends_is_counted_under_its_kind_for_its_notification(health, name, kind):
    response = health.post(_event(name))
    assert response.status_code == 200, response.content
    health_process()
    assert _counts(notification=health.digest) == {kind: 1}


def test_the_chart_words_are_peoples_words_never_iterables_event_names(health, client, user_in_role):
    for n, name in enumerate(KINDS):
        health.post(_event(name, n=n))
    health_process()
    client.force_login(user_in_role("viewer"))
    page = client.get(f"/notifications/{health.digest.key}/").content.decode()
    for name in KINDS:
        assert name not in page, name


def test_a_redelivery_with_its_keys_reordered_and_other_whitespace_is_one_event(health):
    event = _event(reason="a", userId="u-1")
    layouts = [
        json.dumps(event),
        json.dumps(event, indent=4),
        json.dumps(dict(reversed(list(event.items()))), separators=(",", ":")),
        json.dumps({**event, "dataFields": dict(sorted(event["dataFields"].items(), reverse=True))}),
        json.dumps(event, separators=(" ,\n\t", " :  ")),
    ]
    for body in layouts:
        assert health.post(body).status_code == 200
    assert HealthEvent.objects.count() == 1
    health_process()
    assert _counts(notification=health.digest) == {"send": 1}


@pytest.mark.parametrize(
    "created_at",
    [
        "2026-11-29 23:30:00 +00:00",  # Iterable's own form
        "2026-11-29T23:30:00Z",
        "2026-11-29T23:30:00.000Z",
        "2026-11-29T23:30:00+00:00",
        "2026-11-30 00:30:00 +01:00",  # the same moment in another zone: the UTC day counts
        "2026-11-29 18:30:00 -05:00",
        "2026-11-29 23:30:00",  # no offset: Iterable's times are UTC
        "2026-11-29T23:30:00.000",
        int(datetime(2026, 11, 29, 23, 30, tzinfo=UTC).timestamp()),  # epoch seconds
        int(datetime(2026, 11, 29, 23, 30, tzinfo=UTC).timestamp() * 1000),  # epoch milliseconds
        datetime(2026, 11, 29, 23, 30, tzinfo=UTC).timestamp() * 1000 + 0.5,
        str(int(datetime(2026, 11, 29, 23, 30, tzinfo=UTC).timestamp() * 1000)),  # milliseconds as text
        str(int(datetime(2026, 11, 29, 23, 30, tzinfo=UTC).timestamp())),  # seconds as text
    ],
)
def test_every_way_iterable_writes_a_time_dates_the_event_on_its_day(health, created_at):
    response = health.post(_event(createdAt=created_at))
    assert response.status_code == 200, response.content
    event = HealthEvent.objects.get()
    assert event.day.isoformat() == "2026-11-29"
    assert abs(event.occurred_at - datetime(2026, 11, 29, 23, 30, tzinfo=UTC)) < timedelta(seconds=1)


def test_the_day_follows_the_sites_time_zone(health, settings):
    settings.TIME_ZONE = "America/New_York"
    timezone.deactivate()
    # 02:00 UTC on the 30th is still the 29th in New York.
    health.post(_event(createdAt="2026-11-30 02:00:00 +00:00"))
    assert HealthEvent.objects.get().day.isoformat() == "2026-11-29"


def test_a_list_with_one_bad_event_is_refused_whole_and_says_which(health):
    events = [_event(n=n) for n in range(5)]
    events[3]["dataFields"]["campaignId"] = "not a number"
    response = health.post(events)
    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert message.startswith("event 3: dataFields.campaignId must be a whole number")
    assert not HealthEvent.objects.exists()
    # The sender fixes that event and sends the list again: all five, once.
    events[3]["dataFields"]["campaignId"] = 401
    assert health.post(events).json() == {"received": 5}
    assert HealthEvent.objects.count() == 5


def test_a_list_of_1000_is_taken_and_1001_refused_in_words(health):
    assert health.post([_event(n=n) for n in range(1000)]).json() == {"received": 1000}
    response = health.post([_event(n=n) for n in range(1001)])
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "At most 1000 events per request; this one has 1001."
    assert HealthEvent.objects.count() == 1000


@pytest.mark.parametrize("project_id", ["999999999999999999", "9999999999999999999999", "0", "00007"])
def test_hostile_project_ids_are_refused_without_a_500(health, project_id):
    response = health.http.post(
        f"/api/health/webhooks/{project_id}/",
        json.dumps(_event()),
        content_type="application/json",
        headers={"X-Webhook-Secret": health.secret},
    )
    assert response.status_code in (401, 404), response.content
    assert not HealthEvent.objects.exists()


@pytest.mark.parametrize("project_id", ["abc", "-1", "1.5", "%00"])
def test_a_project_id_that_is_not_a_number_is_refused(health, project_id):
    response = health.http.post(
        f"/api/health/webhooks/{project_id}/",
        json.dumps(_event()),
        content_type="application/json",
        headers={"X-Webhook-Secret": health.secret},
    )
    # The API's answer to a path it does not know: 401 to a caller without a token, never a 500.
    assert response.status_code in (401, 404), response.content
    assert not HealthEvent.objects.exists()


# ------------------------------------------------------------------------------------------ orphans adopted


def test_a_campaign_declared_after_its_sends_were_counted_as_orphans_takes_them_with_it(health):
    today = timezone.now().strftime("%Y-%m-%d %H:%M:%S +00:00")
    for n in range(3):
        health.post(_event(n=n, campaignId=UNKNOWN_CAMPAIGN, templateId=509, createdAt=today))
    health.post(_event("emailOpen", n=9, campaignId=UNKNOWN_CAMPAIGN, templateId=509, createdAt=today))
    health_process()
    assert [o["sends"] for o in orphan_sends()] == [3]
    assert HealthAlert.objects.filter(kind=AlertKind.UNKNOWN_CAMPAIGN).count() == 1

    declared = NotificationFactory(
        key="late_declared", name="Late declared", project=health.project, message_type=health.opt_in,
        campaign_id=UNKNOWN_CAMPAIGN,
    )  # fmt: skip
    health.post(_event(n=20, campaignId=UNKNOWN_CAMPAIGN, templateId=509, createdAt=today))
    health_process()
    assert orphan_sends() == []
    assert _counts(notification=declared) == {"send": 4, "open": 1}
    assert not HealthDaily.objects.filter(notification__isnull=True).exists()
    # Counting again moves nothing twice.
    health_process()
    assert _counts(notification=declared) == {"send": 4, "open": 1}


def test_orphans_are_adopted_even_when_no_new_event_arrives(health):
    today = timezone.now().strftime("%Y-%m-%d %H:%M:%S +00:00")
    health.post(_event(campaignId=UNKNOWN_CAMPAIGN, templateId=509, createdAt=today))
    health_process()
    declared = NotificationFactory(
        key="late_declared", name="Late declared", project=health.project, message_type=health.opt_in,
        campaign_id=UNKNOWN_CAMPAIGN,
    )  # fmt: skip
    health_process()  # the minute schedule, nothing new to count
    assert _counts(notification=declared) == {"send": 1}


# ------------------------------------------------------------------------------------------ the guard


def test_a_look_alike_of_marketing_message_seen_by_the_sync_alerts(health):
    now = timezone.now()
    IterableMirror.objects.create(
        project=health.project, kind="channel", iterable_id=2, first_seen_at=now, changed_at=now,
        payload={"id": 2, "name": "Transactional Channel", "channelType": "Transactional"},
    )  # fmt: skip
    # Opt-in, on a transactional channel: only its name breaks the rule, written with a Cyrillic "a" and a
    # zero-width space.
    IterableMirror.objects.create(
        project=health.project, kind="message_type", iterable_id=88, first_seen_at=now, changed_at=now,
        payload={"id": 88, "name": "M\u0430rketing\u200b  message", "channelId": 2, "subscriptionPolicy": "OptIn"},
    )  # fmt: skip
    health.post(_event(campaignId=402, templateId=503, messageTypeId=88))
    alert = HealthAlert.objects.get(kind=AlertKind.FORBIDDEN_TYPE)
    assert alert.notification == health.receipt
    assert "Marketing Message" in alert.message


def test_an_alert_on_a_notification_without_owners_goes_to_the_alert_addresses(health, settings):
    settings.HEALTH_ALERT_EMAILS = ["oncall@example.com"]
    settings.ADMINS = [("Admin", "admin@example.com")]
    assert not health.receipt.owners.exists()
    IterableMirror.objects.create(
        project=health.project, kind="message_type", iterable_id=77, first_seen_at=timezone.now(),
        changed_at=timezone.now(), payload={"id": 77, "name": "Promo", "channelId": 1, "subscriptionPolicy": "OptOut"},
    )  # fmt: skip
    health.post(_event(campaignId=402, templateId=503, messageTypeId=77))
    alert = HealthAlert.objects.get(kind=AlertKind.FORBIDDEN_TYPE)
    assert alert.notification == health.receipt
    assert [m.to for m in mail.outbox] == [["oncall@example.com"]]
    assert "no owner" in mail.outbox[0].body.lower()


def test_an_alert_nobody_can_be_told_about_says_so_instead_of_ok(health, settings):
    settings.HEALTH_ALERT_EMAILS = []
    settings.ADMINS = []
    health.post(_event(campaignId=UNKNOWN_CAMPAIGN, templateId=509))
    alert = HealthAlert.objects.get(kind=AlertKind.UNKNOWN_CAMPAIGN)
    assert mail.outbox == []
    assert alert.deliveries and not any(d["ok"] for d in alert.deliveries)
    assert "nobody to email" in alert.deliveries[0]["error"].lower()


def test_a_campaign_outside_the_catalog_is_named_as_iterable_names_it(health, client, user_in_role, settings):
    settings.HEALTH_ALERT_EMAILS = ["oncall@example.com"]
    now = timezone.now()
    IterableMirror.objects.create(
        project=health.project, kind="campaign", iterable_id=UNKNOWN_CAMPAIGN, first_seen_at=now, changed_at=now,
        payload={"id": UNKNOWN_CAMPAIGN, "name": "Spring promo blast", "templateId": 509},
    )  # fmt: skip
    health.post(_event(campaignId=UNKNOWN_CAMPAIGN, templateId=509, createdAt=now.isoformat()))
    alert = HealthAlert.objects.get(kind=AlertKind.UNKNOWN_CAMPAIGN)
    assert f"from 'Spring promo blast' (campaign {UNKNOWN_CAMPAIGN})" in alert.message
    assert mail.outbox[-1].subject.endswith(": Spring promo blast")
    client.force_login(user_in_role("viewer"))
    home = client.get("/").content.decode()
    table = home[home.index('id="health-orphan-sends"') :]
    assert f'Spring promo blast <span class="muted">(campaign {UNKNOWN_CAMPAIGN})</span>' in table


def test_a_send_that_does_not_say_its_type_is_judged_on_its_templates_type_as_the_sync_saw_it(health):
    now = timezone.now()
    IterableMirror.objects.create(
        project=health.project, kind="template", iterable_id=777, first_seen_at=now, changed_at=now,
        payload={"templateId": 777, "name": "Blast", "messageTypeId": 12},
    )  # fmt: skip
    event = _event(campaignId=402, templateId=777)
    assert "messageTypeId" not in event["dataFields"]
    health.post(event)
    alert = HealthAlert.objects.get(kind=AlertKind.FORBIDDEN_TYPE)
    assert alert.notification == health.receipt and "'Marketing Message'" in alert.message


def test_orphans_are_looked_at_once_a_minute_not_after_every_delivery(health, settings):
    from catalog.health import counters

    settings.HEALTH_ORPHANS_ADOPT_SECONDS = 60
    counters._adoption["last"] = -1e9
    today = timezone.now().strftime("%Y-%m-%d %H:%M:%S +00:00")
    health.post(_event(campaignId=UNKNOWN_CAMPAIGN, templateId=509, createdAt=today))  # counted, and looked at
    declared = NotificationFactory(
        key="late_declared", name="Late declared", project=health.project, message_type=health.opt_in,
        campaign_id=UNKNOWN_CAMPAIGN,
    )  # fmt: skip
    health_process()
    assert not HealthDaily.objects.filter(notification=declared).exists()  # within the minute: not yet
    counters._adoption["last"] -= 61
    health_process()
    assert _counts(notification=declared) == {"send": 1}


def test_a_body_too_large_with_fewer_than_1000_events_says_the_size_not_the_count(health):
    big = [_event(n=n, padding="x" * 30_000) for n in range(100)]
    response = health.post(big)
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == (
        "The body is larger than 2.5 MB: send fewer events per request (at most 1,000)."
    )
    assert not HealthEvent.objects.exists()


def test_a_campaign_only_iterable_knows_is_mapped_through_its_template_or_journey_as_the_sync_saw_it(health):
    from tests.factories import CustomEventFactory, JourneyFactory

    now = timezone.now()
    journey = JourneyFactory(project=health.project, iterable_id=6100, name="Onboarding")
    signed_up = CustomEventFactory(project=health.project, name="signed_up")
    onboarding = NotificationFactory(
        key="onboarding", name="Onboarding", project=health.project, message_type=health.opt_in, campaign_id=None,
        journey=journey, event=signed_up, trigger_type="custom_event",
    )  # fmt: skip
    for campaign_id, payload in (
        (555, {"id": 555, "name": "Digest (copy)", "templateId": 501}),  # the digest's template
        (556, {"id": 556, "name": "Onboarding step 2", "templateId": 9999, "workflowId": 6100}),
    ):
        IterableMirror.objects.create(
            project=health.project, kind="campaign", iterable_id=campaign_id, first_seen_at=now, changed_at=now,
            payload=payload, iterable_template_id=payload["templateId"], iterable_workflow_id=payload.get("workflowId"),
        )  # fmt: skip
    health.post([_event(n=1, campaignId=555, templateId=None), _event(n=2, campaignId=556, templateId=9999)])
    health_process()
    assert _counts(notification=health.digest) == {"send": 1}
    assert _counts(notification=onboarding) == {"send": 1}
    assert not HealthAlert.objects.filter(kind=AlertKind.UNKNOWN_CAMPAIGN).exists()
