"""GET /api/campaigns/metrics: the recorded CSV, counted from the emulator's sends and engagement events."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import requests
from _contract_seed import EMAIL_CAMPAIGN, KEY, KNOWN, PROJECT_ID

TIMEOUT = 5


def _engagement(emulator):
    """Opens and clicks as Iterable would log them (the emulator only creates send events itself)."""
    with emulator.state.lock:
        for n, (kind, email) in enumerate(
            [("emailOpen", KNOWN), ("emailOpen", KNOWN), ("emailClick", KNOWN), ("emailOpen", "b@example.com")]
        ):
            emulator.state.events.append(
                {
                    "id": f"e{n}",
                    "projectId": PROJECT_ID,
                    "eventType": kind,
                    "email": email,
                    "campaignId": EMAIL_CAMPAIGN,
                    "createdAt": "2030-01-01 00:00:00 +00:00",
                    "createdAtMs": 1_893_456_000_000,
                }
            )


def _rows(text):
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    # Iterable repeats each column name; the first of a pair is enough.
    return [{name: value for name, value in reversed(list(zip(header, row, strict=True)))} for row in reader]


def test_metrics_through_their_client(emulator, ours, theirs):
    ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN)
    ours.email_target(EMAIL_CAMPAIGN, recipient_email="b@example.com")
    _engagement(emulator)
    answer = theirs.campaigns.get_metrics(
        [EMAIL_CAMPAIGN, 4010], datetime(2020, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)
    )
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    assert answer.data.startswith("id,Average Order Value,Average Order Value,Purchases / M,")
    mine, other = _rows(answer.data)
    assert mine["id"] == str(EMAIL_CAMPAIGN)
    assert (mine["Total Email Sends"], mine["Total Emails Delivered"]) == ("2", "2.0")
    assert (mine["Total Email Opens"], mine["Total Emails Clicked"]) == ("3", "1")
    assert (mine["Unique Email Clicks"], mine["Unique Email Opens Or Clicks"]) == ("1", "2")
    assert other["Total Email Sends"] == "0" and other["Revenue"] == "0.0"


def test_date_range_and_recorded_edge_cases(emulator, ours, theirs):
    ours.email_target(EMAIL_CAMPAIGN, recipient_email=KNOWN)
    _engagement(emulator)
    before = theirs.campaigns.get_metrics([EMAIL_CAMPAIGN], datetime(2020, 1, 1), datetime(2021, 1, 1)).data
    assert _rows(before)[0]["Total Email Sends"] == "0" and _rows(before)[0]["Total Email Opens"] == "0"
    url = f"{emulator.us_url}/api/campaigns/metrics"
    empty = requests.get(url, headers={"Api-Key": KEY}, timeout=TIMEOUT)
    assert (empty.status_code, empty.text) == (200, "id,\n")
    bad = requests.get(url, params={"campaignId": "x"}, headers={"Api-Key": KEY}, timeout=TIMEOUT)
    assert bad.status_code == 400 and bad.json()["code"] == "BadParams"


def test_metrics_rate_limit_is_ten_a_minute_and_faults_apply(emulator):
    url = f"{emulator.us_url}/api/campaigns/metrics"
    emulator.configure(rate_limits_enabled=True)
    codes = [requests.get(url, headers={"Api-Key": KEY}, timeout=TIMEOUT).status_code for _ in range(11)]
    assert codes == [200] * 10 + [429]
    assert "per minute" in requests.get(url, headers={"Api-Key": KEY}, timeout=TIMEOUT).json()["msg"]
    emulator.configure(
        rate_limits_enabled=False, faults=[{"endpoint": "GET /api/campaigns/metrics", "kind": "error503"}]
    )
    assert requests.get(url, headers={"Api-Key": KEY}, timeout=TIMEOUT).status_code == 503
