"""Shared body of the seed jobs' benches (bench/jobs_<action>.py): one action's rows per second against its
endpoint's ceiling, on the emulator with its rate limits on, and the memory used while a file of
1,000,000 rows is streamed into a run and its first batches processed.

    python bench/jobs_<action>.py [--rows 100000] [--batch 1000] [--memory-rows 1000000] [--postgres]

Runs the services directly (no qcluster) on a throwaway SQLite database (or PostgreSQL with --postgres).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _django import fresh_postgres

KEY = "jobs-bench-key-00000000000000"
CHANNEL = {"id": 1, "name": "Marketing Email", "channelType": "Marketing", "messageMedium": "Email"}
MAPPING = [{"column": "first_name", "field": "firstName"}, {"column": "plan", "field": "plan"}]
SEED_USERS_FOR = {"delete_users", "list_remove", "opt_out"}  # actions that need the people to exist first


def bench_seed(
    *,
    key: str,
    channels: list[dict],
    lists: list[dict],
    message_types: tuple[dict, ...] | list[dict] = (),
    users: tuple[dict, ...] | list[dict] = (),
    recorded: int = 10_000,
) -> dict:
    """The emulator's one "Bench" project (the resync's bench, bench/resync_throughput.py, builds its seed here
    too); ``recorded``: how many requests the emulator keeps for the counts."""
    project = {
        "id": 1,
        "name": "Bench",
        "api_keys": [key],
        "features": {"opt_in_message_types": True},
        "channels": channels,
        "message_types": list(message_types),
        "lists": lists,
        "users": list(users),
    }
    return {"projects": [project], "config": {"max_recorded_requests": recorded}}


def seed(users: int) -> dict:
    people = [{"email": f"p{i}@example.com", "dataFields": {"emailListIds": [21]}} for i in range(users)]
    return bench_seed(key=KEY, channels=[CHANNEL], lists=[{"id": 21, "name": "Beta", "channelId": 1}], users=people)


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "first_name", "plan"])
        for i in range(rows):
            writer.writerow([f"p{i}@example.com", f"Name {i}", "pro" if i % 2 else "free"])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(action: str, default_rows: int = 100_000) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=default_rows)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--in-process", action="store_true", help="run the emulator in this process (it then shares its CPU time)"
    )
    args = parser.parse_args()
    os.environ["ITERABLE_API_KEY_JOBS_BENCH"] = KEY
    os.environ.setdefault("ITERABLE_ALLOWED_HOSTS", "http://127.0.0.1")
    work = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    # The app's own settings (the tests' run every task inline): runs are processed here, as a worker would.
    os.environ["DJANGO_SETTINGS_MODULE"] = "iterable_admin.settings"
    os.environ["DATABASE_URL"] = fresh_postgres("jobs_bench") if args.postgres else f"sqlite:///{work}/bench.sqlite3"
    os.environ["DATA_DIR"] = str(work)
    os.environ.setdefault("SECRET_KEY", "jobs-bench-secret-key-for-a-throwaway-database-000")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from _emulator import emulator

    from catalog.iterable import clear_client_cache
    from catalog.jobs.services.conf import ENDPOINTS
    from catalog.jobs.services.process import job_process
    from catalog.jobs.services.runs import job_run_approve, job_run_start, job_run_start_file
    from catalog.jobs.services.setup import job_save
    from catalog.jobs.services.sources import file_rows
    from catalog.models import Channel, IterableProject, JobItem

    # Every 429 the client met (it logs each before retrying): the emulator keeps only its last requests.
    limited = _count_rate_limited()

    users = args.rows if action in SEED_USERS_FOR else 0
    with emulator(seed(users), in_process=args.in_process, rate_limits_enabled=True) as emu:
        clear_client_cache()
        project = IterableProject.objects.create(
            name="Bench", api_key_env="ITERABLE_API_KEY_JOBS_BENCH", api_base_url=emu.us_url
        )
        Channel.objects.create(project=project, iterable_id=1, name="Marketing Email", channel_type="Marketing",
                               medium="Email")  # fmt: skip
        data = {"project": project, "name": f"bench {action}", "action": action, "batch_size": args.batch,
                "mapping": MAPPING}  # fmt: skip
        if action in ("list_add", "list_remove"):
            data["list_id"] = 21
        if action == "opt_out":
            data.update(channel_id=1, channel_confirmed="Marketing Email", source="events")
        if action != "update_profiles":
            data["mapping"] = [] if action != "list_add" else data["mapping"]
        job = job_save(actor="bench", data=data)

        # Memory first (the process's peak is then the stream's alone): a file of --memory-rows rows uploaded,
        # streamed by the worker into a dry run, and its first batches processed (a continuation would follow).
        big = work / "big.csv"
        write_csv(big, args.memory_rows)
        before = peak_rss_mb()
        began = time.monotonic()
        with big.open("rb") as stream:
            dry = job_run_start_file(actor="bench", job=job, stream=stream, filename="big.csv", dry_run=True)
        job_process(run_id=dry.pk, slice_seconds_=5)
        elapsed = time.monotonic() - began
        dry.refresh_from_db()
        after = peak_rss_mb()
        print(f"  memory: {dry.total:,} rows streamed from the file into a run and its first batches sent in "
              f"{elapsed:.1f} s; peak RSS {before:.0f} MB -> {after:.0f} MB (+{after - before:.0f} MB)")  # fmt: skip

        path = work / "rows.csv"
        write_csv(path, args.rows)
        began = time.monotonic()
        with path.open("rb") as stream:
            run = job_run_start(actor="bench", job=job, rows=file_rows(stream, "rows.csv"), origin="upload")
        intake = time.monotonic() - began
        if run.status == "approval":
            from django.contrib.auth.models import User

            run = job_run_approve(actor=User.objects.create(username="second-person"), run=run)
        limited["count"] = 0  # the memory part's reads are not this run's
        began = time.monotonic()
        while job_process(run_id=run.pk, slice_seconds_=3600) not in ("done", "failed", "stopped"):
            pass
        elapsed = time.monotonic() - began
        endpoint = ENDPOINTS[action]
        per_call = min(endpoint.rows_per_call, args.batch)
        ceiling = endpoint.calls_per_second * per_call
        bound = f"{endpoint.name} at {endpoint.calls_per_second:g} calls/s x {per_call:,} rows a call"
        if action == "opt_out":  # every row is read first (getByEmail, 100/s), then written in bulk
            ceiling, bound = min(ceiling, 100.0), "reading each person first (getByEmail, 100 calls/s)"
        done = run.items.filter(status=JobItem.Status.DONE).count()
        print(f"{action}: {args.rows:,} rows (intake {intake:.1f} s) sent in {elapsed:.1f} s = "
              f"{args.rows / elapsed:,.0f} rows/s; done {done:,}")  # fmt: skip
        print(f"  ceiling: {bound} = {ceiling:,.0f} rows/s -> {args.rows / elapsed / ceiling:.0%} of the ceiling")
        calls = -(-args.rows // per_call)
        print(f"  {endpoint.name}: {calls:,} calls = {calls / elapsed:,.1f} calls/s of the "
              f"{endpoint.calls_per_second:g} allowed")  # fmt: skip
        print(f"  429 answers met by the client (each retried): {limited['count']}")


def _count_rate_limited() -> dict[str, int]:
    import logging

    counted = {"count": 0}

    class Count(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            if "429" in record.getMessage():
                counted["count"] += 1
            return True

    logging.getLogger("catalog.iterable.client").addFilter(Count())
    return counted
