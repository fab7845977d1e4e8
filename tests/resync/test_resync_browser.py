"""A resync in real Chromium: a dry run from a pasted list shows its counts and what would change; applying it
starts a run whose progress bar (static/js/resync_progress.js polling the JSON progress) reaches done."""

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


def test_dry_run_from_a_pasted_list_then_apply_with_live_progress(page, live_server, log_in, truth, monkeypatch):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in("erin", "/")
    page.get_by_role("link", name="Resync", exact=True).click()
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
    expect(page.locator("[data-count=pending]")).to_have_text("0")
    done = int(page.locator("[data-count=done]").inner_text())
    skipped = int(page.locator("[data-count=skipped]").inner_text())
    assert done + skipped == 3 and done >= 2  # the two contacts whose lists differ would change
    expect(page.get_by_role("heading", name="What applying would change")).to_be_visible()
    expect(page.get_by_role("cell", name="emailListIds:add")).to_be_visible()

    # Hold the applied run in the queue, so the page shows it queued and its script polls for progress.
    queued = []
    monkeypatch.setattr(resync_runs, "resync_enqueue", queued.append)
    page.get_by_role("button", name="Apply this dry run").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Resync #\d+"))
    expect(page.locator("#run-status")).to_have_text("Queued")
    [run_id] = queued
    expect(page.locator("#run-progress")).to_have_attribute("value", "0")

    assert resync_process(run_id=run_id, slice_seconds=60) == "done"  # what the worker would do
    assert ResyncRun.objects.get(pk=run_id).total == done  # the task listed the contacts the dry run found different
    expect(page.locator("#run-status")).to_have_text("Done", timeout=15_000)
    expect(page.locator("#run-progress")).to_have_attribute("value", str(done))
    expect(page.locator("[data-count=done]")).to_have_text(str(done))
    expect(page.locator("[data-count=failed]")).to_have_text("0")
    expect(page.get_by_role("cell", name="No failures.")).to_be_visible()
    assert errors == []
