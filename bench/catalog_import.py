"""Catalog import speed: a file of N notifications (25,000 by default) imported by the background task's
code, on a throwaway database; prints rows per second and SQL queries per row, for a first import (all new)
and a second one of the same file (all unchanged), and for an update of every notification.

    python bench/catalog_import.py [--notifications 25000] [--postgres | --database-url postgres://…/empty_db]

The CPU seconds are this process's own (Python, and SQLite's engine; not PostgreSQL's server): on a busy
machine they move less than the wall time. --postgres makes a throwaway database on 127.0.0.1 (dropped at the
end); a --database-url must name an existing, empty one (it is migrated here). Counts and ratios, never asserted.
"""

import argparse
import json
import time

from _django import django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--notifications", type=int, default=25_000)
parser.add_argument("--database-url", default=None)
parser.add_argument("--postgres", action="store_true")
ARGS = parser.parse_args()
WORK = django_throwaway("catalog-import", fresh_postgres("import_bench") if ARGS.postgres else ARGS.database_url)

from django.db import connection  # noqa: E402

from catalog.io.services.export import catalog_yaml_dump  # noqa: E402
from catalog.io.services.runs import catalog_import_run  # noqa: E402
from catalog.models import CatalogImport, Notification  # noqa: E402

TEMPLATES = 500
OWNERS = 40


def catalog_file(n: int, *, version: int = 1) -> dict:
    project = "Bench"
    return {
        "format": "iterable-admin-catalog",
        "version": 1,
        "projects": [{"name": project, "data_center": "US", "api_key_env": "ITERABLE_API_KEY_BENCH"}],
        "owners": [{"name": f"Team {i}", "role": "business", "email": f"team{i}@example.com"} for i in range(OWNERS)],
        "channels": [
            {"project": project, "iterable_id": i, "name": kind, "channel_type": kind, "medium": "Email"}
            for i, kind in ((1, "Marketing"), (2, "Transactional"))
        ],
        "message_types": [
            {"project": project, "iterable_id": 11, "name": "Newsletter", "channel": 1, "policy": "OptIn"},
            {"project": project, "iterable_id": 13, "name": "Receipts", "channel": 2, "policy": "OptOut"},
        ],
        "templates": [
            {
                "project": project,
                "iterable_id": 1000 + i,
                "name": f"Template {i}",
                "medium": "Email",
                "message_type": "Newsletter" if i % 2 else "Receipts",
                "campaign_id": 5000 + i,
            }
            for i in range(TEMPLATES)
        ],
        "notifications": [
            {
                "key": f"bench_{i:06d}",
                "name": f"Bench notification {i} v{version}",
                "description": "A notification of the import bench.",
                "audience": ["students", "employers"][i % 2],
                "project": project,
                "medium": "Email",
                "trigger_type": "api_send",
                "campaign_id": 100_000 + i,
                "message_type": "Newsletter" if i % 2 else "Receipts",
                "templates": [1000 + (i % TEMPLATES) // 2 * 2 + (i % 2)],
                "owners": [{"name": f"Team {i % OWNERS}", "role": "business"}],
                "status": "active",
                "tags": ["bench", f"group-{i % 10}"],
            }
            for i in range(n)
        ],
    }


def measure(label: str, data: dict, fmt: str = "json") -> None:
    content = json.dumps(data) if fmt == "json" else catalog_yaml_dump(data)
    # What the upload stores; then the background task's body, timed (no queue in between).
    record = CatalogImport.objects.create(actor_label="bench", filename=f"bench.{fmt}", fmt=fmt, content=content)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started, cpu = time.perf_counter(), time.process_time()
        outcome = catalog_import_run(import_id=record.pk)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    record = CatalogImport.objects.get(pk=record.pk)
    assert outcome == "done", (record.status, record.errors[:5])
    rows = len(data["notifications"])
    print(
        f"{label:<34} {len(content) / 1e6:5.1f} MB {rows:>7,} notifications  {seconds:7.1f} s  "
        f"{rows / seconds:8,.0f} rows/s  {cpu:6.1f} s CPU here  "
        f"{len(queries) / rows:6.2f} queries/row  (created {record.created.get('notifications', 0):,}, "
        f"updated {record.updated.get('notifications', 0):,}, unchanged {record.unchanged.get('notifications', 0):,})"
    )


def main() -> None:
    n = ARGS.notifications
    print(f"database: {connection.vendor}; {n:,} notifications, {TEMPLATES} templates, {OWNERS} owners")
    measure("first import (all new)", catalog_file(n))
    measure("same file again (all unchanged)", catalog_file(n))
    measure("every notification renamed", catalog_file(n, version=2))
    measure("renamed again, from a YAML file", catalog_file(n, version=3), fmt="yaml")
    assert Notification.objects.count() == n


if __name__ == "__main__":
    main()
