"""A whole test send in real Chromium: add a test recipient, open the notification, preview, send, see it recorded."""

import json

import pytest
from playwright.sync_api import expect

from catalog.models import ProofSend

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def marketer(demo, user_in_role):
    user_in_role("marketing", username="mia")
    return demo


def test_a_whole_test_send(page, live_server, log_in, marketer):
    log_in("mia", "/")
    page.get_by_role("link", name="Test sends").click()
    page.get_by_role("link", name="Test recipients").first.click()
    page.get_by_label("Project").select_option(label="Student - US")
    page.get_by_label("Email").fill("qa.student@example.com")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Added test recipient qa.student@example.com.", use_inner_text=True
    )

    page.goto(f"{live_server.url}/notifications/student_free_onboarding_welcome/")
    page.get_by_role("link", name="Test send", exact=True).click()
    # A custom event starts the real journey: it is not the default, and it needs a confirmation.
    expect(page.get_by_label("How")).to_have_value("template_proof")
    page.get_by_label("How").select_option("event")
    expect(page.get_by_label("firstName")).to_have_value("John")
    page.get_by_label("firstName").fill("")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        "Required by the 'SaaS Free Registration' event schema.", use_inner_text=True
    )

    page.get_by_label("firstName").fill("Mia")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("status")).to_contain_text("allow this test send", use_inner_text=True)
    # Read once the status says the preview's page is the one shown.
    previewed = json.loads(page.get_by_test_id("preview-body").text_content())
    assert previewed["eventName"] == "SaaS Free Registration" and previewed["dataFields"]["firstName"] == "Mia"
    assert marketer.emulator.requests(path="/api/events/track") == []

    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("alert").first).to_contain_text("starts the journey", use_inner_text=True)
    assert marketer.emulator.requests(path="/api/events/track") == []
    page.get_by_label("Yes, send the real event").check()

    # The same form submitted twice behind the page's back (a double click, a retrying proxy), then for real.
    statuses = page.evaluate(
        """async () => {
            const data = new FormData(document.querySelector("form.stacked"));
            data.set("action", "send");
            const codes = [];
            for (let i = 0; i < 2; i++) codes.push((await fetch(location.href, {method: "POST", body: data})).status);
            return codes;
        }"""
    )
    assert statuses == [200, 200]  # both followed their redirect to the one attempt
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status").first).to_contain_text("already submitted", use_inner_text=True)
    expect(page.get_by_test_id("outcome")).to_contain_text("Sent (accepted by Iterable)", use_inner_text=True)
    recorded = [r for r in marketer.emulator.requests(path="/api/events/track") if r["method"] == "POST"]
    assert [r["body"] for r in recorded] == [previewed]
    assert ProofSend.objects.count() == 1

    page.get_by_role("link", name="The notification").click()
    expect(page.get_by_test_id("last-test-send")).to_contain_text("to qa.student@example.com", use_inner_text=True)
