"""Contact lookup in real Chromium: a lookup that explains, and an error that is a sentence, not a 500."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def marketer(demo, user_in_role):
    user_in_role("marketing", username="mia")
    return demo


def test_lookup_explains_reach(page, live_server, log_in, marketer):
    log_in("mia", "/")
    page.get_by_role("link", name="Contact lookup").click()
    page.get_by_label("Email").fill("qa.student@example.com")
    page.get_by_label("Project").select_option(label="Student - US")
    page.get_by_role("button", name="Look up").click()
    digest = page.get_by_role("row", name="Weekly activity digest")
    expect(digest).to_contain_text("Yes", use_inner_text=True)
    expect(digest).to_contain_text("opted in to it", use_inner_text=True)
    expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
    expect(page).to_have_url(re.compile("/contacts/"))
    expect(page).not_to_have_url(re.compile(re.escape("qa.student")))


def test_lookup_errors_are_sentences(page, live_server, log_in, marketer):
    log_in("mia", "/contacts/")
    page.get_by_label("Email").fill("foo@")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("alert").first).to_have_text("'foo@' is not a valid email address.", use_inner_text=True)

    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Project").select_option(label="Employer - US")
    page.get_by_role("button", name="Look up").click()
    not_found = page.get_by_role("status")
    expect(not_found).to_have_text(
        "No contact 'nobody@example.com' in Iterable project 'Employer - US'.", use_inner_text=True
    )
    # Counted on the answer's page (the status above): the page before it showed an alert.
    expect(page.get_by_role("alert")).to_have_count(0)  # not finding someone is an answer, not an error


@pytest.mark.parametrize("width", [1440, 390])
def test_reach_says_why_and_the_lookup_can_be_shared(page, live_server, log_in, marketer, user_in_role, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in("mia", "/contacts/")
    page.get_by_label("Email").fill("qa.student.push@example.com")
    page.get_by_label("Project").select_option(label="Student - US")
    page.get_by_role("button", name="Look up").click()
    push = page.get_by_role("row", name="Push: new message")
    expect(push).to_contain_text("No", use_inner_text=True)
    expect(push).to_contain_text("No device is registered for push", use_inner_text=True)
    share = page.get_by_test_id("share-lookup").get_by_role("link")
    link = share.get_attribute("href")
    assert "/contacts/lookups/" in link and "qa.student" not in link
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # A colleague opens the link: the lookup runs again for them.
    user_in_role("engineering", username="eli")
    page.context.clear_cookies()
    log_in("eli", link.removeprefix(live_server.url))
    expect(page.get_by_role("status").first).to_contain_text(
        "A shared lookup, run again just now.", use_inner_text=True
    )
    expect(page.get_by_label("Email")).to_have_value("qa.student.push@example.com")
    expect(page.get_by_role("row", name="Push: new message")).to_contain_text(
        "No device is registered for push", use_inner_text=True
    )
