"""Fixed-window counters in Django's cache: N events per window of S seconds, shared by every process that
shares the cache (the database cache in production)."""

import time

from django.core.cache import cache


def rate_window_count(key: str, seconds: int) -> int:
    """Count one event under `key` in the current window; the number so far in this window, this one included."""
    window_key = f"{key}:{int(time.time() // seconds)}"
    cache.add(window_key, 0, seconds)
    try:
        return cache.incr(window_key)
    except ValueError:  # the window expired between add and incr
        cache.set(window_key, 1, seconds)
        return 1


def rate_window_peek(key: str, seconds: int) -> int:
    """The number of events counted under `key` in the current window, counting none."""
    return cache.get(f"{key}:{int(time.time() // seconds)}", 0)


def rate_window_wait(seconds: int) -> int:
    """Seconds until the current window ends (at least 1)."""
    return max(1, int(seconds - time.time() % seconds))
