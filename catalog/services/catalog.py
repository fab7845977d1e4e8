"""Writes to the catalog. Every door (forms, admin, API, commands, import) saves through here, so each
write is validated (the guard included), atomic and audited the same way."""

from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction

from catalog.audit.services import audit_record, diff, snapshot
from catalog.guard import policy
from catalog.guard.enforcement import database_refusals_as_validation_errors, enforce_notification
from catalog.models import Notification
from catalog.services.projects import project_write_check
from catalog.types import Actor

M = TypeVar("M", bound=models.Model)


def catalog_object_save(*, actor: Actor, instance: models.Model, m2m: dict[str, list] | None = None) -> models.Model:
    """Validate, save and audit one catalog object; `m2m` sets many-to-many fields by name.

    Raises ValidationError (with the guard's sentences on the fields that cause them) and writes nothing.
    When the database refuses what the models allowed (another request changed a message type or channel
    at the same moment), the change is judged again against what is now committed, so people read the
    same sentence, on the same field, as when the models refuse.
    """
    project_write_check(actor=actor, instance=instance)
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
def _save(*, actor: Actor, instance: models.Model, m2m: dict[str, list] | None) -> models.Model:
    creating = instance.pk is None
    # An update locks its row and never becomes an insert: a DELETE that lands while this request runs
    # waits, or wins and this save answers "not found" (Django would otherwise re-create the row).
    before = {} if creating else snapshot(type(instance)._default_manager.select_for_update().get(pk=instance.pk))
    instance.full_clean()
    try:
        instance.save(force_update=not creating)
    except DatabaseError as error:
        if creating or "did not affect any rows" not in str(error):
            raise
        # Each concrete model has its own DoesNotExist; the stubs know it on model classes, not on Model.
        missing = type(instance).DoesNotExist  # type: ignore[attr-defined]
        raise missing(f"{type(instance).__name__} {instance.pk} was deleted meanwhile") from error
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    changes = diff(before, snapshot(instance))
    if creating or changes:
        audit_record(actor=actor, action="create" if creating else "update", instance=instance, changes=changes)
    return instance


def catalog_values_assign(instance: models.Model, values: dict[str, Any]) -> list[str]:
    """Set ``values`` (field name to value; a related object for a foreign key) on ``instance``; returns the
    names of the fields whose value changes."""
    changed = []
    for name, value in values.items():
        model_field = type(instance)._meta.get_field(name)
        assert isinstance(model_field, models.Field)  # concrete fields and foreign keys only
        wanted = value.pk if model_field.is_relation and value is not None else value
        if getattr(instance, model_field.attname) != wanted:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def catalog_object_upsert(
    *,
    actor: Actor,
    model: type[M],
    lookup: dict[str, Any],
    values: dict[str, Any],
    m2m: dict[str, list] | None = None,
) -> tuple[M, str]:
    """Create the object ``lookup`` names, or update it to ``values`` and ``m2m``, through catalog_object_save;
    nothing is written (and no audit event) when nothing differs. Returns the object and "created", "updated"
    or "unchanged". Raises what catalog_object_save raises."""
    found = model._default_manager.filter(**lookup).first()
    instance = model(**lookup) if found is None else found
    changed = catalog_values_assign(instance, values)
    if found is not None and not changed and not _m2m_differs(instance, m2m or {}):
        return instance, "unchanged"
    catalog_object_save(actor=actor, instance=instance, m2m=m2m)
    return instance, "created" if found is None else "updated"


def _m2m_differs(instance: models.Model, m2m: dict[str, list]) -> bool:
    return any({o.pk for o in getattr(instance, name).all()} != {o.pk for o in objs} for name, objs in m2m.items())


@transaction.atomic
def catalog_object_delete(*, actor: Actor, instance: models.Model) -> None:
    project_write_check(actor=actor, instance=instance)
    changes = diff(snapshot(instance), {})
    audit_record(actor=actor, action="delete", instance=instance, changes=changes)
    instance.delete()


# ---------------------------------------------------------------------------------------------------------
# Many notifications at once (the catalog import): the same validation, guard and audit as
# catalog_object_save, with a bounded number of queries per batch instead of dozens per notification.


@dataclass
class NotificationWrite:
    """One notification to create or update: the instance with its new values, its complete template and
    owner lists (loaded with what the guard reads: message type and channel), and its snapshot before."""

    instance: Notification
    templates: list
    owners: list
    before: dict = field(default_factory=dict)
    m2m_changed: bool = True
    fields: tuple[str, ...] = ()  # for an update, the fields that change (only those are written)


def _trigger_refusal(notification: Notification) -> str | None:
    """The database's trigger constraint, judged here so one notification's refusal is not a batch's error."""
    complete = (
        notification.status == policy.DRAFT
        or (notification.trigger_type == policy.API_SEND and notification.campaign_id is not None)
        or (
            notification.trigger_type == policy.CUSTOM_EVENT
            and notification.event_id is not None
            and notification.journey_id is not None
        )
    )
    if complete:
        return None
    constraint = next(c for c in Notification._meta.constraints if c.name == "notification_trigger_complete")
    return str(constraint.violation_error_message)


