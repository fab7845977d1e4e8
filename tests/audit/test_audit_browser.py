"""Activity in real Chromium at 1440 px and 390 px: the filters, the events in words and the pager fit the screen
(on a phone each event becomes a card), and the CSV link downloads the filtered events."""

import os

import pytest
from playwright.sync_api import expect

from catalog import models
from catalog.audit.services import audit_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_activity_fits_and_filters(page, live_server, log_in, small_catalog, user_in_role, width):
    models.AuditEvent.objects.bulk_create(
        models.AuditEvent(
            actor_label="bulk",
            action="update",
            object_type="notification",
            object_repr=f"a_rather_long_notification_key_without_spaces_{i}",
            changes={"tags": {"before": [], "after": ["onboarding", "students", f"wave-{i}"]}},
        )
        for i in range(130)
    )
    audit_event(
        actor="schedule",
        action="sync",
        object_type="syncrun",
        object_id="1",
        object_repr="Test project sync 2026-11-30 06:00 succeeded",
        changes={"status": "succeeded", "findings": {"campaign-missing": 2}, "errors": []},
    )
    user_in_role("engineering", username="erin")
    page.set_viewport_size({"width": width, "height": 900})
    log_in("erin", "/audit/")
    expect(page.get_by_text("campaign missing in Iterable: 2")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_label("What they did").select_option(label="Synced with Iterable")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these events (CSV)").click()
    with open(download.value.path(), encoding="utf-8") as file:
        lines = file.read().splitlines()
    assert len(lines) == 2 and "Synced with Iterable" in lines[1]
    page.goto(f"{live_server.url}/audit/?page=2")
    assert page.get_by_role("navigation", name="Pages").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(
            path=f"{os.environ['SCREENSHOTS']}/activity-{width}.png",
            full_page=True,
            clip={"x": 0, "y": 0, "width": width, "height": 1400},
        )
