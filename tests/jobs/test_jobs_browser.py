"""A profile sync in real Chromium, at 1440 and 390 px: set up with "column → field" rows and a schedule whose
next runs are previewed in words as it is typed, a file uploaded for a dry run whose page updates by itself
until it shows each change by field name, and no sideways scrolling of the page."""

import pytest
from playwright.sync_api import expect

from catalog.models import Job, JobRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def no_page_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", [1440, 390])
def test_set_up_a_profile_sync_and_dry_run_a_file(page, live_server, log_in, project, user_in_role, tmp_path, width):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": width, "height": 900})
    user_in_role("admin", username="ada-admin")
    log_in("ada-admin", "/jobs/")
    page.get_by_role("link", name="Set up a job").click()
    page.get_by_label("Project").select_option(label=project.name)
    page.get_by_label("Name", exact=True).fill("iterable_student_sync")
    page.get_by_label("Update profiles").check()
    page.locator("#id_mapping-0-column").fill("first_name")
    page.locator("#id_mapping-0-field").fill("firstName")
    page.get_by_label("Scheduled").check()
    page.get_by_label("Schedule", exact=True).fill("0 22 * * *")
    expect(page.locator("#cron-preview")).to_contain_text("Every day at 22:00 UTC")
    assert no_page_scroll(page)
    page.get_by_label("Schedule", exact=True).fill("")
    page.get_by_label("Scheduled").uncheck()
    page.get_by_role("button", name="Save the job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("iterable_student_sync")
    assert Job.objects.get().mapping == [{"column": "first_name", "field": "firstName"}]
    assert no_page_scroll(page)

    upload = tmp_path / "sync.csv"
    upload.write_text("email,first_name\nada@example.com,Ada Lovelace\n")
    page.get_by_label("File of rows").set_input_files(str(upload))
    page.get_by_role("button", name="Start").click()
    # The tests' settings run a queued task at once (Q_SYNC); a real worker would be polled for the same way.
    expect(page.locator("#run-status")).to_have_text("Done")
    assert JobRun.objects.get().dry_run
    expect(page.locator("#run-live")).to_contain_text("firstName: Ada → Ada Lovelace", timeout=15_000)
    expect(page.get_by_role("button", name="Apply this dry run")).to_be_visible()
    assert no_page_scroll(page)
    assert errors == []
