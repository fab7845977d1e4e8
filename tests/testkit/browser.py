"""Browser tests: real Chromium (Debian's package) driven by Playwright against pytest-django's live_server.

Without Chromium these tests cannot run; that is said loudly at the end of the run, and under CI=true the
run fails instead of passing with the browser tests quietly skipped.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "a long test password"


def chromium_missing_reason() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    reason = chromium_missing_reason()
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=f"BROWSER TEST NOT RUN: {reason}"))


# The loud report and CI's failure for tests not run live in tests/conftest.py, which reports for every
# pytest-xdist worker.


@pytest.fixture(scope="session")
def browser(django_db_setup):
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Django's connections are context-local and Playwright's sync API switches context (greenlets), so the
    # connection objects seen after it starts are new ones without the serialized test database that
    # serialized_rollback restores between tests. Hand the snapshot over.
    snapshots = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run beside one unless
    # told. Set when the browser starts, so a run without browser tests keeps Django's protection.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        for alias, snapshot in snapshots.items():
            connections[alias]._test_serialized_contents = snapshot
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def submit_login(page, username: str) -> None:
    """Fill the login form on the page and submit it, returning once the page it leads to has loaded.

    A click returns before the browser has left the login page, and wait_for_load_state() then answers for the
    login page itself: waiting for the navigation the click starts is what makes the next read see the new page."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


@pytest.fixture
def log_in(page, live_server):
    """Log in through the login form, as a real user would."""

    def do(username: str, next_path: str = "/"):
        page.goto(f"{live_server.url}{next_path}")
        submit_login(page, username)

    return do
