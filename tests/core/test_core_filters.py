"""The notification list's filters home links to: ?owner=none, ?untested_days=N, ?verdict=..., ?drift=1; on the
page, the CSV and the API alike, bad values reported rather than a 500, within the list's query budget."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.guard.verdicts import refresh_verdicts
from catalog.models import FindingCategory, Notification, ProofSend, SyncFinding, SyncRun

LIST = reverse("catalog:notification_list")


@pytest.fixture
def viewer(client_in_role):
    return client_in_role("viewer")


def keys(response) -> list[str]:
    assert response.status_code == 200
    return sorted(n.key for n in response.context["page"].object_list)


def api_keys(client, query: str) -> list[str]:
    response = client.get(f"/api/notifications/?{query}")
    assert response.status_code == 200, response.content
    return sorted(n["key"] for n in response.json()["results"])


def synced(project, *, minutes_ago: int = 5) -> SyncRun:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(project=project, started_at=at, finished_at=at, status="succeeded")


def test_owner_none_lists_the_notifications_nobody_owns(ui_catalog, viewer):
    assert keys(viewer.get(LIST, {"owner": "none"})) == ["receipt"]
    assert keys(viewer.get(LIST, {"owner": ui_catalog.owner.pk})) == ["trial_onboarding", "weekly_digest"]
    assert api_keys(viewer, "owner=none") == ["receipt"]
    page = viewer.get(LIST).content.decode()
    assert '<option value="none">No owner</option>' in page


def test_verdict_follows_the_one_verdict(ui_catalog, viewer):
    c = ui_catalog
    # No sync yet: nothing is "ok"; the receipt's missing owner is a warning, but Iterable is not checked.
    assert keys(viewer.get(LIST, {"verdict": "ok"})) == []
    assert keys(viewer.get(LIST, {"verdict": "not-checked"})) == ["receipt", "trial_onboarding", "weekly_digest"]
    run = synced(c.project)
    assert keys(viewer.get(LIST, {"verdict": "warning"})) == ["receipt"]
    assert keys(viewer.get(LIST, {"verdict": "ok"})) == ["trial_onboarding", "weekly_digest"]
    assert keys(viewer.get(LIST, {"verdict": "not-checked"})) == []
    SyncFinding.objects.create(
        project=c.project, run=run, category=FindingCategory.GUARD, code="marketing-message-type", severity="error",
        notification=c.digest, message="Template 501 is on Marketing Message in Iterable.",
    )  # fmt: skip
    refresh_verdicts(Notification.objects.all())
    assert keys(viewer.get(LIST, {"verdict": "error"})) == ["weekly_digest"]
    assert keys(viewer.get(LIST, {"verdict": "ok"})) == ["trial_onboarding"]
    assert api_keys(viewer, "verdict=error") == ["weekly_digest"]
    # An old sync is "not checked" again, errors still errors.
    SyncRun.objects.update(finished_at=timezone.now() - timedelta(days=1))
    assert keys(viewer.get(LIST, {"verdict": "not-checked"})) == ["receipt", "trial_onboarding"]
    assert keys(viewer.get(LIST, {"verdict": "error"})) == ["weekly_digest"]


def test_untested_days_lists_what_had_no_successful_test_send(ui_catalog, viewer):
    c = ui_catalog

    def proof(notification, outcome: str, days_ago: int) -> None:
        sent = ProofSend.objects.create(
            actor_label="mia", project=c.project, notification=notification, notification_key=notification.key,
            recipient_email="mia@example.com", mode="campaign", outcome=outcome,
        )  # fmt: skip
        ProofSend.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(days=days_ago))

    proof(c.digest, "sent", 3)
    proof(c.receipt, "refused_guard", 1)  # refused: not a test
    assert keys(viewer.get(LIST, {"untested_days": 7})) == ["receipt", "trial_onboarding"]
    assert keys(viewer.get(LIST, {"untested_days": 2})) == ["receipt", "trial_onboarding", "weekly_digest"]
    assert keys(viewer.get(LIST, {"untested_days": 365, "status": "active"})) == ["receipt", "trial_onboarding"]
    assert api_keys(viewer, "untested_days=7") == ["receipt", "trial_onboarding"]


@pytest.mark.parametrize("bad", ["0", "366", "abc", "-1", "1e400", "99999999999999999999"])
def test_untested_days_out_of_range_is_reported_not_a_500(ui_catalog, viewer, bad):
    response = viewer.get(LIST, {"untested_days": bad})
    assert response.status_code == 200
    assert b"were not understood" in response.content
    assert viewer.get(f"/api/notifications/?untested_days={bad}").status_code == 400


def test_drift_lists_what_the_latest_sync_found_different(ui_catalog, viewer):
    c = ui_catalog
    run = synced(c.project)
    SyncFinding.objects.create(
        project=c.project, run=run, category=FindingCategory.DRIFT, code="name-differs", severity="warning",
        notification=c.receipt, message="Iterable calls the campaign 'Receipt (old)'.",
    )  # fmt: skip
    SyncFinding.objects.create(
        project=c.project, run=run, category=FindingCategory.GUARD, code="marketing-message-type", severity="error",
        notification=c.digest, message="A guard finding is no drift.",
    )  # fmt: skip
    assert keys(viewer.get(LIST, {"drift": "1"})) == ["receipt"]
    assert keys(viewer.get(LIST, {"drift": "0"})) == ["trial_onboarding", "weekly_digest"]
    assert api_keys(viewer, "drift=1") == ["receipt"]
    assert b"were not understood" in viewer.get(LIST, {"drift": "yes"}).content


def test_the_csv_follows_the_filters(ui_catalog, viewer):
    body = b"".join(viewer.get(reverse("catalog:notification_csv"), {"owner": "none"}).streaming_content).decode()
    assert "receipt" in body and "weekly_digest" not in body


def test_the_filters_together_keep_the_lists_query_budget(ui_catalog, viewer):
    synced(ui_catalog.project)
    query = {"owner": "none", "untested_days": 30, "verdict": "warning", "drift": "0", "ordering": "-sends"}
    viewer.get(LIST, query)
    with CaptureQueriesContext(connection) as queries:
        assert keys(viewer.get(LIST, query)) == ["receipt"]
    assert len(queries) <= 10
