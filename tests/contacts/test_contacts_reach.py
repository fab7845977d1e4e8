"""Truthful reach: a contact who may receive a notification is reached only where Iterable can deliver it (a
device for push, a phone for SMS, an address whose last email did not bounce); and a lookup has an address
without the contact in it, which colleagues who may look contacts up can open."""

import re
import time

import pytest
from django.urls import reverse

from catalog.contacts.services import contact_deliverable, contact_lookup, contact_lookup_run
from catalog.iterable import User
from catalog.models import AuditEvent

STUDENT = 2158
PUSH = "student_push_new_message"  # Push Transactional: opt-out, so subscriptions alone would say yes
EMAIL = "student_activity_new_message"  # Transactional email


def reach_of(lookups, key):
    (lookup,) = lookups
    return next(r for r in lookup.reach if r.notification.key == key)


def set_fields(emulator, email, **fields):
    with emulator.state.lock:
        emulator.state.projects[STUDENT].get_user(email)["dataFields"].update(fields)


def add_event(emulator, email, event_type, created_at):
    with emulator.state.lock:
        emulator.state.events.append(
            {
                "id": f"test-{event_type}-{created_at}",
                "projectId": STUDENT,
                "eventType": event_type,
                "email": email,
                "createdAt": created_at,
                "createdAtMs": int(time.time() * 1000),
            }
        )


def user(**fields):
    return User(email=fields.pop("email", "a@example.com"), user_id=None, data_fields=fields)


@pytest.mark.parametrize(
    ("medium", "fields", "ok", "rule", "words"),
    [
        ("Push", {}, False, "no-device", "No device is registered for push"),
        ("Push", {"devices": [{"platform": "APNS", "token": ""}]}, False, "no-device", "no push token"),
        ("Push", {"devices": [{"token": "t", "endpointEnabled": False}]}, False, "push-disabled", "switched off"),
        ("Push", {"devices": [{"token": "t", "platform": "GCM", "endpointEnabled": True}]}, True, "device", "1 device"),
        ("SMS", {}, False, "no-phone", "No phone number is registered for SMS"),
        ("SMS", {"phoneNumber": "+15555550100"}, True, "phone", "phone number"),
        ("Email", {"email": ""}, False, "no-email", "No email address"),
        ("Email", {"email": "not-an-address"}, False, "invalid-email", "not a valid email address"),
        ("Email", {}, True, "email", "valid address"),
        ("InApp", {}, True, "", ""),
    ],
)
def test_deliverable_by_medium(medium, fields, ok, rule, words):
    allowed, found_rule, reason = contact_deliverable(user(**fields), medium)
    assert (allowed, found_rule) == (ok, rule)
    assert words in reason


def test_the_last_email_bouncing_means_email_does_not_reach_them():
    bounced = [
        {"eventType": "emailSend", "createdAt": "2026-01-01 10:00:00 +00:00"},
        {"eventType": "emailBounce", "createdAt": "2026-01-02 10:00:00 +00:00"},
        {"eventType": "customEvent", "createdAt": "2026-01-03 10:00:00 +00:00"},
    ]
    allowed, rule, reason = contact_deliverable(user(), "Email", bounced)
    assert (allowed, rule) == (False, "email-bounced") and "2026-01-02 10:00:00" in reason
    delivered_since = [*bounced, {"eventType": "emailSend", "createdAt": "2026-01-04 10:00:00 +00:00"}]
    assert contact_deliverable(user(), "Email", delivered_since)[0]


def test_push_to_a_contact_without_a_device_does_not_reach_them(demo, admin_user):
    lookups = contact_lookup(actor=admin_user, email="qa.student.push@example.com", project=demo.student)
    push = reach_of(lookups, PUSH)
    assert not push.allowed and push.rule == "no-device"
    assert push.reason == "No device is registered for push: their profile has no push token."

    set_fields(demo.emulator, "qa.student.push@example.com", devices=[{"token": "abc123456789", "platform": "APNS"}])
    push = reach_of(contact_lookup(actor=admin_user, email="qa.student.push@example.com", project=demo.student), PUSH)
    assert push.allowed, push.reason


def test_a_bounced_address_is_not_reached_by_email(demo, admin_user):
    email = "qa.student@example.com"
    assert reach_of(contact_lookup(actor=admin_user, email=email, project=demo.student), EMAIL).allowed
    add_event(demo.emulator, email, "emailBounce", "2026-11-29 09:00:00 +00:00")
    reach = reach_of(contact_lookup(actor=admin_user, email=email, project=demo.student), EMAIL)
    assert not reach.allowed and reach.rule == "email-bounced" and "bounced" in reach.reason


def test_an_unsubscribed_contact_is_told_the_subscription_reason_first(demo, admin_user):
    from catalog.iterable import client_for_project

    client_for_project(demo.student).update_subscriptions(email="u@example.com", unsubscribed_channel_ids=[4])
    push = reach_of(contact_lookup(actor=admin_user, email="u@example.com", project=demo.student), PUSH)
    assert not push.allowed and push.rule == "channel-unsubscribed"


