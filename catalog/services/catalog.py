"""Writes to the catalog. Every door (forms, admin, API, commands, import) saves through here, so each
write is validated (the guard included), atomic and audited the same way."""

from django.db import models, transaction

from catalog.services.audit import audit_record, diff, snapshot


@transaction.atomic
def catalog_object_save(*, actor, instance: models.Model, m2m: dict[str, list] | None = None) -> models.Model:
    """Validate, save and audit one catalog object; `m2m` sets many-to-many fields by name.

    Raises ValidationError (with the guard's sentences on the fields that cause them) and writes nothing.
    """
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
