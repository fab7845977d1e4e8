"""Test recipients with consent: one's own login address and staff-domain addresses at once; anything else
waits for a second person who may approve, and receives nothing until then. Approvals and removals are on
record."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import AuditEvent, Notification, ProofOutcome, ProofRecipient, RecipientStatus
from catalog.sends.services.dispatch import proof_send
from catalog.sends.services.recipients import proof_recipient_approve, proof_recipient_create, proof_recipient_update

CUSTOMER = "student.0007@example.com"  # a demo contact, not staff
STAFF_DOMAINS = ["staff.example.org"]


@pytest.fixture
def people(demo, user_in_role, django_user_model):
    from django.contrib.auth.models import Group

    def person(username, role):
        user = django_user_model.objects.create_user(username, f"{username}@staff.example.org", "a long password 1")
        user.groups.add(Group.objects.get(name=role))
        return user

    digest = Notification.objects.get(key="student_activity_weekly_digest")
    return demo, person("mia", "marketing"), person("ada", "admin"), person("bo", "admin"), digest


def _proofs(emulator):
    return [r for r in emulator.requests(path="/api/templates/email/proof") if r["method"] == "POST"]


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
def test_own_and_staff_addresses_are_ready_at_once(people):
    demo, mia, *_ = people
    own = proof_recipient_create(actor=mia, project=demo.student, email="MIA@staff.example.org")
    colleague = proof_recipient_create(actor=mia, project=demo.student, email="qa.box@staff.example.org")
    assert own.status == colleague.status == RecipientStatus.APPROVED


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
def test_a_customer_receives_nothing_until_a_second_person_approves(people):
    demo, mia, ada, _bo, digest = people
    waiting = proof_recipient_create(actor=mia, project=demo.student, email=CUSTOMER)
    assert waiting.status == RecipientStatus.PENDING
    attempt = proof_send(actor=mia, notification=digest, recipient=waiting, mode="template_proof")
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD
    assert "waiting for an admin's approval" in attempt.message
    assert _proofs(demo.emulator) == []

    with pytest.raises(PermissionDenied):
        proof_recipient_approve(actor=mia, recipient=waiting, seen=waiting.identifier)  # marketing may not approve
    proof_recipient_approve(actor=ada, recipient=waiting, seen=waiting.identifier)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.approved_by) == (RecipientStatus.APPROVED, ada)
    event = AuditEvent.objects.get(action="approve", object_type="proofrecipient", object_id=str(waiting.pk))
    assert event.actor == ada and event.changes["status"] == {"before": "pending", "after": "approved"}
    sent = proof_send(actor=mia, notification=digest, recipient=waiting, mode="template_proof")
    assert sent.outcome == ProofOutcome.SENT, sent.message
    assert len(_proofs(demo.emulator)) == 1


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
def test_the_one_who_added_it_cannot_approve_it(people):
    demo, _mia, ada, bo, _digest = people
    shared = proof_recipient_create(actor=ada, project=demo.student, email=CUSTOMER, shared=True)
    assert shared.status == RecipientStatus.PENDING
    with pytest.raises(PermissionDenied, match="second person"):
        proof_recipient_approve(actor=ada, recipient=shared, seen=shared.identifier)
    approved = proof_recipient_approve(actor=bo, recipient=shared, seen=shared.identifier)
    assert approved.status == RecipientStatus.APPROVED


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
def test_a_user_id_waits_and_changing_an_address_asks_again(people):
    demo, mia, *_ = people
    assert proof_recipient_create(actor=mia, project=demo.student, user_id="qa-student-1").status == "pending"
    own = proof_recipient_create(actor=mia, project=demo.student, email="mia@staff.example.org")
    changed = proof_recipient_update(actor=mia, recipient=own, email=CUSTOMER)
    assert changed.status == RecipientStatus.PENDING
    assert proof_recipient_update(actor=mia, recipient=changed, label="mine").status == RecipientStatus.PENDING


@pytest.fixture
def second_account(django_user_model):
    """Another admin account of a person who already has one: a different username, the same login address."""
    from django.contrib.auth.models import Group

    def make(username, email):
        user = django_user_model.objects.create_user(username, email, "a long password 1")
        user.groups.add(Group.objects.get(name="admin"))
        return user

    return make


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
@pytest.mark.parametrize("spelling", [str.lower, str.upper])
def test_a_second_account_of_the_same_person_is_not_a_second_person(client, people, second_account, spelling):
    demo, _mia, ada, bo, _digest = people
    ada_again = second_account("ada.alt", spelling(ada.email))
    waiting = proof_recipient_create(actor=ada, project=demo.student, email=CUSTOMER)
    with pytest.raises(PermissionDenied, match="same person"):
        proof_recipient_approve(actor=ada_again, recipient=waiting, seen=waiting.identifier)
    client.force_login(ada_again)
    page = client.get(reverse("catalog:proof_recipient_list")).content.decode()
    assert f"Approve {CUSTOMER}" not in page and "Another admin approves" in page
    client.post(reverse("catalog:proof_recipient_approve", args=[waiting.pk]), {"identifier": CUSTOMER})
    waiting.refresh_from_db()
    assert waiting.status == RecipientStatus.PENDING
    approved = proof_recipient_approve(actor=bo, recipient=waiting, seen=waiting.identifier)
    assert approved.status == RecipientStatus.APPROVED


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
def test_nobody_approves_their_own_address(people, second_account):
    demo, mia, _ada, bo, _digest = people
    outside = second_account("cy", "Cy.Private@gmail.com")
    waiting = proof_recipient_create(actor=mia, project=demo.student, email="cy.private@gmail.com")
    with pytest.raises(PermissionDenied, match="your own address"):
        proof_recipient_approve(actor=outside, recipient=waiting, seen=waiting.identifier)
    approved = proof_recipient_approve(actor=bo, recipient=waiting, seen=waiting.identifier)
    assert approved.status == RecipientStatus.APPROVED


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
def test_pages_show_waiting_recipients_to_approvers_who_approve_or_refuse(client, people):
    demo, mia, ada, _bo, _digest = people
    first = proof_recipient_create(actor=mia, project=demo.student, email=CUSTOMER)
    second = proof_recipient_create(actor=mia, project=demo.student, email="student.0008@example.com")
    client.force_login(mia)
    page = client.get(reverse("catalog:proof_recipient_list")).content.decode()
    assert "Waiting for approval" in page and "Waiting for your approval" not in page
    assert client.post(reverse("catalog:proof_recipient_approve", args=[first.pk])).status_code == 403

    client.force_login(ada)
    page = client.get(reverse("catalog:proof_recipient_list")).content.decode()
    assert "Waiting for your approval" in page and CUSTOMER in page
    assert f'name="identifier" value="{CUSTOMER}"' in page  # the form carries what the approver sees
    client.post(reverse("catalog:proof_recipient_approve", args=[first.pk]), {"identifier": CUSTOMER})
    client.post(reverse("catalog:proof_recipient_delete", args=[second.pk]))  # refused
    first.refresh_from_db()
    assert first.status == RecipientStatus.APPROVED
    assert not ProofRecipient.objects.filter(pk=second.pk).exists()
    removed = AuditEvent.objects.get(action="delete", object_type="proofrecipient", object_id=str(second.pk))
    assert removed.actor == ada
    activity = client.get(reverse("catalog:audit_list")).content.decode()
    assert re.search(r"Approved <span class=\"kind\">test recipient</span>", activity)
    assert re.search(r"Deleted <span class=\"kind\">test recipient</span>", activity)


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
def test_the_api_says_the_status_and_approves(people):
    demo, mia, ada, _bo, _digest = people
    as_mia, as_ada = APIClient(), APIClient()
    as_mia.force_authenticate(mia)
    as_ada.force_authenticate(ada)
    created = as_mia.post("/api/test-recipients/", {"project": demo.student.pk, "email": CUSTOMER}, format="json")
    assert created.status_code == 201 and created.json()["status"] == "pending"
    pk = created.json()["id"]
    assert as_mia.post(f"/api/test-recipients/{pk}/approve/", {"identifier": CUSTOMER}).status_code == 403
    approved = as_ada.post(f"/api/test-recipients/{pk}/approve/", {"identifier": CUSTOMER}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved" and approved.json()["approved_by"] == "ada"


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
def test_an_approval_is_for_the_address_the_approver_saw(client, people):
    """mia lists one customer's address; once an admin has read it, she switches it to another: the admin's
    approval of what they read approves nothing, on the page and in the API."""
    demo, mia, ada, _bo, _digest = people
    reviewed = "reviewed.customer@gmail.com"
    waiting = proof_recipient_create(actor=mia, project=demo.student, email=reviewed)
    as_ada = APIClient()
    as_ada.force_authenticate(ada)
    assert reviewed in as_ada.get("/api/test-recipients/").content.decode()
    switched = proof_recipient_update(actor=mia, recipient=waiting, email=CUSTOMER)
    assert switched.status == RecipientStatus.PENDING

    answer = as_ada.post(f"/api/test-recipients/{waiting.pk}/approve/", {"identifier": reviewed}, format="json")
    assert answer.status_code == 409
    error = answer.json()["errors"][0]
    assert error["code"] == "recipient-changed" and f"now {CUSTOMER}" in error["message"]
    missing = as_ada.post(f"/api/test-recipients/{waiting.pk}/approve/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "identifier"
    client.force_login(ada)
    page = client.post(
        reverse("catalog:proof_recipient_approve", args=[waiting.pk]), {"identifier": reviewed}, follow=True
    )
    assert "it changed after it was listed" in page.content.decode()
    waiting.refresh_from_db()
    assert (waiting.status, waiting.approved_by) == (RecipientStatus.PENDING, None)

    approved = as_ada.post(f"/api/test-recipients/{waiting.pk}/approve/", {"identifier": CUSTOMER}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    # Approved, then changed again: it waits for a new approval.
    assert proof_recipient_update(actor=mia, recipient=waiting, email=reviewed).status == RecipientStatus.PENDING


@override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS)
@pytest.mark.parametrize(
    "address",
    [
        '"student.0007@example.com"@staff.example.org',  # a customer's address quoted in front of a staff domain
        '"mia"@staff.example.org',
        '"qa..box"@staff.example.org',  # only valid quoted
    ],
)
def test_a_quoted_address_is_refused_not_taken_for_staff(client, people, address):
    demo, mia, *_ = people
    with pytest.raises(ValidationError) as refused:
        proof_recipient_create(actor=mia, project=demo.student, email=address)
    assert "plain address" in refused.value.message_dict["email"][0]
    as_mia = APIClient()
    as_mia.force_authenticate(mia)
    answer = as_mia.post("/api/test-recipients/", {"project": demo.student.pk, "email": address}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "email"
    client.force_login(mia)
    page = client.post(reverse("catalog:proof_recipient_list"), {"project": demo.student.pk, "email": address})
    assert page.status_code == 400 and "plain address" in page.content.decode()
    own = proof_recipient_create(actor=mia, project=demo.student, email="mia@staff.example.org")
    with pytest.raises(ValidationError):
        proof_recipient_update(actor=mia, recipient=own, email=address)
    assert not ProofRecipient.objects.filter(email__contains='"').exists()


def test_consent_reads_only_a_plain_address_as_staff(django_user_model):
    from catalog.sends.services.recipients import proof_recipient_consent_needed

    mia = django_user_model.objects.create_user("mia", "mia@staff.example.org")
    with override_settings(TEST_RECIPIENT_DOMAINS=STAFF_DOMAINS):
        assert not proof_recipient_consent_needed(actor=mia, email="qa.box@staff.example.org", user_id="")
        assert proof_recipient_consent_needed(actor=mia, email='"a@gmail.com"@staff.example.org', user_id="")
        assert proof_recipient_consent_needed(actor=mia, email="a@gmail.com@staff.example.org", user_id="")
