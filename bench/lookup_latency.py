"""Contact lookup: wall time against one Iterable call's latency (the calls must overlap, not add up).

The emulator adds the same latency to every endpoint; a lookup makes 3 calls with a warm schema cache and
6 with a cold one (profile, sent messages, events; channels, message types, lists). Run sequentially they
would cost calls x latency; concurrently about one latency. Also looks up across both demo projects.

    python bench/lookup_latency.py [--latency-ms 200] [--runs 5]
"""

import argparse
import statistics
import time

from _django import django_throwaway

django_throwaway("lookup-latency")

import os  # noqa: E402

from django.contrib.auth.models import User  # noqa: E402
from django.core.cache import cache  # noqa: E402

from catalog.iterable import clear_client_cache  # noqa: E402
from catalog.models import IterableProject  # noqa: E402
from catalog.services.contacts import contact_lookup  # noqa: E402
from catalog.services.demo import demo_catalog_load  # noqa: E402
from catalog.services.emulator_seed import emulator_seed_build  # noqa: E402
from iterable_emulator.testing import EmulatorServer  # noqa: E402

KEYS = {"ITERABLE_API_KEY_STUDENT_US": "bench-student", "ITERABLE_API_KEY_EMPLOYER_US": "bench-employer"}


def timed(runs: int, fn) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(KEYS)
    with EmulatorServer(emulator_seed_build(), rate_limits_enabled=False) as emulator:
        demo_catalog_load(api_base_url=emulator.us_url)
        clear_client_cache()
        actor = User.objects.create(username="bench")
        student = IterableProject.objects.get(name="Student - US")
        emulator.configure(latency_ms={"*": args.latency_ms})
        latency = args.latency_ms / 1000

        def cold():
            cache.clear()
            contact_lookup(actor=actor, email="qa.student@example.com", project=student)

        def warm():
            contact_lookup(actor=actor, email="qa.student@example.com", project=student)

        def everywhere():
            contact_lookup(actor=actor, email="qa.student@example.com")

        for label, fn, calls in (
            ("one project, cold schema cache", cold, 6),
            ("one project, warm schema cache", warm, 3),
            ("all projects (2), warm cache", everywhere, 6),
        ):
            emulator.clear_requests()
            wall = timed(args.runs, fn)
            made = len(emulator.requests()) / args.runs
            print(
                f"{label:32s}: {wall * 1000:6.0f} ms median of {args.runs}; {made:.0f} Iterable calls; "
                f"{wall / latency:.2f}x one call's latency (sequential would be {calls}x)"
            )


if __name__ == "__main__":
    main()
