"""Live health's API is viewsets on the one router (catalog/health/urls.py api_register): the same paths, names,
permissions and answers as before, in the API's error format."""

import pytest
from django.urls import resolve, reverse
from django.utils import timezone

from catalog.health.models import HealthAlert
from catalog.health.views import AlertViewSet, NotificationHealthViewSet


@pytest.fixture
def alert(small_catalog):
    now = timezone.now()
    return HealthAlert.objects.create(
        project=small_catalog.project, notification=small_catalog.digest, kind="forbidden-type",
        dedupe_key="forbidden-type:401", message="Sent on a forbidden message type", first_seen_at=now,
        last_seen_at=now,
    )  # fmt: skip


def test_the_paths_resolve_to_the_viewsets_under_their_names(small_catalog):
    assert reverse("api:health-detail", args=["weekly_digest"]) == "/api/health/notifications/weekly_digest/"
    assert reverse("api:health-backfill", args=["weekly_digest"]) == "/api/health/notifications/weekly_digest/backfill/"
    assert reverse("api:health-alert-list") == "/api/health/alerts/"
    assert reverse("api:health-alert-acknowledge", args=[5]) == "/api/health/alerts/5/acknowledge/"
    assert resolve("/api/health/notifications/weekly_digest/").func.cls is NotificationHealthViewSet
    assert resolve("/api/health/alerts/5/acknowledge/").func.cls is AlertViewSet
    # The webhook and the page's form stay plain views under the same paths.
    assert reverse("api:health-webhook", args=[3]) == "/api/health/webhooks/3/"
    assert reverse("api:health-alert-acknowledge-form", args=[3]) == "/api/health/alerts/3/acknowledge-form/"


def test_reads_and_writes_answer_as_before(small_catalog, alert, client, user_in_role):
    client.force_login(user_in_role("viewer"))
    series = client.get("/api/health/notifications/weekly_digest/?days=90").json()
    assert series["notification"] == "weekly_digest" and series["days"] == 90
    assert client.get("/api/health/notifications/weekly_digest/?days=7").json()["errors"][0]["field"] == "days"
    assert [a["id"] for a in client.get("/api/health/alerts/?open=true").json()["results"]] == [alert.pk]
    assert client.get("/api/health/alerts/?open=maybe").status_code == 400
    # A viewer may read, not acknowledge nor backfill.
    assert client.post(f"/api/health/alerts/{alert.pk}/acknowledge/", {}, "application/json").status_code == 403
    assert client.post("/api/health/notifications/weekly_digest/backfill/", {}, "application/json").status_code == 403

    client.force_login(user_in_role("marketing"))
    done = client.post(f"/api/health/alerts/{alert.pk}/acknowledge/", {"note": "seen"}, "application/json")
    assert done.status_code == 200 and done.json()["acknowledged_label"] == "marketing-user"
    assert client.get("/api/health/alerts/?open=true").json()["results"] == []


def test_unknown_things_and_wrong_methods_are_the_apis_errors(small_catalog, alert, client, user_in_role):
    client.force_login(user_in_role("engineering"))
    missing = client.get("/api/health/notifications/no-such-thing/")
    assert missing.status_code == 404 and missing.json()["errors"]
    assert client.post("/api/health/alerts/999999/acknowledge/", {}, "application/json").status_code == 404
    assert client.post("/api/health/alerts/abc/acknowledge/", {}, "application/json").status_code == 404
    assert client.get(f"/api/health/alerts/{alert.pk}/acknowledge/").status_code == 405
    assert client.get(f"/api/health/alerts/{alert.pk}/").status_code in {404, 405}  # no alert page of its own
    assert client.get("/api/health/notifications/").status_code in {404, 405}  # no list of every notification
    assert client.delete("/api/health/notifications/weekly_digest/").status_code == 405
    # A period out of range is refused before anything is queued.
    refused = client.post("/api/health/notifications/weekly_digest/backfill/", {"days": 0}, "application/json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "days"


def test_the_schema_lists_the_viewsets_operations(client, user_in_role):
    client.force_login(user_in_role("viewer"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths["/api/health/notifications/{key}/"]) == {"get"}
    assert set(paths["/api/health/notifications/{key}/backfill/"]) == {"post"}
    assert set(paths["/api/health/alerts/"]) == {"get"}
    assert set(paths["/api/health/alerts/{id}/acknowledge/"]) == {"post"}


def test_options_describe_each_action(small_catalog, client, user_in_role):
    client.force_login(user_in_role("engineering"))
    backfill = client.options("/api/health/notifications/weekly_digest/backfill/")
    assert backfill.status_code == 200 and "days" in backfill.json()["actions"]["POST"]
    assert client.options("/api/health/notifications/weekly_digest/").status_code == 200
    assert client.options("/api/health/alerts/1/acknowledge/").status_code == 200
