"""GET /api/campaigns/{id}: the spec's CampaignDetails, a JSON 404 for an unknown id, rate limit and faults."""

from __future__ import annotations

import pytest
import requests
from _contract_seed import BLAST_CAMPAIGN, EMAIL_CAMPAIGN, KEY, T0
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError


def test_campaign_by_id_through_both_clients(emulator, ours, theirs):
    mine = ours.get_campaign(EMAIL_CAMPAIGN)
    theirs_answer = theirs.get(f"/api/campaigns/{EMAIL_CAMPAIGN}")
    assert theirs_answer.status_code == 200 and theirs_answer.data == mine
    assert {
        k: mine[k] for k in ("id", "name", "type", "campaignState", "messageMedium", "templateId", "createdAt")
    } == {
        "id": EMAIL_CAMPAIGN,
        "name": "Campaign 00",
        "type": "Triggered",
        "campaignState": "Running",
        "messageMedium": "Email",
        "templateId": 3000,
        "createdAt": T0,
    }
    assert ours.get_campaign(BLAST_CAMPAIGN)["type"] == "Blast"


def test_unknown_and_malformed_ids(emulator, ours, theirs):
    with pytest.raises(InvalidParameters) as refused:
        theirs.get("/api/campaigns/abc")
    assert refused.value.args[0]["code"] == "BadParams"
    with pytest.raises(IterableError) as caught:
        ours.get_campaign(999_999)
    assert (caught.value.status, caught.value.code) == (404, "NotFound")
    missing = theirs.get("/api/campaigns/999999")
    assert missing.status_code == 404
    assert missing.data == {"msg": "Campaign 999999 not found", "code": "NotFound", "params": None}
    bad = requests.get(f"{emulator.us_url}/api/campaigns/abc", headers={"Api-Key": KEY}, timeout=5)
    assert bad.status_code == 400 and bad.json()["code"] == "BadParams"


def test_rate_limit_and_faults(emulator, ours):
    emulator.configure(rate_limits_enabled=True, rate_limits={"GET /api/campaigns/{id}": 2})
    url = f"{emulator.us_url}/api/campaigns/{EMAIL_CAMPAIGN}"
    codes = [requests.get(url, headers={"Api-Key": KEY}, timeout=5).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    emulator.configure(rate_limits_enabled=False, faults=[{"endpoint": "GET /api/campaigns/{id}", "kind": "error500"}])
    with pytest.raises(IterableError) as caught:
        ours.get_campaign(EMAIL_CAMPAIGN)
    assert caught.value.status == 500 and caught.value.retryable
