"""Sends: */target with eligibility, skip vs error mode, proofs, and what history shows."""

from __future__ import annotations

import re

import pytest

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00$")


def target(api, campaign_id, email=None, **extra):
    body = {"campaignId": campaign_id, **extra}
    if email:
        body["recipientEmail"] = email
    medium = "push" if campaign_id == 43 else "email"
    return api.post(f"/api/{medium}/target", json=body)


def test_target_success_body(us, emulator, check_schema):
    resp = target(us, 42, "a@example.com", dataFields={"orderId": 7}, metadata={"m": 1})
    assert resp.status_code == 200
    body = resp.json()
    check_schema("IterableApiResponse", body)
    assert body == {"msg": "Campaign 42 - Sent triggered message to: a@example.com", "code": "Success", "params": None}
    [send] = emulator.sends(email="a@example.com")
    assert (send["status"], send["templateId"], send["messageTypeId"], send["channelId"]) == ("sent", 32, 12, 2)
    assert send["dataFields"] == {"orderId": 7} and DATE_RE.match(send["createdAt"])


# (campaign, recipient, expected status, reason). Users: a@ no arrays; b@ opted in to 10 and 13;
# c@ unsubscribed from channel 1 and from type 12.
ELIGIBILITY = [
    (40, "a@example.com", "skipped", "MessageTypeNotOptedIn"),  # OptIn type, never opted in
    (40, "b@example.com", "sent", None),  # OptIn type, opted in
    (41, "a@example.com", "sent", None),  # OptOut "Marketing Message": mails people who never agreed
    (41, "c@example.com", "skipped", "ChannelUnsubscribe"),  # channel 1 unsubscribed wins
    (40, "c@example.com", "skipped", "ChannelUnsubscribe"),
    (42, "c@example.com", "skipped", "MessageTypeUnsubscribe"),  # OptOut type, unsubscribed from it
    (42, "a@example.com", "sent", None),
    (44, "c@example.com", "sent", None),  # type without a policy is OptOut
    (43, "b@example.com", "sent", None),  # push, OptIn type 13, opted in
    (43, "a@example.com", "skipped", "MessageTypeNotOptedIn"),
]


@pytest.mark.parametrize(("campaign", "email", "status", "reason"), ELIGIBILITY)
def test_eligibility_in_skip_mode(us, emulator, campaign, email, status, reason):
    resp = target(us, campaign, email)
    assert resp.status_code == 200
    assert resp.json()["msg"] == f"Campaign {campaign} - Sent triggered message to: {email}"
    [send] = emulator.sends(email=email)
    assert (send["status"], send["reason"]) == (status, reason)
    messages = us.get("/api/users/getSentMessages", params={"email": email}).json()["messages"]
    assert len(messages) == (1 if status == "sent" else 0)
    events = us.get(f"/api/events/{email}").json()["events"]
    prefix = "push" if campaign == 43 else "email"
    expected_type = f"{prefix}Send" if status == "sent" else f"{prefix}SendSkip"
    assert [e["eventType"] for e in events] == [expected_type]
    if reason:
        assert events[0]["reason"] == reason


def test_ineligible_send_in_error_mode_is_400(us, emulator, check_schema):
    emulator.configure(ineligible_send_mode="error")
    resp = target(us, 40, "a@example.com")
    assert resp.status_code == 400
    body = resp.json()
    check_schema("IterableApiResponse", body)
    assert body["code"] == "BadParams"
    assert body["params"]["reason"] == "MessageTypeNotOptedIn"
    assert [s["status"] for s in emulator.sends(email="a@example.com")] == ["rejected"]
    assert target(us, 40, "b@example.com").status_code == 200  # eligible sends are unaffected


def test_subscription_change_changes_eligibility(us, emulator):
    assert target(us, 41, "a@example.com").ok
    us.delete("/api/subscriptions/messageType/11/user/a@example.com")
    assert target(us, 41, "a@example.com").ok
    assert [s["status"] for s in emulator.sends(email="a@example.com")] == ["sent", "skipped"]


@pytest.mark.parametrize("campaign_id", [999, 43, 45])  # unknown, push campaign on email/target, blast
def test_bad_campaign_is_400(us, campaign_id):
    resp = us.post("/api/email/target", json={"campaignId": campaign_id, "recipientEmail": "a@example.com"})
    assert resp.status_code == 400
    assert resp.json() == {"msg": "Invalid campaignId", "code": "BadParams", "params": {"campaignId": str(campaign_id)}}


