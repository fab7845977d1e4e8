"""The core's pages show what capabilities register (catalog/core/extensions.py): live health, drift, the last test
send and history on the notification page, the sends column and filter on the list, and a panel registered by
anyone shows up without the core knowing it."""

import pytest
from django.db import connection
from django.db.models.functions import Length
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.core import extensions
from catalog.core.filters import NotificationFilterSet
from catalog.models import FindingCategory, ProofSend, SyncFinding, SyncRun

DETAIL = reverse("catalog:notification_detail", args=["weekly_digest"])


@pytest.fixture
def viewer(client_in_role):
    return client_in_role("viewer")


def test_each_capability_registers_its_parts():
    assert {"health-live", "sync-drift", "sends-last", "audit-history"} <= {p.name for p in extensions._panels.values()}
    assert [c.name for c in extensions.columns()] == ["sends"]
    assert "sends" in {f.name for f in extensions.filters()}
    # Plugged into the class, so the API's schema and the CSV see them too.
    assert "sends" in NotificationFilterSet.base_filters
    assert NotificationFilterSet.base_filters["ordering"].param_map["sends"] == "sends_30d"


def test_the_notification_page_shows_every_capabilitys_panel(small_catalog, viewer, user_in_role):
    c = small_catalog
    now = timezone.now()
    run = SyncRun.objects.create(project=c.project, started_at=now, finished_at=now, status="succeeded")
    SyncFinding.objects.create(
        project=c.project, run=run, category=FindingCategory.DRIFT, code="name-differs", severity="warning",
        notification=c.digest, message="Iterable calls the campaign 'Digest (old)'.",
    )  # fmt: skip
    SyncFinding.objects.create(
        project=c.project, run=run, category=FindingCategory.GUARD, code="marketing-message-type", severity="error",
        notification=c.digest, message="Template 501 is on Marketing Message in Iterable.",
    )  # fmt: skip
    ProofSend.objects.create(
        actor_label="mia", project=c.project, notification=c.digest, notification_key=c.digest.key,
        recipient_email="mia@example.com", mode="campaign", outcome="sent", finished_at=now,
    )  # fmt: skip
    html = viewer.get(DETAIL).content.decode()
    assert 'id="live-health"' in html  # live health
    assert "Iterable calls the campaign" in html and 'id="drift-findings"' in html  # the sync's drift
    assert 'data-testid="last-test-send"' in html and "by mia" in html  # the last test send
    assert 'id="history"' in html  # the audit trail
    # The guard's finding the drift panel read reaches the verdict (in Iterable), read once.
    verdict = html[html.index('id="verdict"') : html.index('id="live-health"')]
    assert "in Iterable" in verdict and "Template 501 is on Marketing Message" in verdict


def test_the_panels_keep_the_notification_page_within_its_budget(small_catalog, viewer):
    viewer.get(DETAIL)
    with CaptureQueriesContext(connection) as queries:
        assert viewer.get(DETAIL).status_code == 200
    assert len(queries) <= 10


def test_a_registered_panel_shows_and_one_that_returns_none_does_not(small_catalog, viewer, monkeypatch):
    monkeypatch.setattr(extensions, "_panels", dict(extensions._panels))
    extensions.register_panel(
        extensions.Panel("probe", "catalog/panels/history.html", lambda n, request: {"history": []}, order=1)
    )
    extensions.register_panel(
        extensions.Panel("quiet", "catalog/panels/sync_drift.html", lambda n, request: None, order=2)
    )
    html = viewer.get(DETAIL).content.decode()
    assert html.count('id="history"') == 2  # the probe's section and the page's own history
    assert html.count('id="drift"') == 1  # the sync's, not the quiet panel's

    owner_page = viewer.get(reverse("catalog:entity_detail", args=["owner", small_catalog.owner.pk])).content
    assert owner_page.decode().count('id="history"') == 1  # "probe" is for notifications only


def test_a_panel_can_read_with_the_pages_own_read_of_the_notification(small_catalog, viewer, monkeypatch):
    monkeypatch.setattr(extensions, "_panels", dict(extensions._panels))
    seen = []
    extensions.register_panel(
        extensions.Panel(
            "probe", "catalog/panels/history.html",
            lambda n, request: seen.append(n.probe_key_length) or {"history": []},
            annotate=lambda queryset, request: queryset.annotate(probe_key_length=Length("key")),
        )
    )  # fmt: skip
    viewer.get(DETAIL)
    with CaptureQueriesContext(connection) as queries:
        assert viewer.get(DETAIL).status_code == 200
    assert seen == [len("weekly_digest")] * 2
    # One read of the notification's row carries the probe's and live health's reads, which read nothing more.
    rows = [q["sql"] for q in queries.captured_queries if 'FROM "catalog_notification"' in q["sql"]]
    assert len(rows) == 1 and "probe_key_length" in rows[0] and "catalog_healthdaily" in rows[0]
    assert sum("catalog_healthdaily" in q["sql"] for q in queries.captured_queries) == 1


def test_without_a_capability_the_page_still_renders(small_catalog, viewer, monkeypatch):
    kept = {name: p for name, p in extensions._panels.items() if name != "sync-drift"}
    monkeypatch.setattr(extensions, "_panels", kept)
    response = viewer.get(DETAIL)
    assert response.status_code == 200
    assert 'id="drift"' not in response.content.decode()
