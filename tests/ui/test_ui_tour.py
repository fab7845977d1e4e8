"""A tour of the dashboard tried as a marketer would, in real Chromium at a desktop's 1440 px and a phone's 390 px:
find a notification, see whether it is safe, test-send it and see the message, check a contact, run a resync and
read its result, see what changed this week. None of it needs knowing Iterable's API: at every step the page fits
the screen and shows no raw API or storage name (the checks of tests/ui/test_ui_screenshots.py, imported)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from test_ui_screenshots import PAGE_FACTS, RAW_NAMES
from testkit.browser import submit_login

from catalog.audit.models import AuditEvent
from catalog.models import MessageType, Notification, ProofRecipient
from catalog.resync.services.ingest import preference_upsert
from catalog.resync.services.rules import resync_settings_update
from catalog.sync.services.runs import catalog_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DIGEST = "student_activity_weekly_digest"  # "Weekly activity digest", found by the word "digest"
CONTACT = "qa.student@example.com"  # a demo contact, and the marketer's approved test recipient


@pytest.fixture
def tour(demo, user_in_role):
    """The demo catalog, synced with Iterable so the guard's verdict is current; a marketer (mia) whose test
    recipient is a demo contact; an engineer (erin) for the resync; the resync's source of truth for that contact:
    on the student newsletter, off the digest's message type."""
    admin = user_in_role("admin", username="ada")
    mia = user_in_role("marketing", username="mia")
    user_in_role("engineering", username="erin")
    catalog_sync(actor=admin)
    ProofRecipient.objects.create(project=demo.student, owner=mia, email=CONTACT)
    digest_type = Notification.objects.get(key=DIGEST).message_type
    resync_settings_update(
        project=demo.student,
        actor="tests",
        scope={"emailListIds": [7001, 7002], "unsubscribedMessageTypeIds": [digest_type.iterable_id]},
        rate_per_second=0,
    )
    preference_upsert(
        project=demo.student,
        actor="tests",
        rows=[
            {
                "email": CONTACT,
                "email_list_ids": [7001],
                "unsubscribed_message_type_ids": [digest_type.iterable_id],
            }
        ],
    )
    # All of that happened last week, so this week's activity is the tour's own.
    AuditEvent.objects.update(created_at=timezone.now() - timedelta(days=8))
    demo.digest_type = MessageType.objects.select_related("channel").get(pk=digest_type.pk)
    return demo


def looks_right(page) -> None:
    """What a person sees at a glance: the page fits the screen, and no raw API or storage name is shown."""
    page.wait_for_load_state()
    facts = page.evaluate(PAGE_FACTS)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        f"{page.url} is {facts['scrollWidth']} px wide on a {facts['innerWidth']} px screen ({facts['past']})"
    )
    raw = sorted({m.group(0) for m in RAW_NAMES.finditer(facts["text"])} | set(facts["lone"]))
    assert not raw, f"{page.url} shows raw names: {raw}"


def open_menu_link(page, name: str) -> None:
    """Follow a link of the main menu, unfolding it first on a phone; return once its page has loaded."""
    toggle = page.get_by_role("button", name="Menu")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def log_in_as(page, live_server, username: str, next_path: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}{next_path}")
    submit_login(page, username)


