"""Fixtures for the seed jobs: one emulator per session (loopback), a project wired to it, its channels."""

from __future__ import annotations

import pytest
from _jobs_seed import CHANNELS, KEY, KEY_ENV, seed
from factories import ChannelFactory, ProjectFactory

from catalog.iterable import clear_client_cache, client_for_project
from iterable_emulator.testing import EmulatorServer


@pytest.fixture(scope="session")
def emulator_server():
    with EmulatorServer(seed(), rate_limits_enabled=False) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_server):
    emulator_server.reset()
    return emulator_server


@pytest.fixture
def project(db, emulator, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    clear_client_cache()
    project = ProjectFactory(name="Jobs project", api_key_env=KEY_ENV, api_base_url=emulator.us_url)
    for c in CHANNELS:
        ChannelFactory(project=project, iterable_id=c["id"], name=c["name"], channel_type=c["channelType"],
                       medium=c["messageMedium"])  # fmt: skip
    client = client_for_project(project)
    client._sleep = lambda seconds: None
    if client._pacer is not None:
        client._pacer._sleep = lambda seconds: None
    yield project
    clear_client_cache()
