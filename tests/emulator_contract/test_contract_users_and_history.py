"""JSON for an unknown userId by default, and sent-message rows with the fields current clients require."""

from __future__ import annotations

import pytest
from _contract_seed import EMAIL_CAMPAIGN, KNOWN, KNOWN_ID
from requests.exceptions import JSONDecodeError


def test_unknown_user_id_is_an_empty_json_object(emulator, ours, theirs):
    answer = theirs.users.get(user_id="ghost")
    assert (answer.status_code, answer.data) == (200, {})
    assert ours.get_user_by_id("ghost") is None
    assert theirs.users.get(user_id=KNOWN_ID).data["user"]["email"] == KNOWN


def test_legacy_switch_is_the_plain_text_a_json_client_cannot_read(emulator, ours, theirs):
    emulator.configure(unknown_user_id="legacy_400")
    assert ours.get_user_by_id("ghost") is None  # ours knows the old answer
    with pytest.raises(JSONDecodeError):
        theirs.users.get(user_id="ghost")


def test_sent_messages_carry_status_and_sent_at(emulator, ours, theirs):
    ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN, data_fields={"plan": "pro"})
    [mine] = ours.get_sent_messages(email=KNOWN)
    [their] = theirs.users.get_sent_messages(email=KNOWN).data["messages"]
    assert mine == their
    assert {"messageId", "campaignId", "templateId", "createdAt", "messageMedium", "status", "sentAt"} <= set(mine)
    assert (mine["campaignId"], mine["status"], mine["sentAt"]) == (EMAIL_CAMPAIGN, "Sent", mine["createdAt"])


def test_recorded_switch_leaves_the_client_fields_out(emulator, ours):
    emulator.configure(sent_message_fields="recorded")
    ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN)
    [message] = ours.get_sent_messages(email=KNOWN)
    assert set(message) == {"messageId", "campaignId", "templateId", "createdAt", "messageMedium"}
