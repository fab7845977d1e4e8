"""Scheduled sends: sendAt with an offset, the recorded message, and cancelling through */cancel."""

from __future__ import annotations

import pytest
from _contract_seed import EMAIL_CAMPAIGN, KNOWN, KNOWN_ID, PROJECT_ID, PUSH_CAMPAIGN
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError

LATER = "2999-08-04 08:04:46 +0000"


def _scheduled(emulator, status="scheduled"):
    return [s for s in emulator.sends(project=PROJECT_ID) if s["status"] == status]


SAME_INSTANT = [LATER, "2999-08-04 08:04:46", "2999-08-04T08:04:46Z", "2999-08-04 10:04:46 +02:00"]


@pytest.mark.parametrize("send_at", SAME_INSTANT)
def test_send_at_forms_all_schedule_for_the_same_instant(emulator, ours, send_at):
    answer = ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN, send_at=send_at)
    assert answer["msg"] == (
        f"Campaign {EMAIL_CAMPAIGN} - Scheduled triggered message for: 2999-08-04T08:04:46.000Z to: {KNOWN}"
    )
    assert isinstance(answer["params"]["scheduledMessageId"], int)


def test_schedule_and_cancel_by_id_through_their_client(emulator, theirs, ours):
    scheduled = theirs.email.send(campaign_id=EMAIL_CAMPAIGN, recipient_email=KNOWN, send_at=LATER)
    assert scheduled.status_code == 200
    message_id = scheduled.data["params"]["scheduledMessageId"]
    cancelled = theirs.post("/api/email/cancel", data={"scheduledMessageId": message_id})
    expected = f"Successfully cancelled scheduled messages with scheduledMessageId: {message_id} from project: "
    assert cancelled.data == {"msg": f"{expected}{PROJECT_ID}", "code": "Success", "params": None}
    assert _scheduled(emulator) == [] and len(_scheduled(emulator, "cancelled")) == 1
    with pytest.raises(InvalidParameters) as twice:
        theirs.post("/api/email/cancel", data={"scheduledMessageId": message_id})
    assert twice.value.args[0]["code"] == "BadParams"
    # A cancelled message never shows up as sent.
    assert ours.get_sent_messages(email=KNOWN) == []


def test_cancel_every_scheduled_send_of_a_campaign_to_one_user(emulator, ours):
    first = ours.push_target(PUSH_CAMPAIGN, recipient_email=KNOWN, send_at=LATER)["params"]["scheduledMessageId"]
    second = ours.push_target(PUSH_CAMPAIGN, recipient_user_id=KNOWN_ID, send_at=LATER)["params"]["scheduledMessageId"]
    other = ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN, send_at=LATER)["params"]["scheduledMessageId"]
    answer = ours.cancel_scheduled("push", campaign_id=PUSH_CAMPAIGN, user_id=KNOWN_ID)
    # Newest first, as recorded.
    assert f"scheduledMessageId: {second},{first} from project" in answer["msg"]
    assert [s["scheduledMessageId"] for s in _scheduled(emulator)] == [other]


def test_cancel_errors_as_recorded(emulator, ours, theirs):
    ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN, send_at=LATER)
    with pytest.raises(IterableError) as wrong_campaign:
        ours.cancel_scheduled("email", campaign_id=44444, email=KNOWN)
    assert wrong_campaign.value.code == "BadParams"
    assert wrong_campaign.value.msg == "No scheduled messages found- Invalid email and campaignId combination"
    with pytest.raises(InvalidParameters) as bad_email:
        theirs.post("/api/push/cancel", data={"email": "", "campaignId": EMAIL_CAMPAIGN})
    assert bad_email.value.args[0] == {"msg": "Invalid email: ", "code": "InvalidEmailAddressError", "params": None}
    with pytest.raises(InvalidParameters) as nothing:
        theirs.post("/api/sms/cancel", data={"campaignId": EMAIL_CAMPAIGN})
    assert nothing.value.args[0]["code"] == "BadParams"
    assert len(_scheduled(emulator)) == 1  # the failed cancels changed nothing


def test_unreadable_send_at_is_a_clear_400(emulator, ours):
    with pytest.raises(IterableError) as caught:
        ours.email_target(EMAIL_CAMPAIGN, recipient_email="new@example.com", send_at="tomorrow")
    assert caught.value.code == "BadParams" and "sendAt" in caught.value.msg
    assert ours.get_user_by_email("new@example.com") is None  # the refused send created no profile
