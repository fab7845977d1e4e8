"""Fixtures for the preference resync: one emulator per session (loopback), a project wired to it, and a
catalog whose channels and message types match the emulator's."""

from __future__ import annotations

import pytest

from catalog.iterable import clear_client_cache, client_for_project
from catalog.models import Channel, IterableProject, MessageType
from catalog.services.resync import resync_settings_update
from iterable_emulator.testing import EmulatorServer

KEY = "resync-test-key-000000000000"
KEY_ENV = "RESYNC_TEST_ITERABLE_KEY"
PROJECT_ID = 4242

CHANNELS = [
    {"id": 1, "name": "Marketing Email", "channelType": "Marketing", "messageMedium": "Email"},
    {"id": 2, "name": "Transactional Email", "channelType": "Transactional", "messageMedium": "Email"},
    {"id": 3, "name": "Marketing Push", "channelType": "Marketing", "messageMedium": "Push"},
]
MESSAGE_TYPES = [
    {"id": 11, "name": "Newsletter", "channelId": 1, "subscriptionPolicy": "OptIn"},
    {"id": 12, "name": "Product news", "channelId": 1, "subscriptionPolicy": "OptIn"},
    {"id": 13, "name": "Receipts", "channelId": 2, "subscriptionPolicy": "OptOut"},
    {"id": 14, "name": "Push promos", "channelId": 3, "subscriptionPolicy": "OptIn"},
]
LISTS = [{"id": 21, "name": "Beta"}, {"id": 22, "name": "Webinar"}, {"id": 23, "name": "Marketer's own list"}]


def seed(users=(), *, opt_in=True) -> dict:
    return {
        "projects": [
            {
                "id": PROJECT_ID,
                "name": "Resync",
                "api_keys": [KEY],
                "features": {"opt_in_message_types": opt_in, "subscriptions_api": False},
                "channels": CHANNELS,
                "message_types": MESSAGE_TYPES,
                "lists": LISTS,
                "users": list(users),
            }
        ]
    }


# Iterable's state before the resync: ids outside the source of truth's scope that must survive.
SEED_USERS = [
    {
        "email": "ada@example.com",
        "dataFields": {
            "unsubscribedChannelIds": [2],  # transactional: not managed by the truth
            "subscribedMessageTypeIds": [14],  # push promos: not managed
            "emailListIds": [23],  # a marketer's list: not managed
        },
    },
    {"email": "bob@example.com", "dataFields": {"subscribedMessageTypeIds": [11]}},
]
SEED = seed(SEED_USERS)


@pytest.fixture(scope="session")
def emulator_server():
    with EmulatorServer(SEED, rate_limits_enabled=False) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_server):
    emulator_server.reset()
    return emulator_server


class NoSleep:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


@pytest.fixture
def project(db, emulator, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    clear_client_cache()
    project = IterableProject.objects.create(
        name="Resync project", data_center="US", api_key_env=KEY_ENV, api_base_url=emulator.us_url
    )
    channels = {}
    for c in CHANNELS:
        channels[c["id"]] = Channel.objects.create(
            project=project,
            iterable_id=c["id"],
            name=c["name"],
            channel_type=c["channelType"],
            medium=c["messageMedium"],
        )
    for t in MESSAGE_TYPES:
        MessageType.objects.create(
            project=project,
            iterable_id=t["id"],
            name=t["name"],
            channel=channels[t["channelId"]],
            policy=t["subscriptionPolicy"],
        )
    resync_settings_update(
        project=project,
        actor="tests",
        scope={
            "unsubscribedChannelIds": [1, 3],
            "subscribedMessageTypeIds": [11, 12],
            "unsubscribedMessageTypeIds": [13],
            "emailListIds": [21, 22],
        },
        opt_in_enabled=True,
        rate_per_second=0,
    )
    # Backoff and pacing stay real in behaviour but instant in time.
    client = client_for_project(project)
    no_sleep = NoSleep()
    client._sleep = no_sleep
    if client._pacer is not None:
        client._pacer._sleep = no_sleep
    yield project
    clear_client_cache()


def iterable_user(emulator, email: str) -> dict:
    """A user's subscription arrays as the emulator holds them (missing arrays read as [])."""
    with emulator.state.lock:
        project = emulator.state.projects[PROJECT_ID]
        user = project.get_user(email)
        fields = dict(user["dataFields"]) if user else {}
    return {
        name: sorted(fields.get(name) or [])
        for name in ("unsubscribedChannelIds", "unsubscribedMessageTypeIds", "subscribedMessageTypeIds", "emailListIds")
    }


def pytest_configure(config):
    config.addinivalue_line("markers", "qcluster: starts real manage.py qcluster processes (about 20-30 s)")
