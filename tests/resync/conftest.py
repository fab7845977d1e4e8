"""Fixtures for the preference resync: one emulator per session (loopback), a project wired to it, and a
catalog whose channels and message types match the emulator's."""

from __future__ import annotations

import pytest
from _resync_seed import CHANNELS, KEY, KEY_ENV, MESSAGE_TYPES, SEED
from factories import ChannelFactory, MessageTypeFactory, ProjectFactory

from catalog.iterable import clear_client_cache, client_for_project
from catalog.resync.services.rules import resync_settings_update
from iterable_emulator.testing import EmulatorServer


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
    project = ProjectFactory(name="Resync project", api_key_env=KEY_ENV, api_base_url=emulator.us_url)
    channels = {
        c["id"]: ChannelFactory(
            project=project,
            iterable_id=c["id"],
            name=c["name"],
            channel_type=c["channelType"],
            medium=c["messageMedium"],
        )
        for c in CHANNELS
    }
    for t in MESSAGE_TYPES:
        MessageTypeFactory(
            channel=channels[t["channelId"]], iterable_id=t["id"], name=t["name"], policy=t["subscriptionPolicy"]
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


def pytest_configure(config):
    config.addinivalue_line("markers", "qcluster: starts real manage.py qcluster processes (about 20-30 s)")
