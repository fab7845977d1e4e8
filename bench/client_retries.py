"""Bench: the Iterable client's pacing and retries against the emulator (prints counts and ratios).

    python bench/client_retries.py [--calls 12] [--threads 4]

1. Pacing: a burst of getSentMessages calls (documented 3/s) with the emulator enforcing its limits,
   once unpaced (retries off) and once paced: how many 429s each provokes and the achieved rate.
2. Retries: a GET under a burst of injected 500 "try again later" / 429 faults: attempts per call.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.iterable import IterableClient, IterableError
from iterable_emulator.testing import EmulatorServer

KEY = "bench-key"
SEED = {
    "projects": [
        {
            "id": 1,
            "name": "Bench",
            "data_center": "US",
            "api_keys": [KEY],
            "channels": [{"id": 1, "name": "M", "channelType": "Marketing", "messageMedium": "Email"}],
            "message_types": [{"id": 2, "name": "News", "channelId": 1, "subscriptionPolicy": "OptIn"}],
            "users": [{"email": "bench@example.com", "dataFields": {}}],
        }
    ]
}


def burst(client: IterableClient, calls: int, threads: int) -> tuple[int, int, float]:
    ok = limited = 0
    started = time.monotonic()

    def one(_):
        try:
            client.get_sent_messages(email="bench@example.com")
            return True
        except IterableError as exc:
            if exc.code != "RateLimitExceeded":
                raise
            return False

    with ThreadPoolExecutor(threads) as pool:
        for result in pool.map(one, range(calls)):
            ok += result
            limited += not result
    return ok, limited, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    # The client sends a key only to Iterable or to a listed host: here, the emulator on loopback.
    os.environ.setdefault("ITERABLE_ALLOWED_HOSTS", "http://127.0.0.1")
    with EmulatorServer(SEED) as emu:
        unpaced = IterableClient(KEY, base_url=emu.us_url, pacing=False, max_attempts=1)
        ok, limited, elapsed = burst(unpaced, args.calls, args.threads)
        print(f"unpaced: {ok} ok, {limited} rate-limited (429) in {elapsed:.2f} s")
        time.sleep(1.2)
        emu.reset()
        paced = IterableClient(KEY, base_url=emu.us_url, max_attempts=1)
        ok, limited, elapsed = burst(paced, args.calls, args.threads)
        rate = ok / elapsed
        print(f"paced:   {ok} ok, {limited} rate-limited (429) in {elapsed:.2f} s -> {rate:.2f} calls/s (limit 3/s)")
        statuses = [r["status"] for r in emu.requests(path="GET /api/users/getSentMessages")]
        print(f"         emulator saw {len(statuses)} requests, {statuses.count(429)} answered 429")

        for kind, count in (("error500", 3), ("error429", 3), ("error503", 3)):
            emu.reset()
            emu.configure(
                rate_limits_enabled=False, faults=[{"endpoint": "GET /api/channels", "kind": kind, "count": count}]
            )
            client = IterableClient(KEY, base_url=emu.us_url, backoff_base=0.01, max_attempts=4)
            started = time.monotonic()
            client.get_channels()
            attempts = len(emu.requests(path="GET /api/channels"))
            print(f"retry {kind} x{count}: 1 call -> {attempts} attempts, {time.monotonic() - started:.3f} s")


if __name__ == "__main__":
    main()
