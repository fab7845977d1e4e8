"""The catalog in real Chromium: log in, search, filter, open a detail page, see a guard error, import."""

import json
import re

import pytest
from playwright.sync_api import expect

from catalog.io.services.export import catalog_export_data, catalog_yaml_dump
from catalog.models import Notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def catalog(small_catalog, user_in_role):
    user_in_role("engineering", username="erin")
    user_in_role("viewer", username="vic")
    return small_catalog


def test_login_required_then_dashboard(page, live_server, log_in, catalog):
    log_in("vic", "/notifications/")
    expect(page).to_have_url(f"{live_server.url}/notifications/")
    page.get_by_role("link", name="Iterable notifications").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The catalog at a glance", use_inner_text=True)
    # After the heading: the list being left has no Import link either, so a count taken there would prove nothing.
    expect(page.get_by_role("link", name="Import")).to_have_count(0)


def test_wrong_password_is_refused(page, live_server, catalog):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("vic")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(re.compile("/accounts/login/"))


def expect_rows(page, keys: list[str]) -> None:
    """The list shows exactly these notifications' keys, in this order (each row leads with the name, which links
    to the notification). It waits: a click on a sort link returns before the new page has its rows."""
    expect(page.locator("#notifications tbody code.key")).to_have_text(keys)


def test_search_filter_sort_and_open_a_detail(page, live_server, log_in, catalog):
    log_in("vic", "/notifications/")
    keys = page.locator("#notifications tbody code.key")
    expect(keys).to_have_count(2)
    assert sorted(keys.all_inner_texts()) == ["receipt", "weekly_digest"]

    page.get_by_label("Search", exact=True).fill("501")  # a template id
    page.get_by_label("Search", exact=True).press("Enter")
    page.wait_for_load_state()
    expect_rows(page, ["weekly_digest"])

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Audience").select_option("employers")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    expect_rows(page, ["receipt"])
    assert "audience=employers" in page.url

    page.get_by_role("link", name="Clear").click()
    page.get_by_role("link", name="Key", exact=True).click()  # ascending
    page.get_by_role("link", name="Key", exact=True).click()  # descending
    expect_rows(page, ["weekly_digest", "receipt"])

    page.get_by_role("link", name="Weekly digest", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Weekly digest"))
    link = page.get_by_role("link", name="Campaign 401 in Iterable")
    expect(link).to_have_attribute("href", "https://app.iterable.com/campaigns/401")
    page.wait_for_load_state()  # the detail page is the one shown now: its whole document, before reading it
    assert "Opt-in: only people who explicitly subscribed" in page.content()


def test_edit_shows_the_guard_error_beside_the_field(page, live_server, log_in, catalog):
    log_in("erin", "/notifications/weekly_digest/")
    page.get_by_role("link", name="Edit").click()
    # The forbidden type is shown, greyed out with the reason in words, and cannot be picked.
    forbidden = page.locator("#field-message_type .picker-option", has_text="Marketing Message")
    expect(forbidden.get_by_role("radio")).to_be_disabled()
    expect(forbidden).to_contain_text("Not allowed", use_inner_text=True)
    # Sent anyway (a stale page, a crafted request), it is refused beside the field.
    forbidden.get_by_role("radio").evaluate("radio => { radio.disabled = false; radio.checked = true; }")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    field = page.locator("#field-message_type")
    expect(field.locator(".field-errors")).to_contain_text("Marketing Message", use_inner_text=True)
    expect(page.get_by_role("alert")).to_have_text(re.compile("^Nothing was saved"), use_inner_text=True)
    assert Notification.objects.get(key="weekly_digest").message_type_id == catalog.opt_in.pk

    page.get_by_label("Name").fill("Weekly digest, renamed")
    page.get_by_role("radio", name=re.compile("^GitLab Marketing")).check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile("^Weekly digest, renamed"), use_inner_text=True)
    expect(page.get_by_role("status")).to_contain_text("Saved notification weekly_digest.", use_inner_text=True)


def test_import_a_file_with_errors(page, live_server, log_in, catalog, tmp_path):
    data = catalog_export_data()
    good = dict(data["notifications"][0], key="brand_new", campaign_id=777)
    data["notifications"] = [good, dict(good, key="forbidden", message_type="Marketing Message")]
    path = tmp_path / "catalog.yaml"
    path.write_text(catalog_yaml_dump(data))  # two notifications share lists: a plain dump would write aliases

    log_in("erin", "/")
    page.get_by_role("link", name="Import").click()
    page.get_by_label("Catalog file (YAML or JSON)").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()
    # The import runs as a background task (in process in the tests): the page after the upload is its result.
    expect(page).to_have_url(re.compile(r"/catalog/import/\d+/$"))
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("Nothing was imported", use_inner_text=True)
    expect(errors).to_contain_text("notifications[1].message_type", use_inner_text=True)
    assert not Notification.objects.filter(key="brand_new").exists()


def test_import_progress_and_result_fit_390px(page, live_server, log_in, catalog, tmp_path):
    data = catalog_export_data()
    data["notifications"] = [dict(data["notifications"][0], key="from_the_phone", campaign_id=778)]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data))
    page.set_viewport_size({"width": 390, "height": 844})
    log_in("erin", "/catalog/import/")
    page.get_by_label("Catalog file (YAML or JSON)").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()
    expect(page.locator("#import-result")).to_contain_text("Imported.", use_inner_text=True)
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert Notification.objects.filter(key="from_the_phone").exists()


@pytest.mark.parametrize("width", [390, 1440])
def test_the_lists_filters_fold_on_a_phone(page, live_server, log_in, catalog, width):
    """Fifteen filters would fill a phone's first screen: there they are folded under a summary that counts the
    active ones, the search and the list above the fold; on a wide screen they are open."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": width, "height": 900})
    log_in("vic", "/notifications/?audience=employers&ordering=-key")
    filters = page.locator("details#filter-more")
    summary = filters.locator("summary")
    expect(summary).to_contain_text("1 active")  # the audience; the sort is not a filter
    expect(page.get_by_label("Search", exact=True)).to_be_visible()
    expect_rows(page, ["receipt"])
    if width == 390:
        expect(filters).not_to_have_attribute("open", "")
        expect(page.get_by_label("Audience")).to_be_hidden()
        # The list starts on the first screen.
        assert page.locator("#notifications").bounding_box()["y"] < 900
        summary.click()
    expect(filters).to_have_attribute("open", "")
    page.get_by_label("Audience").select_option("")
    page.get_by_label("Status").select_option(index=1)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile("status="))
    expect(page).not_to_have_url(re.compile("audience=employers"))
    expect(page.locator("details#filter-more summary")).to_contain_text("1 active")
    page.get_by_role("link", name="Clear").click()
    page.wait_for_load_state()
    expect(page.locator("#filter-count")).to_have_count(0)  # nothing active: no count
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert errors == []
