"""The rendered test-send preview in real Chromium, wide and phone-sized: the subject with the recipient's data
merged, the email's body inside its sandboxed frame (its script does not run), typed data inputs, and no
sideways scrolling."""

import pytest
from playwright.sync_api import expect

from catalog.models import ProofRecipient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

STUDENT = 2158


@pytest.fixture
def marketer(demo, user_in_role):
    mia = user_in_role("marketing", username="mia")
    ProofRecipient.objects.create(project=demo.student, owner=mia, email="qa.student@example.com")
    from catalog.iterable import client_for_project

    template_id = client_for_project(demo.student).get_campaign(410001)["templateId"]
    with demo.emulator.state.lock:
        demo.emulator.state.projects[STUDENT].templates[template_id].update(
            subject="Your week, {{firstName}}",
            html=(
                '<html><body><h1 style="color:#333">Hello {{firstName}}</h1><p>{{jobs}} new jobs for you.</p>'
                "<p>{{nickname}}</p><script>document.body.innerHTML = 'script ran'</script></body></html>"
            ),
        )
    return demo


@pytest.mark.parametrize("width", [1440, 390])
def test_preview_shows_the_rendered_email_in_its_frame(page, live_server, log_in, marketer, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in("mia", "/notifications/student_activity_weekly_digest/test-send/")
    # The template's merge fields are offered by name; the profile fills those left empty.
    jobs = page.locator('input[name^="extra_name_"][value="jobs"]')
    row = jobs.get_attribute("name").removeprefix("extra_name_")
    expect(page.locator('input[name^="extra_name_"][value="firstName"]')).to_have_count(1)
    page.locator(f'input[name="extra_value_{row}"]').fill("12")
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_test_id("rendered-subject")).to_have_text("Your week, QA", use_inner_text=True)
    expect(page.get_by_test_id("missing-fields")).to_contain_text(
        "nickname is empty for this recipient", use_inner_text=True
    )
    frame = page.frame_locator('[data-testid="rendered-frame"]')
    expect(frame.locator("h1")).to_have_text("Hello QA", use_inner_text=True)
    expect(frame.locator("body")).to_contain_text("12 new jobs for you.", use_inner_text=True)
    # The script, last in the body, is parsed (had it run, it would have replaced the body, itself included):
    # only from then on does the absence of its words say it did not run.
    expect(frame.locator("script")).to_have_count(1)
    assert "script ran" not in frame.locator("body").inner_text()
    expect(page.get_by_test_id("rendered-frame")).to_have_attribute("sandbox", "")
    box = page.get_by_test_id("rendered-frame").bounding_box()
    assert box is not None and box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert marketer.emulator.requests(path="/api/email/target") == []


def test_event_fields_are_typed_inputs_on_a_phone(page, live_server, log_in, marketer):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in("mia", "/notifications/student_free_onboarding_welcome/test-send/")
    expect(page.get_by_label("companyNamespace")).to_have_attribute("type", "checkbox")
    expect(page.get_by_label("companyNamespace")).to_be_checked()
    expect(page.get_by_label("latest_trial_start_date")).to_have_attribute("type", "date")
    expect(page.get_by_label("latest_trial_start_date")).to_have_value("2023-06-11")
    expect(page.locator("textarea")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
