from django.core.management.base import BaseCommand, CommandError

from catalog.models import IterableProject, SyncStatus
from catalog.sync.services.runs import catalog_sync, catalog_sync_schedule_ensure


class Command(BaseCommand):
    help = (
        "Sync the catalog's Iterable mirror now (every project, or those named) and recompute drift. "
        "A failing project is recorded and the others still run; the exit status is 1 if any failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--project", action="append", dest="projects", metavar="NAME", help="Project name; repeat for several."
        )
        parser.add_argument(
            "--ensure-schedule",
            action="store_true",
            help="Only (re)create the hourly django-q2 schedule if it is missing; sync nothing.",
        )

    def handle(self, *args, projects, ensure_schedule, **options):
        if ensure_schedule:
            schedule, created = catalog_sync_schedule_ensure()
            self.stdout.write(f"Schedule {schedule.name!r} {'created' if created else 'already present'}.")
            return
        ids = None
        if projects:
            found = dict(IterableProject.objects.filter(name__in=projects).values_list("name", "pk"))
            unknown = sorted(set(projects) - set(found))
            if unknown:
                raise CommandError(f"No project named {', '.join(map(repr, unknown))}.")
            ids = list(found.values())
        runs = catalog_sync(project_ids=ids, trigger="command")
        for run in runs:
            if run.status == SyncStatus.SUCCEEDED:
                seen = ", ".join(f"{counts['seen']} {kind}" for kind, counts in run.counts.items())
                findings = ", ".join(f"{n} {code}" for code, n in run.findings.items()) or "no findings"
                self.stdout.write(f"{run.project}: ok, {run.call_total} calls; {seen}; {findings}.")
            else:
                error = run.errors[0] if run.errors else {}
                self.stderr.write(f"{run.project}: FAILED {error.get('code')}: {error.get('msg')}")
        failed = sum(run.status != SyncStatus.SUCCEEDED for run in runs)
        if failed:
            raise CommandError(f"{failed} of {len(runs)} project syncs failed.")
