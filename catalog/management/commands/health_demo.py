from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.health.demo import demo_traffic_run, demo_webhooks_write


class Command(BaseCommand):
    help = (
        "The demo's live health: `webhooks --file SEED --file STATE --dashboard-url URL` points the emulator's "
        "system webhooks at the dashboard; `traffic [--per-minute N] [--burst N]` keeps making sends."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["webhooks", "traffic"])
        parser.add_argument("--file", action="append", default=[], help="emulator seed or state file to update")
        parser.add_argument("--dashboard-url", default="http://127.0.0.1:8000")
        parser.add_argument("--per-minute", type=int, default=30)
        parser.add_argument("--burst", type=int, default=200)

    def handle(self, *args, action, file, dashboard_url, per_minute, burst, **options):
        if action == "webhooks":
            if not file:
                raise CommandError("Name the emulator's seed (and state) file with --file.")
            done = demo_webhooks_write(files=[Path(f) for f in file], dashboard_url=dashboard_url)
            self.stdout.write(f"System webhooks of {done} project entries point at {dashboard_url}.")
            return
        if per_minute < 1 or burst < 0:
            raise CommandError("--per-minute must be at least 1 and --burst at least 0.")
        demo_traffic_run(per_minute=per_minute, burst=burst)
