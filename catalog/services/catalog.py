"""Writes to the catalog. Every door (forms, admin, API, commands, import) saves through here, so each
write is validated (the guard included), atomic and audited the same way."""

from django.core.exceptions import ValidationError
from django.db import models, transaction

from catalog.models import Notification
from catalog.services.audit import audit_record, diff, snapshot
from catalog.services.guard import database_refusals_as_validation_errors, enforce_notification


def catalog_object_save(*, actor, instance: models.Model, m2m: dict[str, list] | None = None) -> models.Model:
    """Validate, save and audit one catalog object; `m2m` sets many-to-many fields by name.

    Raises ValidationError (with the guard's sentences on the fields that cause them) and writes nothing.
    When the database refuses what the models allowed (another request changed a message type or channel
    at the same moment), the change is judged again against what is now committed, so people read the
    same sentence, on the same field, as when the models refuse.
    """
    pk_before = instance.pk
    try:
        with database_refusals_as_validation_errors():
            return _save(actor=actor, instance=instance, m2m=m2m)
    except ValidationError as refusal:
        instance.pk = pk_before
        if hasattr(refusal, "error_dict") or not isinstance(instance, Notification):
            raise
        try:
            enforce_notification(instance, templates=(m2m or {}).get("templates"))
        except ValidationError as fresh:
            raise fresh from refusal
        raise


@transaction.atomic
def _save(*, actor, instance: models.Model, m2m: dict[str, list] | None) -> models.Model:
    creating = instance.pk is None
    before = {} if creating else snapshot(type(instance).objects.get(pk=instance.pk))
    instance.full_clean()
    instance.save()
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    changes = diff(before, snapshot(instance))
    if creating or changes:
        audit_record(actor=actor, action="create" if creating else "update", instance=instance, changes=changes)
    return instance


@transaction.atomic
def catalog_object_delete(*, actor, instance: models.Model) -> None:
    changes = diff(snapshot(instance), {})
    audit_record(actor=actor, action="delete", instance=instance, changes=changes)
    instance.delete()
