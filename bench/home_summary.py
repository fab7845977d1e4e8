"""The home page's summary rebuilt (catalog/services/summary.py, once a minute or after a write) at a small and
a large catalog: milliseconds (median of --rounds), queries, and the large size's time over the small's; then
the rest of the home page's facts (catalog/dashboard/selectors.py: findings, owners, untested, syncs, resyncs,
test sends, 30-day charts), rebuilt the same way.

Half the bench catalog's notifications carry a warning (those without an owner), so the flagged list has 100
rows to show at any size above 200.

    python bench/home_summary.py [--sizes 100,100000] [--rounds 5] [--sqlite]
"""

import argparse
import statistics
import time

from _django import django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--sizes", default="100,100000")
parser.add_argument("--rounds", type=int, default=5)
parser.add_argument("--sqlite", action="store_true")
args = parser.parse_args()
django_throwaway("home-summary", None if args.sqlite else fresh_postgres("summary_bench"))

from _catalog import bench_catalog, grow_to  # noqa: E402  (needs Django set up)
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.dashboard import selectors  # noqa: E402
from catalog.services import summary  # noqa: E402

catalog = bench_catalog()
print(
    f"{'notifications':>14}{'rebuild ms':>12}{'queries':>9}{'flagged shown':>15}{'vs smallest':>13}"
    f"{'digest ms':>11}{'queries':>9}"
)
first = None
for size in (int(s) for s in args.sizes.split(",")):
    grow_to(size, catalog.project, catalog.message_type, catalog.owner, catalog.template)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    summary._computed()
    seconds = []
    for _ in range(args.rounds):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            built = summary._computed()
            seconds.append(time.perf_counter() - start)
    ms = statistics.median(seconds) * 1000
    first = first or ms
    digest_seconds = []
    for _ in range(args.rounds):
        with CaptureQueriesContext(connection) as digest_queries:
            start = time.perf_counter()
            selectors.home_digest_built()
            digest_seconds.append(time.perf_counter() - start)
    digest_ms = statistics.median(digest_seconds) * 1000
    print(
        f"{size:>14,}{ms:>12.1f}{len(queries):>9}{len(built['verdicts']):>15}{ms / first:>12.1f}x"
        f"{digest_ms:>11.1f}{len(digest_queries):>9}"
    )
