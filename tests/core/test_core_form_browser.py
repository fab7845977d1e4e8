"""The notification form in real Chromium, on a laptop and a phone: tags as chips, pickers that search and follow
the project, a forbidden message type that cannot be chosen, and nothing wider than the screen."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Channel, IterableProject, MessageType, Notification, Template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTHS = [1440, 390]


@pytest.fixture
def catalog(small_catalog, user_in_role):
    """small_catalog, a second project whose objects carry the same names, and a push template."""
    user_in_role("engineering", username="erin")
    twin = IterableProject.objects.create(name="Twin", data_center="EU", api_key_env="ITERABLE_API_KEY_TWIN")
    channel = Channel.objects.create(
        project=twin, iterable_id=1, name="Twin Channel", channel_type="Marketing", medium="Email"
    )
    twin_type = MessageType.objects.create(project=twin, iterable_id=11, name="Twin Type", channel=channel)
    Template.objects.create(project=twin, iterable_id=601, name="Twin Digest", medium="Email", message_type=twin_type)
    Template.objects.create(
        project=small_catalog.project, iterable_id=503, name="Push nudge", medium="Push",
        message_type=small_catalog.opt_in,
    )  # fmt: skip
    return small_catalog


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def chips(page) -> list[str]:
    return page.locator("#field-tags .tag-chip input[type=hidden]").evaluate_all("hs => hs.map(h => h.value)")


def visible_options(page, field: str) -> list[str]:
    return [
        text.split("\n")[0].strip()
        for text in page.locator(f"#field-{field} .picker-option:visible .picker-label").all_inner_texts()
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_new_notification_with_chips_and_pickers(page, live_server, log_in, catalog, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in("erin", "/notifications/new/")
    assert fits(page)

    # Tags: Enter or a comma makes a chip, the cross removes it.
    tags = page.locator("#field-tags .tag-entry")
    tags.fill("digest")
    tags.press("Enter")
    tags.type("weekly,")
    tags.type("students")
    assert chips(page) == ["digest", "weekly"]  # "students" is still being typed
    page.get_by_role("button", name="Remove digest").click()
    assert chips(page) == ["weekly", "students"]  # what was typed became a chip when the focus left

    # Before a project is chosen every project's objects are offered, told apart by their project.
    assert "Twin Type" in visible_options(page, "message_type")
    page.locator("#id_project").select_option(label="Test project")
    page.locator("#field-message_type .picker-option", has_text="Twin Type").wait_for(state="detached")
    page.locator("#id_medium").select_option("Email")
    page.locator("#field-templates .picker-option", has_text="Push nudge").wait_for(state="detached")
    assert sorted(visible_options(page, "templates")) == ["Digest", "Old newsletter"]

    # The search box narrows a picker.
    page.get_by_role("searchbox", name="Search templates").fill("dig")
    assert visible_options(page, "templates") == ["Digest"]
    page.get_by_role("checkbox", name=re.compile("^Digest")).check()
    page.get_by_role("searchbox", name="Search templates").fill("")

    # The forbidden type is there, greyed out with the reason, and cannot be chosen.
    forbidden = page.locator("#field-message_type .picker-option", has_text="Marketing Message")
    assert forbidden.get_by_role("radio").is_disabled()
    assert forbidden.locator(".picker-reason").is_visible()
    page.get_by_role("radio", name=re.compile("^GitLab Marketing")).check()

    page.locator("#id_key").fill("new_digest")
    page.locator("#id_name").fill("New digest")
    page.locator("#id_audience").select_option("students")
    page.locator("#id_trigger_type").select_option("api_send")
    assert fits(page)
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status")).to_contain_text("Saved notification new_digest.", use_inner_text=True)
    saved = Notification.objects.get(key="new_digest")
    assert saved.tags == ["weekly", "students"]
    assert [t.name for t in saved.templates.all()] == ["Digest"]
    assert saved.message_type_id == catalog.opt_in.pk
    assert fits(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_editing_keeps_the_choices_and_removing_every_tag_clears_them(page, live_server, log_in, catalog, width):
    Notification.objects.filter(pk=catalog.digest.pk).update(tags=["digest", "students"])
    page.set_viewport_size({"width": width, "height": 900})
    log_in("erin", "/notifications/weekly_digest/edit/")
    assert fits(page)
    # Only the notification's project, and its medium.
    assert "Twin Digest" not in visible_options(page, "templates")
    assert "Push nudge" not in visible_options(page, "templates")
    assert page.get_by_role("checkbox", name=re.compile("^Digest")).is_checked()
    page.get_by_role("button", name="Remove digest").click()
    page.get_by_role("button", name="Remove students").click()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status")).to_contain_text("Saved notification weekly_digest.", use_inner_text=True)
    digest = Notification.objects.get(pk=catalog.digest.pk)
    assert digest.tags == [] and [t.name for t in digest.templates.all()] == ["Digest"]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_journeys_trigger_events_are_chips(page, live_server, log_in, catalog, width):
    from catalog.models import CustomEvent, Journey

    CustomEvent.objects.create(project=catalog.project, name="SaaS Trials")
    page.set_viewport_size({"width": width, "height": 900})
    log_in("erin", "/journeys/new/")
    with page.expect_response(lambda response: "/journeys/new/?" in response.url):
        page.locator("#id_project").select_option(label="Test project")  # the project's event names come back
    page.wait_for_load_state("networkidle")
    page.locator("#id_iterable_id").fill("7100")
    page.locator("#id_name").fill("Trial nurture")
    entry = page.locator("#field-trigger_event_names .tag-entry")
    entry.fill("SaaS Trials")
    entry.press("Enter")
    entry.fill("Signed up")
    entry.press("Enter")
    page.get_by_role("button", name="Remove Signed up").click()
    assert page.locator("#field-trigger_event_names datalist option").evaluate_all("os => os.map(o => o.value)") == [
        "SaaS Trials"
    ]
    assert fits(page)
    page.get_by_role("button", name="Save").click()
    # Saved, the journey's page follows: read the database only once the server has answered.
    page.wait_for_url(re.compile(r"/journeys/\d+/$"))
    assert Journey.objects.get(iterable_id=7100).trigger_event_names == ["SaaS Trials"]
    assert fits(page)


def test_chips_typed_while_the_pickers_reload_are_kept(page, live_server, log_in, catalog):
    log_in("erin", "/journeys/new/")
    held = []
    page.route("**/journeys/new/?*", lambda route: held.append(route))  # the reload waits for the chip
    page.locator("#id_project").select_option(label="Test project")
    while not held:
        page.wait_for_timeout(50)
    entry = page.locator("#field-trigger_event_names .tag-entry")
    entry.fill("Signed up")
    entry.press("Enter")
    with page.expect_response(lambda response: "/journeys/new/?" in response.url):
        held[0].continue_()
    page.wait_for_load_state("networkidle")
    assert chips_of(page, "trigger_event_names") == ["Signed up"]


def chips_of(page, field: str) -> list[str]:
    return page.locator(f"#field-{field} .tag-chip input[type=hidden]").evaluate_all("hs => hs.map(h => h.value)")
