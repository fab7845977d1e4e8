"""Factories for the catalog's rows: every test builds its data here, saying only what matters to it.

Defaults make a valid, guard-clean row (an opt-in type on a marketing channel); related rows share one
project unless a test says otherwise (`MessageTypeFactory(channel=...)` takes the channel's project).
"""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from catalog import models

TEST_PASSWORD = "a long test password"


class ProjectFactory(DjangoModelFactory):
    class Meta:
        model = models.IterableProject
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Project {n}")
    data_center = "US"
    api_key_env = factory.Sequence(lambda n: f"ITERABLE_API_KEY_TEST_{n}")


class ChannelFactory(DjangoModelFactory):
    class Meta:
        model = models.Channel

    project = factory.SubFactory(ProjectFactory)
    iterable_id = factory.Sequence(lambda n: 100 + n)
    name = factory.Sequence(lambda n: f"Channel {n}")
    channel_type = "Marketing"
    medium = "Email"


class MessageTypeFactory(DjangoModelFactory):
    class Meta:
        model = models.MessageType

    channel = factory.SubFactory(ChannelFactory)
    project = factory.SelfAttribute("channel.project")
    iterable_id = factory.Sequence(lambda n: 200 + n)
    name = factory.Sequence(lambda n: f"Message type {n}")
    policy = "OptIn"


class TemplateFactory(DjangoModelFactory):
    class Meta:
        model = models.Template

    message_type = factory.SubFactory(MessageTypeFactory)
    project = factory.SelfAttribute("message_type.project")
    iterable_id = factory.Sequence(lambda n: 400 + n)
    name = factory.Sequence(lambda n: f"Template {n}")
    medium = "Email"


class OwnerFactory(DjangoModelFactory):
    class Meta:
        model = models.Owner

    name = factory.Sequence(lambda n: f"Team {n}")
    role = "business"
    email = factory.Sequence(lambda n: f"team{n}@example.com")


class CustomEventFactory(DjangoModelFactory):
    class Meta:
        model = models.CustomEvent

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"event{n}")


class EventFieldFactory(DjangoModelFactory):
    class Meta:
        model = models.EventField

    event = factory.SubFactory(CustomEventFactory)
    name = factory.Sequence(lambda n: f"field{n}")
    data_type = "String"


class JourneyFactory(DjangoModelFactory):
    class Meta:
        model = models.Journey

    project = factory.SubFactory(ProjectFactory)
    iterable_id = factory.Sequence(lambda n: 600 + n)
    name = factory.Sequence(lambda n: f"Journey {n}")
    trigger_event_names = factory.List([])


class NotificationFactory(DjangoModelFactory):
    """An active API-send notification; `templates=[...]` and `owners=[...]` attach rows after it is saved."""

    class Meta:
        model = models.Notification
        skip_postgeneration_save = True

    key = factory.Sequence(lambda n: f"notification_{n}")
    name = factory.Sequence(lambda n: f"Notification {n}")
    audience = "students"
    message_type = factory.SubFactory(MessageTypeFactory)
    project = factory.SelfAttribute("message_type.project")
    medium = "Email"
    trigger_type = "api_send"
    campaign_id = factory.Sequence(lambda n: 500 + n)
    status = "active"

    @factory.post_generation
    def templates(self, create, extracted, **kwargs):
        if create and extracted:
            self.templates.add(*extracted)

    @factory.post_generation
    def owners(self, create, extracted, **kwargs):
        if create and extracted:
            self.owners.add(*extracted)


class UserFactory(DjangoModelFactory):
    """A user; `role="marketing"` puts them in that role's group (roles are made by migrate)."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
