"""Another person's private test recipient is theirs: previews, lists and pages never show it to anyone else
(admins, who approve recipients, excepted); viewers see no recipient at all."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import Notification, ProofMode, ProofOutcome, ProofRecipient, ProofSend
from catalog.sends.services.dispatch import proof_send

PRIVATE = "qa.student@example.com"
SHARED = "qa.student.push@example.com"
KEY = "student_activity_weekly_digest"


@pytest.fixture
def sent(demo, user_in_role):
    mia = user_in_role("marketing", username="mia")
    own = ProofRecipient.objects.create(project=demo.student, owner=mia, email=PRIVATE)
    shared = ProofRecipient.objects.create(project=demo.student, email=SHARED)
    digest = Notification.objects.get(key=KEY)
    private_send = proof_send(actor=mia, notification=digest, recipient=own)
    shared_send = proof_send(actor=mia, notification=digest, recipient=shared)
    return mia, own, private_send, shared_send


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_a_preview_by_id_does_not_reveal_someone_elses_recipient(sent, user_in_role):
    _mia, own, *_ = sent
    otto = _api(user_in_role("marketing", username="otto"))
    response = otto.post("/api/test-sends/preview/", {"notification": KEY, "recipient": own.pk}, format="json")
    assert response.status_code == 400
    assert PRIVATE not in response.content.decode()
    assert response.json()["errors"][0]["field"] == "recipient"


def test_lists_and_pages_hide_someone_elses_private_recipient(client, sent, user_in_role):
    _mia, _own, private_send, shared_send = sent
    otto = user_in_role("marketing", username="otto")
    api_list = _api(otto).get("/api/test-sends/").content.decode()
    api_detail = _api(otto).get(f"/api/test-sends/{private_send.pk}/").content.decode()
    client.force_login(otto)
    page_list = client.get(reverse("catalog:proof_send_list")).content.decode()
    page_detail = client.get(reverse("catalog:proof_send_detail", args=[private_send.pk])).content.decode()
    note = client.get(reverse("catalog:notification_detail", args=[KEY])).content.decode()
    for seen in (api_list, api_detail, page_list, page_detail, note):
        assert PRIVATE not in seen
    assert "private test recipient" in page_detail
    assert SHARED in api_list and SHARED in page_list  # a shared recipient is everyone's
    assert SHARED in client.get(reverse("catalog:proof_send_detail", args=[shared_send.pk])).content.decode()


@pytest.mark.parametrize(("role", "sees_private"), [("admin", True), ("viewer", False)])
def test_admins_see_every_recipient_and_viewers_none(client, sent, user_in_role, role, sees_private):
    client.force_login(user_in_role(role))
    note = client.get(reverse("catalog:notification_detail", args=[KEY])).content.decode()
    assert (PRIVATE in note or SHARED in note) is sees_private


def test_the_sender_sees_their_own(client, sent):
    mia, _own, private_send, _shared = sent
    client.force_login(mia)
    assert PRIVATE in client.get(reverse("catalog:proof_send_detail", args=[private_send.pk])).content.decode()
    assert PRIVATE in _api(mia).get("/api/test-sends/").content.decode()


def _attempt_as_iterable_answered(sender, address: str, echo: str):
    """A refused attempt whose answer names the recipient the way Iterable stored or escaped it, not as sent."""
    digest = Notification.objects.get(key=KEY)
    return ProofSend.objects.create(
        actor=sender,
        actor_label=sender.username,
        project=digest.project,
        notification=digest,
        notification_key=KEY,
        recipient_email=address,
        mode=ProofMode.TEMPLATE_PROOF,
        endpoint="POST /api/templates/email/proof",
        request_body={"recipientEmail": address},
        outcome=ProofOutcome.REFUSED_ITERABLE,
        message=f"Refused by Iterable: No user {echo}",
        response={"code": "BadParams", "msg": f"No user {echo}", "params": {"email": echo}},
    )


@pytest.mark.parametrize("echo", ["qa.person@staff.example.org", "QA.Person%40staff.example.org"])
def test_iterables_own_spelling_of_the_address_is_hidden_too(client, demo, user_in_role, echo):
    mia = user_in_role("marketing", username="mia")
    attempt = _attempt_as_iterable_answered(mia, "QA.Person@staff.example.org", echo)
    otto = user_in_role("marketing", username="otto")
    client.force_login(otto)
    seen = [
        _api(otto).get("/api/test-sends/").content.decode(),
        _api(otto).get(f"/api/test-sends/{attempt.pk}/").content.decode(),
        client.get(reverse("catalog:proof_send_detail", args=[attempt.pk])).content.decode(),
        client.get(reverse("catalog:proof_send_list")).content.decode(),
    ]
    for text in seen:
        assert "qa.person" not in text.lower()
    # The sender reads Iterable's answer as it came.
    assert echo in _api(mia).get(f"/api/test-sends/{attempt.pk}/").json()["response"]["msg"]


def test_a_userid_recipient_answered_with_the_contacts_email_is_hidden(client, demo, user_in_role):
    """Iterable's answer to a campaign send names the contact by its email ("Sent triggered message to: ..."),
    though the send named a userId: another marketer must not learn the address from it."""
    mia = user_in_role("marketing", username="mia")
    own = ProofRecipient.objects.create(project=demo.student, owner=mia, user_id="stu-0007")
    status = Notification.objects.get(key="student_activity_application_status")
    attempt = proof_send(actor=mia, notification=status, recipient=own, mode=ProofMode.CAMPAIGN)
    assert "student.0007@example.com" in json.dumps(attempt.response) + attempt.message  # Iterable's echo
    otto = user_in_role("marketing", username="otto")
    client.force_login(otto)
    api_detail = _api(otto).get(f"/api/test-sends/{attempt.pk}/").content.decode()
    page_detail = client.get(reverse("catalog:proof_send_detail", args=[attempt.pk])).content.decode()
    for text in (api_detail, page_detail):
        assert "student.0007" not in text.lower() and "stu-0007" not in text.lower()
    client.force_login(user_in_role("admin"))
    as_admin = client.get(reverse("catalog:proof_send_detail", args=[attempt.pk])).content.decode()
    assert "student.0007@example.com" in as_admin
