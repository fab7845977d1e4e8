"""The endpoints added beside the original set answer in the spec's shapes (api-docs.json definitions)."""

from __future__ import annotations


def test_campaign_by_id_is_campaign_details(us, check_schema):
    resp = us.get("/api/campaigns/40")
    assert resp.status_code == 200
    check_schema("CampaignDetails", resp.json())
    missing = us.get("/api/campaigns/4040")
    assert missing.status_code == 404
    check_schema("IterableApiResponse", missing.json())


def test_webhooks_are_get_webhooks_response_and_api_webhook_response(us, check_schema):
    listing = us.get("/api/webhooks").json()
    check_schema("GetWebhooksResponse", listing)
    assert [h["id"] for h in listing["webhooks"]] == [77]
    updated = us.post("/api/webhooks", json={"id": 77, "blastSendEnabled": True})
    check_schema("ApiWebhookResponse", updated.json())
    assert updated.json()["blastSendEnabled"] is True


def test_cancel_forget_and_sent_messages_shapes(us, check_schema):
    scheduled = us.post(
        "/api/email/target", json={"campaignId": 42, "recipientEmail": "a@example.com", "sendAt": "2999-01-01 00:00:00"}
    )
    cancel = us.post("/api/email/cancel", json={"scheduledMessageId": scheduled.json()["params"]["scheduledMessageId"]})
    check_schema("IterableApiResponse", cancel.json())
    check_schema("IterableApiResponse", us.post("/api/users/forget", json={"email": "b@example.com"}).json())
    assert us.post("/api/email/target", json={"campaignId": 42, "recipientEmail": "a@example.com"}).status_code == 200
    sent = us.get("/api/users/getSentMessages", params={"email": "a@example.com"}).json()
    check_schema("GetSentMessagesResponse", sent)
    assert sent["messages"][0]["status"] == "Sent"