def test_target_body_and_recipient_errors(us):
    missing = us.post("/api/email/target", json={"recipientEmail": "a@example.com"})
    assert missing.json() == {
        "msg": missing.json()["msg"],
        "code": "BadJsonBody",
        "params": {"obj.campaignId": [{"msg": "error.path.missing", "args": []}]},
    }
    wrong = us.post("/api/email/target", json={"campaignId": "42", "recipientEmail": "a@example.com"})
    assert wrong.json()["params"] == {"obj.campaignId": [{"msg": "error.expected.jsnumber", "args": []}]}
    bad_email = us.post("/api/email/target", json={"campaignId": 42, "recipientEmail": "foo@"})
    assert bad_email.json() == {"msg": "Invalid email: foo@", "code": "InvalidEmailAddressError", "params": None}
    no_one = us.post("/api/email/target", json={"campaignId": 42})
    assert no_one.json()["code"] == "BadParams"
    ghost = us.post("/api/email/target", json={"campaignId": 42, "recipientUserId": "ghost"})
    assert ghost.json()["code"] == "UnknownUserIdError"


def test_target_by_user_id_and_new_email(us, emulator):
    assert us.post("/api/email/target", json={"campaignId": 42, "recipientUserId": "ub"}).json()["msg"] == (
        "Campaign 42 - Sent triggered message to: b@example.com"
    )
    assert target(us, 42, "first.contact@example.com").ok  # the profile is created, like Iterable does
    assert us.user("first.contact@example.com")["email"] == "first.contact@example.com"


def test_deactivated_campaign_is_accepted_and_skipped(us, emulator):
    assert target(us, 46, "a@example.com").status_code == 200
    [send] = emulator.sends(email="a@example.com")
    assert (send["status"], send["reason"]) == ("skipped", "CampaignDeactivated")


def test_scheduled_send(us, emulator):
    resp = target(us, 42, "a@example.com", sendAt="2999-01-01 10:00:00")
    assert resp.status_code == 200
    assert isinstance(resp.json()["params"]["scheduledMessageId"], int)
    msg = resp.json()["msg"]
    assert msg == "Campaign 42 - Scheduled triggered message for: 2999-01-01T10:00:00.000Z to: a@example.com"
    assert emulator.sends(email="a@example.com")[0]["status"] == "scheduled"
    past = target(us, 42, "a@example.com", sendAt="2000-01-01 10:00:00")
    assert "Sent triggered message" in past.json()["msg"]
    assert target(us, 42, "a@example.com", sendAt="tomorrow").json()["code"] == "BadParams"


# -- proofs ----------------------------------------------------------------------------------------
def test_proofs_ignore_subscriptions(us, emulator, check_schema):
    # c@ is unsubscribed from channel 1, yet a proof of template 30 (type 10 on channel 1) goes out.
    resp = us.post("/api/templates/email/proof", json={"templateId": 30, "recipientEmail": "c@example.com"})
    assert resp.status_code == 200
    check_schema("IterableApiResponse", resp.json())
    assert resp.json()["code"] == "Success"
    push = us.post("/api/templates/push/proof", json={"templateId": 33, "recipientUserId": "ua"})
    assert push.status_code == 200
    sends = emulator.sends(status="sent")
    assert [(s["kind"], s["templateId"], s["email"]) for s in sends] == [
        ("proof", 30, "c@example.com"),
        ("proof", 33, "a@example.com"),
    ]
    # Proofs are not campaign sends: they do not show up in the contact's sent messages.
    assert us.get("/api/users/getSentMessages", params={"email": "c@example.com"}).json() == {"messages": []}


def test_proof_errors(us):
    unknown = us.post("/api/templates/email/proof", json={"templateId": 999, "recipientEmail": "a@example.com"})
    assert unknown.json() == {
        "msg": "Template ID: 999 does not exist for this project",
        "code": "BadParams",
        "params": None,
    }
    wrong_medium = us.post("/api/templates/push/proof", json={"templateId": 30, "recipientEmail": "a@example.com"})
    assert wrong_medium.status_code == 400
    missing = us.post("/api/templates/email/proof", json={"recipientEmail": "a@example.com"})
    assert missing.json()["params"] == {"obj.templateId": [{"msg": "error.path.missing", "args": []}]}
    bad = us.post("/api/templates/email/proof", json={"templateId": 30, "recipientEmail": "foo@"})
    assert bad.json()["code"] == "InvalidEmailAddressError"
    nobody = us.post("/api/templates/email/proof", json={"templateId": 30})
    assert nobody.json()["code"] == "BadParams"


def test_sms_and_in_app_routes_exist(us):
    # The seed has no SMS or in-app campaigns/templates: the routes answer with Iterable errors, not 404s.
    sms = us.post("/api/sms/target", json={"campaignId": 42, "recipientEmail": "a@example.com"})
    assert sms.status_code == 400 and sms.json()["msg"] == "Invalid campaignId"
    in_app = us.post("/api/inApp/target", json={"campaignId": 42, "recipientEmail": "a@example.com"})
    assert in_app.json()["msg"] == "Invalid campaignId"
    assert us.get("/api/templates/inapp/get", params={"templateId": 30}).json()["code"] == "BadParams"
    assert us.get("/api/templates/sms/get", params={"templateId": 30}).json()["code"] == "BadParams"
