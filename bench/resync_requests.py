"""What a request does, and what its worker does, for a 100,000-row preferences upload and a resync of everyone.

Both used to do all of it inside the web request (about 20 s and 9 s). Now the request checks and queues, and
the worker checks the rows and writes them (the upload) or lists the run's contacts (the resync). Prints each
part's seconds and queries, and the request's share of the whole.

    python bench/resync_requests.py [--rows 100000] [--postgres]
"""

import argparse
import time

from _django import django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=100_000)
parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database on 127.0.0.1")
args = parser.parse_args()
django_throwaway("resync-requests", fresh_postgres("resync_requests") if args.postgres else None)

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

import catalog.observability  # noqa: E402
from catalog.models import IterableProject, ResyncRun  # noqa: E402
from catalog.resync.api import MAX_ROWS  # noqa: E402
from catalog.resync.services.ingest import (  # noqa: E402
    preference_import_run,
    preference_import_start,
    preference_upsert,
)
from catalog.resync.services.process import _acquire, _list_contacts  # noqa: E402
from catalog.resync.services.rules import resync_settings_update  # noqa: E402
from catalog.resync.services.runs import resync_start  # noqa: E402


def timed(fn):
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - began
    return result, seconds, len(queries)


def show(label: str, request: tuple, worker: tuple, rows: int) -> None:
    _, request_s, request_q = request
    _, worker_s, worker_q = worker
    print(
        f"{label:28s}: request {request_s:6.2f} s ({request_q} queries); worker {worker_s:6.2f} s "
        f"({worker_q:,} queries, {rows / worker_s:,.0f} rows/s); the request is "
        f"{request_s / (request_s + worker_s):.1%} of the whole"
    )


def main() -> None:
    # The test settings run a queued task inline; here each worker part is run and timed on its own.
    queued = []
    catalog.observability.enqueue = lambda func_path, *args, **options: queued.append(func_path)
    project = IterableProject.objects.create(
        name="Bench", data_center="US", api_key_env="ITERABLE_API_KEY_BENCH", api_base_url="http://127.0.0.1:9"
    )
    resync_settings_update(
        project=project, actor="bench", scope={"emailListIds": "all", "unsubscribedChannelIds": "all"}
    )
    csv = "email,email_list_ids,unsubscribed_channel_ids\n" + "".join(
        f"contact.{i:06d}@example.com,21;22,{i % 3}\n" for i in range(args.rows)
    )
    print(f"{args.rows:,} rows, {len(csv) / 1024 / 1024:.1f} MB of CSV, {connection.vendor}")
    request = timed(lambda: preference_import_start(project=project, actor="bench", file=csv, filename="b.csv"))
    record = request[0]
    worker = timed(lambda: preference_import_run(import_id=record.pk))
    record.refresh_from_db()
    assert (worker[0], record.accepted) == ("done", args.rows), (worker[0], record.accepted, record.last_error)
    show("preferences upload", request, worker, args.rows)

    request = timed(lambda: resync_start(project=project, actor="bench", everyone=True).run)
    run = request[0]
    assert _acquire(run.pk, "bench")
    worker = timed(lambda: _list_contacts(run, "bench"))
    assert ResyncRun.objects.get(pk=run.pk).total == args.rows
    show("resync of everyone (listing)", request, worker, args.rows)
    emails = [f"contact.{i:06d}@example.com" for i in range(args.rows)]
    _, seconds, count = timed(lambda: resync_start(project=project, actor="bench", emails=emails))
    print(f"resync of a list of {args.rows:,} addresses, in the request: {seconds:.2f} s ({count} queries)")
    print(f"tasks queued by the requests: {', '.join(sorted(set(queued)))}")

    # The JSON upsert (at most MAX_ROWS a request) still writes in its request: how long its largest takes.
    rows = [{"email": f"api.{i:06d}@example.com", "email_list_ids": [21]} for i in range(MAX_ROWS)]
    _, seconds, count = timed(lambda: preference_upsert(project=project, actor="bench", rows=rows))
    print(f"API JSON upsert of {MAX_ROWS:,} rows (its limit), in the request: {seconds:.2f} s ({count} queries)")


if __name__ == "__main__":
    main()
