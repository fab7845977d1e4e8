"""The emulator judged by two clients: the project's own and one that nobody here wrote.

``theirs`` is ``iterable-api`` from PyPI (pinned in requirements-test.txt, tests only). It is pointed at
the emulator through its own ``base_uri`` option; it sets no timeout of its own, so the fixture binds one
to its ``requests.Session`` (the package's only transport) so a hung emulator fails a test instead of
hanging it. Nothing here leaves loopback.
"""

from __future__ import annotations

import functools

import pytest
from _contract_seed import KEY, SEED
from iterable import Iterable

from catalog.iterable import IterableClient
from iterable_emulator.testing import EmulatorServer

TIMEOUT = 5


@pytest.fixture(scope="session")
def emulator_server():
    with EmulatorServer(SEED, rate_limits_enabled=False) as emu:
        yield emu


@pytest.fixture
def emulator(emulator_server, monkeypatch):
    """Back at the seed with the default config; the project's client may send its key to this host."""
    emulator_server.reset()
    monkeypatch.setenv("ITERABLE_ALLOWED_HOSTS", f"{emulator_server.us_url},{emulator_server.eu_url}")
    return emulator_server


@pytest.fixture
def ours(emulator):
    client = IterableClient(KEY, base_url=emulator.us_url, timeout=(2.0, TIMEOUT), pacing=False, max_attempts=1)
    yield client
    client.close()


@pytest.fixture
def theirs(emulator):
    client = Iterable(KEY, base_uri=emulator.us_url)
    session = client._session
    session.request = functools.partial(session.request, timeout=TIMEOUT)
    yield client
    session.close()
