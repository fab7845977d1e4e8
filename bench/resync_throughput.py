"""Bench: resync 100,000 contacts against the emulator with its rate limits on (prints counts and ratios).

    python bench/resync_throughput.py [--contacts 100000] [--batch 1000] [--rate 5] [--read-sample 1000]

1. Owned arrays (scope "all", compare="auto"): no reads, one bulkUpdateSubscriptions per batch paced to
   --rate. Printed against the ceiling (batch x rate) and against one updateSubscriptions call per contact
   (the emulator's 100/s default for that undocumented endpoint).
2. Partial scope (merge needs Iterable's current state): a --read-sample run that reads every contact
   (getByEmail, 100/s) before writing; its rate projected to --contacts shows why reads bound the merge.
Runs the services directly on a throw-away SQLite file (no qcluster); setup time is printed separately.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TMP = Path(tempfile.mkdtemp(prefix="resync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iterable_admin.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{TMP / 'bench.sqlite3'}"
os.environ["DATA_DIR"] = str(TMP)
os.environ.setdefault("SECRET_KEY", "bench-secret-key-only-for-a-throwaway-database-00000")
os.environ["ITERABLE_API_KEY_BENCH"] = KEY = "bench-key-000000000000000000"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ITERABLE_ALLOWED_HOSTS", "http://127.0.0.1")  # the emulator on loopback

import django  # noqa: E402

django.setup()

from _emulator import emulator  # noqa: E402
from django.core.management import call_command  # noqa: E402
from jobs_common import bench_seed  # noqa: E402

from catalog.models import IterableProject  # noqa: E402
from catalog.resync.selectors import resync_progress  # noqa: E402
from catalog.resync.services.ingest import preference_upsert  # noqa: E402
from catalog.resync.services.process import resync_process  # noqa: E402
from catalog.resync.services.rules import resync_settings_update  # noqa: E402
from catalog.resync.services.runs import resync_start  # noqa: E402

WRITE = "POST /api/users/bulkUpdateSubscriptions"


def seed() -> dict:
    return bench_seed(
        key=KEY,
        channels=[
            {"id": 1, "name": "Marketing Email", "channelType": "Marketing", "messageMedium": "Email"},
            {"id": 2, "name": "Marketing Push", "channelType": "Marketing", "messageMedium": "Push"},
        ],
        message_types=[{"id": 11, "name": "News", "channelId": 1, "subscriptionPolicy": "OptIn"}],
        lists=[{"id": 21, "name": "A"}, {"id": 22, "name": "B"}, {"id": 23, "name": "C"}],
        recorded=200_000,
    )


def run(project, label: str, contacts: int, **start) -> dict:
    began = time.monotonic()
    created = resync_start(project=project, actor="bench", **start).run
    setup = time.monotonic() - began
    began = time.monotonic()
    while resync_process(run_id=created.pk, slice_seconds=3600) != "done":
        pass
    elapsed = time.monotonic() - began
    progress = resync_progress(run=created)
    print(
        f"{label}: {contacts} contacts in {elapsed:.1f} s = {contacts / elapsed:,.0f} contacts/s "
        f"(run setup {setup:.1f} s; done {progress['done']}, skipped {progress['skipped']}, "
        f"failed {progress['failed']}, batches {progress['batches_done']})"
    )
    return {"elapsed": elapsed, "rate": contacts / elapsed, "progress": progress}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--read-sample", type=int, default=1000)
    parser.add_argument(
        "--in-process", action="store_true", help="run the emulator in this process (it then shares its CPU time)"
    )
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    with emulator(seed(), in_process=args.in_process, rate_limits_enabled=True) as emu:
        project = IterableProject.objects.create(
            name="Bench", api_key_env="ITERABLE_API_KEY_BENCH", api_base_url=emu.us_url
        )
        resync_settings_update(
            project=project,
            actor="bench",
            scope={"emailListIds": "all", "unsubscribedChannelIds": "all"},
            batch_size=args.batch,
            rate_per_second=args.rate,
        )
        began = time.monotonic()
        rows = [
            {"email": f"c{i}@example.com", "email_list_ids": [21 + i % 3], "unsubscribed_channel_ids": [1 + i % 2]}
            for i in range(args.contacts)
        ]
        record = preference_upsert(project=project, actor="bench", rows=rows)
        print(f"ingest: {record.accepted} rows kept, {record.rejected} rejected in {time.monotonic() - began:.1f} s")

        owned = run(project, "owned arrays, no reads", args.contacts, everyone=True, compare="auto")
        ceiling = args.batch * args.rate
        per_contact = 100.0  # updateSubscriptions: the emulator's default limit (undocumented by Iterable)
        writes = emu.requests(path=WRITE)
        limited = sum(1 for w in writes if w["status"] == 429)
        print(
            f"  ceiling batch x rate = {args.batch} x {args.rate:g}/s = {ceiling:,.0f} contacts/s -> "
            f"{owned['rate'] / ceiling:.0%} of the ceiling; "
            f"{owned['rate'] / per_contact:.0f}x one call per contact ({per_contact:.0f}/s, "
            f"{args.contacts / per_contact:,.0f} s for all)"
        )
        print(f"  bulkUpdateSubscriptions calls: {len(writes)}, of which 429: {limited}")

        # Partial scope: the merge needs the current state, one GET per contact (100/s).
        resync_settings_update(project=project, actor="bench", scope={"emailListIds": [21, 22]})
        sample = [f"c{i}@example.com" for i in range(args.read_sample)]
        preference_upsert(project=project, actor="bench", rows=[{"email": e, "email_list_ids": [22]} for e in sample])
        emu.clear_requests()
        merged = run(project, "partial scope, read + merge", len(sample), emails=sample, compare="read")
        reads = emu.requests(path="GET /api/users/getByEmail")
        print(
            f"  reads: {len(reads)} (429: {sum(1 for r in reads if r['status'] == 429)}); "
            f"projected for {args.contacts}: {args.contacts / merged['rate']:,.0f} s "
            f"vs {args.contacts / owned['rate']:,.0f} s with owned arrays"
        )


if __name__ == "__main__":
    main()
