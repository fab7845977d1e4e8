"""Fixtures for the page tests: a catalog with every kind of object, and clients logged in per role."""

from types import SimpleNamespace

import pytest

from catalog.models import CustomEvent, EventField, Journey, Notification


@pytest.fixture
def ui_catalog(small_catalog):
    """small_catalog plus a custom event with fields, a journey and a notification they trigger."""
    c = small_catalog
    event = CustomEvent.objects.create(project=c.project, name="SaaS Trials", source_system="Workato")
    field = EventField.objects.create(event=event, name="companyNamespace", data_type="Boolean", example="true")
    EventField.objects.create(event=event, name="employees", data_type="Long", example="42", position=1)
    journey = Journey.objects.create(
        project=c.project, iterable_id=7001, name="Trial onboarding", trigger_event_names=["SaaS Trials"]
    )
    onboarding = Notification.objects.create(
        key="trial_onboarding",
        name="Trial onboarding",
        audience="employers",
        project=c.project,
        medium="Email",
        trigger_type="custom_event",
        event=event,
        journey=journey,
        message_type=c.opt_in,
        status="active",
    )
    onboarding.owners.add(c.owner)
    return SimpleNamespace(**vars(c), event=event, field=field, journey=journey, onboarding=onboarding)


@pytest.fixture
def client_in_role(client, user_in_role):
    """A test client logged in as a user in `role` (None: a user in no role)."""

    def make(role):
        client.force_login(user_in_role(role))
        return client

    return make
