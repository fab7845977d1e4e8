"""Every page and API list costs at most 10 SQL queries, and the same number with 120 rows as with 300 of what it
lists (notifications, audit events, sync runs). Counted on a warm second request: the first fills the
per-process caches (filter choices) and pushes the session's idle expiry back, which later requests skip."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from testkit.catalogs import bulk_notifications

from catalog import models
from catalog.tokens.services import api_token_create

LIMIT = 10


def grow(c, total: int) -> None:
    """Notifications (each with the template, every other one with the owner), ten audit events each and a
    succeeded sync run each, up to `total` notifications named bulk_*."""
    start = models.Notification.objects.filter(key__startswith="bulk_").count()
    rows = bulk_notifications(c, max(total - start, 0), start, status="active")
    models.AuditEvent.objects.bulk_create(
        models.AuditEvent(actor_label="bulk", action="update", object_type="notification", object_repr=n.key)
        for n in rows
        for _ in range(10)
    )
    now = timezone.now()
    models.SyncRun.objects.bulk_create(
        models.SyncRun(project=c.project, started_at=now - timedelta(minutes=i), finished_at=now, status="succeeded")
        for i in range(len(rows))
    )


def pages(c) -> list[str]:
    return [
        reverse("catalog:home"),
        reverse("catalog:notification_list"),
        reverse("catalog:notification_list") + f"?q=bulk&audience=students&owner={c.owner.pk}&ordering=-updated",
        reverse("catalog:notification_list") + "?page=2",
        reverse("catalog:notification_list") + "?owner=none&untested_days=30&verdict=warning&drift=0&ordering=-sends",
        reverse("catalog:notification_detail", kwargs={"key": "weekly_digest"}),
        reverse("catalog:entity_detail", kwargs={"entity": "messagetype", "pk": c.opt_in.pk}),
        reverse("catalog:entity_detail", kwargs={"entity": "owner", "pk": c.owner.pk}),
        reverse("catalog:entity_list", kwargs={"entity": "owner"}),
        reverse("catalog:audit_list"),
        reverse("catalog:audit_list") + "?q=bulk&who=bulk&action=update&object_type=notification&page=2",
        reverse("catalog:sync_run_list"),
        reverse("catalog:sync_finding_list"),
        reverse("catalog:resync_runs"),
        reverse("catalog:resync_contacts"),
        "/api/notifications/?limit=1000",
        "/api/notifications/?owner=none&untested_days=30&verdict=not-checked&drift=0&sends=none",
        "/api/notifications/weekly_digest/",
        "/api/violations/",
        "/api/audit-events/?limit=1000",
        "/api/sync/runs/",
    ]


def counts(page_client: Client, api_client: APIClient, urls: list[str]) -> dict[str, int]:
    found = {}
    for url in urls:
        client = api_client if url.startswith("/api/") else page_client
        assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            response.content  # noqa: B018 (a streamed page reads its rows while it is sent: counted too)
        assert response.status_code == 200, url
        found[url] = len(queries)
    return found


@pytest.mark.django_db
def test_every_page_costs_at_most_ten_queries_whatever_the_rows(small_catalog, user_in_role):
    user = user_in_role("engineering")
    page_client = Client()
    page_client.force_login(user)
    api_client = APIClient()
    _, token = api_token_create(actor=user, user=user, name="query counts")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    urls = pages(small_catalog)

    # Both sizes fill more than a page of every list (a list that fits on its first page is not counted at
    # all: tests/perf/test_paging_counts.py).
    grow(small_catalog, 120)
    few = counts(page_client, api_client, urls)
    grow(small_catalog, 300)
    many = counts(page_client, api_client, urls)

    over = {url: n for url, n in many.items() if n > LIMIT}
    grows = {url: (few[url], many[url]) for url in urls if few[url] != many[url]}
    assert not over, f"more than {LIMIT} queries: {over}"
    assert not grows, f"queries grow with the rows: {grows}"
