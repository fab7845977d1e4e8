"""Home with alerts and sends from outside the catalog, and contact lookup with what Iterable reported, in real
Chromium at 390 px: nothing scrolls sideways, the acknowledge button works, and no Iterable event name or skip
code is on screen."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.health.models import AlertKind, HealthAlert, HealthDaily, HealthEvent
from catalog.iterable import clear_client_cache
from tests.health.conftest import KEY, PROJECT_ID

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RAW = ["emailSend", "emailSendSkip", "emailUnSubscribe", "MessageTypeNotOptedIn", "unknown-campaign", "forbidden-type"]


def test_home_and_contact_lookup_fit_390px_in_peoples_words(
    page, live_server, log_in, small_catalog, user_in_role, health_emulator, monkeypatch
):
    health_emulator.reset()
    monkeypatch.setenv("ITERABLE_API_KEY_TEST", KEY)
    small_catalog.project.api_base_url = health_emulator.us_url
    small_catalog.project.iterable_project_id = PROJECT_ID
    small_catalog.project.save()
    clear_client_cache()
    digest, now = small_catalog.digest, timezone.now()
    HealthAlert.objects.create(
        project=digest.project, notification=digest, kind=AlertKind.FORBIDDEN_TYPE, dedupe_key="a",
        message="Iterable sent 3 message(s) on message type 'Marketing Message'. " + "A long sentence. " * 20,
        first_seen_at=now, last_seen_at=now,
    )  # fmt: skip
    HealthDaily.objects.create(
        project=digest.project, bucket="c:987654321", campaign_id=987654321, day=timezone.localdate(), kind="send",
        count=12, webhook_count=12, last_at=now,
    )  # fmt: skip
    for n, (name, kind, reason) in enumerate(
        [("emailSend", "send", ""), ("emailSendSkip", "skip", "MessageTypeNotOptedIn"),
         ("emailUnSubscribe", "unsubscribe", "")]
    ):  # fmt: skip
        HealthEvent.objects.create(
            project=digest.project, event_key=f"k{n}", event_name=name, kind=kind, medium="Email",
            email="person1@example.com", campaign_id=401, template_id=501, reason=reason,
            occurred_at=now - timedelta(minutes=n), received_at=now, day=timezone.localdate(),
        )  # fmt: skip
    user_in_role("marketing", username="mia")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in("mia", "/")
    page.wait_for_load_state("load")
    expect(page.locator('[data-testid="health-alert"]')).to_have_count(1)
    expect(page.locator("#health-orphan-sends")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    text = page.inner_text("body")
    assert "Sent on a forbidden message type" in text and not any(raw in text for raw in RAW)
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("load")
    expect(page.locator("body")).to_contain_text("Alert acknowledged.", use_inner_text=True)
    assert HealthAlert.objects.get().acknowledged_label

    page.goto(f"{live_server.url}/contacts/")
    page.fill("input[name=email]", "person1@example.com")
    page.locator("form button[type=submit]").last.click()
    body = page.locator("body")
    for words in ["Skipped", "not opted in to this message type", "Unsubscribed"]:
        expect(body).to_contain_text(words, use_inner_text=True)
    # The lookup's answer is the page shown now: wait for all of it before reading what it must not say.
    page.wait_for_load_state("load")
    text = page.inner_text("body")
    assert not any(raw in text for raw in RAW)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    clear_client_cache()
