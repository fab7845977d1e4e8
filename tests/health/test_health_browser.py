"""The notification page's charts in real Chromium: drawn from the JSON elements under the real
Content-Security-Policy (no violation), with the table beside them, at 390 px without sideways scrolling."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.health.models import HealthDaily

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_charts_draw_under_the_csp_and_fit_390px(page, live_server, log_in, small_catalog, user_in_role):
    digest = small_catalog.digest
    for days_ago in range(30):
        day = timezone.localdate() - timedelta(days=days_ago)
        for kind, count in (("send", 100 + days_ago), ("open", 30), ("skip", 3), ("unsubscribe", days_ago % 3)):
            HealthDaily.objects.create(
                project=digest.project,
                bucket=f"n:{digest.pk}",
                notification=digest,
                day=day,
                kind=kind,
                count=count,
                last_at=timezone.now(),
            )
    user_in_role("viewer", username="vera")
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in("vera", f"/notifications/{digest.key}/")
    page.wait_for_load_state("load")
    page.wait_for_function("typeof Chart !== 'undefined' && Object.keys(Chart.instances).length === 2")
    drawn = page.evaluate(
        "Object.values(Chart.instances).map(c => [c.canvas.dataset.chartSource, c.data.datasets.length,"
        " c.data.labels.length, c.canvas.getBoundingClientRect().width])"
    )
    assert sorted(d[:3] for d in drawn) == [["health-engagement", 4, 30], ["health-volume", 2, 30]]
    assert all(0 < d[3] <= 390 for d in drawn)
    assert violations == []
    expect(page.get_by_role("table").filter(has_text="The 28 days before")).to_be_visible()
    page.get_by_text("The charts' numbers, day by day").click()
    expect(page.locator("#health-days tbody tr")).to_have_count(30)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
