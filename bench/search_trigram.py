"""The notification search on PostgreSQL with and without the trigram indexes (migration 0018), at one size.

Makes a fresh PostgreSQL database, grows the catalog to --size notifications, then times what the list page
asks of a search (the capped count and the first page) for a few terms, first with the indexes, then with them
dropped; prints milliseconds (median of --rounds), the ratio, and whether the plan read an index or every row.

    python bench/search_trigram.py [--size 100000] [--rounds 5]
"""

import argparse
import statistics
import time

from _django import django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, default=100_000)
parser.add_argument("--rounds", type=int, default=5)
args = parser.parse_args()
django_throwaway("search-trigram", fresh_postgres("search_bench"))

from _catalog import bench_catalog, grow_to  # noqa: E402  (needs Django set up)
from django.db import connection  # noqa: E402

from catalog.core.filters import NotificationFilterSet  # noqa: E402
from catalog.models import Notification  # noqa: E402
from catalog.views.paging import COUNT_CAP, PAGE_SIZE  # noqa: E402

TERMS = {
    "one key": "bench_042424",
    "one name": "notification 42424",
    "owner email": "lifecycle@",
    "nothing": "no such words",
}
INDEXES = {
    "catalog_notification_key_trgm": ("catalog_notification", "key"),
    "catalog_notification_name_trgm": ("catalog_notification", "name"),
    "catalog_customevent_name_trgm": ("catalog_customevent", "name"),
    "catalog_owner_name_trgm": ("catalog_owner", "name"),
    "catalog_owner_email_trgm": ("catalog_owner", "email"),
}


def search(term: str):
    return NotificationFilterSet(data={"q": term}, queryset=Notification.objects.order_by("key")).qs


def timed(term: str) -> tuple[float, int, str]:
    """Median milliseconds of the page's two reads, the rows found (capped) and the plan's verdict."""
    seconds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        found = search(term).order_by().values("pk")[: COUNT_CAP + 1].count()
        list(search(term)[:PAGE_SIZE])
        seconds.append(time.perf_counter() - start)
    plan = search(term).explain()
    read = "index" if "trgm" in plan else "every row"
    return statistics.median(seconds) * 1000, found, read


def indexes_present() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = ANY(%s)", [list(INDEXES)])
        return cursor.fetchone()[0]


def drop_indexes() -> None:
    with connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


catalog = bench_catalog()
started = time.perf_counter()
grow_to(args.size, catalog.project, catalog.message_type, catalog.owner, catalog.template)
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
print(f"{args.size} notifications written in {time.perf_counter() - started:.0f} s; "
      f"{indexes_present()} of {len(INDEXES)} trigram indexes present")  # fmt: skip

with_indexes = {label: timed(term) for label, term in TERMS.items()}
drop_indexes()
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
without = {label: timed(term) for label, term in TERMS.items()}

print(f"{'search':<14}{'rows':>6}{'with ms':>10}{'plan':>11}{'without ms':>12}{'plan':>11}{'ratio':>8}")
for label in TERMS:
    ms, rows, read = with_indexes[label]
    ms0, _, read0 = without[label]
    print(f"{label:<14}{rows:>6}{ms:>10.1f}{read:>11}{ms0:>12.1f}{read0:>11}{ms0 / ms:>7.1f}x")
