"""SQL queries per page and API list at a small and a large catalog: every count should be at most 10 and
the same at both sizes (each size fills more than a page of every list: a list whose first page holds it all
is not counted, its rows are its count, so it costs one query fewer).

Runs against a throwaway database (SQLite under /tmp, or a fresh PostgreSQL database with --postgres; never
the real one): migrates it, writes the notifications with bulk_create (the guard still judges each row), ten
audit events and one sync run per notification, logs in an engineer (who may see every page) and counts the
queries of each page with Django's test client, on the second request (the first fills per-process caches).

    python bench/queries_per_page.py [--postgres] [--sizes 200,10000]
"""

import argparse

from _django import django_throwaway, fresh_postgres

parser = argparse.ArgumentParser()
parser.add_argument("--postgres", action="store_true")
parser.add_argument("--sizes", default="200,10000")
args = parser.parse_args()
WORK = django_throwaway("queries-per-page", fresh_postgres("queries_bench") if args.postgres else None)

from _catalog import bench_catalog, grow_activity, grow_to  # noqa: E402  (needs Django set up)
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from catalog.tokens.services import api_token_create  # noqa: E402

LIMIT = 10


def pages(owner_pk: int, message_type_pk: int) -> dict[str, str]:
    def entity(name: str, pk: int) -> str:
        return reverse("catalog:entity_detail", kwargs={"entity": name, "pk": pk})

    return {
        "home": "/",
        "notification list": "/notifications/",
        "notification list, search+filter+sort": f"/notifications/?q=bench&audience=students&owner={owner_pk}"
        "&ordering=-updated",
        "notification list, page 3": "/notifications/?page=3",
        "notification detail": "/notifications/bench_000004/",
        "message type detail": entity("messagetype", message_type_pk),
        "owner detail": entity("owner", owner_pk),
        "audit": "/audit/",
        "sync runs": "/sync/",
        "sync findings": "/sync/findings/",
        "resync runs": "/resync/",
        "resync contacts": "/resync/contacts/",
        "api: notifications": "/api/notifications/?limit=50",
        "api: notifications, 1000": "/api/notifications/?limit=1000",
        "api: one notification": "/api/notifications/bench_000004/",
        "api: violations": "/api/violations/",
        "api: audit events": "/api/audit-events/",
        "api: sync runs": "/api/sync/runs/",
    }


def count(client: Client, url: str, headers: dict) -> int:
    client.get(url, headers=headers)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
        response.content  # noqa: B018 (a streamed page reads its rows while it is sent: counted too)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def main() -> None:
    setup_test_environment()
    catalog = bench_catalog()
    user = User.objects.create_user("bench-engineer", password="a long bench password")
    user.groups.add(Group.objects.get(name="engineering"))
    _, token = api_token_create(actor=user, user=user, name="queries per page")
    client = Client()
    client.force_login(user)
    urls = pages(catalog.owner.pk, catalog.message_type.pk)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    for total in sizes:
        grow_to(total, catalog.project, catalog.message_type, catalog.owner, catalog.template)
        grow_activity(total, catalog.project)
        results[total] = {}
        for name, url in urls.items():
            headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
            results[total][name] = count(client, url, headers)

    print(f"SQL queries per page ({connection.vendor}, {WORK}); at most {LIMIT}, the same at every size")
    print(f"{'page':45} " + " ".join(f"{size:>8,}" for size in sizes) + "  verdict")
    for name in urls:
        row = [results[size][name] for size in sizes]
        verdict = "ok" if max(row) <= LIMIT and len(set(row)) == 1 else "OVER" if max(row) > LIMIT else "GROWS"
        print(f"{name:45} " + " ".join(f"{n:>8}" for n in row) + f"  {verdict}")


if __name__ == "__main__":
    main()
