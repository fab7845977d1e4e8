"""Fixtures for the Iterable client's contract tests: one emulator per session, over loopback HTTP.

The seed is our own (not the emulator's example) so the tests pin exactly the facts they rely on. Rate
limiting is off by default (tests that need it switch it on with ``configure``); ``reset()`` before each
test restores the seed and drops faults, recorded requests, sends and events.
"""

from __future__ import annotations

import pytest
from _client_seed import SEED, US_KEY

from catalog.iterable import IterableClient
from iterable_emulator.testing import EmulatorServer


@pytest.fixture(scope="session")
def emulator_server():
    with EmulatorServer(SEED, rate_limits_enabled=False) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_server):
    """The session's emulator, back at the seed, with no faults and an empty request log."""
    emulator_server.reset()
    return emulator_server


class FakeSleep:
    """Records the pauses the client asks for instead of sleeping (backoff stays instant)."""

    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake_sleep():
    return FakeSleep()


@pytest.fixture
def make_client(emulator, fake_sleep):
    """Build clients against the emulator: fast timeouts, instant backoff, no client-side pacing."""
    clients: list[IterableClient] = []

    def make(key: str = US_KEY, data_center: str = "US", **kwargs) -> IterableClient:
        options = {
            "base_url": emulator.url(data_center),
            "timeout": (1.0, 2.0),
            "sleep": fake_sleep,
            "pacing": False,
            "max_attempts": 3,
        }
        options.update(kwargs)
        client = IterableClient(key, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()
