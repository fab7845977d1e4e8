from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.jobs.demo import jobs_demo_load
from catalog.services.demo import demo_catalog_load


class Command(BaseCommand):
    help = "Load the demo catalog derived from the seed documents. A second run changes nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--api-base-url",
            default="",
            help="Point the demo projects at this Iterable API base URL (the local emulator).",
        )

    def handle(self, *args, api_base_url, **options):
        try:
            counts = {**demo_catalog_load(api_base_url=api_base_url), **jobs_demo_load()}
        except ValidationError as error:  # e.g. an emulator URL that ITERABLE_ALLOWED_HOSTS does not list
            raise CommandError(" ".join(error.messages)) from None
        if not counts:
            self.stdout.write("Demo catalog already up to date: nothing changed.")
            return
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Demo catalog written: {summary}."))
