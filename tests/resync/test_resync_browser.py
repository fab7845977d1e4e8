"""A resync in real Chromium, at 1440 and 390 px: a dry run from a pasted list shows what would change by name;
applying it asks first, then starts a run whose page updates by itself (htmx polling its live part) until done."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import ResyncRun
from catalog.resync.services import runs as resync_runs
from catalog.resync.services.ingest import preference_upsert
from catalog.resync.services.process import resync_process
from catalog.resync.services.rules import resync_settings_update

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def truth(demo, user_in_role):
    user_in_role("engineering", username="erin")
    resync_settings_update(project=demo.student, actor="tests", scope={"emailListIds": [7001, 7002]}, rate_per_second=0)
    preference_upsert(
        project=demo.student,
        actor="tests",
        rows=[
            {"email": "qa.student@example.com", "email_list_ids": [7001]},
            {"email": "new.person@example.com", "email_list_ids": [7002]},
            {"email": "student.0001@example.com", "email_list_ids": []},
        ],
    )
    return demo


def no_page_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", [1440, 390])
def test_dry_run_from_a_pasted_list_then_confirm_and_apply_with_live_progress(
    page, live_server, log_in, truth, monkeypatch, width
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": width, "height": 900})
    log_in("erin", "/resync/")
    page.get_by_role("link", name="Start a resync").first.click()
    page.get_by_label("Project").select_option(label="Student - US")
    page.get_by_label("A pasted list of addresses").check()
    page.get_by_label("Addresses", exact=True).fill(
        "qa.student@example.com\nnew.person@example.com\nstudent.0001@example.com"
    )
    expect(page.get_by_label("Dry run first")).to_be_checked()
    page.get_by_role("button", name="Start").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Dry run #\d+"))
    expect(page.locator("#run-status")).to_have_text("Done")
    expect(page.get_by_role("heading", name="What applying would change")).to_be_visible()
    # The change in the list's name, never the array's API name.
    expect(page.locator("#run-changes")).to_contain_text("Joins list")
    expect(page.locator("#run-changes")).not_to_contain_text("emailListIds")
    would_change = int(re.search(r"(\d+) contacts? would change", page.locator("#changes-count").inner_text())[1])
    assert would_change >= 2  # the two contacts whose lists differ
    assert no_page_scroll(page)

    # Applying asks first, showing what will change and the download.
    page.get_by_role("link", name="Apply this dry run…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Apply dry run")
    expect(page.get_by_role("link", name="Download every change (CSV)")).to_be_visible()
    assert no_page_scroll(page)
    # Hold the applied run in the queue, so the page shows it queued and polls its live part.
    queued = []
    monkeypatch.setattr(resync_runs, "resync_enqueue", queued.append)
    page.get_by_role("button", name="Yes, write these changes to Iterable").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Resync #\d+"))
    expect(page.locator("#run-status")).to_have_text("Queued")
    expect(page.locator("#run-live")).to_have_attribute("hx-trigger", "every 2s")
    [run_id] = queued
    expect(page.locator("#run-progress")).to_have_attribute("value", "0")
    url = page.url

    assert resync_process(run_id=run_id, slice_seconds=60) == "done"  # what the worker would do
    assert ResyncRun.objects.get(pk=run_id).total == would_change  # the contacts the dry run found different
    # The page updates by itself (no reload): the same document, now done, showing what changed.
    expect(page.locator("#run-status")).to_have_text("Done", timeout=15_000)
    assert page.url == url
    expect(page.locator("#run-progress")).to_have_attribute("value", str(would_change))
    expect(page.get_by_role("heading", name="What this resync changed")).to_be_visible()
    expect(page.locator("#run-changes")).to_contain_text("Joins list")
    expect(page.get_by_role("cell", name="No failures.")).to_be_visible()
    expect(page.locator("#run-live")).not_to_have_attribute("hx-trigger", "every 2s")  # polling stopped
    assert no_page_scroll(page)
    assert errors == []


@pytest.mark.parametrize("width", [1440, 390])
def test_settings_are_ticked_by_name_and_a_mistake_is_explained(page, live_server, log_in, truth, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in("erin", f"/resync/settings/{truth.student.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Resync settings")
    channels = page.locator("#scope-channels")
    expect(channels).to_be_visible()
    assert no_page_scroll(page)
    # "Only the ones ticked" with nothing ticked: refused with a sentence, nothing saved.
    channels.get_by_label("Only the ones ticked below").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#settings-errors")).to_contain_text("Nothing was saved")
    expect(page.locator("#scope-channels")).to_contain_text("Tick at least one channel")
    # Tick a channel by its name and save.
    first_box = page.locator("#scope-channels input[type=checkbox]").first
    name = page.locator("#scope-channels .choices label").first.inner_text().split("·")[0].strip()
    first_box.check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message.success")).to_contain_text("Saved the resync settings")
    expect(page.locator("#scope-channels input[type=checkbox]").first).to_be_checked()
    page.goto(f"{live_server.url}/resync/settings/")
    expect(page.locator("main")).to_contain_text(f"Unsubscribed channels: {name}")
    assert no_page_scroll(page)
