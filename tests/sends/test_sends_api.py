"""Test sends through the API: permissions, recipients (own and shared), preview equal to what is sent,
outcomes, errors in the one format, double submit and rate limit."""

import pytest
from django.test import override_settings

from catalog.models import AuditEvent, ProofRecipient, ProofSend

SENDS = "/api/test-sends/"
PREVIEW = "/api/test-sends/preview/"
RECIPIENTS = "/api/test-recipients/"


@pytest.fixture
def marketer(demo, client_for):
    client = client_for("marketing")
    client.own = ProofRecipient.objects.create(project=demo.student, owner=client.user, email="qa.student@example.com")
    client.demo = demo
    return client


def posts(emulator, path):
    return [r for r in emulator.requests(path=path) if r["method"] == "POST"]


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("norole", 403), ("viewer", 403), ("marketing", 200)])
def test_endpoints_need_the_send_permission(demo, client_for, role, status):
    client = client_for(role)
    assert client.get(SENDS).status_code == status
    assert client.get(RECIPIENTS).status_code == status
    body = {"notification": "student_activity_weekly_digest", "email": "qa.student@example.com"}
    assert client.post(PREVIEW, body, format="json").status_code == status
    sent = client.post(SENDS, body, format="json")
    assert sent.status_code == (201 if status == 200 else status)
    if status != 200:
        assert sent.json()["errors"][0]["code"]


def test_preview_then_send_sends_exactly_the_preview(marketer):
    body = {
        "notification": "student_activity_weekly_digest",
        "recipient": marketer.own.pk,
        "data_fields": {"firstName": "QA"},
    }
    preview = marketer.post(PREVIEW, body, format="json")
    assert preview.status_code == 200, preview.content
    shown = preview.json()
    assert shown["allowed"] is True and shown["mode"] == "campaign"
    assert shown["request"]["endpoint"] == "POST /api/email/target"
    assert "no-store" in preview["Cache-Control"]
    assert posts(marketer.demo.emulator, "/api/email/target") == []

    sent = marketer.post(SENDS, {**body, "submission_token": "api-token-0000000001"}, format="json")
    assert sent.status_code == 201, sent.content
    attempt = sent.json()
    assert attempt["outcome"] == "sent" and attempt["actor"] == marketer.user.username
    recorded = posts(marketer.demo.emulator, "/api/email/target")
    assert [r["body"] for r in recorded] == [shown["request"]["body"]] == [attempt["request_body"]]

    again = marketer.post(SENDS, {**body, "submission_token": "api-token-0000000001"}, format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "duplicate-submission"
    assert f"#{attempt['id']}" in again.json()["errors"][0]["message"]
    assert len(posts(marketer.demo.emulator, "/api/email/target")) == 1

    listed = marketer.get(SENDS, {"notification": "student_activity_weekly_digest", "mine": "true"}).json()
    assert [a["id"] for a in listed["results"]] == [attempt["id"]]
    assert marketer.get(f"{SENDS}{attempt['id']}/").json()["response"]["code"] == "Success"
    assert AuditEvent.objects.filter(action="proof_send", actor=marketer.user).count() == 1


def test_event_and_template_proof_modes(marketer):
    payload = {"company": "ACME", "firstName": "QA", "latest_trial_start_date": "2024-01-31"}
    body = {
        "notification": "student_free_onboarding_welcome",
        "email": "qa.student@example.com",
        "data_fields": payload,
    }
    event = marketer.post(SENDS, {**body, "mode": "event", "confirm_event": True}, format="json").json()
    assert event["mode"] == "event" and event["outcome"] == "sent", event
    assert [r["body"] for r in posts(marketer.demo.emulator, "/api/events/track")] == [event["request_body"]]
    proof = marketer.post(SENDS, {**body, "mode": "template_proof"}, format="json").json()
    assert proof["outcome"] == "sent" and proof["endpoint"] == "POST /api/templates/email/proof"
    assert [r["body"] for r in posts(marketer.demo.emulator, "/api/templates/email/proof")] == [proof["request_body"]]


def test_schema_errors_name_the_field(marketer):
    body = {
        "notification": "student_free_onboarding_welcome",
        "recipient": marketer.own.pk,
        "data_fields": {"company": 1, "firstName": "QA", "latest_trial_start_date": "2024-01-31"},
    }
    response = marketer.post(SENDS, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "data_fields.company",
            "code": "invalid",
            "message": "Must be text. The 'SaaS Free Registration' schema says String.",
        }
    ]
    assert not ProofSend.objects.exists()


