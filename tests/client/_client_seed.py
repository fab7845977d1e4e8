"""The emulator seed and keys shared by the client's contract tests (imported by conftest and tests)."""

from __future__ import annotations

import time

# Distinctive keys, so the leak test can search for them anywhere.
US_KEY = "us-key-5f0c1e77-DO-NOT-LEAK"
EU_KEY = "eu-key-9a7b2d31-DO-NOT-LEAK"
OFF_KEY = "us-off-key-44c2e0aa-DO-NOT-LEAK"
BIG_KEY = "us-big-key-0b1d6f52-DO-NOT-LEAK"
MS = 1612300000000

TEMPLATE_COUNT = 1500  # 2 pages of 1000
CAMPAIGN_COUNT = 1000  # exactly one full page: the walker must not ask for an empty page 2
JOURNEY_COUNT = 101  # 3 pages of 50


def _main_project() -> dict:
    return {
        "id": 2158,
        "name": "Client US",
        "data_center": "US",
        "api_keys": [US_KEY],
        "features": {"opt_in_message_types": True, "subscriptions_api": True},
        "channels": [
            {"id": 101, "name": "Marketing Channel", "channelType": "Marketing", "messageMedium": "Email"},
            {"id": 102, "name": "Transactional Channel", "channelType": "Transactional", "messageMedium": "Email"},
            {"id": 103, "name": "Push Marketing", "channelType": "Marketing", "messageMedium": "Push"},
        ],
        "message_types": [
            {"id": 201, "name": "Product Marketing", "channelId": 101, "subscriptionPolicy": "OptIn"},
            {"id": 202, "name": "Marketing Message", "channelId": 101, "subscriptionPolicy": "OptOut"},
            {"id": 203, "name": "Transactional (old, no policy)", "channelId": 102},
            {"id": 204, "name": "Activity Push", "channelId": 103, "subscriptionPolicy": "OptIn"},
        ],
        "lists": [
            {"id": 301, "name": "Newsletter", "listType": "Standard", "createdAt": MS},
            {"id": 302, "name": "Trials", "listType": "Standard", "createdAt": MS},
        ],
        "templates": [
            {
                "templateId": 401,
                "name": "Digest",
                "messageTypeId": 201,
                "messageMedium": "Email",
                "templateType": "Triggered",
                "campaignId": 501,
                "subject": "Your week",
            },
            {
                "templateId": 402,
                "name": "Password reset",
                "messageTypeId": 203,
                "messageMedium": "Email",
                "templateType": "Triggered",
                "campaignId": 502,
            },
            {
                "templateId": 404,
                "name": "Activity push",
                "messageTypeId": 204,
                "messageMedium": "Push",
                "templateType": "Triggered",
                "campaignId": 503,
                "title": "New activity",
                "message": "Hi",
            },
        ],
        "campaigns": [
            {
                "id": 501,
                "name": "Digest",
                "type": "Triggered",
                "campaignState": "Running",
                "messageMedium": "Email",
                "templateId": 401,
            },
            {
                "id": 502,
                "name": "Password reset",
                "type": "Triggered",
                "campaignState": "Running",
                "messageMedium": "Email",
                "templateId": 402,
            },
            {
                "id": 503,
                "name": "Activity push",
                "type": "Triggered",
                "campaignState": "Running",
                "messageMedium": "Push",
                "templateId": 404,
            },
        ],
        "journeys": [
            {"id": 601, "name": "Trial onboarding", "enabled": True, "triggerEventNames": ["trialStarted"]},
        ],
        "users": [
            {
                "email": "opted.in@example.com",
                "userId": "u-1",
                "dataFields": {"firstName": "Ada", "subscribedMessageTypeIds": [201, 204], "emailListIds": [301]},
            },
            {"email": "bare@example.com", "userId": "u-2", "dataFields": {"firstName": "Bob"}},
            {"email": "first+tag@example.com", "dataFields": {"unsubscribedChannelIds": [101]}},
        ],
    }


def _off_project() -> dict:
    """A second US project: no subscriptions API, no opt-in message types."""
    return {
        "id": 2159,
        "name": "Client US, old features",
        "data_center": "US",
        "api_keys": [OFF_KEY],
        "features": {"opt_in_message_types": False, "subscriptions_api": False},
        "channels": [{"id": 111, "name": "Marketing", "channelType": "Marketing", "messageMedium": "Email"}],
        "message_types": [{"id": 211, "name": "Marketing Message", "channelId": 111}],
        "lists": [],
        "templates": [],
        "campaigns": [],
        "journeys": [],
        "users": [{"email": "old@example.com", "dataFields": {}}],
    }


def _eu_project() -> dict:
    return {
        "id": 3301,
        "name": "Client EU",
        "data_center": "EU",
        "api_keys": [EU_KEY],
        "features": {"opt_in_message_types": False, "subscriptions_api": False},
        "channels": [{"id": 121, "name": "Transactional", "channelType": "Transactional", "messageMedium": "Email"}],
        "message_types": [{"id": 221, "name": "Transactional", "channelId": 121, "subscriptionPolicy": "OptOut"}],
        "lists": [],
        "templates": [],
        "campaigns": [],
        "journeys": [],
        "users": [{"email": "kunde@example.de", "userId": "eu-1", "dataFields": {"firstName": "Karl"}}],
    }


def _big_project() -> dict:
    """Enough catalog objects to need several pages at the maximum page sizes."""
    return {
        "id": 4000,
        "name": "Client US, big catalog",
        "data_center": "US",
        "api_keys": [BIG_KEY],
        "features": {"opt_in_message_types": True, "subscriptions_api": True},
        "channels": [{"id": 131, "name": "Marketing", "channelType": "Marketing", "messageMedium": "Email"}],
        "message_types": [{"id": 231, "name": "News", "channelId": 131, "subscriptionPolicy": "OptIn"}],
        "lists": [],
        "templates": [
            {
                "templateId": 10000 + i,
                "name": f"T{i}",
                "messageTypeId": 231,
                "messageMedium": "Email",
                "templateType": "Base",
            }
            for i in range(TEMPLATE_COUNT)
        ],
        "campaigns": [
            {"id": 20000 + i, "name": f"C{i}", "type": "Blast", "campaignState": "Finished", "messageMedium": "Email"}
            for i in range(CAMPAIGN_COUNT)
        ],
        "journeys": [{"id": 30000 + i, "name": f"J{i}"} for i in range(JOURNEY_COUNT)],
        "users": [],
    }


SEED = {"projects": [_main_project(), _off_project(), _eu_project(), _big_project()]}


def wait_for_requests(emulator, path: str, count: int, timeout: float = 3.0) -> list[dict]:
    """The emulator records a request when its handler finishes, which can be after the client gave up."""
    deadline = time.monotonic() + timeout
    while True:
        found = emulator.requests(path=path)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)
