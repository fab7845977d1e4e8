"""Activity: every event in words, filtered by who, action, kind of object, object and dates, searched, in numbered
pages, and downloaded as CSV (streamed, formula-safe, masked as on the page); contacts' addresses stay hidden from
roles that may not look contacts up, in the page, the search and the file."""

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog import models
from catalog.audit.services import audit_event
from catalog.views.paging import COUNT_CAP

AUDIT = reverse("catalog:audit_list")
EXPORT = reverse("catalog:audit_export")
ADDRESS = "pat.student@example.com"


def _text(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _shown(response) -> list[int]:
    return [event.pk for event in response.context["page"].object_list]


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def trail(small_catalog):
    """A sync, a test send, a contact look-up, a catalog change and a resync start, by different people."""
    events = {
        "sync": audit_event(
            actor="schedule",
            action="sync",
            object_type="syncrun",
            object_id="5",
            object_repr="Test project sync 2026-11-30 06:00 succeeded",
            changes={"status": "succeeded", "counts": {"templates": 4}, "findings": {}, "errors": [], "calls": {}},
        ),
        "send": audit_event(
            actor="mia",
            action="proof_send",
            object_type="notification",
            object_id=str(small_catalog.digest.pk),
            object_repr="weekly_digest",
            changes={"attempt": 9, "mode": "campaign", "recipient": "qa@example.com", "outcome": "sent", "code": ""},
        ),
        "lookup": audit_event(
            actor="mia",
            action="contact_lookup",
            object_type="contact",
            object_repr=ADDRESS,
            changes={"projects": ["Test project"], "at": "2026-11-30T08:00:00+00:00"},
        ),
        "change": audit_event(
            actor="erin",
            action="update",
            object_type="notification",
            object_id=str(small_catalog.receipt.pk),
            object_repr="receipt",
            changes={
                "status": {"before": "draft", "after": "active"},
                "name": {"before": "=cmd()", "after": "Receipt"},
            },
        ),
        "resync": audit_event(
            actor="erin",
            action="resync_start",
            object_type="resyncrun",
            object_id="3",
            object_repr="Resync #3 of Test project (queued)",
            changes={"selection": "everyone", "total": 0},
        ),
    }
    old = timezone.now() - timedelta(days=10)
    models.AuditEvent.objects.filter(pk=events["sync"].pk).update(created_at=old)
    return events


def test_every_event_shows_its_values_in_words(trail, client_in_role):
    text = _text(client_in_role("marketing").get(AUDIT))
    assert "Synced with Iterable sync run" in text and "Status Succeeded" in text
    assert "Test send notification weekly_digest" in text and "Outcome Sent (accepted by Iterable)" in text
    assert "Changed notification receipt" in text and "Draft → Active" in text
    assert "Which contacts Everyone" in text
    assert "Looked up a contact contact" in text and ADDRESS in text  # marketing may look contacts up


def test_filters_narrow_the_trail(trail, client_in_role):
    client = client_in_role("engineering")
    ids = {name: e.pk for name, e in trail.items()}
    assert _shown(client.get(AUDIT, {"who": "erin"})) == [ids["resync"], ids["change"]]
    assert _shown(client.get(AUDIT, {"action": "proof_send"})) == [ids["send"]]
    assert _shown(client.get(AUDIT, {"object_type": "notification"})) == [ids["change"], ids["send"]]
    assert _shown(client.get(AUDIT, {"object": "receipt"})) == [ids["change"]]
    assert _shown(client.get(AUDIT, {"object": "3", "object_type": "resyncrun"})) == [ids["resync"]]
    today = timezone.localdate()
    assert ids["sync"] not in _shown(client.get(AUDIT, {"since": (today - timedelta(days=1)).isoformat()}))
    assert _shown(client.get(AUDIT, {"until": (today - timedelta(days=5)).isoformat()})) == [ids["sync"]]
    assert _shown(client.get(AUDIT, {"q": "test send"})) == [ids["send"]]
    assert _shown(client.get(AUDIT, {"q": "weekly"})) == [ids["send"]]


def test_bad_filters_are_said_and_ignored_never_a_500(trail, client_in_role):
    client = client_in_role("engineering")
    for params in [
        {"since": "yesterday"},
        {"action": "drop_tables"},
        {"until": "9999-12-31"},
        {"since": "0001-01-01"},
        {"q": "nul\x00byte"},
        {"object": "a\x00b"},
        {"page": "many"},
        {"page": "999"},
    ]:
        response = client.get(AUDIT, params)
        assert response.status_code == 200, params
    assert "were not understood" in _text(client.get(AUDIT, {"since": "yesterday"}))
    assert len(_shown(client.get(AUDIT, {"since": "yesterday"}))) == len(trail)


def test_a_viewer_never_sees_nor_finds_a_contacts_address(trail, client_in_role):
    client = client_in_role("viewer")
    response = client.get(AUDIT)
    assert ADDRESS not in response.content.decode()
    assert "qa@example.com" not in response.content.decode()
    # Searching for the address would tell a viewer it was looked up: it finds nothing.
    assert _shown(client.get(AUDIT, {"q": ADDRESS})) == []
    assert _shown(client.get(AUDIT, {"q": "pat.student"})) == []
    assert _shown(client.get(AUDIT, {"object": ADDRESS})) == []
    rows = _csv(client.get(EXPORT))
    assert rows and ADDRESS not in str(rows) and "qa@example.com" not in str(rows)
    # Marketing may look contacts up: it finds the look-up.
    marketing = client_in_role("marketing")
    assert _shown(marketing.get(AUDIT, {"q": ADDRESS})) == [trail["lookup"].pk]


def test_pages_are_numbered_with_a_capped_count(small_catalog, client_in_role):
    models.AuditEvent.objects.bulk_create(
        models.AuditEvent(actor_label="bulk", action="update", object_type="owner", object_repr=f"owner {i}")
        for i in range(130)
    )
    client = client_in_role("viewer")
    response = client.get(AUDIT, {"who": "system"})
    assert _shown(response) == []
    response = client.get(AUDIT, {"page": 2})
    html = response.content.decode()
    assert 'aria-label="Page 1"' in html and 'aria-label="Page 3"' in html
    assert '<span aria-current="page">2</span>' in html
    assert "Page 2 of 3 (130 in all)" in _text(response)
    # Filters stay in the page links.
    filtered = client.get(AUDIT, {"action": "update", "page": 3}).content.decode()
    assert "action=update&amp;page=2" in filtered
    assert len(_shown(client.get(AUDIT, {"action": "update", "page": 3}))) == 30

    # Past COUNT_CAP events the count stops, and the pager numbers the pages it has seen and the next.
    models.AuditEvent.objects.bulk_create(
        models.AuditEvent(actor_label="bulk", action="update", object_type="owner", object_repr=f"more {i}")
        for i in range(COUNT_CAP)
    )
    capped = client.get(AUDIT, {"page": 7})
    html = capped.content.decode()
    assert f"more than {COUNT_CAP} in all" in _text(capped)
    assert 'aria-label="Page 1"' in html and 'aria-label="Page 8"' in html and 'rel="next"' in html
    assert len(_shown(capped)) == 50
    deep = client.get(AUDIT, {"page": 23})
    assert len(_shown(deep)) == 130 + COUNT_CAP - 22 * 50 and 'rel="next"' not in deep.content.decode()


def test_the_csv_is_the_filtered_trail_in_words_and_formula_safe(trail, client_in_role):
    response = client_in_role("engineering").get(EXPORT, {"who": "erin"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="activity-')
    rows = _csv(response)
    assert [r["What they did"] for r in rows] == ["Started a resync", "Changed"]
    change = rows[1]
    assert change["Object"] == "receipt" and change["Who"] == "erin"
    assert "Status: Draft → Active" in change["Details"]
    # A value a spreadsheet would run as a formula is escaped where it starts a cell.
    formula = audit_event(actor="=HYPERLINK(1)", action="update", object_type="owner", object_repr="@evil")
    rows = _csv(client_in_role("engineering").get(EXPORT, {"object": "@evil"}))
    assert [(r["Who"], r["Object"]) for r in rows] == [("'=HYPERLINK(1)", "'@evil")]
    assert formula.pk


def test_the_download_link_keeps_the_filters(trail, client_in_role):
    html = client_in_role("viewer").get(AUDIT, {"who": "erin", "page": 1}).content.decode()
    assert f'href="{EXPORT}?who=erin"' in html


@pytest.mark.parametrize("url", [AUDIT, EXPORT])
def test_no_role_no_activity(trail, client_in_role, url):
    assert client_in_role(None).get(url).status_code == 403


def test_the_notification_page_still_shows_its_history_in_words(trail, client_in_role, small_catalog):
    response = client_in_role("viewer").get(reverse("catalog:notification_detail", kwargs={"key": "receipt"}))
    if "history" not in response.context:
        pytest.fail("the notification page no longer passes its history to the audit table")
    assert "Draft → Active" in _text(response)


def test_links_go_only_to_pages_the_reader_may_open(trail, client_in_role):
    attempt = reverse("catalog:proof_send_detail", kwargs={"pk": 9})
    resync = reverse("catalog:resync_run", kwargs={"pk": 3})
    receipt = reverse("catalog:notification_detail", kwargs={"key": "receipt"})
    viewer = client_in_role("viewer").get(AUDIT).content.decode()
    assert attempt not in viewer and resync not in viewer and receipt in viewer
    marketing = client_in_role("marketing").get(AUDIT).content.decode()
    assert attempt in marketing and resync not in marketing
    engineering = client_in_role("engineering").get(AUDIT).content.decode()
    assert attempt in engineering and resync in engineering


@pytest.mark.parametrize("time_zone", ["Europe/Berlin", "America/New_York"])
def test_dates_at_the_calendars_ends_never_500_in_any_time_zone(trail, client_in_role, settings, time_zone):
    # East of UTC the start of 0001-01-01 falls in year 0 once turned to UTC; west, 9999-12-31's end in 10000.
    settings.TIME_ZONE = time_zone
    client = client_in_role("engineering")
    for params in [{"since": "0001-01-01"}, {"until": "9999-12-31"}, {"since": "0001-01-01", "until": "9999-12-31"}]:
        page = client.get(AUDIT, params)
        assert page.status_code == 200, params
        assert len(_shown(page)) == len(trail), params
        export = client.get(EXPORT, params)
        assert export.status_code == 200, params
        assert len(_csv(export)) == len(trail), params
    assert _shown(client.get(AUDIT, {"until": "0001-01-01"})) == []
