"""The smaller departures: Content-Type, chunked bodies, ?api_key=, the unknown-route page, createNewFields,
and error details as recorded."""

from __future__ import annotations

import json

import pytest
import requests
from _contract_seed import EMAIL_CAMPAIGN, KEY, KNOWN
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError

TIMEOUT = 5


def _post(emulator, path, body, **headers):
    return requests.post(f"{emulator.us_url}{path}", data=body, headers={"Api-Key": KEY, **headers}, timeout=TIMEOUT)


def test_json_body_with_another_content_type_is_415(emulator, ours):
    body = json.dumps({"email": KNOWN, "dataFields": {"plan": "pro"}})
    refused = _post(emulator, "/api/users/update", body, **{"Content-Type": "text/plain"})
    assert refused.status_code == 415
    assert refused.json() == {
        "msg": "Expecting text/json or application/json body",
        "code": "BadJsonBody",
        "params": None,
    }
    assert "plan" not in ours.get_user_by_email(KNOWN).data_fields
    for ctype in ("application/json; charset=utf-8", "text/json"):
        assert _post(emulator, "/api/users/update", body, **{"Content-Type": ctype}).status_code == 200
    emulator.configure(content_type_check="off")
    assert _post(emulator, "/api/users/update", body, **{"Content-Type": "text/plain"}).status_code == 200


def test_chunked_body_is_read(emulator, ours):
    payload = json.dumps({"email": KNOWN, "dataFields": {"plan": "chunked"}}).encode()
    chunks = (payload[i : i + 7] for i in range(0, len(payload), 7))  # a generator: requests sends it chunked
    resp = _post(emulator, "/api/users/update", chunks, **{"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    [logged] = emulator.requests(path="/api/users/update")
    assert logged["headers"].get("Transfer-Encoding") == "chunked"
    assert ours.get_user_by_email(KNOWN).data_fields["plan"] == "chunked"


def test_api_key_query_parameter_is_accepted_and_never_logged(emulator):
    ok = requests.get(f"{emulator.us_url}/api/channels", params={"api_key": KEY}, timeout=TIMEOUT)
    assert ok.status_code == 200 and len(ok.json()["channels"]) == 2
    paged = requests.get(f"{emulator.us_url}/api/templates", params={"api_key": KEY, "page": 1}, timeout=TIMEOUT)
    assert KEY not in paged.json()["nextPageUrl"]
    assert all(KEY not in json.dumps(r) for r in emulator.requests())
    bad = requests.get(f"{emulator.us_url}/api/channels", params={"api_key": "nope"}, timeout=TIMEOUT)
    assert bad.status_code == 401 and bad.json()["code"] == "BadApiKey"


def test_unknown_route_is_the_recorded_action_not_found_page(emulator, ours, theirs):
    page = theirs.get("/api/lists/previewUsersNope")
    assert page.status_code == 404 and "<title>Action not found</title>" in page.data
    with pytest.raises(IterableError) as caught:
        ours._call("GET", "/api/no/such/route")
    assert caught.value.status == 404 and '"Action not found"' in caught.value.msg


def test_create_new_fields_is_type_checked(emulator, ours):
    body = json.dumps({"email": KNOWN, "dataFields": {"x": 1}, "createNewFields": "yes"})
    resp = _post(emulator, "/api/users/update", body, **{"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["code"] == "BadJsonBody"
    assert resp.json()["params"] == {"obj.createNewFields": [{"msg": "error.expected.jsboolean", "args": []}]}
    ours.update_user(email=KNOWN, data_fields={"x": 1}, create_new_fields=True)
    assert ours.get_user_by_email(KNOWN).data_fields["x"] == 1


def test_error_details_as_recorded(emulator, ours, theirs):
    with pytest.raises(InvalidParameters) as campaign:
        theirs.email.send(campaign_id=42, recipient_email=KNOWN)
    assert campaign.value.args[0] == {"msg": "Invalid campaignId", "code": "BadParams", "params": {"campaignId": "42"}}
    with pytest.raises(InvalidParameters) as anonymous:
        theirs.users.update(data_fields={"x": 1})
    assert anonymous.value.args[0]["msg"] == "Either email or userId must be set"
    with pytest.raises(InvalidParameters) as untracked:
        theirs.events.track(event_name="x")
    assert untracked.value.args[0]["msg"] == "Either email or userId must be specified in a track call"
    with pytest.raises(IterableError) as template:
        ours.get_email_template(42)
    assert template.value.msg == "Template ID: 42 does not exist for this project"
    assert ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN)["msg"] == (
        f"Campaign {EMAIL_CAMPAIGN} - Sent triggered message to: {KNOWN}"
    )
