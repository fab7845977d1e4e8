"""The guard at every door that exists: model save and validation, querysets, attaching templates,
changes to message types, channels and templates, the form, the admin and the management command."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase
from testkit.catalogs import admin_notification_form

from catalog.core.forms import NotificationForm
from catalog.models import AuditEvent, Channel, IterableProject, MessageType, Notification, Template

RULE_SENTENCE = "can email people who unsubscribed"


def refused_codes(error: ValidationError) -> set[str]:
    return {e.code for errors in error.error_dict.values() for e in errors}


def test_save_refuses_marketing_message(small_catalog):
    small_catalog.digest.message_type = small_catalog.marketing_message
    with pytest.raises(ValidationError) as raised:
        small_catalog.digest.save()
    assert refused_codes(raised.value) == {"marketing-message-type", "optout-marketing"}
    assert RULE_SENTENCE in str(raised.value.message_dict["message_type"])
    assert Notification.objects.get(key="weekly_digest").message_type == small_catalog.opt_in


def test_create_refuses_optout_marketing(small_catalog):
    promos = MessageType.objects.create(
        project=small_catalog.project, iterable_id=99, name="Promos", channel=small_catalog.marketing, policy="OptOut"
    )
    with pytest.raises(ValidationError) as raised:
        Notification.objects.create(
            key="promo",
            name="Promo",
            audience="students",
            project=small_catalog.project,
            medium="Email",
            trigger_type="api_send",
            campaign_id=9,
            message_type=promos,
            status="draft",
        )
    assert refused_codes(raised.value) == {"optout-marketing"}
    assert not Notification.objects.filter(key="promo").exists()


def test_full_clean_puts_the_error_on_the_field(small_catalog):
    small_catalog.digest.message_type = small_catalog.marketing_message
    with pytest.raises(ValidationError) as raised:
        small_catalog.digest.full_clean()
    assert set(raised.value.message_dict) == {"message_type"}


def test_queryset_update_and_bulk_doors(small_catalog):
    with pytest.raises(ValidationError):
        Notification.objects.filter(key="weekly_digest").update(message_type=small_catalog.marketing_message)
    small_catalog.receipt.message_type = small_catalog.marketing_message
    with pytest.raises(ValidationError):
        Notification.objects.bulk_update([small_catalog.receipt], ["message_type"])
    with pytest.raises(ValidationError):
        Notification.objects.bulk_create(
            [
                Notification(
                    key="bulk",
                    name="Bulk",
                    audience="students",
                    project=small_catalog.project,
                    medium="Email",
                    trigger_type="api_send",
                    campaign_id=3,
                    message_type=small_catalog.marketing_message,
                )
            ]
        )
    assert set(Notification.objects.values_list("message_type__name", flat=True)) == {
        "GitLab Marketing",
        "Transactional",
    }
    # Unguarded fields still update in bulk.
    assert Notification.objects.filter(key="receipt").update(name="Receipt email") == 1


def test_attaching_a_template_on_a_forbidden_type_is_refused(small_catalog):
    # add() runs inside Django's own atomic block, so the refusal aborts the surrounding transaction.
    with pytest.raises(ValidationError) as raised, transaction.atomic():
        small_catalog.digest.templates.add(small_catalog.forbidden_template)
    assert "templates" in raised.value.message_dict
    with pytest.raises(ValidationError), transaction.atomic():
        small_catalog.forbidden_template.notifications.add(small_catalog.receipt)
    assert list(small_catalog.digest.templates.all()) == [small_catalog.template]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: setattr(c.opt_in, "policy", "OptOut") or c.opt_in, "policy"),
        (lambda c: setattr(c.opt_in, "name", "marketing  message") or c.opt_in, "name"),
        (lambda c: setattr(c.transactional_type, "channel", c.marketing) or c.transactional_type, "channel"),
        (lambda c: setattr(c.transactional, "channel_type", "Marketing") or c.transactional, "channel_type"),
        (lambda c: setattr(c.template, "message_type", c.marketing_message) or c.template, "message_type"),
    ],
    ids=[
        "policy-flipped-to-optout",
        "renamed-to-marketing-message",
        "type-moved-to-marketing-channel",
        "channel-made-marketing",
        "template-moved-to-marketing-message",
    ],
)
def test_changes_that_would_break_notifications_are_refused_naming_them(small_catalog, change, field):
    instance = change(small_catalog)
    with pytest.raises(ValidationError) as raised:
        instance.save()
    messages = raised.value.message_dict[field]
    assert messages[0].startswith("Refused: changing")
    assert "weekly_digest" in messages[0] or "receipt" in messages[0]
    # The same refusal through model validation (forms, admin).
    with pytest.raises(ValidationError):
        instance.full_clean()
    # And through queryset.update.
    model = type(instance)
    update = {f: getattr(instance, f) for f in [field]}
    with pytest.raises(ValidationError):
        model.objects.filter(pk=instance.pk).update(**update)
    instance.refresh_from_db()


def test_changes_nobody_depends_on_are_allowed(small_catalog):
    small_catalog.marketing_message.name = "Marketing Message (to delete)"
    small_catalog.marketing_message.save()
    small_catalog.opt_in.notes = "Main type"
    small_catalog.opt_in.save()
    small_catalog.receipt.delete()
    small_catalog.transactional.channel_type = "Marketing"  # no notification uses its type any more...
    small_catalog.transactional_type.policy = "OptIn"
    small_catalog.transactional_type.save()
    small_catalog.transactional.save()
    assert Channel.objects.get(pk=small_catalog.transactional.pk).channel_type == "Marketing"


def test_form_shows_the_rule_beside_the_field(small_catalog):
    digest = small_catalog.digest
    data = admin_notification_form(small_catalog, message_type=small_catalog.marketing_message.pk)
    form = NotificationForm(data, instance=digest)
    assert not form.is_valid()
    assert RULE_SENTENCE in " ".join(form.errors["message_type"])

    data["message_type"] = small_catalog.opt_in.pk
    data["templates"] = [small_catalog.template.pk, small_catalog.forbidden_template.pk]
    form = NotificationForm(data, instance=Notification.objects.get(pk=digest.pk))
    assert not form.is_valid()
    assert list(form.errors) == ["templates"]
    assert "template 'Old newsletter' (#502)" in form.errors["templates"][0]

    data["templates"] = [small_catalog.template.pk]
    data["name"] = "Weekly digest (new)"
    form = NotificationForm(data, instance=Notification.objects.get(pk=digest.pk))
    assert form.is_valid(), form.errors
    form.save()
    assert Notification.objects.get(pk=digest.pk).name == "Weekly digest (new)"


def test_admin_refuses_with_the_rule_and_audits_good_changes(small_catalog, admin_client):
    digest = small_catalog.digest
    url = f"/admin/catalog/notification/{digest.pk}/change/"
    data = {
        "key": digest.key,
        "name": digest.name,
        "description": "",
        "audience": digest.audience,
        "project": digest.project.pk,
        "medium": digest.medium,
        "trigger_type": digest.trigger_type,
        "campaign_id": digest.campaign_id,
        "event": "",
        "journey": "",
        "message_type": small_catalog.marketing_message.pk,
        "status": digest.status,
        "tags": "[]",
        "code_location": "",
        "templates": [small_catalog.template.pk],
        "owners": [small_catalog.owner.pk],
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert RULE_SENTENCE in response.content.decode()
    assert Notification.objects.get(pk=digest.pk).message_type == small_catalog.opt_in

    response = admin_client.post(
        f"/admin/catalog/messagetype/{small_catalog.opt_in.pk}/change/",
        {
            "project": small_catalog.project.pk,
            "iterable_id": 11,
            "name": "GitLab Marketing",
            "channel": small_catalog.marketing.pk,
            "policy": "OptOut",
            "notes": "",
        },
    )
    assert response.status_code == 200
    assert "Refused: changing message type" in response.content.decode()
    assert "weekly_digest" in response.content.decode()

    data["message_type"] = small_catalog.opt_in.pk
    data["name"] = "Weekly digest v2"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    event = AuditEvent.objects.get(object_type="notification", action="update")
    assert event.actor_label == "admin"
    assert event.changes == {"name": {"before": "Weekly digest", "after": "Weekly digest v2"}}


def test_command_refuses_with_the_rule(small_catalog):
    with pytest.raises(CommandError) as raised:
        call_command("notification_set", "weekly_digest", "--message-type", "Marketing Message")
    assert RULE_SENTENCE in str(raised.value)
    with pytest.raises(CommandError, match=r"Unknown template id\(s\).*\[999\]"):
        call_command("notification_set", "weekly_digest", "--template", "999")
    with pytest.raises(CommandError, match="No notification with key 'nope'"):
        call_command("notification_set", "nope", "--status", "draft")
    assert Notification.objects.get(key="weekly_digest").message_type == small_catalog.opt_in
    assert not AuditEvent.objects.exists()
    call_command("notification_set", "weekly_digest", "--status", "deprecated")
    assert AuditEvent.objects.get().changes == {"status": {"before": "active", "after": "deprecated"}}


class GuardPropertyTests(HypothesisTestCase):
    """Through the real model door: whatever type we build, a notification on a dangerous one is refused."""

    @settings(max_examples=40, deadline=None)
    @given(
        channel_type=st.sampled_from(["Marketing", "Transactional"]),
        policy_=st.sampled_from(["OptIn", "OptOut"]),
        name=st.sampled_from(
            ["Marketing Message", "marketing message", " MARKETING\u00a0MESSAGE ", "Promos", "Receipts"]
        ),
    )
    def test_model_door(self, channel_type, policy_, name):
        project = IterableProject.objects.create(name="P", api_key_env="ITERABLE_API_KEY_P")
        channel = Channel.objects.create(
            project=project, iterable_id=1, name="C", channel_type=channel_type, medium="Email"
        )
        message_type = MessageType.objects.create(
            project=project, iterable_id=2, name=name, channel=channel, policy=policy_
        )
        dangerous = (channel_type == "Marketing" and policy_ == "OptOut") or "marketing" in name.casefold()
        notification = Notification(
            key="n",
            name="N",
            audience="students",
            project=project,
            medium="Email",
            trigger_type="api_send",
            campaign_id=1,
            message_type=message_type,
        )
        if dangerous:
            with pytest.raises(ValidationError):
                notification.save()
            assert not Notification.objects.exists()
        else:
            notification.save()
            template = Template.objects.create(
                project=project, iterable_id=3, name="T", medium="Email", message_type=message_type
            )
            notification.templates.add(template)
            assert Notification.objects.count() == 1
