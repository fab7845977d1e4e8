"""Applies the guard (catalog/guard/policy.py) to catalog models: builds the facts, raises ValidationError.

The models call `enforce` on save, on queryset update() and bulk_create, and when templates are attached
to a notification, so every ORM door is covered. A change to a message type, a channel or a template is
judged by what it would do to the notifications that use it, and refused naming them.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, models
from django.db.models import Q

from catalog.core.models import Channel, IterableProject, MessageType, Notification, Template, guard_install
from catalog.guard import policy, triggers

# The fields of each guarded model that the guard reads: a queryset update() of other fields is not judged.
GUARDED_FIELDS = {
    "notification": frozenset({"message_type", "message_type_id", "status", "trigger_type"}),
    "messagetype": frozenset({"policy", "channel", "channel_id", "name"}),
    "channel": frozenset({"channel_type"}),
    "template": frozenset({"message_type", "message_type_id"}),
}
MAX_NAMED = 10
PROJECT_MISMATCH = triggers.PROJECT_MISMATCH


def message_type_facts(message_type: MessageType, channel: Channel | None = None) -> policy.MessageTypeFacts:
    channel = channel or message_type.channel
    return policy.MessageTypeFacts(
        name=message_type.name,
        policy=message_type.policy,
        channel_name=channel.name,
        channel_type=channel.channel_type,
        deprecated=message_type.deprecated,
    )


def guard_forbids_type(message_type: MessageType) -> bool:
    """Whether no notification may use this message type (the two errors, judged on the type alone)."""
    return bool(policy.message_type_violations(message_type_facts(message_type), subject="A notification"))


def notification_facts(
    notification: Notification,
    *,
    type_overrides: dict[int, policy.MessageTypeFacts] | None = None,
    template_overrides: dict[int, MessageType | None] | None = None,
    templates: Iterable[Template] | None = None,
    owner_count: int | None = None,
) -> policy.NotificationFacts:
    """Facts for one notification, with proposed changes substituted by id before they are saved.

    `templates`, when given, is the proposed template set; otherwise the saved one is read.
    """
    type_overrides = type_overrides or {}
    template_overrides = template_overrides or {}

    def facts_for(message_type: MessageType | None) -> policy.MessageTypeFacts | None:
        if message_type is None:
            return None
        return type_overrides.get(message_type.pk) or message_type_facts(message_type)

    message_type = None
    if notification.message_type_id is not None:
        message_type = notification.message_type
    if templates is None:
        templates = notification.templates.all() if notification.pk else []
    return facts_from_values(
        key=notification.key,
        status=notification.status,
        trigger_type=notification.trigger_type,
        message_type=facts_for(message_type),
        campaign_id=notification.campaign_id,
        event_id=notification.event_id,
        journey_id=notification.journey_id,
        owner_count=owner_count,
        templates=((t.name, t.iterable_id, facts_for(template_overrides.get(t.pk, t.message_type))) for t in templates),
    )


def facts_from_values(
    *,
    key: str,
    status: str,
    trigger_type: str,
    message_type: policy.MessageTypeFacts | None,
    campaign_id: int | None,
    event_id: int | None,
    journey_id: int | None,
    owner_count: int | None,
    templates: Iterable[tuple[str, int, policy.MessageTypeFacts | None]],
) -> policy.NotificationFacts:
    """A notification's facts from plain column values; ``templates`` holds each template's name, Iterable id and
    type's facts. The one builder: ``notification_facts`` feeds it from an instance, and the stored verdicts'
    refresh (catalog/guard/verdicts.py) from plain rows, since model instances were most of a refresh's time."""
    return policy.NotificationFacts(
        key=key,
        status=status,
        trigger_type=trigger_type,
        message_type=message_type,
        campaign_id=campaign_id,
        has_event=event_id is not None,
        has_journey=journey_id is not None,
        owner_count=owner_count,
        templates=tuple((f"template '{name}' (#{iterable_id})", facts) for name, iterable_id, facts in templates),
    )


def _raise(violations: list[policy.Violation]) -> None:
    by_field: dict[str, list[ValidationError]] = {}
    for violation in violations:
        by_field.setdefault(violation.field or "__all__", []).append(
            ValidationError(violation.message, code=violation.code)
        )
    raise ValidationError(by_field)


def _other_project(obj, project_id: int | None) -> str | None:
    if obj is None or project_id is None or obj.project_id == project_id:
        return None
    project = IterableProject.objects.filter(pk=project_id).first()
    return f"'{obj}' belongs to the Iterable project '{obj.project}', not to '{project}'"


