"""Test sends against the emulator: each mode, each refusal, the unknown outcome, double submit, rate limit."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from catalog.models import AuditEvent, Notification, ProofOutcome, ProofSend
from catalog.sends.selectors import proof_send_last_success
from catalog.sends.services.checks import proof_preview
from catalog.sends.services.data import proof_data_field_parse, proof_data_fields_initial
from catalog.sends.services.dispatch import proof_send
from catalog.sends.services.results import ProofSendDuplicate

STUDENT = 2158


def sent_requests(emulator, path):
    return [r for r in emulator.requests(path=path) if r["method"] == "POST"]


def test_campaign_send_sends_exactly_the_previewed_request(sends):
    given = {"notification": sends.digest, "recipient": sends.own, "data_fields": {"firstName": "QA"}}
    preview = proof_preview(actor=sends.mia, **given)
    assert preview.verdict.allowed, preview.verdict.message
    assert preview.plan.request.endpoint == "POST /api/email/target"

    attempt = proof_send(actor=sends.mia, **given)

    assert attempt.outcome == ProofOutcome.SENT, attempt.message
    recorded = sent_requests(sends.emulator, "/api/email/target")
    assert len(recorded) == 1
    assert recorded[0]["body"] == preview.plan.request.body == attempt.request_body
    assert recorded[0]["body"] == {
        "campaignId": 410001,
        "recipientEmail": "qa.student@example.com",
        "dataFields": {"firstName": "QA"},
    }
    assert [s["status"] for s in sends.emulator.sends(email="qa.student@example.com")] == ["sent"]
    assert attempt.actor == sends.mia and attempt.recipient == sends.own and attempt.mode == "campaign"
    assert attempt.response["code"] == "Success"
    assert attempt.checks["templates"][0]["message_type"] == "GitLab Marketing"
    assert proof_send_last_success(notification=sends.digest) == attempt
    audit = AuditEvent.objects.get(action="proof_send")
    assert audit.actor == sends.mia and audit.changes["outcome"] == "sent" and audit.changes["attempt"] == attempt.pk


def test_push_campaign_send_by_user_id(sends):
    preview = proof_preview(actor=sends.mia, notification=sends.push, recipient=sends.by_id, data_fields={})
    attempt = proof_send(actor=sends.mia, notification=sends.push, recipient=sends.by_id, data_fields={})
    assert attempt.outcome == ProofOutcome.SENT, attempt.message
    recorded = sent_requests(sends.emulator, "/api/push/target")
    assert [r["body"] for r in recorded] == [preview.plan.request.body]
    assert recorded[0]["body"] == {"campaignId": 420001, "recipientUserId": "qa-student-1", "dataFields": {}}


def test_event_send_tracks_the_event_that_starts_the_journey(sends):
    payload = sends.welcome.event.example_payload()
    given = {"notification": sends.welcome, "recipient": sends.own, "data_fields": payload, "mode": "event"}
    preview = proof_preview(actor=sends.mia, **given)
    assert preview.plan.mode == "event" and preview.verdict.allowed, preview.verdict.message

    attempt = proof_send(actor=sends.mia, confirm_event=True, **given)

    assert attempt.outcome == ProofOutcome.SENT, attempt.message
    recorded = sent_requests(sends.emulator, "/api/events/track")
    assert [r["body"] for r in recorded] == [preview.plan.request.body]
    assert recorded[0]["body"]["eventName"] == "SaaS Free Registration"
    assert recorded[0]["body"]["dataFields"]["companyNamespace"] is True
    events = [e for e in sends.emulator.events(email="qa.student@example.com") if e.get("eventName")]
    assert events and 361094 in events[0]["journeyIds"]
    assert sent_requests(sends.emulator, "/api/email/target") == []


def test_template_proof_needs_no_campaign(sends):
    template = sends.welcome.templates.get()
    given = {"notification": sends.welcome, "mode": "template_proof", "recipient": sends.own, "template": template}
    preview = proof_preview(actor=sends.mia, **given, data_fields=sends.welcome.event.example_payload())
    attempt = proof_send(actor=sends.mia, **given, data_fields=sends.welcome.event.example_payload())
    assert attempt.outcome == ProofOutcome.SENT, attempt.message
    recorded = sent_requests(sends.emulator, "/api/templates/email/proof")
    assert [r["body"] for r in recorded] == [preview.plan.request.body]
    assert recorded[0]["body"]["templateId"] == template.iterable_id
    assert "campaignId" not in recorded[0]["body"]
    assert attempt.template_iterable_id == template.iterable_id


def test_someone_not_on_the_allowlist_is_refused_and_recorded(sends, user_in_role):
    other = user_in_role("marketing", username="otto")
    # mia's own recipient, picked by its id: bad input that names nobody, and nothing is recorded.
    with pytest.raises(ValidationError) as raised:
        proof_send(actor=other, notification=sends.digest, recipient=sends.own)
    assert raised.value.message_dict == {"recipient": ["Pick one of your test recipients or a shared one."]}
    assert not ProofSend.objects.exists()
    attempt = proof_send(actor=other, notification=sends.digest, email=sends.own.email)  # typed by hand
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD
    assert attempt.error_code == "recipient-not-allowlisted"
    assert "not on your test recipients" in attempt.message
    stranger = proof_send(actor=sends.mia, notification=sends.digest, email="student.0001@example.com")
    assert stranger.error_code == "recipient-not-allowlisted"
    assert sends.emulator.requests(path="/api/email/target") == []
    assert AuditEvent.objects.filter(action="proof_send", changes__outcome="refused_guard").count() == 2
    # The shared recipient is on everyone's allowlist.
    assert proof_send(actor=other, notification=sends.digest, recipient=sends.shared).outcome == ProofOutcome.SENT


def test_a_recipient_in_another_project_is_bad_input(sends):
    with pytest.raises(ValidationError) as raised:
        proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.employer_recipient)
    assert "recipient" in raised.value.message_dict
    assert not ProofSend.objects.exists()


def _set_live(emulator, project, *, template=None, message_type=None):
    with emulator.state.lock:
        live = emulator.state.projects[project]
        if template:
            live.templates[template[0]]["messageTypeId"] = template[1]
        if message_type:
            live.message_types[message_type[0]].update(message_type[1])


def test_live_template_on_marketing_message_is_refused(sends):
    _set_live(sends.emulator, STUDENT, template=(510001, 12))  # digest's first template, now "Marketing Message"
    preview = proof_preview(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert not preview.verdict.allowed and preview.verdict.code == "optout-marketing"  # it is both: first rule wins
    assert preview.verdict.checks["templates"][0]["message_type"] == "Marketing Message"
    attempt = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD and attempt.error_code == "optout-marketing"
    assert "In Iterable now" in attempt.message
    assert sends.emulator.requests(path="/api/email/target") == []


def test_live_policy_change_to_opt_out_is_refused(sends):
    _set_live(sends.emulator, STUDENT, message_type=(11, {"subscriptionPolicy": "OptOut"}))
    attempt = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert attempt.error_code == "optout-marketing"
    assert sends.emulator.requests(path="/api/email/target") == []


def test_cached_schema_is_not_trusted(sends):
    from catalog.services.iterable_support import iterable_schema_fetch

    iterable_schema_fetch(sends.student)  # cache the safe schema, then make Iterable unsafe
    _set_live(sends.emulator, STUDENT, message_type=(11, {"subscriptionPolicy": "OptOut"}))
    assert proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own).error_code == "optout-marketing"


def test_unreadable_iterable_fails_closed(sends, monkeypatch):
    sends.emulator.configure(faults=[{"endpoint": "GET /api/messageTypes", "kind": "error500", "count": 5}])
    attempt = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD and attempt.error_code == "live-check-failed"
    assert "could not read" in attempt.message
    assert sends.emulator.requests(path="/api/email/target") == []

    monkeypatch.delenv("ITERABLE_API_KEY_STUDENT_US")
    attempt = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert attempt.error_code == "live-check-failed" and "ITERABLE_API_KEY_STUDENT_US" in attempt.message


@pytest.mark.parametrize(
    ("subscriptions", "reason"),
    [
        ({"unsubscribed_channel_ids": [1]}, "unsubscribed from the whole 'Marketing Channel' channel"),
        ({"subscribed_message_type_ids": []}, "is opt-in and they never opted in"),
        ({"unsubscribed_message_type_ids": [11], "subscribed_message_type_ids": []}, "unsubscribed from"),
    ],
)
def test_a_recipient_who_would_not_receive_it_is_told_why(sends, subscriptions, reason):
    sends.client.update_subscriptions(email="qa.student@example.com", **subscriptions)
    preview = proof_preview(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert not preview.verdict.allowed and preview.verdict.code == "recipient-ineligible"
    assert reason in preview.verdict.message
    attempt = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD and reason in attempt.message
    assert sends.emulator.requests(path="/api/email/target") == []
    # A proof ignores subscriptions, as Iterable does.
    proof = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own, mode="template_proof")
    assert proof.outcome == ProofOutcome.SENT, proof.message


def test_transactional_reaches_a_contact_iterable_does_not_know_yet(sends):
    from catalog.models import ProofRecipient

    ProofRecipient.objects.create(project=sends.student, owner=sends.mia, email="qa.new@example.com")
    digest = proof_send(actor=sends.mia, notification=sends.digest, email="qa.new@example.com")
    assert digest.error_code == "recipient-ineligible" and "no such contact" in digest.message
    assert proof_send(actor=sends.mia, notification=sends.transactional, email="qa.new@example.com").outcome == "sent"


def test_timeout_is_unknown_and_never_resent(sends, monkeypatch):
    monkeypatch.setattr(sends.client, "timeout", (3.0, 0.5))
    sends.emulator.configure(
        faults=[{"endpoint": "POST /api/email/target", "kind": "slow", "seconds": 1.5, "process": True}]
    )
    attempt = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.UNKNOWN
    assert attempt.error_code == "OutcomeUnknown"
    assert "may or may not have gone out" in attempt.message and "not resent" in attempt.message
    # The emulator records a request when it has answered it: wait for the slow one to finish.
    deadline = time.monotonic() + 5
    while not sent_requests(sends.emulator, "/api/email/target") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # and long enough for a resend, had there been one, to arrive
    assert len(sent_requests(sends.emulator, "/api/email/target")) == 1
    assert len(sends.emulator.sends(email="qa.student@example.com")) == 1
    assert proof_send_last_success(notification=sends.digest) is None
    assert AuditEvent.objects.get(action="proof_send").changes["outcome"] == "unknown"


def test_unknown_campaign_is_refused_by_the_live_check_before_anything_is_sent(sends):
    bad = Notification.objects.create(
        key="student_bad_campaign",
        name="Bad campaign",
        audience="students",
        project=sends.student,
        medium="Email",
        trigger_type="api_send",
        campaign_id=999999,
        message_type=sends.transactional.message_type,
        status="active",
    )
    attempt = proof_send(actor=sends.mia, notification=bad, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD
    assert attempt.error_code == "live-check-failed" and "could not read" in attempt.message
    assert sent_requests(sends.emulator, "/api/email/target") == []


def test_iterable_refusal_is_recorded_and_explained(sends):
    # The campaign exists (the guard reads it and its template) but is a push campaign: Iterable refuses an
    # e-mail send of it.
    bad = Notification.objects.create(
        key="student_wrong_medium",
        name="Wrong medium",
        audience="students",
        project=sends.student,
        medium="Email",
        trigger_type="api_send",
        campaign_id=420001,
        message_type=sends.transactional.message_type,
        status="active",
    )
    attempt = proof_send(actor=sends.mia, notification=bad, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.REFUSED_ITERABLE
    assert attempt.error_code == "BadParams" and "Invalid campaignId" in attempt.message
    assert attempt.response["status"] == 400
    assert len(sent_requests(sends.emulator, "/api/email/target")) == 1


def test_double_submit_sends_once(sends):
    token = "5f0c7a0e-9f7c-4bb8-8f5e-0d5f6c1b2a3c"
    first = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own, submission_token=token)
    with pytest.raises(ProofSendDuplicate) as raised:
        proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own, submission_token=token)
    assert raised.value.attempt == first
    assert "already submitted" in str(raised.value)
    assert len(sent_requests(sends.emulator, "/api/email/target")) == 1
    assert ProofSend.objects.count() == 1
    with pytest.raises(ValidationError):
        proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own, submission_token="x" * 3)


@override_settings(PROOF_SEND_RATE_LIMIT=(2, 60))
def test_rate_limit_per_user(sends, user_in_role):
    for _ in range(2):
        assert proof_send(actor=sends.mia, notification=sends.transactional, recipient=sends.own).outcome == "sent"
    limited = proof_send(actor=sends.mia, notification=sends.transactional, recipient=sends.own)
    assert limited.outcome == ProofOutcome.RATE_LIMITED and "at most 2 test sends per 60 seconds" in limited.message
    assert len(sent_requests(sends.emulator, "/api/email/target")) == 2
    # Someone else is not slowed down by mia.
    other = user_in_role("marketing", username="otto")
    assert proof_send(actor=other, notification=sends.transactional, recipient=sends.shared).outcome == "sent"


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, {"company", "firstName", "latest_trial_start_date"}),
        (
            {"company": 3, "firstName": "A", "latest_trial_start_date": "yesterday", "companyNamespace": "yes"},
            {"company", "latest_trial_start_date", "companyNamespace"},
        ),
    ],
)
def test_data_fields_are_checked_against_the_event_schema(sends, fields, errors):
    with pytest.raises(ValidationError) as raised:
        proof_send(actor=sends.mia, notification=sends.welcome, recipient=sends.own, data_fields=fields)
    assert set(raised.value.message_dict) == {f"data_fields.{name}" for name in errors}
    assert "Required by the 'SaaS Free Registration' event schema." in str(raised.value) or fields
    assert not ProofSend.objects.exists() and sends.emulator.requests(path="/api/events/track") == []


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"mode": "event"}, "mode"),
        ({"mode": "nonsense"}, "mode"),
        ({"data_fields": ["not", "an", "object"]}, "data_fields"),
        ({"recipient": None, "email": "foo@"}, "recipient"),
        ({"recipient": None}, "recipient"),
    ],
)
def test_bad_input_is_refused_with_the_field(sends, given, field):
    with pytest.raises(ValidationError) as raised:
        proof_send(actor=sends.mia, **{"notification": sends.digest, "recipient": sends.own, **given})
    assert field in raised.value.message_dict
    assert not ProofSend.objects.exists()


def test_initial_data_fields(sends):
    assert proof_data_fields_initial(notification=sends.welcome)["firstName"] == "John"
    assert proof_data_fields_initial(notification=sends.digest) == {}  # the demo templates have no placeholders


@pytest.mark.parametrize(
    ("data_type", "text", "value"),
    [
        ("Boolean", "TRUE", True),
        ("Long", "42", 42),
        ("Double", "1.5", 1.5),
        ("Array", "[1]", [1]),
        ("String", "", None),
    ],
)
def test_form_text_is_parsed_to_the_schema_type(data_type, text, value):
    assert proof_data_field_parse(data_type, text) == value


@pytest.mark.parametrize(
    ("data_type", "text"), [("Boolean", "yes"), ("Long", "4.2"), ("Double", "nan"), ("Object", "[")]
)
def test_form_text_that_does_not_parse_says_why(data_type, text):
    with pytest.raises(ValueError, match="Must be"):
        proof_data_field_parse(data_type, text)


def test_a_notification_that_cannot_be_sent_says_why(sends):
    draft = Notification.objects.get(key="student_activity_saved_job_closing")  # a draft without a campaign id
    draft.templates.clear()
    with pytest.raises(ValidationError) as raised:
        proof_send(actor=sends.mia, notification=draft, recipient=sends.own)
    assert "cannot be test-sent: it needs a campaign id" in raised.value.message_dict["mode"][0]


def test_shared_recipients_need_the_permission(sends, user_in_role):
    from django.core.exceptions import PermissionDenied

    from catalog.sends.services.recipients import proof_recipient_create, proof_recipient_delete

    with pytest.raises(PermissionDenied):
        proof_recipient_create(actor=sends.mia, project=sends.student, user_id="qa-x", shared=True)
    with pytest.raises(PermissionDenied):
        proof_recipient_delete(actor=sends.mia, recipient=sends.shared)
    admin = user_in_role("admin", username="ada")
    shared = proof_recipient_create(actor=admin, project=sends.student, email=" QA.X@example.com ", shared=True)
    assert shared.shared and shared.email == "QA.X@example.com"
    with pytest.raises(ValidationError, match="already exists"):
        proof_recipient_create(actor=admin, project=sends.student, email="QA.X@example.com", shared=True)
