"""Before a test send, the guard reads what Iterable will render: the campaign's own template (API sends)
or the templates of the journey's campaigns (custom events), and refuses when any is forbidden or unreadable.
Iterable is changed underneath the catalog, as someone editing in Iterable's UI would."""

from catalog.models import ProofOutcome
from catalog.sends.services.checks import proof_preview
from catalog.sends.services.dispatch import proof_send

FORBIDDEN_TEMPLATE = 599001  # the demo's Iterable template on "Marketing Message"


def _iterable_project(sends):
    return sends.emulator.state.projects[sends.student.iterable_project_id]


def _point_campaign_at(sends, campaign_id: int, template_id: int) -> None:
    with sends.emulator.state.lock:
        _iterable_project(sends).campaigns[campaign_id]["templateId"] = template_id


def test_campaign_moved_in_iterable_onto_a_marketing_message_template_is_refused(sends):
    _point_campaign_at(sends, sends.transactional.campaign_id, FORBIDDEN_TEMPLATE)
    attempt = proof_send(actor=sends.mia, notification=sends.transactional, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD
    # "Marketing Message" is opt-out on the Marketing channel: both errors apply; either is the refusal.
    assert attempt.error_code in {"marketing-message-type", "optout-marketing"}
    assert "campaign '" in attempt.message and "Legacy newsletter" in attempt.message
    assert attempt.checks["campaigns"][0]["template_id"] == FORBIDDEN_TEMPLATE
    assert sends.emulator.requests(path="POST /api/email/target") == []


def test_campaign_template_on_an_opt_out_marketing_type_is_refused(sends):
    project = _iterable_project(sends)
    with sends.emulator.state.lock:
        template_id = project.campaigns[sends.digest.campaign_id]["templateId"]
        type_id = project.templates[template_id]["messageTypeId"]
        project.message_types[type_id]["subscriptionPolicy"] = "OptOut"
    attempt = proof_send(actor=sends.mia, notification=sends.digest, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD and attempt.error_code == "optout-marketing"


def test_campaign_whose_template_cannot_be_read_fails_closed(sends):
    _point_campaign_at(sends, sends.transactional.campaign_id, 987654321)
    preview = proof_preview(actor=sends.mia, notification=sends.transactional, recipient=sends.own)
    assert not preview.verdict.allowed
    assert preview.verdict.code == "live-check-failed"


def test_campaign_read_failure_fails_closed(sends):
    sends.emulator.configure(faults=[{"endpoint": "GET /api/campaigns/{id}", "kind": "error500", "count": 10}])
    attempt = proof_send(actor=sends.mia, notification=sends.transactional, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.REFUSED_GUARD and attempt.error_code == "live-check-failed"
    assert sends.emulator.requests(path="POST /api/email/target") == []


def test_a_good_campaign_is_judged_on_its_own_template(sends):
    attempt = proof_send(actor=sends.mia, notification=sends.transactional, recipient=sends.own)
    assert attempt.outcome == ProofOutcome.SENT, attempt.message
    [campaign] = attempt.checks["campaigns"]
    assert campaign["campaign_id"] == sends.transactional.campaign_id and campaign["message_type"] == "Transactional"


def test_journey_campaign_on_a_forbidden_template_refuses_the_event_send(sends):
    welcome = sends.welcome
    project = _iterable_project(sends)
    with sends.emulator.state.lock:
        project.campaigns[777001] = {
            "id": 777001,
            "name": "Welcome journey email",
            "type": "Triggered",
            "campaignState": "Running",
            "messageMedium": "Email",
            "templateId": FORBIDDEN_TEMPLATE,
            "workflowId": welcome.journey.iterable_id,
            "createdAt": 0,
            "updatedAt": 0,
            "createdByUserId": "someone@example.com",
        }
    preview = proof_preview(
        actor=sends.mia,
        notification=welcome,
        recipient=sends.own,
        mode="event",
        data_fields=welcome.event.example_payload(),
    )
    assert not preview.verdict.allowed
    assert preview.verdict.code in {"marketing-message-type", "optout-marketing"}
    assert "Welcome journey email" in preview.verdict.message


def test_every_journey_the_event_starts_is_read(sends):
    """The event starts every journey Iterable triggers on it, not only the one the catalog names."""
    welcome = sends.welcome
    project = _iterable_project(sends)
    with sends.emulator.state.lock:
        shadow = dict(next(iter(project.journeys.values())))
        shadow.update(
            id=888001, name="Shadow journey", enabled=True, isArchived=False, triggerEventNames=[welcome.event.name]
        )
        project.journeys[888001] = shadow
        project.campaigns[888002] = {
            "id": 888002,
            "name": "Shadow email",
            "type": "Triggered",
            "campaignState": "Running",
            "messageMedium": "Email",
            "templateId": FORBIDDEN_TEMPLATE,
            "workflowId": 888001,
            "createdAt": 0,
            "updatedAt": 0,
            "createdByUserId": "someone@example.com",
        }
    preview = proof_preview(
        actor=sends.mia,
        notification=welcome,
        recipient=sends.own,
        mode="event",
        data_fields=welcome.event.example_payload(),
    )
    assert not preview.verdict.allowed and "Shadow email" in preview.verdict.message
    assert sends.emulator.requests(path="POST /api/events/track") == []


def test_an_unknown_channel_type_in_iterable_fails_closed(sends):
    project = _iterable_project(sends)
    with sends.emulator.state.lock:
        template_id = project.campaigns[sends.transactional.campaign_id]["templateId"]
        type_id = project.templates[template_id]["messageTypeId"]
        channel_id = project.message_types[type_id]["channelId"]
        project.channels[channel_id]["channelType"] = "marketing"  # not exactly "Transactional"
    preview = proof_preview(actor=sends.mia, notification=sends.transactional, recipient=sends.own)
    assert not preview.verdict.allowed and preview.verdict.code == "optout-marketing"
