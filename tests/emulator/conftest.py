"""Fixtures for the emulator's own tests: one emulator per session, reset before every test.

Nothing here touches the database; everything goes over loopback HTTP with ``requests``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import requests

from iterable_emulator.testing import EmulatorServer

TIMEOUT = 5
API_DOCS = Path("/work/shared/iterable/api-docs.json")
if not API_DOCS.exists():  # a checkout next to ../shared
    API_DOCS = Path(__file__).resolve().parents[3] / "shared" / "iterable" / "api-docs.json"

US_KEY = "us-key-1"
US_KEY_2 = "us-key-1b"  # second key of the same project
US2_KEY = "us2-key"
EU_KEY = "eu-key"
MS = 1612300000000


def _pagination_project() -> dict:
    return {
        "id": 200,
        "name": "Second US project (no opt-in, no subscriptions API)",
        "data_center": "US",
        "api_keys": [US2_KEY],
        "features": {"opt_in_message_types": False, "subscriptions_api": False},
        "channels": [{"id": 5, "name": "Marketing", "channelType": "Marketing", "messageMedium": "Email"}],
        "message_types": [{"id": 50, "name": "Marketing Message", "channelId": 5, "subscriptionPolicy": "OptOut"}],
        "lists": [{"id": 55, "name": "All", "listType": "Standard"}],
        "templates": [
            {
                "templateId": 1000 + i,
                "name": f"Template {i:02d}",
                "messageTypeId": 50,
                "messageMedium": "Email",
                "templateType": "Blast" if i % 2 else "Triggered",
                "createdAt": MS + i,
                "updatedAt": MS + i,
            }
            for i in range(25)
        ],
        "campaigns": [
            {
                "id": 2000 + i,
                "name": f"Campaign {i:02d}",
                "type": "Blast" if i % 2 else "Triggered",
                "campaignState": "Finished" if i % 2 else "Running",
                "messageMedium": "Email",
                "templateId": 1000 + i,
                "createdAt": MS + i,
                "updatedAt": MS + i,
            }
            for i in range(25)
        ],
        "journeys": [
            {
                "id": 3000 + i,
                "name": f"Journey {i:02d}",
                "enabled": True,
                "isArchived": i >= 12,
                "triggerEventNames": [f"event{i}"],
                "createdAt": MS + i,
                "updatedAt": MS + i,
            }
            for i in range(15)
        ],
        "users": [{"email": "p2@example.com", "userId": "p2"}],
    }


SEED = {
    "projects": [
        {
            "id": 100,
            "name": "Main US project",
            "data_center": "US",
            "api_keys": [US_KEY, US_KEY_2],
            "features": {"opt_in_message_types": True, "subscriptions_api": True},
            "channels": [
                {"id": 1, "name": "Marketing Email", "channelType": "Marketing", "messageMedium": "Email"},
                {"id": 2, "name": "Transactional Email", "channelType": "Transactional", "messageMedium": "Email"},
                {"id": 3, "name": "Marketing Push", "channelType": "Marketing", "messageMedium": "Push"},
            ],
            "message_types": [
                {
                    "id": 10,
                    "name": "Product news",
                    "channelId": 1,
                    "subscriptionPolicy": "OptIn",
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 11,
                    "name": "Marketing Message",
                    "channelId": 1,
                    "subscriptionPolicy": "OptOut",
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 12,
                    "name": "Receipts",
                    "channelId": 2,
                    "subscriptionPolicy": "OptOut",
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 13,
                    "name": "Activity push",
                    "channelId": 3,
                    "subscriptionPolicy": "OptIn",
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {"id": 14, "name": "Legacy (no policy)", "channelId": 2, "createdAt": MS, "updatedAt": MS},
            ],
            "lists": [
                {"id": 20, "name": "Newsletter", "listType": "Standard", "createdAt": MS},
                {"id": 21, "name": "Trials", "listType": "Dynamic", "createdAt": MS},
                {"id": 22, "name": "Beta", "listType": "Standard", "createdAt": MS},
            ],
            "templates": [
                {
                    "templateId": 30,
                    "name": "Digest",
                    "messageTypeId": 10,
                    "messageMedium": "Email",
                    "templateType": "Triggered",
                    "campaignId": 40,
                    "clientTemplateId": "digest",
                    "subject": "Your digest",
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "templateId": 31,
                    "name": "Promo",
                    "messageTypeId": 11,
                    "messageMedium": "Email",
                    "templateType": "Triggered",
                    "campaignId": 41,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "templateId": 32,
                    "name": "Receipt",
                    "messageTypeId": 12,
                    "messageMedium": "Email",
                    "templateType": "Triggered",
                    "campaignId": 42,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "templateId": 33,
                    "name": "Reply push",
                    "messageTypeId": 13,
                    "messageMedium": "Push",
                    "templateType": "Triggered",
                    "campaignId": 43,
                    "title": "New reply",
                    "message": "Hi",
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "templateId": 34,
                    "name": "Digest base",
                    "messageTypeId": 10,
                    "messageMedium": "Email",
                    "templateType": "Base",
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "templateId": 35,
                    "name": "Legacy notice",
                    "messageTypeId": 14,
                    "messageMedium": "Email",
                    "templateType": "Triggered",
                    "campaignId": 44,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
            ],
            "campaigns": [
                {
                    "id": 40,
                    "name": "Digest",
                    "type": "Triggered",
                    "campaignState": "Running",
                    "messageMedium": "Email",
                    "templateId": 30,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 41,
                    "name": "Promo",
                    "type": "Triggered",
                    "campaignState": "Running",
                    "messageMedium": "Email",
                    "templateId": 31,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 42,
                    "name": "Receipt",
                    "type": "Triggered",
                    "campaignState": "Running",
                    "messageMedium": "Email",
                    "templateId": 32,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 43,
                    "name": "Reply push",
                    "type": "Triggered",
                    "campaignState": "Running",
                    "messageMedium": "Push",
                    "templateId": 33,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 44,
                    "name": "Legacy notice",
                    "type": "Triggered",
                    "campaignState": "Running",
                    "messageMedium": "Email",
                    "templateId": 35,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 45,
                    "name": "Spring blast",
                    "type": "Blast",
                    "campaignState": "Finished",
                    "messageMedium": "Email",
                    "templateId": 31,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
                {
                    "id": 46,
                    "name": "Old receipt",
                    "type": "Triggered",
                    "campaignState": "Draft",
                    "messageMedium": "Email",
                    "templateId": 32,
                    "createdAt": MS,
                    "updatedAt": MS,
                },
            ],
            "journeys": [
                {
                    "id": 60,
                    "name": "Onboarding",
                    "enabled": True,
                    "isArchived": False,
                    "triggerEventNames": ["signedUp"],
                    "createdAt": MS,
                    "updatedAt": MS,
                },
            ],
            "webhooks": [{"id": 77, "endpoint": "https://hooks.example.com/a", "triggeredSendEnabled": True}],
            "users": [
                {"email": "a@example.com", "userId": "ua", "dataFields": {"firstName": "Ada"}},
                {
                    "email": "b@example.com",
                    "userId": "ub",
                    "dataFields": {"subscribedMessageTypeIds": [10, 13], "emailListIds": [20]},
                },
                {
                    "email": "c@example.com",
                    "userId": "uc",
                    "dataFields": {"unsubscribedChannelIds": [1], "unsubscribedMessageTypeIds": [12]},
                },
            ],
        },
        _pagination_project(),
        {
            "id": 300,
            "name": "EU project",
            "data_center": "EU",
            "api_keys": [EU_KEY],
            "features": {"opt_in_message_types": False, "subscriptions_api": True},
            "channels": [{"id": 7, "name": "Marketing", "channelType": "Marketing", "messageMedium": "Email"}],
            "message_types": [{"id": 70, "name": "News", "channelId": 7, "subscriptionPolicy": "OptOut"}],
            "users": [{"email": "eu@example.com", "userId": "eu1"}],
        },
    ],
    "config": {"ineligible_send_mode": "skip"},
}


class Api:
    """A tiny HTTP client bound to one host and one key (``key=None`` sends no Api-Key header)."""

    def __init__(self, base_url: str, key: str | None):
        self.base_url = base_url
        self.key = key

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.key is not None:
            headers["Api-Key"] = self.key
        kwargs.setdefault("timeout", TIMEOUT)
        return requests.request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.request("PUT", path, json=json, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def user(self, email: str) -> dict:
        resp = self.get("/api/users/getByEmail", params={"email": email})
        assert resp.status_code == 200, resp.text
        return resp.json().get("user", {})


@pytest.fixture(scope="session")
def emulator():
    with EmulatorServer(SEED, rate_limits_enabled=False) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_emulator(emulator):
    emulator.reset()
    yield


@pytest.fixture
def us(emulator) -> Api:
    return Api(emulator.us_url, US_KEY)


@pytest.fixture
def us2(emulator) -> Api:
    return Api(emulator.us_url, US2_KEY)


@pytest.fixture
def eu(emulator) -> Api:
    return Api(emulator.eu_url, EU_KEY)


@pytest.fixture
def seed() -> dict:
    return copy.deepcopy(SEED)


@pytest.fixture(scope="session")
def keys() -> dict:
    return {"us": US_KEY, "us_2": US_KEY_2, "us2": US2_KEY, "eu": EU_KEY}


@pytest.fixture(scope="session")
def make_api():
    """``make_api(base_url, key)`` -> an ``Api`` client (test modules do not import conftest)."""
    return Api


def _spec_definitions() -> dict:
    defs = copy.deepcopy(json.loads(API_DOCS.read_text(encoding="utf-8"))["definitions"])
    # Where recorded traffic and the spec disagree, traffic wins (BEHAVIOUR.md): template dates are
    # epoch milliseconds, the total counts are integers, not the "object" the spec declares, and the
    # envelope's params is often null ({"msg": "", "code": "Success", "params": null}).
    defs["IterableApiResponse"]["properties"]["params"] = {"type": ["object", "null"]}
    for prop in ("createdAt", "updatedAt"):
        defs["ApiTemplateResponse"]["properties"][prop] = {"type": ["integer", "string"]}
    defs["GetTemplatesResponse"]["properties"]["totalTemplatesCount"] = {"type": "integer"}
    defs["CampaignsResponse"]["properties"]["totalCampaignsCount"] = {"type": "integer"}
    return defs


@pytest.fixture(scope="session")
def spec_definitions() -> dict:
    return _spec_definitions()


@pytest.fixture(scope="session")
def check_schema(spec_definitions):
    """``check_schema("UserResponse", body)`` validates a body against api-docs.json ``definitions``."""

    def check(name: str, instance) -> None:
        assert name in spec_definitions, name
        schema = {"$ref": f"#/definitions/{name}", "definitions": spec_definitions}
        jsonschema.Draft4Validator(schema).validate(instance)

    return check
