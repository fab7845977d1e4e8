"""The sync run list in real Chromium, at 1440 and 390 px: "Sync now" answers in place (htmx), then the list follows
the queued sync by itself (polling) and shows its run without a reload; then it stops polling."""

import re

import pytest
from playwright.sync_api import expect

from catalog.sync.services import runs as sync_runs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_sync_now_then_the_list_shows_the_run_by_itself(
    page, live_server, log_in, demo, user_in_role, monkeypatch, width
):
    user_in_role("engineering", username="erin")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": width, "height": 900})
    # Hold the task in the queue (a worker not yet free), so the page has to wait for the run.
    queued = []
    monkeypatch.setattr(sync_runs, "enqueue", lambda *args, **kwargs: queued.append(args))
    log_in("erin", "/sync/")
    page.get_by_label("Project").first.select_option(label="Student - US")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#sync-notice")).to_contain_text("Sync of Student - US queued")
    expect(page.locator("#sync-waiting")).to_contain_text("updates by itself")
    expect(page.locator("#sync-runs")).to_contain_text("No sync runs yet.")
    assert len(queued) == 1
    url = page.url

    run = sync_runs.catalog_sync_project(project=demo.student, actor="erin")  # what the worker does
    row = page.locator(f'#sync-runs a[href="/sync/runs/{run.pk}/"]')
    expect(row).to_be_visible(timeout=15_000)
    assert page.url == url and page.evaluate("window.stillTheSamePage") is True  # no reload, no navigation
    expect(page.locator("#sync-runs")).to_contain_text("Succeeded")
    expect(page.locator("#sync-runs")).to_contain_text("Started by hand")
    expect(page.locator("#sync-waiting")).to_have_count(0)  # finished: the list stopped polling
    expect(page.locator("#sync-run-table")).not_to_have_attribute("hx-trigger", "every 3s")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert errors == []


@pytest.mark.parametrize("width", [390])
def test_adding_an_orphan_template_uses_the_forms_pickers(page, live_server, log_in, demo, user_in_role, width):
    """The orphan's add page is the catalog's form: its message type is a searchable picker, styled, on a phone."""
    from catalog.models import Template

    FORBIDDEN = 599001  # the demo's Iterable template on "Marketing Message" that no catalog entry claims
    run = sync_runs.catalog_sync_project(project=demo.student, actor="test")
    assert run.status == "succeeded", run.errors
    user_in_role("engineering", username="erin")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": width, "height": 900})
    log_in("erin", f"/sync/orphans/{demo.student.pk}/templates/{FORBIDDEN}/add/")

    picker = page.locator("#field-message_type .picker")
    expect(picker).to_be_visible()
    search = picker.locator(".picker-search")
    expect(search).to_be_visible()  # forms.js set the picker up
    # forms.css lays the options out as a list in a box that scrolls inside itself, not as a bare list.
    assert picker.locator(".picker-options").evaluate("e => getComputedStyle(e).listStyleType") == "none"
    allowed = Template.objects.filter(project=demo.student).select_related("message_type").first().message_type
    search.fill(allowed.name)
    label = page.locator(".picker-label", has_text=re.compile(f"^{re.escape(allowed.name)}$"))
    option = picker.locator(".picker-option", has=label, has_text=demo.student.name)
    expect(option).to_be_visible()
    shown = picker.locator(".picker-option:not([hidden])")
    assert shown.count() < picker.locator(".picker-option").count()  # the search narrowed the list
    option.locator("input").check()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Legacy newsletter")
    created = Template.objects.get(project=demo.student, iterable_id=FORBIDDEN)
    assert created.message_type == allowed
    assert errors == []