def catalog_notifications_validate(writes: list[NotificationWrite]) -> dict[int, ValidationError]:
    """Every refusal among ``writes`` (by index), without a query: field rules, the trigger rule and the guard
    (with the proposed templates). Related objects must already be resolved (they came from the database)."""
    related = ["project", "message_type", "event", "journey", "templates", "owners"]
    refused: dict[int, ValidationError] = {}
    for index, write in enumerate(writes):
        errors: dict[str, list] = {}
        try:
            write.instance.clean_fields(exclude=related)
        except ValidationError as error:
            errors.update(error.message_dict)
        if message := _trigger_refusal(write.instance):
            errors.setdefault("__all__", []).append(message)
        try:
            enforce_notification(write.instance, templates=write.templates)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        if errors:
            refused[index] = ValidationError(errors)
    return refused


def _snapshot_with(instance: models.Model, m2m: dict[str, list]) -> dict:
    pk, instance.pk = instance.pk, None  # snapshot() reads many-to-many from the database for saved objects
    try:
        data = snapshot(instance)
    finally:
        instance.pk = pk
    data.update({name: sorted(str(obj) for obj in objs) for name, objs in m2m.items()})
    return data


def catalog_notifications_save_bulk(*, actor: Actor, writes: list[NotificationWrite], batch_size: int = 500) -> None:
    """Create and update many validated notifications (catalog_notifications_validate first): bulk writes
    through the guarded querysets (and the database's guard), templates and owners set, the stored verdicts
    refreshed and one audit event per notification that changed, like catalog_object_save. Atomic."""
    from django.utils import timezone

    from catalog.audit.services import actor_label
    from catalog.guard.verdicts import refresh_verdicts
    from catalog.models import AuditEvent

    now = timezone.now()
    creates = [w for w in writes if w.instance.pk is None]
    updates = [w for w in writes if w.instance.pk is not None]
    with transaction.atomic(), database_refusals_as_validation_errors():
        Notification.objects.bulk_create([w.instance for w in creates], batch_size=batch_size)
        if any(w.instance.pk is None for w in creates):  # a backend that returns no ids from a bulk insert
            ids = dict(Notification.objects.filter(key__in=[w.instance.key for w in creates]).values_list("key", "pk"))
            for w in creates:
                w.instance.pk = ids[w.instance.key]
        by_fields: dict[tuple[str, ...], list[Notification]] = {}
        for w in updates:
            w.instance.updated_at = now
            by_fields.setdefault(tuple(sorted({*w.fields, "updated_at"})), []).append(w.instance)
        for names, objs in by_fields.items():
            # Judged above with the proposed templates (catalog_notifications_validate), and the database's
            # guard judges every row again; GuardedQuerySet.bulk_update would refuse its own CASE expressions.
            unguarded: models.QuerySet[Notification] = models.QuerySet(Notification)
            unguarded.bulk_update(objs, list(names), batch_size=batch_size)
        for name in ("templates", "owners"):
            through = getattr(Notification, name).through
            column = f"{getattr(Notification, name).field.m2m_reverse_field_name()}_id"
            changed = [w for w in writes if w.m2m_changed]
            changed_ids = [w.instance.pk for w in changed]
            wanted = {(w.instance.pk, obj.pk) for w in changed for obj in getattr(w, name)}
            stale, have = [], set()
            for start in range(0, len(changed_ids), batch_size):
                rows = through.objects.filter(notification_id__in=changed_ids[start : start + batch_size])
                for row_id, notification_id, other_id in rows.values_list("id", "notification_id", column):
                    if (notification_id, other_id) in wanted:
                        have.add((notification_id, other_id))
                    else:
                        stale.append(row_id)
            for start in range(0, len(stale), batch_size):
                through.objects.filter(id__in=stale[start : start + batch_size]).delete()
            through.objects.bulk_create(
                [through(notification_id=n, **{column: o}) for n, o in sorted(wanted - have)], batch_size=batch_size
            )
        touched = [w.instance.pk for w in writes]
        for start in range(0, len(touched), batch_size):
            refresh_verdicts(Notification.objects.filter(pk__in=touched[start : start + batch_size]))
        events = []
        for w in writes:
            changes = diff(w.before, _snapshot_with(w.instance, {"templates": w.templates, "owners": w.owners}))
            if not w.before or changes:
                events.append(
                    AuditEvent(
                        actor=actor if isinstance(actor, models.Model) else None,
                        actor_label=actor_label(actor),
                        action="update" if w.before else "create",
                        object_type="notification",
                        object_id=str(w.instance.pk),
                        object_repr=str(w.instance)[:200],
                        changes=changes,
                    )
                )
        AuditEvent.objects.bulk_create(events, batch_size=batch_size)
