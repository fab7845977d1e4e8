"""Every HTML page, as an admin over the demo catalog, at 1440x900 and 390x844: a full-page screenshot of each, and
three checks a person would make at a glance.

- The page is not wider than the screen (no sideways scrolling of the whole page).
- No raw API or storage names in the visible text (`subscribedMessageTypeIds`, `in_sync`, `message_type_id`, a
  lone `None` or `null`). Text inside <code>, <pre> and <kbd> is shown as code on purpose and is not read.
- No <textarea> holding JSON for people to type.

Screenshots go to $SCREENSHOTS_DIR (a new temporary folder otherwise; its path is printed):

    SCREENSHOTS_DIR=./screenshots .venv/bin/python -m pytest -n 0 -p no:cacheprovider -s tests/ui/test_ui_screenshots.py

Pages other people are still fixing are listed in KNOWN_OFFENDERS with the reason. The test fails for a new
offender, and also for a listed one that no longer offends, so the list only shrinks.
"""

import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from testkit.browser import submit_login
from testkit.routes import HTML_UNDER_API, routes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTHS = {"wide": (1440, 900), "phone": (390, 844)}

# Routes that are not pages to look at: POST-only actions, logging out, the password reset that is off without
# mail, the JSON schema.
NOT_PAGES = {"logout", "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete",
             "api:schema", "health"}  # fmt: skip
ERROR_PAGE = "not found"  # what a mistyped address shows
# Pages whose text is about the API's own names by design.
NAMES_BY_DESIGN = {
    "api:docs": "documents the API: its field names are the point",
}

# (path, check) → why it fails today. Remove a line when its page is fixed (the test says when).
KNOWN_OFFENDERS: dict[tuple[str, str], str] = {}

RAW_NAMES = re.compile(
    r"\b(?:subscribedMessageTypeIds|unsubscribedChannelIds|unsubscribedMessageTypeIds|emailListIds|messageTypeId|"
    r"templateId|campaignId|channelId|dataFields|in_sync|out_of_sync|[a-z]+(?:_[a-z]+)*_ids?)\b"
    r"|(?:→|:)\s*(?:None|null)\b"
)

PAGE_FACTS = """() => {
  const skip = "code, pre, kbd, script, style, template, [hidden]";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  const lone = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || el.closest(skip) || !el.getClientRects().length) continue;
    const text = node.textContent.trim();
    if (!text) continue;
    parts.push(text);
    // A value printed as "None" alone in its cell is Python's None; a choice labelled "None" is a word.
    const alone = el.textContent.trim() === text && !el.closest("option, label");
    if (["None", "null", "undefined", "NaN"].includes(text) && alone) {
      lone.push(text);
    }
  }
  const json = [];
  for (const area of document.querySelectorAll("textarea")) {
    const value = area.value.trim();
    if (!/^[\\[{]/.test(value)) continue;
    try { JSON.parse(value); json.push(area.name || area.id); } catch (e) { /* not JSON */ }
  }
  // The innermost elements reaching past the screen's right edge, to say what to fix.
  const past = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.getBoundingClientRect().right <= window.innerWidth + 0.5) continue;
    if ([...el.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 0.5)) continue;
    const classes = typeof el.className === "string" ? el.className.trim().split(/ +/).filter(Boolean) : [];
    past.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes.map((c) => "." + c).join(""));
    if (past.length >= 3) break;
  }
  return {
    past: past,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    text: parts.join("\\n"),
    lone: lone,
    json: json,
  };
}"""


def _pages(real: dict[str, str]) -> list[tuple[str, str]]:
    """(path, name) of every page for people, with the routes' sample values, or a real object's path."""
    found = []
    for path, name in routes():
        if name in NOT_PAGES:
            continue
        if path.startswith("/api/") and name not in HTML_UNDER_API:
            continue  # JSON for scripts
        found.append((real.get(name, path), name))
    return [*found, ("/no/such/page/", ERROR_PAGE)]