DIGEST = {"notification": "student_activity_weekly_digest", "email": "qa.student@example.com"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**DIGEST, "notification": "nope"}, "notification"),
        ({**DIGEST, "email": "foo@"}, "recipient"),
        ({**DIGEST, "mode": "event"}, "mode"),
        ({**DIGEST, "data_fields": [1]}, "data_fields"),
        ({**DIGEST, "data_fields": {"a": "\u0000"}}, "data_fields"),
        ({**DIGEST, "submission_token": "short"}, "submission_token"),
    ],
)
def test_bad_input_is_a_400_with_the_field(marketer, body, field):
    response = marketer.post(SENDS, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field
    assert not ProofSend.objects.exists()


def test_refusals_are_recorded_attempts(marketer):
    stranger = marketer.post(
        SENDS, {"notification": "student_activity_weekly_digest", "email": "student.0001@example.com"}, format="json"
    ).json()
    assert stranger["outcome"] == "refused_guard" and stranger["error_code"] == "recipient-not-allowlisted"
    marketer.demo.emulator.configure(faults=[{"endpoint": "GET /api/messageTypes", "kind": "error500", "count": 5}])
    closed = marketer.post(
        SENDS, {"notification": "student_activity_weekly_digest", "recipient": marketer.own.pk}, format="json"
    ).json()
    assert closed["outcome"] == "refused_guard" and closed["error_code"] == "live-check-failed"
    assert posts(marketer.demo.emulator, "/api/email/target") == []


@override_settings(PROOF_SEND_RATE_LIMIT=(1, 60))
def test_rate_limit_is_a_429(marketer):
    body = {"notification": "student_activity_application_viewed", "recipient": marketer.own.pk}
    assert marketer.post(SENDS, body, format="json").status_code == 201
    limited = marketer.post(SENDS, body, format="json")
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["code"] == "rate-limited"
    assert ProofSend.objects.filter(outcome="rate_limited").count() == 1


def test_recipients_own_and_shared(demo, client_for):
    marketer, admin = client_for("marketing"), client_for("admin")
    own = marketer.post(RECIPIENTS, {"project": demo.student.pk, "email": "qa.student@example.com"}, format="json")
    assert own.status_code == 201 and own.json()["shared"] is False and own.json()["owner"] == marketer.user.username
    denied = marketer.post(RECIPIENTS, {"project": demo.student.pk, "user_id": "qa-1", "shared": True}, format="json")
    assert denied.status_code == 403
    duplicate = marketer.post(
        RECIPIENTS, {"project": demo.student.pk, "email": "qa.student@example.com"}, format="json"
    )
    assert (
        duplicate.status_code == 400 and "already have this test recipient" in duplicate.json()["errors"][0]["message"]
    )
    neither = marketer.post(RECIPIENTS, {"project": demo.student.pk}, format="json")
    assert neither.status_code == 400 and neither.json()["errors"][0]["field"] == "email"

    shared = admin.post(
        RECIPIENTS, {"project": demo.student.pk, "user_id": "qa-student-2", "shared": True}, format="json"
    )
    assert shared.status_code == 201 and shared.json()["shared"] is True and shared.json()["owner"] is None
    mine = marketer.get(RECIPIENTS).json()["results"]
    assert {r["email"] or r["user_id"] for r in mine} == {"qa.student@example.com", "qa-student-2"}
    assert admin.get(f"{RECIPIENTS}{own.json()['id']}/").status_code == 404  # someone else's own
    assert marketer.patch(f"{RECIPIENTS}{shared.json()['id']}/", {"label": "x"}, format="json").status_code == 403
    assert marketer.delete(f"{RECIPIENTS}{shared.json()['id']}/").status_code == 403
    assert admin.patch(f"{RECIPIENTS}{shared.json()['id']}/", {"label": "QA"}, format="json").json()["label"] == "QA"
    assert marketer.patch(f"{RECIPIENTS}{own.json()['id']}/", {"email": "bad@"}, format="json").status_code == 400
    assert marketer.delete(f"{RECIPIENTS}{own.json()['id']}/").status_code == 204
    actions = sorted(AuditEvent.objects.filter(object_type="proofrecipient").values_list("action", flat=True))
    assert actions == ["create", "create", "delete", "update"]
