"""The rendered test-send preview in real Chromium, wide and phone-sized: the subject with the recipient's data
merged, the email's body inside its sandboxed frame (its script does not run), typed data inputs, and no
sideways scrolling."""

import pytest

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
    assert page.locator('input[name^="extra_name_"][value="firstName"]').count() == 1
    page.locator(f'input[name="extra_value_{row}"]').fill("12")
    page.get_by_role("button", name="Preview").click()

    assert page.get_by_test_id("rendered-subject").inner_text() == "Your week, QA"
    assert "nickname is empty for this recipient" in page.get_by_test_id("missing-fields").inner_text()
    frame = page.frame_locator('[data-testid="rendered-frame"]')
    assert frame.locator("h1").inner_text() == "Hello QA"
    assert "12 new jobs for you." in frame.locator("body").inner_text()
    assert "script ran" not in frame.locator("body").inner_text()
    assert page.get_by_test_id("rendered-frame").get_attribute("sandbox") == ""
    box = page.get_by_test_id("rendered-frame").bounding_box()
    assert box is not None and box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert marketer.emulator.requests(path="/api/email/target") == []


def test_event_fields_are_typed_inputs_on_a_phone(page, live_server, log_in, marketer):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in("mia", "/notifications/student_free_onboarding_welcome/test-send/")
    assert page.get_by_label("companyNamespace").get_attribute("type") == "checkbox"
    assert page.get_by_label("companyNamespace").is_checked()
    assert page.get_by_label("latest_trial_start_date").get_attribute("type") == "date"
    assert page.get_by_label("latest_trial_start_date").input_value() == "2023-06-11"
    assert page.locator("textarea").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
