"""Contact lookup in real Chromium: a lookup that explains, and an error that is a sentence, not a 500."""

import pytest

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
    assert "Yes" in digest.inner_text()
    assert "opted in to it" in digest.inner_text()
    assert page.get_by_role("heading", name="Subscriptions").is_visible()
    assert "/contacts/" in page.url and "qa.student" not in page.url


def test_lookup_errors_are_sentences(page, live_server, log_in, marketer):
    log_in("mia", "/contacts/")
    page.get_by_label("Email").fill("foo@")
    page.get_by_role("button", name="Look up").click()
    assert page.get_by_role("alert").first.inner_text() == "'foo@' is not a valid email address."

    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Project").select_option(label="Employer - US")
    page.get_by_role("button", name="Look up").click()
    not_found = page.get_by_role("status")
    assert not_found.inner_text() == "No contact 'nobody@example.com' in Iterable project 'Employer - US'."
    assert page.get_by_role("alert").count() == 0  # not finding someone is an answer, not an error


@pytest.mark.parametrize("width", [1440, 390])
def test_reach_says_why_and_the_lookup_can_be_shared(page, live_server, log_in, marketer, user_in_role, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in("mia", "/contacts/")
    page.get_by_label("Email").fill("qa.student.push@example.com")
    page.get_by_label("Project").select_option(label="Student - US")
    page.get_by_role("button", name="Look up").click()
    push = page.get_by_role("row", name="Push: new message")
    assert "No" in push.inner_text() and "No device is registered for push" in push.inner_text()
    share = page.get_by_test_id("share-lookup").get_by_role("link")
    link = share.get_attribute("href")
    assert "/contacts/lookups/" in link and "qa.student" not in link
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # A colleague opens the link: the lookup runs again for them.
    user_in_role("engineering", username="eli")
    page.context.clear_cookies()
    log_in("eli", link.removeprefix(live_server.url))
    assert "A shared lookup, run again just now." in page.get_by_role("status").first.inner_text()
    assert page.get_by_label("Email").input_value() == "qa.student.push@example.com"
    assert "No device is registered for push" in page.get_by_role("row", name="Push: new message").inner_text()
