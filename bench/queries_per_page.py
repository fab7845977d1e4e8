"""SQL queries per page of the catalog UI at 10 and at 10,000 notifications.

Runs against a throwaway SQLite database under /tmp (never the real one): migrates it, writes the
notifications with bulk_create (the guard still judges each row), logs in a viewer and counts the queries
of each page with Django's test client. The counts should not grow with the catalog.

    python bench/queries_per_page.py
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = tempfile.mkdtemp(prefix="queries-per-page-")
os.environ["DJANGO_SETTINGS_MODULE"] = "iterable_admin.settings_tests"
os.environ["DATABASE_URL"] = f"sqlite:///{WORK}/bench.sqlite3"
os.environ["DATA_DIR"] = WORK

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from catalog.models import Channel, IterableProject, MessageType, Notification, Owner, Template  # noqa: E402
from catalog.services.guard import refresh_verdicts  # noqa: E402


def grow_to(total: int, project, message_type, owner, template) -> None:
    start = Notification.objects.count()
    objs = Notification.objects.bulk_create(
        (
            Notification(
                key=f"bench_{i:06d}",
                name=f"Bench notification {i}",
                audience=["students", "employers"][i % 2],
                project=project,
                medium="Email",
                trigger_type="api_send",
                campaign_id=100_000 + i,
                message_type=message_type,
                status="active",
            )
            for i in range(start, total)
        ),
        batch_size=1000,
    )
    Notification.owners.through.objects.bulk_create(
        (Notification.owners.through(notification=n, owner=owner) for n in objs[::2]), batch_size=1000
    )
    Notification.templates.through.objects.bulk_create(
        (Notification.templates.through(notification=n, template=template) for n in objs), batch_size=1000
    )
    refresh_verdicts(Notification.objects.all())


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def main() -> None:
    setup_test_environment()
    call_command("migrate", verbosity=0)
    project = IterableProject.objects.create(name="Bench", api_key_env="ITERABLE_KEY_BENCH")
    channel = Channel.objects.create(
        project=project, iterable_id=1, name="Marketing", channel_type="Marketing", medium="Email"
    )
    message_type = MessageType.objects.create(
        project=project, iterable_id=11, name="Newsletter", channel=channel, policy="OptIn"
    )
    owner = Owner.objects.create(name="Lifecycle", role="business", email="lifecycle@example.com")
    template = Template.objects.create(
        project=project, iterable_id=501, name="Digest", medium="Email", message_type=message_type
    )
    user = User.objects.create_user("bench-viewer", password="a long bench password")
    user.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(user)

    pages = {
        "home": reverse("catalog:home"),
        "notification list": reverse("catalog:notification_list"),
        "notification list, search+filter+sort": reverse("catalog:notification_list")
        + f"?q=bench&audience=students&owner={owner.pk}&ordering=-updated",
        "notification list, page 3": reverse("catalog:notification_list") + "?page=3",
        "notification detail": None,
        "message type detail": reverse(
            "catalog:entity_detail", kwargs={"entity": "messagetype", "pk": message_type.pk}
        ),
        "owner detail": reverse("catalog:entity_detail", kwargs={"entity": "owner", "pk": owner.pk}),
    }
    results = {}
    for total in (10, 10_000):
        grow_to(total, project, message_type, owner, template)
        pages["notification detail"] = reverse("catalog:notification_detail", kwargs={"key": "bench_000004"})
        results[total] = {name: count(client, url) for name, url in pages.items()}

    print(f"SQL queries per page (SQLite under {WORK})")
    print(f"{'page':45} {'10':>8} {'10,000':>8}  ratio")
    for name in pages:
        small, large = results[10][name], results[10_000][name]
        print(f"{name:45} {small:>8} {large:>8}  {large / small:.2f}")


if __name__ == "__main__":
    main()
