"""Home in real Chromium at a desktop's 1440 px and a phone's 390 px: every chart draws from its JSON under the
Content-Security-Policy (no violation) within the screen's width, and the page never scrolls sideways."""

import os

import pytest
from playwright.sync_api import expect

from catalog.audit.services import audit_event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHARTS = {"chart-verdicts": "doughnut", "chart-findings": "line", "chart-resyncs": "bar", "chart-sends": "bar"}


@pytest.mark.parametrize("width", [1440, 390])
def test_home_charts_draw_and_the_page_fits(page, live_server, log_in, morning, user_in_role, width):
    user_in_role("engineering", username="erin")
    # Recent activity with long unbroken values and nested counts, which must wrap inside a phone's width.
    audit_event(
        actor="a_rather_long_service_account_name",
        action="sync",
        object_type="syncrun",
        object_id=str(morning.synced.pk),
        object_repr="Test project sync " + "x" * 80,
        changes={
            "status": "succeeded",
            "counts": {"channel": {"seen": 4, "created": 4}},
            "calls": {"GET /api/" + "y" * 60: 1},
        },
    )
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": width, "height": 900})
    log_in("erin", "/")
    page.wait_for_load_state("load")
    page.wait_for_function(f"typeof Chart !== 'undefined' && Object.keys(Chart.instances).length === {len(CHARTS)}")
    drawn = page.evaluate(
        "Object.values(Chart.instances).map(c => [c.canvas.dataset.dashboardChart, c.config.type,"
        " c.canvas.getBoundingClientRect().width, c.canvas.getBoundingClientRect().height])"
    )
    assert {d[0]: d[1] for d in drawn} == CHARTS
    assert all(0 < d[2] <= width and d[3] > 0 for d in drawn)
    assert violations == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The numbers behind a chart open as a table.
    page.get_by_text("The numbers, day by day").first.click()
    expect(page.locator("#findings-days")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=f"{os.environ['SCREENSHOTS']}/home-{width}.png", full_page=True)
