"""Client-side pacing to Iterable's documented per-endpoint rate limits.

Iterable answers 429 when a project exceeds an endpoint's limit and sends no ``Retry-After`` or
``X-RateLimit-*`` headers, so the cheapest 429 is the one we never provoke. Each endpoint key gets a token
bucket holding at most one second's worth of calls (a full burst, then the steady rate).

``acquire()`` *reserves* a token under the lock (the balance may go negative) and returns how long the
caller must wait; the caller sleeps outside the lock. So threads sharing a client queue up fairly, none
holds the lock while sleeping, and the clock and sleep are injectable so tests run instantly.

Pacing is per client object, and clients are cached per project (see ``client_for_project``), which matches
Iterable's per-project limits within one process. Several worker processes each pace themselves; the 429
retry in the client covers the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

# Calls per second, per project, from Iterable's docs (see shared/iterable/BEHAVIOUR.md). Keys are the
# client's endpoint templates. Endpoints Iterable does not document get a conservative guess, marked.
DOCUMENTED_RATE_LIMITS: dict[str, float] = {
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
    "POST /api/templates/email/proof": 20,
    "POST /api/templates/push/proof": 20,
    # Undocumented: guesses in line with the nearest documented sibling.
    "POST /api/users/updateSubscriptions": 500,
    "POST /api/users/bulkUpdateSubscriptions": 5,
    "GET /api/journeys": 100,
    "POST /api/lists/subscribe": 100,
    "POST /api/lists/unsubscribe": 100,
    "POST /api/email/target": 100,
    "POST /api/push/target": 100,
}
# Anything not listed above (per-group subscriptions, deletes…).
DEFAULT_RATE_LIMIT: float = 100


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, at most ``capacity`` banked."""

    def __init__(self, rate: float, capacity: float | None = None, *, clock: Callable[[], float]) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Reserve one token; return the seconds the caller must wait before using it (0 if none)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class Pacer:
    """One token bucket per endpoint key, created lazily."""

    def __init__(
        self,
        limits: Mapping[str, float] | None = None,
        *,
        default: float | None = DEFAULT_RATE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = dict(DOCUMENTED_RATE_LIMITS if limits is None else limits)
        self.default = default
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, key: str) -> TokenBucket | None:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                rate = self.limits.get(key, self.default)
                if not rate:
                    return None
                bucket = self._buckets[key] = TokenBucket(rate, clock=self._clock)
            return bucket

    def wait(self, key: str) -> float:
        """Block until a call to ``key`` is within its limit; return the seconds waited."""
        bucket = self.bucket(key)
        if bucket is None:
            return 0.0
        delay = bucket.acquire()
        if delay > 0:
            self._sleep(delay)
        return delay
