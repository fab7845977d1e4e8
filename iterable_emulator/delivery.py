"""Posting the system-webhook calls the emulator records, as Iterable would, from a background thread.

Off unless started (``WebhookDelivery(state).start()``, or ``--deliver-webhooks`` on the command line).
Bounded: at most ``rate`` posts a second, at most ``max_pending`` deliveries waiting (older ones are dropped
and counted), a timeout on every post, three attempts each. Only to hosts in ``allowed_hosts`` (loopback by
default), so an emulator in a test or on a laptop never calls anything else.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from .state import State

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class WebhookDelivery:
    def __init__(
        self,
        state: State,
        *,
        rate: float = 50.0,
        max_pending: int = 10_000,
        timeout: float = 5.0,
        attempts: int = 3,
        allowed_hosts: tuple[str, ...] = LOOPBACK,
    ):
        if rate <= 0:
            raise ValueError("rate must be positive (posts per second)")
        self.state = state
        self.rate = rate
        self.max_pending = max_pending
        self.timeout = timeout
        self.attempts = attempts
        self.allowed_hosts = tuple(allowed_hosts)
        self.stats = {"delivered": 0, "failed": 0, "refused": 0, "dropped": 0}
        self._cursor = 0
        self._list_id = id(state.webhook_deliveries)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-webhook-delivery", daemon=True)

    def start(self) -> WebhookDelivery:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout * self.attempts + 5)

    def __enter__(self) -> WebhookDelivery:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pending(self) -> int:
        with self.state.lock:
            return max(0, len(self.state.webhook_deliveries) - self._cursor)

    def _next(self) -> dict[str, Any] | None:
        # Read under the state's lock: a failing request's deliveries are rolled back inside it, so only
        # committed ones are ever seen. A reset replaces the list: start again from its beginning.
        with self.state.lock:
            deliveries = self.state.webhook_deliveries
            if id(deliveries) != self._list_id or self._cursor > len(deliveries):
                self._list_id, self._cursor = id(deliveries), 0
            waiting = len(deliveries) - self._cursor
            if waiting > self.max_pending:
                self.stats["dropped"] += waiting - self.max_pending
                self._cursor = len(deliveries) - self.max_pending
            if self._cursor >= len(deliveries):
                return None
            delivery = dict(deliveries[self._cursor])
            self._cursor += 1
            return delivery

    def _allowed(self, endpoint: str) -> bool:
        parts = urlsplit(endpoint)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in self.allowed_hosts

    def _post(self, delivery: dict[str, Any]) -> bool:
        body = json.dumps(delivery["payload"]).encode()
        headers = {"Content-Type": "application/json", **(delivery.get("headers") or {})}
        for attempt in range(self.attempts):
            # Only http(s) to an allowed host gets here (_allowed).
            request = urllib.request.Request(delivery["endpoint"], data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    response.read(1024)
                return True
            except urllib.error.HTTPError as error:
                if error.code < 500 and error.code != 429:
                    return False  # the receiver refuses this one: retrying would not help
            except (urllib.error.URLError, OSError):
                pass
            if self._stop.wait(0.2 * (attempt + 1)):
                return False
        return False

    def _run(self) -> None:
        interval = 1.0 / self.rate
        while not self._stop.is_set():
            delivery = self._next()
            if delivery is None:
                self._stop.wait(0.05)
                continue
            started = time.monotonic()
            if not self._allowed(delivery["endpoint"]):
                self.stats["refused"] += 1
                continue
            self.stats["delivered" if self._post(delivery) else "failed"] += 1
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))