def enforce_same_project(notification: Notification, *, templates: Iterable[Template] | None = None) -> None:
    """Everything a notification uses belongs to its project: Iterable's ids mean nothing across projects."""
    wrong: dict[str, list[ValidationError]] = {}
    project_id = notification.project_id
    for field in ("message_type", "journey", "event"):
        related = getattr(notification, field) if getattr(notification, f"{field}_id") is not None else None
        if reason := _other_project(related, project_id):
            wrong.setdefault(field, []).append(ValidationError(f"{reason}.", code=PROJECT_MISMATCH))
    if templates is None:
        templates = notification.templates.all() if notification.pk else []
    for template in templates:
        if reason := _other_project(template, project_id):
            wrong.setdefault("templates", []).append(ValidationError(f"Template {reason}.", code=PROJECT_MISMATCH))
    if wrong:
        raise ValidationError(wrong)


def enforce_notification(notification: Notification, *, templates: Iterable[Template] | None = None) -> None:
    templates = list(templates) if templates is not None else None
    enforce_same_project(notification, templates=templates)
    found = policy.errors(policy.notification_violations(notification_facts(notification, templates=templates)))
    if found:
        _raise(found)


def _refuse_change(
    users: Iterable[Notification],
    *,
    what: str,
    field: str,
    type_overrides: dict[int, policy.MessageTypeFacts] | None = None,
    template_overrides: dict[int, MessageType | None] | None = None,
) -> None:
    broken: list[tuple[Notification, policy.Violation]] = []
    for notification in users:
        facts = notification_facts(notification, type_overrides=type_overrides, template_overrides=template_overrides)
        broken += [(notification, v) for v in policy.errors(policy.notification_violations(facts))]
    if not broken:
        return
    keys = sorted({n.key for n, _ in broken})
    named = ", ".join(keys[:MAX_NAMED]) + (f" and {len(keys) - MAX_NAMED} more" if len(keys) > MAX_NAMED else "")
    message = (
        f"Refused: changing {what} would break {len(keys)} notification{'s' if len(keys) != 1 else ''} "
        f"that use{'s' if len(keys) == 1 else ''} it: {named}. {broken[0][1].message}"
    )
    raise ValidationError({field: [ValidationError(message, code=broken[0][1].code)]})


def _users_of_types(type_ids: list[int]):
    return (
        Notification.objects.filter(Q(message_type_id__in=type_ids) | Q(templates__message_type_id__in=type_ids))
        .distinct()
        .select_related("message_type__channel")
        .prefetch_related("templates__message_type__channel")
    )


def _changed_field(instance, fields: list[str]) -> str | None:
    saved = type(instance).objects.filter(pk=instance.pk).values(*fields).first()
    if saved is None:
        return None
    for name in fields:
        if saved[name] != getattr(instance, name):
            return name.removesuffix("_id")
    return None


def _refuse_project_move(instance) -> None:
    if instance.pk is None:
        return
    saved = type(instance).objects.filter(pk=instance.pk).values_list("project_id", flat=True).first()
    if saved is not None and saved != instance.project_id:
        raise ValidationError(
            {"project": [ValidationError(PROJECT_SENTENCES[triggers.PROJECT_FIXED], code=triggers.PROJECT_FIXED)]}
        )


def _refuse_other_project(instance, field: str, model, label: str) -> None:
    """`instance.field` must belong to the instance's own Iterable project."""
    related_id = getattr(instance, f"{field}_id")
    if related_id is None or instance.project_id is None:
        return
    related_project = model.objects.filter(pk=related_id).values_list("project_id", flat=True).first()
    if related_project is not None and related_project != instance.project_id:
        raise ValidationError(
            {field: [ValidationError(f"{label} belongs to another Iterable project.", code=PROJECT_MISMATCH)]}
        )


def enforce_message_type(message_type: MessageType) -> None:
    _refuse_project_move(message_type)
    _refuse_other_project(message_type, "channel", Channel, "The channel")
    if message_type.pk is None:
        return
    field = _changed_field(message_type, ["policy", "channel_id", "name"])
    if field is None:
        return
    channel = Channel.objects.get(pk=message_type.channel_id)
    _refuse_change(
        _users_of_types([message_type.pk]),
        what=f"message type '{message_type.name}'",
        field=field,
        type_overrides={message_type.pk: message_type_facts(message_type, channel)},
    )


def enforce_channel(channel: Channel) -> None:
    _refuse_project_move(channel)
    if channel.pk is None or _changed_field(channel, ["channel_type"]) is None:
        return
    types = list(MessageType.objects.filter(channel_id=channel.pk))
    _refuse_change(
        _users_of_types([t.pk for t in types]),
        what=f"channel '{channel.name}' to {channel.channel_type}",
        field="channel_type",
        type_overrides={t.pk: message_type_facts(t, channel) for t in types},
    )


