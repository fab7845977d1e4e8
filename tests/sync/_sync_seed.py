"""The Iterable side of the sync tests: project A carries one case of every drift, guard violation and orphan;
project B is clean. Each entry says which finding it is there for (see conftest.py for the catalog side)."""

from __future__ import annotations

import copy

A_KEY = "sync-a-key-DO-NOT-LEAK"
B_KEY = "sync-b-key-DO-NOT-LEAK"
WRONG_KEY = "sync-wrong-key"
MS = 1_700_000_000_000  # fixed timestamps: otherwise the emulator stamps load time and every reload "changes"


def _template(tid, name, mt, campaign=None, client_id=None, medium="Email"):
    t = {"templateId": tid, "name": name, "messageTypeId": mt, "messageMedium": medium, "templateType": "Triggered"}
    t.update(createdAt=MS, updatedAt=MS)
    if campaign is not None:
        t["campaignId"] = campaign
    if client_id is not None:
        t["clientTemplateId"] = client_id
    return t


def _campaign(cid, name, template, *, state="Running", kind="Triggered", workflow=None):
    c = {
        "id": cid,
        "name": name,
        "type": kind,
        "campaignState": state,
        "messageMedium": "Email",
        "templateId": template,
        "createdAt": MS,
        "updatedAt": MS,
    }
    if workflow is not None:
        c["workflowId"] = workflow
    return c


PROJECT_A = {
    "id": 1001,
    "name": "Sync A",
    "data_center": "US",
    "api_keys": [A_KEY],
    "features": {"opt_in_message_types": True},
    "channels": [
        {"id": 101, "name": "Marketing Channel", "channelType": "Marketing", "messageMedium": "Email"},
        {"id": 102, "name": "Transactional Channel", "channelType": "Transactional", "messageMedium": "Email"},
        # Only in Iterable: type 205 moved here.
        {"id": 104, "name": "Receipts Channel", "channelType": "Transactional", "messageMedium": "Email"},
    ],
    "message_types": [
        {"id": 201, "name": "Product Marketing", "channelId": 101, "subscriptionPolicy": "OptIn"},
        {"id": 202, "name": "Marketing Message", "channelId": 101, "subscriptionPolicy": "OptOut"},
        {"id": 203, "name": "Transactional", "channelId": 102},  # no policy: reads as OptOut
        {"id": 204, "name": "Product Updates", "channelId": 101, "subscriptionPolicy": "OptOut"},  # catalog: OptIn
        {"id": 205, "name": "Receipts", "channelId": 104, "subscriptionPolicy": "OptOut"},  # catalog: channel 102
    ],
    "templates": [
        _template(401, "Digest", 201, campaign=501),  # clean
        _template(402, "Welcome", 203, campaign=502),  # missing_template also declares 499 (absent)
        _template(403, "Invoice", 203, campaign=503),  # catalog says type 201: template-type-changed
        _template(404, "Updates", 204, campaign=504),  # policy changed; guard optout-marketing in Iterable
        _template(405, "Receipt", 205, campaign=505),  # channel changed
        _template(406, "Stopped", 201, campaign=506),
        _template(407, "Blast", 201, campaign=507),
        _template(410, "Trial day 1", 201, client_id="trial-1"),  # the base the catalog declares
        _template(411, "Trial day 1", 201, campaign=511, client_id="trial-1"),  # journey 604's copy
        _template(412, "Promo", 201),  # the base the catalog declares
        _template(413, "promo ", 201, campaign=512),  # campaign 512's copy (same name, folded)
        _template(420, "Old newsletter", 202),  # guard: both errors, no notification; orphan
        _template(430, "Unclaimed", 201),  # orphan template
    ],
    "campaigns": [
        _campaign(501, "Digest", 401),
        _campaign(502, "Welcome", 402),
        _campaign(503, "Invoice", 403),
        _campaign(504, "Updates", 404),
        _campaign(505, "Receipt", 405),
        _campaign(506, "Stopped", 406, state="Finished"),  # campaign-not-running
        _campaign(507, "Blast", 407, kind="Blast"),  # campaign-not-triggered
        _campaign(511, "Trial day 1", 411, workflow=604),
        _campaign(512, "Promo", 413),
        _campaign(530, "Unclaimed campaign", 430),  # orphan campaign
        _campaign(531, "Spring blast", 430, kind="Blast", state="Finished"),  # blast: not an orphan
    ],
    "journeys": [
        {"id": 601, "name": "Onboarding", "enabled": False, "triggerEventNames": ["signedUp"]},  # disabled
        {"id": 602, "name": "Old onboarding", "isArchived": True, "triggerEventNames": ["signedUp"]},  # archived
        {"id": 603, "name": "Cart", "enabled": True, "triggerEventNames": ["orderPlaced"]},  # wrong event
        {"id": 604, "name": "Trial", "enabled": True, "triggerEventNames": ["trialStarted"]},  # clean but a copy
    ],
}

PROJECT_B = {
    "id": 1002,
    "name": "Sync B",
    "data_center": "US",
    "api_keys": [B_KEY],
    "channels": [
        {"id": 111, "name": "Transactional Channel", "channelType": "Transactional", "messageMedium": "Email"}
    ],
    "message_types": [{"id": 211, "name": "Transactional", "channelId": 111, "subscriptionPolicy": "OptOut"}],
    "templates": [_template(441, "Reset", 211, campaign=541)],
    "campaigns": [_campaign(541, "Reset", 441)],
}


def seed() -> dict:
    return {"projects": [copy.deepcopy(PROJECT_A), copy.deepcopy(PROJECT_B)]}


# What project A's catalog (conftest.sync_catalog) and the seed above must produce.
EXPECTED_DRIFT = {
    ("missing_template", "template-missing", 499),
    ("type_changed", "template-type-changed", 403),
    ("policy_changed", "message-type-changed", 204),
    ("channel_changed", "message-type-changed", 205),
    ("campaign_stopped", "campaign-not-running", 506),
    ("campaign_blast", "campaign-not-triggered", 507),
    ("campaign_gone", "campaign-missing", 599),
    ("journey_disabled", "journey-disabled", 601),
    ("journey_archived", "journey-archived", 602),
    ("journey_wrong_event", "journey-trigger-mismatch", 603),
    ("journey_gone", "journey-missing", 699),
    ("journey_copy", "template-copy", 411),
    ("campaign_copy", "template-copy", 413),
}
EXPECTED_GUARD = {
    (None, "optout-marketing", 420),
    (None, "marketing-message-type", 420),
    ("policy_changed", "optout-marketing", 404),
    # Its own message type (#204) was flipped to opt-out in Iterable: the notification's verdict says so too.
    ("policy_changed", "optout-marketing", 204),
}
EXPECTED_ORPHANS = {("orphan-template", 420), ("orphan-template", 430), ("orphan-campaign", 530)}
