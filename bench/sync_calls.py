"""Bench: a catalog sync of 5,000 templates and 2,000 campaigns against the emulator (prints counts and ratios).

    python bench/sync_calls.py [--templates 5000] [--campaigns 2000] [--notifications 200]

Uses a throw-away SQLite database (or DATABASE_URL if set: point it at a scratch PostgreSQL database, the script
migrates it) and an EmulatorServer seeded here. The emulator's rate limiter is switched off so the run takes
seconds; the client's own pacing stays on (documented 100/s for these listings, far above the ~10 calls made).

Prints, for a first sync (every row new), a rerun (nothing changed) and a sync after 100 templates changed:
calls made against the minimum number of pages, wall time, and database queries (the mirror is written with
bulk operations, so queries grow with batches of 1,000 rows, not with rows).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KEY = "bench-sync-key"


def build_seed(templates: int, campaigns: int) -> dict:
    return {
        "projects": [
            {
                "id": 1,
                "name": "Bench",
                "api_keys": [KEY],
                "channels": [{"id": 1, "name": "Marketing", "channelType": "Marketing", "messageMedium": "Email"}],
                "message_types": [{"id": 2, "name": "News", "channelId": 1, "subscriptionPolicy": "OptIn"}],
                "templates": [
                    {
                        "templateId": 100_000 + i,
                        "name": f"Template {i}",
                        "messageTypeId": 2,
                        "messageMedium": "Email",
                        "campaignId": 200_000 + i if i < campaigns else None,
                        "clientTemplateId": f"t-{i}",
                        "createdAt": 1_700_000_000_000,
                        "updatedAt": 1_700_000_000_000,
                    }
                    for i in range(templates)
                ],
                "campaigns": [
                    {
                        "id": 200_000 + i,
                        "name": f"Campaign {i}",
                        "messageMedium": "Email",
                        "templateId": 100_000 + i,
                        "createdAt": 1_700_000_000_000,
                        "updatedAt": 1_700_000_000_000,
                    }
                    for i in range(campaigns)
                ],
                "journeys": [{"id": 300_000, "name": "Onboarding", "triggerEventNames": ["signedUp"]}],
            }
        ]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=5000)
    parser.add_argument("--campaigns", type=int, default=2000)
    parser.add_argument("--notifications", type=int, default=200)
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch.name}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iterable_admin.settings")
    os.environ["ITERABLE_API_KEY_BENCH_SYNC"] = KEY
    os.environ.setdefault("ITERABLE_ALLOWED_HOSTS", "http://127.0.0.1")  # the emulator on loopback
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Channel, IterableProject, MessageType, Notification, Template
    from catalog.sync.services.fetch import minimum_calls
    from catalog.sync.services.runs import catalog_sync_project
    from iterable_emulator.testing import EmulatorServer

    call_command("migrate", verbosity=0)
    seed = build_seed(args.templates, args.campaigns)
    with EmulatorServer(seed, rate_limits_enabled=False) as emu:
        IterableProject.objects.filter(name="Bench sync").delete()
        project = IterableProject.objects.create(
            name="Bench sync", api_key_env="ITERABLE_API_KEY_BENCH_SYNC", api_base_url=emu.us_url
        )
        channel = Channel.objects.create(
            project=project, iterable_id=1, name="Marketing", channel_type="Marketing", medium="Email"
        )
        news = MessageType.objects.create(project=project, iterable_id=2, name="News", channel=channel, policy="OptIn")
        for i in range(args.notifications):
            template = Template.objects.create(
                project=project, iterable_id=100_000 + i, name=f"Template {i}", medium="Email", message_type=news
            )
            notification = Notification.objects.create(
                key=f"bench_{i}", name=f"Bench {i}", audience="all", project=project, medium="Email",
                trigger_type="api_send", campaign_id=200_000 + i, message_type=news, status="active",
            )  # fmt: skip
            notification.templates.add(template)

        minimum = minimum_calls(templates=args.templates, campaigns=args.campaigns, journeys=1)
        print(
            f"{args.templates} templates, {args.campaigns} campaigns, {args.notifications} catalog notifications; "
            f"database: {connection.vendor}"
        )
        print(
            f"minimum calls: 1 channels + 1 messageTypes + ceil({args.templates}/1000) templates + "
            f"ceil({args.campaigns}/1000) campaigns + 1 journeys + 1 archived journeys = {minimum}"
        )
        print(
            f"{'run':<22}{'calls':>7}{'min':>5}{'ratio':>7}{'seconds':>9}{'queries':>9}  mirror rows (created/updated)"
        )

        def measured(label: str) -> None:
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                run = catalog_sync_project(project=project, trigger="bench")
            elapsed = time.perf_counter() - started
            if run.status != "succeeded":
                raise SystemExit(f"{label}: sync failed: {run.errors}")
            created = sum(c["created"] for c in run.counts.values())
            updated = sum(c["updated"] for c in run.counts.values())
            sql = [q["sql"] for q in queries.captured_queries]
            mirror_writes = sum(
                s.startswith(("INSERT", "UPDATE", "DELETE")) and '"catalog_iterablemirror"' in s for s in sql
            )
            finding_writes = sum(s.startswith(("INSERT", "DELETE")) and '"catalog_syncfinding"' in s for s in sql)
            print(
                f"{label:<22}{run.call_total:>7}{minimum:>5}{run.call_total / minimum:>7.2f}{elapsed:>9.2f}"
                f"{len(queries):>9}  {created}/{updated} rows in {mirror_writes} mirror write queries; "
                f"{sum(run.findings.values())} findings in {finding_writes} queries"
            )

        measured("first sync")
        measured("rerun, no change")
        with emu.state.lock:
            project_state = next(iter(emu.state.projects.values()))
            for tid in list(project_state.templates)[:100]:
                project_state.templates[tid]["name"] += " (edited)"
        measured("100 templates edited")
    scratch.cleanup()


if __name__ == "__main__":
    main()
