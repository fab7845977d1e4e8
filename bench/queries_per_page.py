"""SQL queries per page of the catalog UI at 10 and at 10,000 notifications.

Runs against a throwaway SQLite database under /tmp (never the real one): migrates it, writes the
notifications with bulk_create (the guard still judges each row), logs in a viewer and counts the queries
of each page with Django's test client. The counts should not grow with the catalog.

    python bench/queries_per_page.py
"""

from _django import django_throwaway

WORK = django_throwaway("queries-per-page")

from _catalog import bench_catalog, grow_to  # noqa: E402  (needs Django set up)
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def main() -> None:
    setup_test_environment()
    catalog = bench_catalog()
    project, message_type, owner, template = catalog.project, catalog.message_type, catalog.owner, catalog.template
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
