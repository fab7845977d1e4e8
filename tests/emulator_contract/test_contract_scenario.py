"""The whole run an independent client must pass, in one go, through iterable-api only:
sends, sent-message history, events with millisecond timestamps, deletes, paging without parameters,
a scheduled send and its cancellation."""

from __future__ import annotations

import time

from _contract_seed import CAMPAIGN_COUNT, EMAIL_CAMPAIGN, PROJECT_ID, PUSH_CAMPAIGN, TEMPLATE_COUNT


def test_independent_client_scenario(emulator, theirs):
    email = "scenario@example.com"
    assert theirs.users.update(email=email, data_fields={"firstName": "Sam"}).status_code == 200

    sent = theirs.email.send(campaign_id=EMAIL_CAMPAIGN, recipient_email=email, data_fields={"plan": "pro"})
    assert sent.data["msg"] == f"Campaign {EMAIL_CAMPAIGN} - Sent triggered message to: {email}"
    history = theirs.users.get_sent_messages(email=email).data["messages"]
    assert [(m["campaignId"], m["status"]) for m in history] == [(EMAIL_CAMPAIGN, "Sent")]
    assert history[0]["sentAt"] == history[0]["createdAt"]

    now_ms = int(time.time() * 1000)
    tracked = theirs.events.track(event_name="upgraded", email=email, created_at=now_ms, data_fields={"to": "pro"})
    assert tracked.status_code == 200
    bulk = theirs.post(
        "/api/events/trackBulk", data={"events": [{"eventName": "seen", "email": email, "createdAt": now_ms}]}
    )
    assert bulk.data["successCount"] == 1
    names = {e.get("eventName") for e in theirs.events.get(email).data["events"]}
    assert {"upgraded", "seen"} <= names

    assert len(theirs.templates.list().data["templates"]) == TEMPLATE_COUNT
    assert len(theirs.campaigns.list().data["campaigns"]) == CAMPAIGN_COUNT

    scheduled = theirs.push.send(campaign_id=PUSH_CAMPAIGN, recipient_email=email, send_at="2999-08-04 08:04:46 +0000")
    message_id = scheduled.data["params"]["scheduledMessageId"]
    cancelled = theirs.post("/api/push/cancel", data={"email": email, "campaignId": PUSH_CAMPAIGN})
    assert cancelled.data["msg"].startswith(
        f"Successfully cancelled scheduled messages with scheduledMessageId: {message_id}"
    )
    assert [s["status"] for s in emulator.sends(project=PROJECT_ID, email=email)] == ["sent", "cancelled"]

    assert theirs.users.delete(email=email).data["code"] == "Success"
    assert theirs.users.get(email=email).data == {}
    assert theirs.users.delete(email=email).status_code == 200  # already gone: still a success
