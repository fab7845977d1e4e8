"""One verdict everywhere: the catalog's rules plus what the latest sync found in Iterable, with its age.

Iterable is changed underneath the catalog (a used type flipped to opt-out, a campaign moved onto a
"Marketing Message" template); after a sync the home page, the list, the notification page, the API and
contact lookup all say the same thing. A sync that is too old says "not checked since" instead of ok.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Notification, SyncRun
from catalog.sync.services.runs import catalog_sync_project

DIGEST = "student_activity_weekly_digest"


@pytest.fixture
def staff(demo, user_in_role, client):
    client.force_login(user_in_role("marketing"))
    return client


def _iterable(demo):
    return demo.emulator.state.projects[demo.student.iterable_project_id]


def _flip_digest_type_to_opt_out(demo) -> None:
    digest = Notification.objects.get(key=DIGEST)
    with demo.emulator.state.lock:
        _iterable(demo).message_types[digest.message_type.iterable_id]["subscriptionPolicy"] = "OptOut"


def _sync_all(demo) -> None:
    for project in (demo.student, demo.employer):
        assert catalog_sync_project(project=project).status == "succeeded"


def test_a_type_flipped_in_iterable_is_an_error_on_every_screen(demo, staff):
    _sync_all(demo)
    assert Notification.objects.get(key=DIGEST).verdict_errors == 0
    _flip_digest_type_to_opt_out(demo)
    _sync_all(demo)

    digest = Notification.objects.get(key=DIGEST)
    assert digest.verdict_errors >= 1 and "optout-marketing" in digest.verdict_codes

    home = staff.get(reverse("catalog:home")).content.decode()
    assert DIGEST in home and "in Iterable" in home

    listed = staff.get(reverse("catalog:notification_list"), {"has_violations": "true"}).content.decode()
    assert DIGEST in listed and 'class="badge error"' in listed

    page = staff.get(reverse("catalog:notification_detail", kwargs={"key": DIGEST})).content.decode()
    assert "in Iterable" in page and "Opt-out type on a Marketing channel" in page and "No violations" not in page

    violations = staff.get("/api/violations/").json()
    rows = {row["notification"]: row for row in violations["results"]}
    assert DIGEST in rows
    assert any(v["source"] == "iterable" and v["code"] == "optout-marketing" for v in rows[DIGEST]["violations"])

    assert staff.get(f"/api/notifications/{DIGEST}/").json()["verdict"]["state"] == "error"

    lookup = staff.post(
        "/api/contacts/lookup/",
        {"email": "qa.student@example.com", "project": demo.student.pk},
        content_type="application/json",
    ).json()
    reach = {r["notification"]: r for r in lookup[0]["reach"]}
    assert reach[DIGEST]["guard"], reach[DIGEST]


def test_a_campaign_moved_onto_a_marketing_message_template_is_an_error(demo, staff):
    digest = Notification.objects.get(key=DIGEST)
    with demo.emulator.state.lock:
        _iterable(demo).campaigns[digest.campaign_id]["templateId"] = 599001  # on "Marketing Message"
    _sync_all(demo)
    digest.refresh_from_db()
    assert digest.verdict_errors >= 1
    assert staff.get(f"/api/notifications/{DIGEST}/").json()["verdict"]["state"] == "error"
    page = staff.get(reverse("catalog:notification_detail", kwargs={"key": DIGEST})).content.decode()
    assert "Legacy newsletter" in page


def test_the_error_goes_away_when_iterable_is_fixed(demo, staff):
    _flip_digest_type_to_opt_out(demo)
    _sync_all(demo)
    assert Notification.objects.get(key=DIGEST).verdict_errors >= 1
    digest = Notification.objects.get(key=DIGEST)
    with demo.emulator.state.lock:
        _iterable(demo).message_types[digest.message_type.iterable_id]["subscriptionPolicy"] = "OptIn"
    _sync_all(demo)
    assert Notification.objects.get(key=DIGEST).verdict_errors == 0


def test_never_synced_is_not_ok(demo, staff):
    assert staff.get(f"/api/notifications/{DIGEST}/").json()["verdict"]["state"] == "not-checked"
    page = staff.get(reverse("catalog:notification_detail", kwargs={"key": DIGEST})).content.decode()
    assert "Not checked in Iterable yet" in page
    listed = staff.get(reverse("catalog:notification_list")).content.decode()
    assert 'class="badge not-checked"' in listed and 'class="badge ok"' not in listed


def test_an_old_sync_says_not_checked_since(demo, staff, settings):
    _sync_all(demo)
    assert staff.get(f"/api/notifications/{DIGEST}/").json()["verdict"]["state"] == "ok"
    old = timezone.now() - timedelta(minutes=settings.ITERABLE_CHECK_STALE_MINUTES + 1)
    SyncRun.objects.filter(project=demo.student).update(finished_at=old, started_at=old)
    verdict = staff.get(f"/api/notifications/{DIGEST}/").json()["verdict"]
    assert verdict["state"] == "not-checked" and "Not checked in Iterable since" in verdict["label"]
    home = staff.get(reverse("catalog:home")).content.decode()
    assert "Not checked in Iterable since" in home and "Student - US" in home
    lookup = staff.post(
        "/api/contacts/lookup/",
        {"email": "qa.student@example.com", "project": demo.student.pk},
        content_type="application/json",
    ).json()
    reach = {r["notification"]: r for r in lookup[0]["reach"]}
    assert "Not checked in Iterable since" in reach[DIGEST]["not_checked"]
    # A failed sync does not count as a check.
    SyncRun.objects.create(project=demo.student, started_at=timezone.now(), finished_at=timezone.now(), status="failed")
    assert staff.get(f"/api/notifications/{DIGEST}/").json()["verdict"]["state"] == "not-checked"
