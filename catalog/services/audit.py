"""The audit trail: one AuditEvent per write or send, with the fields before and after."""

from django.db import models

from catalog.models import AuditEvent


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.get_username()


def snapshot(instance: models.Model) -> dict:
    """The instance's fields as JSON values: related objects by their label, many-to-many sorted."""
    data = {}
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


def diff(before: dict, after: dict) -> dict:
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    }


def audit_event(
    *, actor, action: str, object_type: str, object_id: str = "", object_repr: str = "", changes: dict | None = None
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


def audit_record(*, actor, action: str, instance: models.Model, changes: dict | None = None) -> AuditEvent:
    return audit_event(
        actor=actor,
        action=action,
        object_type=instance._meta.model_name,
        object_id=str(instance.pk or ""),
        object_repr=str(instance),
        changes=changes,
    )
