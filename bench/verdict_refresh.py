"""Seconds to refresh the stored verdicts of every notification on one widely used message type, per
10,000 rows, at 10,000 and at 100,000 notifications: linear when the ratio stays flat.

Each round marks the type deprecated and back (every active notification gains, then loses, a warning), so
every row really changes and is written.

    python bench/verdict_refresh.py                 # SQLite file in /tmp
    python bench/verdict_refresh.py --postgres      # a fresh PostgreSQL database on 127.0.0.1
"""

import argparse
import time

from _django import django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--postgres", action="store_true")
parser.add_argument("--sizes", default="10000,100000")
args = parser.parse_args()
url = None
if args.postgres:
    url = fresh_postgres("verdict_bench")
django_throwaway("verdict-refresh", url)

from _catalog import bench_catalog, grow_to  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.guard.verdicts import refresh_verdicts  # noqa: E402
from catalog.models import MessageType, Notification  # noqa: E402


def main() -> None:
    catalog = bench_catalog()
    print(f"database: {connection.vendor}")
    for size in (int(s) for s in args.sizes.split(",")):
        grow_to(size, catalog.project, catalog.message_type, catalog.owner, catalog.template)
        users = Notification.objects.filter(message_type=catalog.message_type)
        timings = []
        for deprecated in (True, False):
            MessageType.objects.filter(pk=catalog.message_type.pk).update(deprecated=deprecated)
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                changed = refresh_verdicts(users)
            timings.append(time.perf_counter() - started)
            longest = max(len(q["sql"]) for q in queries.captured_queries)
            assert changed == size, (changed, size)
        best = min(timings)
        print(
            f"{size:>7} notifications: refresh {best:6.2f} s, {best / size * 10_000:5.2f} s per 10,000 rows, "
            f"{len(queries.captured_queries)} queries, longest SQL {longest / 1024:.0f} KiB"
        )
    connection.close()


if __name__ == "__main__":
    main()
