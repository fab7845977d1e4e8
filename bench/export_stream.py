"""Rows per second and peak memory of the exports (CSV of the list, the whole catalog as YAML and JSON) and of a
1,000-row API page, at 10,000 and 100,000 notifications: the exports stream, so their peak memory should stay
flat while the rows grow tenfold.

Runs through Django's test client against a throwaway database (a fresh PostgreSQL database by default,
--sqlite for a file under /tmp); the response is consumed chunk by chunk as a server would send it. Speed is
measured without tracing; peak memory in a second pass under tracemalloc (Python allocations only).

    python bench/export_stream.py [--sizes 10000,100000] [--sqlite]
"""

import argparse
import time
import tracemalloc

from _django import django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--sizes", default="10000,100000")
parser.add_argument("--sqlite", action="store_true")
args = parser.parse_args()
django_throwaway("export-stream", None if args.sqlite else fresh_postgres("export_bench"))

from _catalog import bench_catalog, grow_to  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from catalog.tokens.services import api_token_create  # noqa: E402


def consume(response) -> int:
    """Bytes of the body, read the way a server sends it (chunk by chunk when it streams)."""
    assert response.status_code == 200, response.status_code
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def measure(get, rows: int) -> tuple[float, int, float]:
    started = time.perf_counter()
    size = consume(get())
    seconds = time.perf_counter() - started
    tracemalloc.start()
    consume(get())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows / seconds, size, peak / 2**20


def main() -> None:
    setup_test_environment()
    catalog = bench_catalog()
    user = User.objects.create_user("export-viewer", password="a long bench password")
    user.groups.add(Group.objects.get(name="viewer"))
    _, token = api_token_create(actor=user, user=user, name="export bench")
    pages, api = Client(), Client(headers={"Authorization": f"Bearer {token}"})
    pages.force_login(user)
    print(f"{connection.vendor}: rows per second and peak Python memory (MiB) of each download")
    print(f"{'download':34} {'notifications':>13} {'rows/s':>9} {'MiB out':>8} {'peak MiB':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        grow_to(size, catalog.project, catalog.message_type, catalog.owner, catalog.template)
        targets = [
            ("CSV of the list (streamed)", lambda: pages.get("/notifications/export.csv"), size),
            ("catalog YAML (streamed)", lambda: pages.get("/catalog/export/?format=yaml"), size),
            ("catalog JSON (streamed)", lambda: pages.get("/catalog/export/?format=json"), size),
            ("API page of 1,000", lambda: api.get("/api/notifications/?limit=1000"), 1000),
        ]
        for label, get, rows in targets:
            rate, out, peak = measure(get, rows)
            print(f"{label:34} {size:>13,} {rate:9,.0f} {out / 2**20:8.1f} {peak:9.1f}")
    connection.close()


if __name__ == "__main__":
    main()
