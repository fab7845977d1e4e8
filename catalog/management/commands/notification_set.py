from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.models import MessageType, Notification, Template
from catalog.services.catalog import catalog_object_save


class Command(BaseCommand):
    help = (
        "Change a notification from the command line: message type, status, campaign id, templates. "
        "The guard and every catalog rule apply; nothing is written if any fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", help="The notification's key")
        parser.add_argument("--message-type", help="Message type name (in the notification's project)")
        parser.add_argument("--status", choices=["draft", "active", "deprecated"])
        parser.add_argument("--campaign-id", type=int)
        parser.add_argument(
            "--template",
            type=int,
            action="append",
            dest="templates",
            metavar="TEMPLATE_ID",
            help="Iterable template id; repeat for several. Replaces the notification's templates.",
        )

    def handle(self, *args, key, message_type, status, campaign_id, templates, **options):
        notification = Notification.objects.filter(key=key).first()
        if notification is None:
            raise CommandError(f"No notification with key {key!r}.")
        if message_type is not None:
            found = MessageType.objects.filter(project=notification.project, name=message_type).first()
            if found is None:
                raise CommandError(f"No message type named {message_type!r} in project {notification.project}.")
            notification.message_type = found
        if status is not None:
            notification.status = status
        if campaign_id is not None:
            notification.campaign_id = campaign_id
        m2m = {}
        if templates is not None:
            found_templates = list(Template.objects.filter(project=notification.project, iterable_id__in=templates))
            missing = sorted(set(templates) - {t.iterable_id for t in found_templates})
            if missing:
                raise CommandError(f"Unknown template id(s) in project {notification.project}: {missing}")
            m2m["templates"] = found_templates
        try:
            catalog_object_save(actor="manage.py notification_set", instance=notification, m2m=m2m)
        except ValidationError as error:
            lines = [
                f"{field}: {message}" if field != "__all__" else message
                for field, messages in error.message_dict.items()
                for message in messages
            ]
            raise CommandError("Refused:\n  " + "\n  ".join(lines)) from error
        self.stdout.write(self.style.SUCCESS(f"Notification {key} saved."))
