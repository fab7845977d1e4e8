"""Documented filters: getSentMessages date range and excludeBlastCampaigns, template date range, locale."""

from __future__ import annotations

import pytest
from _contract_seed import (
    BLAST_CAMPAIGN,
    DAY_MS,
    EMAIL_CAMPAIGN,
    KNOWN,
    KNOWN_ID,
    LOCALE_TEMPLATE,
    PROJECT_ID,
    T0,
)
from iterable.exceptions import InvalidParameters

from catalog.iterable import IterableError
from iterable_emulator.state import iterable_time


def _history(emulator):
    """Three past sends to KNOWN: triggered on day 0 and day 2, a blast on day 1 (what a blast run leaves)."""
    with emulator.state.lock:
        for n, (campaign, day) in enumerate([(EMAIL_CAMPAIGN, 0), (BLAST_CAMPAIGN, 1), (EMAIL_CAMPAIGN, 2)]):
            ms = T0 + day * DAY_MS
            emulator.state.sends.append(
                {
                    "messageId": f"m{n}",
                    "projectId": PROJECT_ID,
                    "kind": "target",
                    "status": "sent",
                    "messageMedium": "Email",
                    "campaignId": campaign,
                    "templateId": campaign - 1000,
                    "email": KNOWN,
                    "userId": KNOWN_ID,
                    "createdAt": iterable_time(ms / 1000),
                    "createdAtMs": ms,
                }
            )


def _day(n: int) -> str:
    return iterable_time((T0 + n * DAY_MS) / 1000).replace("+00:00", "+0000")


def test_sent_messages_date_range_through_both_clients(emulator, ours, theirs):
    _history(emulator)
    ids = [m["messageId"] for m in ours.get_sent_messages(email=KNOWN, start_date_time=_day(1))]
    assert ids == ["m2", "m1"]
    ids = [m["messageId"] for m in ours.get_sent_messages(email=KNOWN, end_date_time=_day(1))]
    assert ids == ["m0"]
    answer = theirs.users.get_sent_messages(email=KNOWN, start_date_time=_day(1), end_date_time=_day(2))
    assert [m["messageId"] for m in answer.data["messages"]] == ["m1"]


def test_exclude_blast_campaigns_unless_campaign_ids_are_given(emulator, ours, theirs):
    _history(emulator)
    assert [m["messageId"] for m in ours.get_sent_messages(email=KNOWN, exclude_blast_campaigns=True)] == ["m2", "m0"]
    answer = theirs.users.get_sent_messages(email=KNOWN, exclude_blast_campaigns="true")
    assert [m["messageId"] for m in answer.data["messages"]] == ["m2", "m0"]
    kept = ours.get_sent_messages(email=KNOWN, campaign_ids=[BLAST_CAMPAIGN], exclude_blast_campaigns=True)
    assert [m["messageId"] for m in kept] == ["m1"]


def test_unreadable_date_is_400(emulator, ours, theirs):
    with pytest.raises(IterableError) as caught:
        ours.get_sent_messages(email=KNOWN, start_date_time="last week")
    assert caught.value.code == "BadParams" and "startDateTime" in caught.value.msg
    with pytest.raises(InvalidParameters):
        theirs.templates.list(start_date_time="soon")


def test_template_date_range_through_their_client(emulator, theirs):
    body = theirs.templates.list(start_date_time=_day(3), end_date_time=_day(6)).data
    assert [t["templateId"] for t in body["templates"]] == [3003, 3004, 3005]
    assert theirs.templates.list(start_date_time="2022-04-30").data["templates"][0]["templateId"] == 3015


def test_template_locale(emulator, ours, theirs):
    french = ours.get_email_template(LOCALE_TEMPLATE, locale="fr")
    assert (french["subject"], french["locale"]) == ("Bonjour {{firstName}}", "fr")
    assert ours.get_email_template(LOCALE_TEMPLATE, locale="en")["subject"] == "Hello {{firstName}}"
    with pytest.raises(IterableError) as caught:
        ours.get_email_template(LOCALE_TEMPLATE, locale="de")
    assert (caught.value.status, caught.value.code) == (404, "NotFound")
    missing = theirs.templates.email.get(LOCALE_TEMPLATE, "de")
    assert missing.status_code == 404 and missing.data["msg"].startswith("Content does not exist for specified locale")
