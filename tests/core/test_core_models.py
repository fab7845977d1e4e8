"""Integrity that lives in the database, and model-level validation."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import Channel, CustomEvent, EventField, IterableProject, MessageType, Notification, Template


def test_iterable_ids_are_unique_per_project(small_catalog):
    other = IterableProject.objects.create(name="Other", api_key_env="ITERABLE_API_KEY_OTHER")
    Channel.objects.create(
        project=other, iterable_id=1, name="Marketing Channel", channel_type="Marketing", medium="Email"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Channel.objects.create(
            project=small_catalog.project, iterable_id=1, name="Dup", channel_type="Marketing", medium="Email"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Template.objects.create(project=small_catalog.project, iterable_id=501, name="Dup", medium="Email")
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageType.objects.create(
            project=small_catalog.project, iterable_id=11, name="Dup", channel=small_catalog.marketing, policy="OptIn"
        )


def test_notification_key_is_unique(small_catalog):
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            key="weekly_digest",
            name="Again",
            audience="students",
            project=small_catalog.project,
            medium="Email",
            trigger_type="api_send",
            campaign_id=1,
            message_type=small_catalog.opt_in,
        )


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"trigger_type": "api_send", "campaign_id": None, "status": "active"}, False),
        ({"trigger_type": "api_send", "campaign_id": 5, "status": "active"}, True),
        ({"trigger_type": "api_send", "campaign_id": None, "status": "draft"}, True),
        ({"trigger_type": "custom_event", "status": "active", "with_event": True, "with_journey": False}, False),
        ({"trigger_type": "custom_event", "status": "deprecated", "with_event": False, "with_journey": True}, False),
        ({"trigger_type": "custom_event", "status": "active", "with_event": True, "with_journey": True}, True),
    ],
)
def test_live_notifications_need_their_trigger(small_catalog, fields, ok):
    from catalog.models import Journey

    event = CustomEvent.objects.create(project=small_catalog.project, name="SaaS Trials")
    journey = Journey.objects.create(project=small_catalog.project, iterable_id=7, name="Onboarding")
    notification = Notification(
        key="n1",
        name="N",
        audience="students",
        project=small_catalog.project,
        medium="Email",
        trigger_type=fields["trigger_type"],
        campaign_id=fields.get("campaign_id"),
        status=fields["status"],
        message_type=small_catalog.opt_in,
        event=event if fields.get("with_event") else None,
        journey=journey if fields.get("with_journey") else None,
    )
    if ok:
        notification.full_clean()
        notification.save()
    else:
        with pytest.raises(ValidationError, match="needs its trigger"):
            notification.full_clean()
        with pytest.raises(IntegrityError), transaction.atomic():
            notification.save()


def test_choices_are_checked_in_the_database(small_catalog):
    with pytest.raises(IntegrityError), transaction.atomic():
        Channel.objects.filter(pk=small_catalog.transactional.pk).update(medium="Pigeon")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.filter(pk=small_catalog.receipt.pk).update(status="live")


def test_project_stores_the_variable_name_never_a_key(db):
    project = IterableProject(name="P", api_key_env="a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5")
    with pytest.raises(ValidationError) as raised:
        project.full_clean()
    assert "environment variable" in str(raised.value.message_dict["api_key_env"])
    IterableProject(name="P", api_key_env="ITERABLE_API_KEY_STUDENT_US").full_clean()


def test_event_field_examples_become_typed_values(small_catalog):
    event = CustomEvent.objects.create(project=small_catalog.project, name="SaaS Trials")
    EventField.objects.create(event=event, name="companyNamespace", data_type="Boolean", example="true", position=1)
    EventField.objects.create(event=event, name="seats", data_type="Long", example="25", position=2)
    EventField.objects.create(event=event, name="company", data_type="String", example="Fictional Company", position=0)
    assert event.example_payload() == {"company": "Fictional Company", "companyNamespace": True, "seats": 25}


def test_str_and_ordering(small_catalog):
    assert str(small_catalog.opt_in) == "GitLab Marketing (Opt-in)"
    assert str(small_catalog.marketing) == "Marketing Channel (Marketing Email)"
    assert str(small_catalog.template) == "Digest (#501)"
    assert [n.key for n in Notification.objects.all()] == ["receipt", "weekly_digest"]
