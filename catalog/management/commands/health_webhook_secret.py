from django.core.management.base import BaseCommand, CommandError

from catalog.health.ingest import webhook_secret_rotate
from catalog.models import IterableProject


class Command(BaseCommand):
    help = (
        "Make (or replace) the secret Iterable's system webhooks present for a project and print it once, with "
        "the URL to give Iterable. The old secret stops working; only the new one's hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's name, as in the catalog")
        parser.add_argument("--base-url", default="https://<this dashboard>", help="The dashboard's public URL")

    def handle(self, *args, project, base_url, **options):
        found = IterableProject.objects.filter(name=project).first()
        if found is None:
            names = ", ".join(IterableProject.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No project named {project!r}. Projects: {names}.")
        secret = webhook_secret_rotate(project=found, actor="manage.py health_webhook_secret")
        self.stdout.write(f"Webhook URL: {base_url.rstrip('/')}/api/health/webhooks/{found.pk}/")
        self.stdout.write(f"Secret (shown once): {secret}")
        self.stdout.write("Iterable sends it as the header X-Webhook-Secret, or as Basic auth's password.")
