"""The main menu in real Chromium: open on a laptop, folded behind a keyboard-operable "Menu" button on a phone."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def admin(small_catalog, user_in_role):
    return user_in_role("admin", username="ada")


def test_on_a_phone_the_menu_folds_behind_a_button(page, live_server, log_in, admin):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in("ada", "/")
    toggle = page.get_by_role("button", name="Menu")
    channels = page.get_by_role("link", name="Channels")
    expect(toggle).to_be_visible()  # nav.js shows it
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(channels).to_be_hidden()
    # The first screen is the page, not the menu.
    assert page.get_by_role("heading", level=1).bounding_box()["y"] < 200

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(channels).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    channels.click()
    page.wait_for_url("**/channels/")
    toggle = page.get_by_role("button", name="Menu")
    assert toggle.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")  # the menu button
    page.keyboard.press("Space")
    current = page.locator('#site-nav a[aria-current="page"]')
    expect(current).to_have_text("Channels", use_inner_text=True)
    expect(current).to_be_visible()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Channels")).to_be_hidden()
    expect(page.locator(".nav-toggle")).to_be_focused()


def test_on_a_laptop_every_group_is_in_view(page, live_server, log_in, admin):
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in("ada", "/notifications/")
    assert not page.get_by_role("button", name="Menu").is_visible()
    for name in ["Notifications", "Contact lookup", "Iterable sync", "Users & roles", "API tokens"]:
        assert page.get_by_role("link", name=name, exact=True).is_visible(), name
    current = page.locator('#site-nav a[aria-current="page"]')
    assert current.inner_text() == "Notifications"
    # The marker is visible, not only announced: bold and underlined in the accent colour.
    style = current.evaluate("a => [getComputedStyle(a).fontWeight, getComputedStyle(a).borderBottomStyle]")
    assert style == ["700", "solid"]


def test_a_wide_table_scrolls_inside_its_box_on_a_phone(page, live_server, log_in, admin):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in("ada", "/notifications/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    boxed = page.evaluate("[...document.querySelectorAll('main table')].every(t => t.closest('.table-scroll'))")
    assert boxed
