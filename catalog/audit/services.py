"""The audit trail: one AuditEvent per write or send, with the fields before and after."""

import re
from collections.abc import Iterable
from typing import Any

from django.db import models

from catalog.audit.words import READER_ATTR
from catalog.models import AuditEvent
from catalog.roles import LOOKUP_CONTACT
from catalog.types import Actor, RequestUser

# An address starts where a run of address characters starts (the look-behind): without it, a long run that
# holds no "@" was tried again from each of its characters, quadratic in its length (100 kB: 20 s).
_EMAIL = re.compile(r"(?<![^\s@<>\"',;:()\[\]{}])[^\s@<>\"',;:()\[\]{}]+@[^\s@<>\"',;:()\[\]{}]+")
# Values that name a contact whole (a userId is not recognisable as an address, so it goes by its key).
_CONTACT_KEYS = {"recipient", "email", "user_id", "recipient_email", "recipient_user_id", "emails", "contact"}
# Events whose subject is a contact, or an address staff chose as a test recipient: the name says who.
_CONTACT_OBJECTS = {"contact", "proofrecipient"}
# Owners are teams of staff with a shared address, shown to every role on their own page.
_STAFF_OBJECTS = {"owner"}
HIDDEN = "(hidden)"


def actor_label(actor: Actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.get_username()


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The instance's fields as JSON values: related objects by their label, many-to-many sorted."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        # Derived and automatic fields (timestamps, the stored verdict) are not what anyone changed.
        if field.primary_key or not field.editable or getattr(field, "auto_now", False):
            continue
        if field.is_relation:
            related = getattr(instance, field.name)
            data[field.name] = str(related) if related is not None else None
        else:
            value = field.value_from_object(instance)
            data[field.name] = value if isinstance(value, str | int | float | bool | list | dict | None) else str(value)
    if instance.pk:
        for field in instance._meta.many_to_many:
            data[field.name] = sorted(str(obj) for obj in getattr(instance, field.name).all())
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    }


def audit_event(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record an action on anything (a contact lookup, a send), not only on a model instance."""
    return AuditEvent.objects.create(
        actor=actor if isinstance(actor, models.Model) else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        changes=changes or {},
    )


def audit_record(
    *, actor: Actor, action: str, instance: models.Model, changes: dict[str, Any] | None = None
) -> AuditEvent:
    return audit_event(
        actor=actor,
        action=action,
        object_type=instance._meta.model_name or "",  # None only on a model class being built
        object_id=str(instance.pk or ""),
        object_repr=str(instance),
        changes=changes,
    )


def contact_masked(text: str) -> str:
    """An address with only its first letter left ("j•••@•••"), so a row still reads as "someone's address"."""
    return _EMAIL.sub(lambda m: f"{m.group(0)[0]}•••@•••", text)


def _masked(value, *, whole: bool = False):
    if isinstance(value, dict):
        return {k: _masked(v, whole=whole or k in _CONTACT_KEYS) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, whole=whole) for v in value]
    if isinstance(value, str):
        return (HIDDEN if value else value) if whole else contact_masked(value)
    return value


def audit_event_masked(event: AuditEvent) -> AuditEvent:
    """The event as shown to someone who may not look contacts up: addresses and userIds hidden (in memory)."""
    if event.object_type in _STAFF_OBJECTS:
        return event
    if event.object_type in _CONTACT_OBJECTS:
        masked = contact_masked(event.object_repr)
        event.object_repr = masked if masked != event.object_repr or not event.object_repr else HIDDEN
    else:
        event.object_repr = contact_masked(event.object_repr)
    event.changes = _masked(event.changes)
    return event


def audit_events_for(*, user: RequestUser, events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Audit events as `user` may see them: contacts' addresses only for roles that may look contacts up, and
    another person's private test recipient not even then."""
    events = list(events)
    for event in events:
        # Its words link only to the pages this reader may open (catalog/audit/words.py).
        setattr(event, READER_ATTR, user)
    if not user.has_perm(LOOKUP_CONTACT):
        return [audit_event_masked(event) for event in events]
    return _private_recipients_hidden(user, events)


def _private_recipients_hidden(user: RequestUser, events: list[AuditEvent]) -> list[AuditEvent]:
    from catalog.models import ProofSend
    from catalog.roles import MANAGE_SHARED_RECIPIENTS
    from catalog.sends.selectors import proof_send_recipient_shown
    from catalog.sends.services.results import PRIVATE_RECIPIENT

    if user.has_perm(MANAGE_SHARED_RECIPIENTS):
        return events
    theirs = [e for e in events if e.actor_id != user.pk]
    attempt_ids = [e.changes.get("attempt") for e in theirs if e.action == "proof_send" and isinstance(e.changes, dict)]
    attempts = ProofSend.objects.select_related("recipient").in_bulk([i for i in attempt_ids if isinstance(i, int)])
    for event in theirs:
        if event.action == "proof_send" and isinstance(event.changes, dict):
            attempt = attempts.get(event.changes.get("attempt"))
            if attempt is None or not proof_send_recipient_shown(user=user, attempt=attempt):
                event.changes = {**event.changes, "recipient": PRIVATE_RECIPIENT}
        elif event.object_type == "proofrecipient" and "(own," in event.object_repr:
            event.object_repr = PRIVATE_RECIPIENT
            event.changes = _masked(event.changes)
    return events
