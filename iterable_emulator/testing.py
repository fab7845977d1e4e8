"""Run the emulator inside a test process.

``EmulatorServer`` starts the US and EU listeners on ephemeral ports of 127.0.0.1 in daemon threads
as soon as it is constructed, and stops them on ``stop()`` or when its ``with`` block ends::

    from iterable_emulator.testing import EmulatorServer

    with EmulatorServer(seed, rate_limits_enabled=False) as emu:
        requests.get(f"{emu.us_url}/api/channels", headers={"Api-Key": "us-key"}, timeout=5)
        emu.requests(path="/api/channels")          # what was received
        emu.configure(faults=[{"endpoint": "POST /api/email/target", "kind": "error500", "count": 1}])
        emu.reset()                                  # back to ``seed``; forgets sends, events, requests

A pytest fixture, for example::

    @pytest.fixture(scope="session")
    def iterable_emulator():
        with EmulatorServer() as emu:     # no seed: the bundled example_seed.json
            yield emu

    @pytest.fixture(autouse=True)
    def _fresh_emulator(iterable_emulator):
        iterable_emulator.reset()

API (stable):

- ``EmulatorServer(seed=None, *, state_file=None, **config)``: ``seed`` is a dict, a list of projects,
  a path to a JSON file, or None for the bundled example seed. ``config`` keys are those of
  ``PUT /_emulator/config`` (``rate_limits_enabled``, ``rate_limits``, ``default_rate_limit``,
  ``ineligible_send_mode``, ``unknown_user_id``, ``latency_ms``, ``faults``, ``batch_limits`` ...);
  they survive ``reset()``.
- attributes ``us_url``, ``eu_url`` (``"http://127.0.0.1:PORT"``) and ``state`` (the live
  ``iterable_emulator.state.State``; take ``state.lock`` before touching it directly).
- ``url(data_center)`` -> ``us_url`` or ``eu_url``.
- ``reset()``, ``load_seed(seed)``, ``configure(**config)`` -> effective config dict.
- ``requests(path=None, project=None, method=None)`` -> list of recorded request dicts (keys:
  ``id, timestamp, time, data_center, method, path, endpoint, query, headers, api_key_present,
  project_id, body, status, response, duration_ms``); ``path`` matches the literal path or the
  endpoint id such as ``"GET /api/users/{email}"``. ``clear_requests()``.
- ``sends(project=None, email=None, status=None)`` and ``events(project=None, email=None)``.
- ``snapshot()`` -> the full state as JSON-ready dict (a valid seed).
- ``stop()``; also a context manager.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .app import make_app
from .server import start_listeners
from .state import State, load_seed_file

EXAMPLE_SEED = Path(__file__).with_name("example_seed.json")

__all__ = ["EXAMPLE_SEED", "EmulatorServer"]


def _seed(seed: Any) -> Any:
    if seed is None:
        return load_seed_file(EXAMPLE_SEED)
    if isinstance(seed, str | os.PathLike):
        return load_seed_file(seed)
    return json.loads(json.dumps(seed))  # a private copy; also rejects non-JSON values early


class EmulatorServer:
    """The US and EU emulator listeners on ephemeral loopback ports, sharing one state."""

    def __init__(
        self,
        seed: Any = None,
        *,
        state_file: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        **config: Any,
    ):
        self.state = State(_seed(seed), state_file=state_file, config=config)
        self._us, self._eu = start_listeners(self.state, host)
        self.us_url: str = self._us.url
        self.eu_url: str = self._eu.url
        self._stopped = False

    def url(self, data_center: str = "US") -> str:
        return {"US": self.us_url, "EU": self.eu_url}[data_center.upper()]

    def reset(self) -> None:
        self.state.reset()

    def load_seed(self, seed: Any) -> None:
        self.state.load_seed(_seed(seed))

    def configure(self, **config: Any) -> dict[str, Any]:
        return self.state.configure(**config)

    def requests(
        self, path: str | None = None, project: int | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        return self.state.list_requests(path=path, project=project, method=method)

    def clear_requests(self) -> None:
        self.state.clear_requests()

    def sends(
        self, project: int | None = None, email: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        return self.state.list_sends(project=project, email=email, status=status)

    def events(self, project: int | None = None, email: str | None = None) -> list[dict[str, Any]]:
        return self.state.list_events(project=project, email=email)

    def webhook_deliveries(self, project: int | None = None) -> list[dict[str, Any]]:
        """System-webhook calls Iterable would have made (``GET /_emulator/webhooks``); nothing is sent."""
        with self.state.lock:
            return [dict(d) for d in self.state.webhook_deliveries if project is None or d["projectId"] == project]

    def snapshot(self) -> dict[str, Any]:
        return self.state.snapshot()

    def render(
        self, project: int, template_id: int, data_fields: dict[str, Any] | None = None, **options: Any
    ) -> dict[str, Any]:
        """What a send of the template would say (same as ``POST /_emulator/render``); ``options``: ``email``
        (merge that profile's fields first), ``locale``, ``dataFeed``."""
        app = make_app(self.state)
        return app.render_for(project=project, templateId=template_id, dataFields=data_fields, **options)

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._us.stop()
            self._eu.stop()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
