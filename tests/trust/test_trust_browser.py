"""Consent for test recipients in real Chromium, on a phone-sized screen: a marketer adds a customer's
address, which waits; an admin approves it from the test-recipients page."""

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from catalog.models import ProofRecipient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CUSTOMER = "student.0007@example.com"


@override_settings(TEST_RECIPIENT_DOMAINS=["staff.example.org"])
def test_a_customer_waits_for_a_second_person(page, live_server, log_in, demo, user_in_role):
    user_in_role("marketing", username="mia")
    user_in_role("admin", username="ada")
    page.set_viewport_size({"width": 390, "height": 844})

    log_in("mia", "/test-recipients/")
    page.get_by_label("Project").select_option(label="Student - US")
    page.get_by_label("Email").fill(CUSTOMER)
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("status")).to_contain_text("waiting for an admin's approval", use_inner_text=True)
    expect(page.get_by_test_id("recipient-status")).to_have_text("Waiting for approval", use_inner_text=True)
    expect(page.get_by_role("button", name=f"Approve {CUSTOMER}")).to_have_count(0)
    page.wait_for_load_state("load")  # the style sheet applied before measuring
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391).slice(0, 8)"
        ".map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)} "
        "${getComputedStyle(e.parentElement).overflowX} ${e.parentElement.className}`)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide

    page.context.clear_cookies()
    log_in("ada", "/test-recipients/")
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name=f"Approve {CUSTOMER}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Approved test recipient {CUSTOMER}.", use_inner_text=True)
    assert ProofRecipient.objects.get(email=CUSTOMER).approved_by.username == "ada"