def enforce_template(template: Template) -> None:
    _refuse_project_move(template)
    _refuse_other_project(template, "message_type", MessageType, "The message type")
    if template.pk is None or _changed_field(template, ["message_type_id"]) is None:
        return
    new_type = MessageType.objects.select_related("channel").filter(pk=template.message_type_id).first()
    users = (
        Notification.objects.filter(templates=template)
        .select_related("message_type__channel")
        .prefetch_related("templates__message_type__channel")
    )
    _refuse_change(
        users,
        what=f"the message type of template '{template.name}'",
        field="message_type",
        template_overrides={template.pk: new_type},
    )


# Each takes an instance of its own model: enforce() looks the function up by the instance's class.
ENFORCERS: dict[type[models.Model], Callable[[Any], None]] = {
    Notification: enforce_notification,
    MessageType: enforce_message_type,
    Channel: enforce_channel,
    Template: enforce_template,
}


def enforce(instance: models.Model) -> None:
    ENFORCERS[type(instance)](instance)


# -- refusals from the database (catalog/triggers.py) ----------------------------------------------------

CONCURRENT_CHANGE = "concurrent-change"
PROJECT_SENTENCES = {
    triggers.PROJECT_MISMATCH: (
        "Refused: everything a notification uses (message type, templates, journey, custom event) must belong "
        "to the notification's Iterable project; ids mean different things in different projects."
    ),
    triggers.PROJECT_FIXED: (
        "Refused: an Iterable object cannot move to another project, because its ids belong to the project "
        "it came from. Create it in the other project instead."
    ),
}


def _db_refusal_payload(error: Exception) -> dict | None:
    text = str(error)
    at = text.find(triggers.MARKER)
    if at < 0:
        return None
    decoder = json.JSONDecoder()
    try:
        payload, _ = decoder.raw_decode(text[at + len(triggers.MARKER) :])
    except ValueError:
        return {"code": "guard"}
    return payload if isinstance(payload, dict) else {"code": "guard"}


def _db_refusal_sentence(payload: dict) -> str:
    code = payload.get("code", "")
    if code in PROJECT_SENTENCES:
        return PROJECT_SENTENCES[code]
    subject = f"Notification '{payload['notification']}'" if payload.get("notification") else "A notification"
    if payload.get("template"):
        subject += f" through template '{payload['template']}'"
    if payload.get("message_type"):
        # PostgreSQL names what it judged: the same sentence the models give.
        facts = policy.MessageTypeFacts(
            name=payload["message_type"],
            policy=policy.OPT_OUT if code == policy.OPTOUT_MARKETING else None,
            channel_name=payload.get("channel") or "",
            channel_type=policy.MARKETING if code == policy.OPTOUT_MARKETING else None,
        )
        found = [v for v in policy.message_type_violations(facts, subject=subject) if v.code == code]
        if found:
            return found[0].message
    if code == policy.MARKETING_MESSAGE_TYPE:
        return (
            f"Refused: {subject.lower() if subject.startswith('A ') else subject} would use the "
            f'"{policy.MARKETING_MESSAGE_NAME}" message type (or a name that reads the same), Iterable\'s opt-out '
            "default, which can email people who unsubscribed."
        )
    return (
        f"Refused: {subject.lower() if subject.startswith('A ') else subject} would go out on an opt-out message "
        "type on a Marketing channel: it would reach everyone who never unsubscribed, including people who "
        "never opted in. Use an opt-in marketing message type."
    )


def guard_error_from_db(error: Exception) -> ValidationError | None:
    """The guard's sentence for a write the database refused, or None when `error` is something else.

    Also covers the loser of a race that the database broke with a deadlock or serialization failure.
    """
    payload = _db_refusal_payload(error) if isinstance(error, IntegrityError) else None
    if payload is not None:
        code = payload.get("code") or "guard"
        return ValidationError(_db_refusal_sentence(payload), code=code)
    cause = getattr(error, "__cause__", None)
    if isinstance(error, OperationalError) and type(cause).__name__ in {"DeadlockDetected", "SerializationFailure"}:
        return ValidationError(
            "Refused: someone changed the same part of the catalog at the same moment. Nothing was saved; "
            "reload and try again.",
            code=CONCURRENT_CHANGE,
        )
    return None


@contextmanager
def database_refusals_as_validation_errors() -> Iterator[None]:
    """Around a write (outside its transaction): the database's guard refusals become ValidationError."""
    try:
        yield
    except (IntegrityError, OperationalError) as error:
        refusal = guard_error_from_db(error)
        if refusal is None:
            raise
        raise refusal from error


def install() -> None:
    """Plug the enforcement into the guarded models (catalog/core/models.py); called from the app's ready()."""
    guard_install(enforce=enforce, fields=GUARDED_FIELDS, database_refusals=database_refusals_as_validation_errors)
