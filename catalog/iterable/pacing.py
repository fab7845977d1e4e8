"""Client-side pacing to Iterable's documented per-endpoint rate limits.

Iterable answers 429 when a project exceeds an endpoint's limit and sends no ``Retry-After`` or
``X-RateLimit-*`` headers, so the cheapest 429 is the one we never provoke. Iterable does not say how it
counts; its messages read "Exceeded rate limit of 4.0 per minute", a count per window. So each endpoint key
gets a *sliding window*: at most ``limit`` calls in any ``period`` (stretched by a small ``margin`` for
clock and network jitter). A stream that obeys a sliding window also obeys a fixed window or a token
bucket of the same size, whatever Iterable really uses; a plain token bucket with a full burst would not
(after the burst it admits a call per 1/rate, i.e. ``limit + 1`` calls in one window).

``acquire()`` *reserves* the next free slot under the lock (it may lie in the future) and returns how
long the caller must wait; the caller sleeps outside the lock. Threads sharing a client queue up fairly,
none sleeps holding the lock, and the clock and the sleep are injectable so tests run instantly. Only the
last ``limit`` reservations matter, so each window is a ``deque(maxlen=limit)``: O(1) per call.

Pacing is per client object, and clients are cached per project (see ``client_for_project``), which matches
Iterable's per-project limits within one process. Several worker processes each pace themselves; the 429
retry in the client covers the rest.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Limit = float | tuple[float, float]  # calls per second, or (calls, period in seconds)

# Calls per second, per project (proofs: per key), from Iterable's docs (shared/iterable/BEHAVIOUR.md).
# Keys are "<METHOD> <endpoint template>" as the client names them. Undocumented ones are marked guesses.
DOCUMENTED_RATE_LIMITS: dict[str, Limit] = {
    "GET /api/users/getByEmail": 100,
    "GET /api/users/byUserId": 100,
    "POST /api/users/update": 500,
    "POST /api/users/bulkUpdate": 5,
    "GET /api/users/getSentMessages": 3,
    "POST /api/events/track": 2000,
    "POST /api/events/trackBulk": 10,
    "GET /api/events/{email}": 100,
    "GET /api/events/byUserId/{userId}": 100,
    "GET /api/channels": 100,
    "GET /api/messageTypes": 100,
    "GET /api/lists": 100,
    "GET /api/templates": 100,
    "GET /api/templates/email/get": 100,
    "GET /api/templates/push/get": 100,
    "GET /api/campaigns": 100,
    "GET /api/campaigns/metrics": (10, 60),
    "POST /api/templates/email/proof": 20,
    "POST /api/templates/push/proof": 20,
    # Undocumented: guesses in line with the nearest documented sibling.
    "POST /api/users/updateSubscriptions": 500,
    "POST /api/users/bulkUpdateSubscriptions": 5,
    "PUT /api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}": 5,
    "GET /api/journeys": 100,
    "POST /api/lists/subscribe": 100,
    "POST /api/lists/unsubscribe": 100,
    "POST /api/email/target": 100,
    "POST /api/push/target": 100,
}
# Anything not listed above (per-group subscriptions, deletes…).
DEFAULT_RATE_LIMIT: Limit = 100
# Windows are stretched by this fraction: calls that leave exactly one period apart may arrive closer.
DEFAULT_MARGIN = 0.05


class SlidingWindow:
    """Thread-safe: at most ``limit`` calls in any ``period`` seconds (a reservation log)."""

    def __init__(self, limit: float, period: float = 1.0, *, clock: Callable[[], float]) -> None:
        if limit <= 0 or period <= 0:
            raise ValueError("limit and period must be positive")
        self.limit = max(1, math.floor(limit))
        self.period = float(period)
        self._clock = clock
        self._slots: deque[float] = deque(maxlen=self.limit)
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Reserve the next free slot; return the seconds the caller must wait before using it (0 if none)."""
        with self._lock:
            now = self._clock()
            slot = now
            if len(self._slots) == self.limit:
                slot = max(now, self._slots[0] + self.period)
            self._slots.append(slot)
            return slot - now


@dataclass
class Call:
    """One call's place in a SpacedWindow: when it may start, and when it ended (None while in flight)."""

    start: float
    end: float | None = None


class SpacedWindow:
    """Thread-safe, for many threads each making one call per row (a job's deletes, its reads): calls start in
    order, at least ``period / limit`` apart, and a call starts only ``period`` after the call ``limit`` calls
    before it *ended* (``release``), not after it started.

    A reservation log (SlidingWindow) spaces the calls' starts; but a call that started on time can reach the
    server late (its thread descheduled, a pause of the whole process, the server busy), and the call a window
    later, on time, then finds the server's window still full: a 429. A call's answer comes after the server
    counted it, so spacing from the end is safe whatever happened in between, at the cost of one call's latency
    per window. Evenly spaced starts keep the threads from sending a window's calls at once.
    """

    def __init__(
        self, limit: float, period: float = 1.0, *, clock: Callable[[], float], stale_after: float = 60.0
    ) -> None:
        if limit <= 0 or period <= 0:
            raise ValueError("limit and period must be positive")
        self.limit = max(1, math.floor(limit))
        self.period = float(period)
        self.gap = self.period / self.limit
        # A call never released (its caller died) stops holding its place after this long.
        self.stale_after = stale_after
        self._clock = clock
        self._calls: deque[Call] = deque(maxlen=self.limit)
        self._last: float | None = None
        self._changed = threading.Condition()

    def acquire(self) -> tuple[Call, float]:
        """Take the next place; return it (give it to ``release`` once the call has its answer) and the seconds
        the caller must wait before calling. Waits here only while the call a window before is still in flight."""
        with self._changed:
            while True:
                now = self._clock()
                slot = now if self._last is None else max(now, self._last + self.gap)
                if len(self._calls) == self.limit:
                    oldest = self._calls[0]
                    if oldest.end is None and now - oldest.start < self.stale_after:
                        self._changed.wait(timeout=self.gap)
                        continue
                    slot = max(slot, (oldest.end if oldest.end is not None else now) + self.period)
                call = Call(slot)
                self._calls.append(call)
                self._last = slot
                return call, slot - now

    def release(self, call: Call) -> None:
        """The call has its answer (or failed): the window a period from now may hold it no longer."""
        with self._changed:
            call.end = max(self._clock(), call.start)
            self._changed.notify_all()


class Pacer:
    """One sliding window per endpoint key, created lazily. A limit of 0 or ``None`` disables pacing."""

    def __init__(
        self,
        limits: Mapping[str, Limit | None] | None = None,
        *,
        default: Limit | None = DEFAULT_RATE_LIMIT,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = {**DOCUMENTED_RATE_LIMITS, **(limits or {})}
        self.default = default
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._windows: dict[str, SlidingWindow | None] = {}
        self._lock = threading.Lock()

    def window(self, key: str) -> SlidingWindow | None:
        with self._lock:
            if key not in self._windows:
                self._windows[key] = self._make(self.limits.get(key, self.default))
            return self._windows[key]

    def _make(self, limit: Limit | None) -> SlidingWindow | None:
        if not limit:
            return None
        count, period = limit if isinstance(limit, tuple) else (limit, 1.0)
        return SlidingWindow(count, period * (1 + self.margin), clock=self._clock)

    def wait(self, key: str) -> float:
        """Block until a call to ``key`` is within its limit; return the seconds waited."""
        window = self.window(key)
        if window is None:
            return 0.0
        delay = window.acquire()
        if delay > 0:
            self._sleep(delay)
        return delay
