"""A custom-event test send says what it starts (journey, campaigns, how many messages) and needs an explicit
confirmation; the default test of such a notification is a template proof, which starts nothing."""

import os

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import IterableMirror, Notification, ProofRecipient, ProofSend
from catalog.sends.services.data import proof_event_impact, proof_mode_default
from catalog.sends.services.dispatch import proof_send
from catalog.sync.services.runs import catalog_sync_project

KEY = "student_free_onboarding_welcome"


@pytest.fixture
def marketer(demo, user_in_role):
    mia = user_in_role("marketing", username="mia")
    own = ProofRecipient.objects.create(project=demo.student, owner=mia, email="qa.student@example.com")
    welcome = Notification.objects.get(key=KEY)
    return demo, mia, own, welcome


def _tracked(emulator):
    return [r for r in emulator.requests(path="/api/events/track") if r["method"] == "POST"]


def test_the_impact_names_the_journey_its_campaigns_and_the_message_count(marketer):
    _demo, _mia, _own, welcome = marketer
    impact = proof_event_impact(welcome)
    assert welcome.journey.name in " ".join(impact.journeys)
    assert not IterableMirror.objects.exists()  # no sync yet: counted from the catalog's notifications
    assert impact.messages == Notification.objects.filter(journey=welcome.journey).count() >= 1
    assert f"up to {impact.messages} message" in impact.sentence and welcome.event.name in impact.sentence
    assert proof_mode_default(welcome) == "template_proof"


def test_after_a_sync_the_campaigns_are_iterables(marketer):
    demo, _mia, _own, welcome = marketer
    journey_id = welcome.journey.iterable_id
    for n, name in enumerate(["Day 0: welcome", "Day 2: tips", "Day 7: invite"]):
        campaign_id = 990_001 + n
        demo.emulator.state.project_for_key(os.environ[welcome.project.api_key_env]).campaigns[campaign_id] = {
            "id": campaign_id, "name": name, "workflowId": journey_id, "messageMedium": "Email",
            "campaignState": "Running", "type": "Triggered",
        }  # fmt: skip
    assert catalog_sync_project(project=demo.student, actor="test").status == "succeeded"
    in_journey = IterableMirror.objects.filter(kind="campaign", iterable_workflow_id=welcome.journey.iterable_id)
    impact = proof_event_impact(welcome)
    assert impact.source.startswith("Iterable")
    assert impact.campaigns == [f"{m.name} (#{m.iterable_id})" for m in in_journey.order_by("iterable_id")]
    assert impact.messages == in_journey.count() >= 1


def test_an_event_is_not_sent_without_confirmation(marketer):
    demo, mia, own, welcome = marketer
    payload = welcome.event.example_payload()
    with pytest.raises(ValidationError) as refused:
        proof_send(actor=mia, notification=welcome, recipient=own, mode="event", data_fields=payload)
    [message] = refused.value.message_dict["confirm_event"]
    assert welcome.journey.name in message and "A template proof starts nothing" in message
    assert not ProofSend.objects.exists() and _tracked(demo.emulator) == []
    confirmed = proof_send(
        actor=mia, notification=welcome, recipient=own, mode="event", data_fields=payload, confirm_event=True
    )
    assert confirmed.mode == "event" and ProofSend.objects.count() == 1


def test_without_a_mode_the_api_sends_a_template_proof(marketer):
    demo, mia, _own, welcome = marketer
    api = APIClient()
    api.force_authenticate(mia)
    body = {"notification": KEY, "email": "qa.student@example.com", "data_fields": welcome.event.example_payload()}
    preview = api.post("/api/test-sends/preview/", {**body, "mode": "event"}, format="json").json()
    assert preview["starts"]["messages"] >= 1 and welcome.journey.name in preview["starts"]["summary"]
    refused = api.post("/api/test-sends/", {**body, "mode": "event"}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "confirm_event"
    sent = api.post("/api/test-sends/", body, format="json").json()
    assert sent["mode"] == "template_proof" and sent["endpoint"] == "POST /api/templates/email/proof"
    assert _tracked(demo.emulator) == []


def test_the_page_defaults_to_a_proof_and_explains_the_event(client, marketer):
    _demo, mia, _own, welcome = marketer
    client.force_login(mia)
    page = client.get(reverse("catalog:proof_send", args=[KEY])).content.decode()
    assert '<option value="template_proof" selected>' in page
    assert "starts the journey" in page and welcome.journey.name in page