def test_the_api_says_the_same(demo, client_for):
    api = client_for("marketing")
    response = api.post(
        "/api/contacts/lookup/", {"email": "qa.student.push@example.com", "project": demo.student.pk}, format="json"
    )
    assert response.status_code == 200
    [lookup] = response.json()
    push = next(r for r in lookup["reach"] if r["notification"] == PUSH)
    assert push["allowed"] is False and push["rule"] == "no-device"
    assert push["reason"] == "No device is registered for push: their profile has no push token."


# -- a lookup's shareable address ------------------------------------------------------------------------------


def test_the_lookup_page_offers_a_link_without_the_address(demo, client, user_in_role):
    client.force_login(user_in_role("marketing", username="mia"))
    page = client.post(
        reverse("catalog:contact_lookup"), {"email": "qa.student@example.com", "project": demo.student.pk}
    ).content.decode()
    event = AuditEvent.objects.get(action="contact_lookup")
    link = f"http://testserver/contacts/lookups/{event.pk}/"
    assert "Share this lookup" in page and f'href="{link}"' in page
    assert "qa.student" not in link
    assert event.changes["looked_up_by"] == "email" and event.changes["scope"] == "one project"


def test_a_colleague_opens_the_shared_lookup_and_it_runs_again(demo, client, user_in_role):
    run = contact_lookup_run(actor=user_in_role("marketing", username="mia"), user_id="qa-student-1")
    client.force_login(user_in_role("engineering", username="eli"))
    response = client.get(reverse("catalog:contact_lookup_shared", args=[run.event.pk]))
    page = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert "A shared lookup, run again just now." in page
    assert "qa.student@example.com" in page  # the contact found by its userId
    assert re.search(r'name="user_id"[^>]*value="qa-student-1"', page)
    assert f"/contacts/lookups/{run.event.pk}/" in page
    again = AuditEvent.objects.filter(action="contact_lookup").order_by("pk").last()
    assert again.pk != run.event.pk and again.actor_label == "eli" and again.object_repr == "qa-student-1"


def test_someone_who_may_not_look_contacts_up_gets_403_and_learns_nothing(demo, client, user_in_role):
    run = contact_lookup_run(actor=user_in_role("marketing", username="mia"), email="qa.student@example.com")
    client.force_login(user_in_role("viewer", username="vic"))
    response = client.get(reverse("catalog:contact_lookup_shared", args=[run.event.pk]))
    assert response.status_code == 403 and "qa.student" not in response.content.decode()
    assert AuditEvent.objects.filter(action="contact_lookup").count() == 1


def test_a_link_to_something_else_is_not_a_lookup(demo, client, user_in_role):
    other = AuditEvent.objects.create(actor_label="x", action="create", object_type="owner", object_repr="Team")
    client.force_login(user_in_role("marketing"))
    for event_id in (other.pk, 999999):
        response = client.get(reverse("catalog:contact_lookup_shared", args=[event_id]))
        assert response.status_code == 404 and "There is no such lookup" in response.content.decode()


def test_the_api_runs_a_shared_lookup_by_its_id(demo, client_for):
    api = client_for("marketing")
    created = api.post("/api/contacts/lookup/", {"email": "qa.student@example.com"}, format="json")
    event = AuditEvent.objects.get(action="contact_lookup")
    assert created["Link"] == f'</contacts/lookups/{event.pk}/>; rel="share"'
    again = api.get(f"/api/contacts/lookup/{event.pk}/")
    assert again.status_code == 200 and {p["identifier"] for p in again.json()} == {"qa.student@example.com"}
    assert api.get("/api/contacts/lookup/999999/").status_code == 404
    assert client_for("viewer").get(f"/api/contacts/lookup/{event.pk}/").status_code == 403


def test_a_lookup_recorded_before_it_said_how_opens_again(demo, admin_user):
    from catalog.contacts.services import contact_lookup_asked

    old = AuditEvent.objects.create(
        actor_label="mia", action="contact_lookup", object_type="contact", object_repr="qa-student-1",
        changes={"projects": ["Student - US"], "at": "2026-01-01T00:00:00+00:00"},
    )  # fmt: skip
    asked = contact_lookup_asked(event_id=old.pk)
    assert (asked.email, asked.user_id, asked.project) == ("", "qa-student-1", demo.student)
    old.object_repr, old.changes = "qa.student@example.com", {"projects": ["Student - US", "Employer - US"]}
    old.save()
    asked = contact_lookup_asked(event_id=old.pk)
    assert (asked.email, asked.user_id, asked.project) == ("qa.student@example.com", "", None)


def test_a_shared_lookup_of_one_notification_keeps_it(demo, admin_user):
    from catalog.contacts.services import contact_lookup_asked
    from catalog.models import Notification

    push = Notification.objects.get(key=PUSH)
    run = contact_lookup_run(actor=admin_user, email="qa.student@example.com", project=demo.student, notification=push)
    asked = contact_lookup_asked(event_id=run.event.pk)
    assert asked.notification == push and asked.project == demo.student
