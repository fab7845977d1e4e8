"""System webhooks: GET/POST /api/webhooks in the spec's shape, and the calls Iterable would make."""

from __future__ import annotations

import pytest
import requests
from _contract_seed import EMAIL_CAMPAIGN, KNOWN, OPT_IN_TYPE, PROJECT_ID, WEBHOOK, WEBHOOK_OFF
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError


def test_list_and_update_webhooks_through_their_client(emulator, theirs):
    hooks = theirs.get("/api/webhooks").data["webhooks"]
    assert [(h["id"], h["enabled"], h["authType"]) for h in hooks] == [
        (WEBHOOK, True, "NoAuth"),
        (WEBHOOK_OFF, False, "NoAuth"),
    ]
    assert "authToken" not in hooks[0]  # the spec's response never shows the secret
    updated = theirs.post(
        "/api/webhooks",
        data={
            "id": WEBHOOK_OFF,
            "enabled": True,
            "authType": "Basic",
            "authToken": "s3cret",
            "headers": [{"key": "X-A", "value": "1"}],
        },
    )
    assert updated.status_code == 200
    assert updated.data == {
        "id": WEBHOOK_OFF,
        "endpoint": "https://hooks.example.com/off",
        "authType": "Basic",
        "enabled": True,
        "blastSendEnabled": False,
        "triggeredSendEnabled": False,
        "channelIds": [],
        "messageTypeIds": [],
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"id": 999, "enabled": True}, "BadParams"),
        ({"id": WEBHOOK, "authType": "Token"}, "BadParams"),
        ({"id": WEBHOOK, "endpoint": "not a url"}, "BadParams"),
        ({"enabled": False}, "BadJsonBody"),
    ],
)
def test_webhook_update_errors_change_nothing(emulator, theirs, body, code):
    with pytest.raises(InvalidParameters) as refused:
        theirs.post("/api/webhooks", data=body)
    assert refused.value.args[0]["code"] == code
    assert theirs.get("/api/webhooks").data["webhooks"][0]["enabled"] is True


def test_sends_and_events_become_deliveries_of_enabled_webhooks(emulator, ours):
    message = ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN)
    assert message["code"] == "Success"
    ours.track("upgraded", email=KNOWN, data_fields={"plan": "pro"})
    deliveries = emulator.webhook_deliveries(PROJECT_ID)
    assert [(d["webhookId"], d["payload"]["eventName"]) for d in deliveries] == [
        (WEBHOOK, "emailSend"),
        (WEBHOOK, "upgraded"),
    ]
    assert deliveries[0]["payload"]["dataFields"]["campaignId"] == EMAIL_CAMPAIGN
    assert deliveries[1]["payload"]["dataFields"]["plan"] == "pro"
    over_http = requests.get(f"{emulator.us_url}/_emulator/webhooks", params={"project": PROJECT_ID}, timeout=5)
    assert over_http.json()["deliveries"] == deliveries


def test_filters_and_failed_requests_deliver_nothing(emulator, ours, theirs):
    theirs.post("/api/webhooks", data={"id": WEBHOOK, "headers": [{"key": "X-A", "value": "1"}]})
    with emulator.state.lock:
        emulator.state.projects[PROJECT_ID].webhooks[WEBHOOK]["messageTypeIds"] = [OPT_IN_TYPE]
    ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN)  # its template's type is not OPT_IN_TYPE
    with pytest.raises(IterableError):
        ours.track_bulk([{"eventName": "a", "email": KNOWN}, {"eventName": "b", "email": KNOWN, "createdAt": -1}])
    assert emulator.webhook_deliveries(PROJECT_ID) == []
    ours.track("kept", email=KNOWN)
    assert emulator.webhook_deliveries(PROJECT_ID)[0]["headers"] == {"X-A": "1"}