@pytest.mark.parametrize("width", [1440, 390])
def test_a_marketers_tour_needs_no_knowledge_of_iterables_api(page, live_server, tour, width):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": width, "height": 900})
    log_in_as(page, live_server, "mia", "/")
    looks_right(page)

    # 1. From home, find the notification by a word of its name and open it.
    open_menu_link(page, "Notifications")
    looks_right(page)
    page.get_by_role("search", name="Search and filter notifications").get_by_label("Search").fill("digest")
    with page.expect_navigation():  # looks_right must look at the filtered list, not the one being left
        page.get_by_role("button", name="Apply").click()
    looks_right(page)
    # The row is named by the notification's name; its link is the key.
    page.get_by_role("row", name=re.compile("Weekly activity digest")).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Weekly activity digest")
    looks_right(page)

    # 2. Its page says in words whether it is safe: the guard's verdict, checked against Iterable by the sync.
    verdict = page.get_by_role("region", name="The guard's verdict")
    expect(verdict).to_contain_text("No violations or warnings, in the catalog or in Iterable")

    # 3. Test send: pick the approved recipient, preview the rendered message, send it, read the outcome.
    page.get_by_role("link", name="Test send", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Test send: Weekly activity digest")
    recipient = page.get_by_label("Recipient")
    contact_option = recipient.locator("option", has_text=re.compile(re.escape(CONTACT)))
    expect(contact_option).to_have_count(1)
    recipient.select_option(label=contact_option.inner_text())
    looks_right(page)
    page.get_by_role("button", name="Preview").click()
    subject = page.get_by_test_id("rendered-subject")
    expect(subject).not_to_be_empty()
    assert subject.inner_text() not in {"", "(none)"}
    body = page.frame_locator('[data-testid="rendered-frame"]').locator("body")
    expect(body).not_to_be_empty()
    # The email's words (over 20 characters once stripped), not an empty frame: waited for, as the frame loads
    # after the page.
    expect(body).to_have_text(re.compile(r"\S[\s\S]{19,}\S"), use_inner_text=True)
    looks_right(page)
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Test send #\d+"))
    expect(page.get_by_test_id("outcome")).to_contain_text("Sent")
    looks_right(page)

    # 4. Contact lookup: would each notification reach this contact, and why, in words.
    open_menu_link(page, "Contact lookup")
    page.get_by_label("Email").fill(CONTACT)
    page.get_by_label("Project").select_option(label="Student - US")
    page.get_by_role("button", name="Look up").click()
    digest_row = page.get_by_role("row", name=re.compile(r"^Weekly activity digest"))
    push_row = page.get_by_role("row", name=re.compile(r"^Push: new message"))
    expect(digest_row).to_contain_text("Yes")
    expect(digest_row).to_contain_text("opted in to it")
    expect(push_row).to_contain_text("No")
    expect(push_row).to_contain_text("No device is registered for push")
    looks_right(page)

    # 5. Resync. A marketer following a colleague's link to start one is told which role may, in words.
    response = page.goto(f"{live_server.url}{reverse('catalog:resync_start')}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You may not open this page")
    expect(page.locator("main")).to_contain_text(re.compile(r"needs the \w*engineering\w* role", re.I))
    expect(page.locator("main")).to_contain_text(re.compile(r"Your role is \w*marketing", re.I))
    looks_right(page)
    # Starting a resync is for engineering (or admin): the engineer takes this step.
    log_in_as(page, live_server, "erin", "/resync/")
    page.get_by_role("link", name="Start a resync").first.click()
    page.get_by_label("Project").select_option(label="Student - US")
    page.get_by_label("A pasted list of addresses").check()
    page.get_by_label("Addresses", exact=True).fill(CONTACT)
    expect(page.get_by_label("Dry run first")).to_be_checked()
    looks_right(page)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Dry run #\d+"))
    expect(page.locator("#run-status")).to_have_text("Done")
    expect(page.get_by_role("heading", name="What applying would change")).to_be_visible()
    changes = page.locator("#run-changes")
    expect(changes).to_contain_text("1 contact would change.")
    # What would change, by name: the message type on its channel, the list.
    type_row = changes.get_by_role("row", name=re.compile(r"^Unsubscribes from"))
    expect(type_row).to_contain_text(tour.digest_type.name)
    expect(type_row).to_contain_text(tour.digest_type.channel.name)
    expect(changes.get_by_role("row", name=re.compile(r"^Joins list"))).to_contain_text("Student newsletter")
    expect(changes).not_to_contain_text(str(tour.digest_type.iterable_id))
    looks_right(page)
    page.get_by_role("link", name="Apply this dry run…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Apply dry run")
    looks_right(page)
    page.get_by_role("button", name="Yes, write these changes to Iterable").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Resync #\d+"))
    expect(page.locator("#run-status")).to_have_text("Done", timeout=15_000)
    expect(page.get_by_role("heading", name="What this resync changed")).to_be_visible()
    changes = page.locator("#run-changes")
    expect(changes.get_by_role("row", name=re.compile(r"^Unsubscribes from"))).to_contain_text(tour.digest_type.name)
    expect(changes.get_by_role("row", name=re.compile(r"^Joins list"))).to_contain_text("Student newsletter")
    expect(page.get_by_role("cell", name="No failures.")).to_be_visible()
    looks_right(page)

    # 6. Activity, back as the marketer: this week's events include the test send and the resync, in words.
    log_in_as(page, live_server, "mia", "/")
    open_menu_link(page, "Activity")
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    page.get_by_label("From").fill(monday.isoformat())
    with page.expect_navigation():  # the rows below are also on the unfiltered page being left
        page.get_by_role("button", name="Apply").click()
    activity = page.locator(".activity")
    sent = activity.get_by_role("row").filter(has_text="Test send").filter(has_text=CONTACT)
    expect(sent).to_contain_text("mia")
    expect(sent).to_contain_text("Sent (accepted by Iterable)")
    expect(activity.get_by_role("row").filter(has_text="Started a dry run")).to_contain_text("Student - US")
    expect(activity.get_by_role("row").filter(has_text="Started a resync")).to_contain_text("erin")
    expect(activity).not_to_contain_text("Imported preferences")  # last week's
    looks_right(page)
    assert errors == []
