"""Catalog fixtures beyond small_catalog (tests/conftest.py)."""

from types import SimpleNamespace

import pytest
from factories import CustomEventFactory, EventFieldFactory, JourneyFactory, NotificationFactory


@pytest.fixture
def ui_catalog(small_catalog):
    """small_catalog plus a custom event with fields, a journey and a notification they trigger."""
    c = small_catalog
    event = CustomEventFactory(project=c.project, name="SaaS Trials", source_system="Workato")
    field = EventFieldFactory(event=event, name="companyNamespace", data_type="Boolean", example="true")
    EventFieldFactory(event=event, name="employees", data_type="Long", example="42", position=1)
    journey = JourneyFactory(
        project=c.project, iterable_id=7001, name="Trial onboarding", trigger_event_names=["SaaS Trials"]
    )
    onboarding = NotificationFactory(
        key="trial_onboarding", name="Trial onboarding", audience="employers", message_type=c.opt_in,
        trigger_type="custom_event", campaign_id=None, event=event, journey=journey, owners=[c.owner],
    )  # fmt: skip
    return SimpleNamespace(**vars(c), event=event, field=field, journey=journey, onboarding=onboarding)


def admin_notification_form(catalog, **changes) -> dict:
    """The Django admin's change form for small_catalog's weekly digest, as it stands, with `changes` applied."""
    digest = catalog.digest
    form = {
        "key": digest.key, "name": digest.name, "description": "", "audience": digest.audience,
        "project": digest.project.pk, "medium": digest.medium, "trigger_type": digest.trigger_type,
        "campaign_id": digest.campaign_id, "event": "", "journey": "", "message_type": catalog.opt_in.pk,
        "status": digest.status, "tags": "[]", "code_location": "", "templates": [catalog.template.pk],
        "owners": [catalog.owner.pk],
    }  # fmt: skip
    return {**form, **changes}


def bulk_notifications(c, count: int, start: int = 0, *, key: str = "bulk", **fields) -> list:
    """`count` API-send notifications on c's opt-in type, written at once (bulk_create: the database's guard
    still judges each row): keys `{key}_{i:05d}`, each with c's template, every other one owned by c's owner."""
    from catalog import models

    rows = models.Notification.objects.bulk_create(
        models.Notification(
            key=f"{key}_{i:05d}",
            name=f"{key.capitalize()} {i}",
            audience="students",
            project=c.project,
            medium="Email",
            trigger_type="api_send",
            campaign_id=50_000 + i,
            message_type=c.opt_in,
            **fields,
        )
        for i in range(start, start + count)
    )
    models.Notification.templates.through.objects.bulk_create(
        models.Notification.templates.through(notification=n, template=c.template) for n in rows
    )
    models.Notification.owners.through.objects.bulk_create(
        models.Notification.owners.through(notification=n, owner=c.owner) for n in rows[::2]
    )
    return rows