def _real_objects(demo, admin) -> dict[str, str]:
    """A sync of both demo projects and a test send, so their pages are shown with something in them (the routes'
    sample id 1 names nothing there)."""
    from django.urls import reverse

    from catalog.models import Notification, ProofRecipient
    from catalog.sends.services.dispatch import proof_send
    from catalog.sync.services.runs import catalog_sync

    run = catalog_sync(actor=admin)[0]
    recipient = ProofRecipient.objects.create(project=demo.student, owner=admin, email="qa.student@example.com")
    digest = Notification.objects.get(key="student_activity_weekly_digest")
    attempt = proof_send(actor=admin, notification=digest, recipient=recipient)
    return {
        "catalog:sync_run_detail": reverse("catalog:sync_run_detail", args=[run.pk]),
        "catalog:proof_send_detail": reverse("catalog:proof_send_detail", args=[attempt.pk]),
    }


def _problems(facts: dict, name: str) -> dict[str, str]:
    problems = {}
    if facts["scrollWidth"] > facts["innerWidth"]:
        where = ", ".join(facts["past"])
        problems["overflow"] = f"{facts['scrollWidth']} px wide on a {facts['innerWidth']} px screen ({where})"
    if name not in NAMES_BY_DESIGN:
        raw = sorted({m.group(0) for m in RAW_NAMES.finditer(facts["text"])} | set(facts["lone"]))
        if raw:
            problems["raw names"] = ", ".join(raw[:8])
    if facts["json"]:
        problems["json textarea"] = ", ".join(facts["json"])
    return problems


@pytest.fixture
def screenshots_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="screenshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_every_page_at_every_width(browser, live_server, demo, user_in_role, screenshots_dir, settings):
    settings.ITERABLE_EMULATOR_URL = demo.emulator.us_url  # the demo's frame, hints included
    real = _real_objects(demo, user_in_role("admin", username="ada"))
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    submit_login(page, "ada")

    found: dict[tuple[str, str], str] = {}
    skipped, errors, shot = [], [], 0
    try:
        for width_name, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            for path, name in _pages(real):
                try:
                    response = page.goto(f"{live_server.url}{path}")
                    status = response.status if response else 0
                except PlaywrightError:  # a download, or an error without a body: Chromium shows no page
                    response = context.request.get(f"{live_server.url}{path}")
                    status = response.status
                expected = 404 if name == ERROR_PAGE else 200
                if status in {404, 405} and status != expected:
                    skipped.append(f"{path} ({status})")
                    continue
                if status != expected:
                    errors.append(f"{path} ({name}): {status}")
                    continue
                if "text/html" not in (response.headers.get("content-type", "") if response else ""):
                    skipped.append(f"{path} (a download)")
                    continue
                slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
                page.screenshot(path=str(screenshots_dir / f"{slug}.{width_name}.png"), full_page=True)
                shot += 1
                for check, detail in _problems(page.evaluate(PAGE_FACTS), name).items():
                    found[(path, check)] = "; ".join(
                        filter(None, [found.get((path, check)), f"{width_name}: {detail}"])
                    )
    finally:
        context.close()
    print(f"\n{shot} screenshots in {screenshots_dir}; not pages for these sample values: {', '.join(skipped)}")

    assert not errors, "pages that answer neither 200 nor 404/405:\n" + "\n".join(errors)
    new = {key: why for key, why in found.items() if key not in KNOWN_OFFENDERS}
    fixed = sorted(key for key in KNOWN_OFFENDERS if key not in found)
    listing = "".join(f"\n    {key!r}: {why!r}," for key, why in sorted(new.items()))
    assert not new, f"pages that now offend (fix them, or list them in KNOWN_OFFENDERS with the reason):{listing}"
    assert not fixed, "fixed: remove these from KNOWN_OFFENDERS:" + "".join(f"\n    {key!r}" for key in fixed)
