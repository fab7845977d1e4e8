"""Applies the guard (catalog/policy.py) to catalog models: builds the facts, raises ValidationError.

The models call `enforce` on save, on queryset update() and bulk_create, and when templates are attached
to a notification, so every ORM door is covered. A change to a message type, a channel or a template is
judged by what it would do to the notifications that use it, and refused naming them.
"""

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError
from django.db.models import Count, Max, Prefetch, Q
from django.utils import timezone

from catalog import guard_sql, policy
from catalog.models import Channel, IterableProject, MessageType, Notification, Template

GUARDED_FIELDS = {
    Notification: {"message_type", "message_type_id", "status", "trigger_type"},
    MessageType: {"policy", "channel", "channel_id", "name"},
    Channel: {"channel_type"},
    Template: {"message_type", "message_type_id"},
}
MAX_NAMED = 10
PROJECT_MISMATCH = guard_sql.PROJECT_MISMATCH


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
    template_facts = tuple(
        (
            f"template '{t.name}' (#{t.iterable_id})",
            facts_for(template_overrides.get(t.pk, t.message_type)),
        )
        for t in templates
    )
    return policy.NotificationFacts(
        key=notification.key,
        status=notification.status,
        trigger_type=notification.trigger_type,
        message_type=facts_for(message_type),
        campaign_id=notification.campaign_id,
        has_event=notification.event_id is not None,
        has_journey=notification.journey_id is not None,
        owner_count=owner_count,
        templates=template_facts,
    )


# -- the one verdict: the catalog's rules plus what the latest sync found in Iterable -------------------


GUARD_FINDINGS_ATTR = "iterable_guard_findings"


@dataclass(frozen=True)
class IterableCheck:
    """When Iterable was last read for a project (a successful sync), and whether that is too long ago."""

    checked_at: datetime | None
    stale: bool

    @property
    def label(self) -> str:
        if self.checked_at is None:
            return "Not checked in Iterable yet: no sync of this project has succeeded"
        return f"Not checked in Iterable since {timezone.localtime(self.checked_at):%Y-%m-%d %H:%M}"


def iterable_checks(project_ids: Iterable[int] | None = None) -> dict[int, IterableCheck]:
    """Per project, its last successful sync; stale when older than ITERABLE_CHECK_STALE_MINUTES (one query)."""
    from catalog.models import SyncStatus

    projects = IterableProject.objects.all()
    if project_ids is not None:
        projects = projects.filter(pk__in=list(project_ids))
    succeeded = Q(sync_runs__status=SyncStatus.SUCCEEDED)
    last = projects.annotate(at=Max("sync_runs__finished_at", filter=succeeded)).values_list("pk", "at")
    limit = timezone.now() - timedelta(minutes=settings.ITERABLE_CHECK_STALE_MINUTES)
    return {pk: IterableCheck(at, at is None or at < limit) for pk, at in last}


def iterable_violations(notification: Notification) -> list[policy.Violation]:
    """What the latest sync of the notification's project found against the guard in Iterable itself."""
    from catalog.models import FindingCategory, SyncFinding

    findings = getattr(notification, GUARD_FINDINGS_ATTR, None)
    if findings is None:
        findings = SyncFinding.objects.filter(notification=notification, category=FindingCategory.GUARD)
        findings = findings.select_related("run").order_by("code", "iterable_id", "id")
    return [
        policy.Violation(
            code=f.code,
            severity=f.severity,
            message=f"In Iterable (sync of {timezone.localtime(f.run.started_at):%Y-%m-%d %H:%M}): {f.message}",
            objects=(f"Notification '{notification.key}'",),
            source="iterable",
        )
        for f in findings
    ]


def prefetch_iterable_violations():
    """A Prefetch that lets `iterable_violations` read a list of notifications without a query each."""
    from catalog.models import FindingCategory, SyncFinding

    findings = SyncFinding.objects.filter(category=FindingCategory.GUARD).select_related("run")
    return Prefetch(
        "sync_findings", queryset=findings.order_by("code", "iterable_id", "id"), to_attr=GUARD_FINDINGS_ATTR
    )


def notification_verdict(notification: Notification) -> list[policy.Violation]:
    """Every error and warning for a saved notification: the catalog's rules (owners counted) and the
    latest sync's Iterable-side guard findings; errors first. A list page passes rows annotated with
    `owner_total` and prefetched with `prefetch_iterable_violations()`, so each row costs no query."""
    owners = getattr(notification, "owner_total", None)
    if owners is None:
        owners = notification.owners.count()
    found = policy.notification_violations(notification_facts(notification, owner_count=owners))
    found += iterable_violations(notification)
    return sorted(found, key=lambda v: v.severity != policy.ERROR)


@dataclass(frozen=True)
class VerdictSummary:
    state: str  # "error", "warning", "not-checked" or "ok"
    label: str
    checked_at: datetime | None


def verdict_summary(notification: Notification, check: IterableCheck | None) -> VerdictSummary:
    """The one verdict in a few words, from the stored counts (which include Iterable's findings).

    Errors always show; without errors, a project Iterable has not been checked for lately says so
    instead of "ok", since Iterable may have changed underneath.
    """
    errors, warnings = notification.verdict_errors, notification.verdict_warnings
    checked_at = check.checked_at if check else None
    if errors:
        return VerdictSummary("error", f"{errors} error{'s' if errors != 1 else ''}", checked_at)
    if check is None or check.stale:
        return VerdictSummary("not-checked", (check or IterableCheck(None, True)).label, checked_at)
    if warnings:
        return VerdictSummary("warning", f"{warnings} warning{'s' if warnings != 1 else ''}", checked_at)
    return VerdictSummary("ok", "ok", checked_at)


VERDICT_BATCH = 2000


def refresh_verdicts(notifications) -> int:
    """Recompute the stored verdict of these notifications (a queryset or an iterable of them): the
    catalog's rules plus the Iterable-side guard findings of the latest sync. Returns how many changed.

    Works in batches of VERDICT_BATCH rows, each read with its relations and written with bounded UPDATEs,
    so the time and the SQL grow linearly with the rows (one UPDATE over every row grew quadratically).
    """
    if hasattr(notifications, "model"):
        ids = list(notifications.order_by("pk").values_list("pk", flat=True).distinct())
    else:
        ids = sorted({n.pk for n in notifications})
    changed = 0
    for start in range(0, len(ids), VERDICT_BATCH):
        changed += _refresh_batch(ids[start : start + VERDICT_BATCH])
    return changed


VERDICT_INLINE_LIMIT = 2000
VERDICTS_TASK = "catalog.tasks.verdicts_refresh_task"
_USERS = {
    "messagetype": lambda pk: Q(message_type_id=pk) | Q(templates__message_type_id=pk),
    "channel": lambda pk: Q(message_type__channel_id=pk) | Q(templates__message_type__channel_id=pk),
    "template": lambda pk: Q(templates__id=pk),
}


def notifications_using(model_name: str, pk: int):
    """The notifications whose verdict depends on this message type, channel or template."""
    return Notification.objects.filter(_USERS[model_name](pk)).distinct()


def refresh_verdicts_of_users(instance) -> None:
    """After a message type, channel or template changed: refresh its users' verdicts, in this request when
    they are few, else in a background task once the change commits (a type used by 100,000 notifications
    would hold the request for seconds)."""
    from django.db import transaction

    from catalog.observability import enqueue

    model_name = instance._meta.model_name
    users = notifications_using(model_name, instance.pk)
    if users[: VERDICT_INLINE_LIMIT + 1].count() <= VERDICT_INLINE_LIMIT:
        refresh_verdicts(users)
        return
    transaction.on_commit(
        lambda: enqueue(VERDICTS_TASK, model_name, instance.pk, q_options={"timeout": 600, "group": "verdicts"})
    )


def verdicts_refresh_run(model_name: str, pk: int) -> int:
    """The background half of refresh_verdicts_of_users: safe to run twice (it only recomputes)."""
    return refresh_verdicts(notifications_using(model_name, pk))


def _refresh_batch(ids: list[int]) -> int:
    from catalog.models import FindingCategory, SyncFinding

    rows = (
        Notification.objects.filter(pk__in=ids)
        .select_related("message_type__channel")
        .prefetch_related(
            "templates__message_type__channel",
            Prefetch(
                "sync_findings",
                queryset=SyncFinding.objects.filter(category=FindingCategory.GUARD).only(
                    "notification_id", "code", "severity", "iterable_id"
                ),
                to_attr="guard_findings",
            ),
        )
        .annotate(owner_total=Count("owners"))
    )
    changed = []
    for notification in rows:
        found = policy.notification_violations(notification_facts(notification, owner_count=notification.owner_total))
        in_iterable = {(f.code, f.iterable_id, f.severity) for f in notification.guard_findings}
        codes = sorted({v.code for v in found} | {code for code, _, _ in in_iterable})
        error_count = sum(v.is_error for v in found) + sum(1 for *_, sev in in_iterable if sev == policy.ERROR)
        warning_count = len(found) + len(in_iterable) - error_count
        if (codes, error_count, warning_count) != (
            notification.verdict_codes,
            notification.verdict_errors,
            notification.verdict_warnings,
        ):
            changed.append((notification.pk, json.dumps(codes), error_count, warning_count))
    for start in range(0, len(changed), VERDICT_WRITE_BATCH):
        _write_verdicts(changed[start : start + VERDICT_WRITE_BATCH])
    return len(changed)


VERDICT_WRITE_BATCH = 500


def _write_verdicts(rows: list[tuple[int, str, int, int]]) -> None:
    """One UPDATE ... FROM (VALUES ...) per batch: Django's bulk_update builds a CASE expression per row and
    field in Python, which cost three quarters of a refresh. The verdict columns are no guard input (the
    triggers watch other columns), so this write needs no guard of its own."""
    from django.db import connection

    if connection.vendor == "postgresql":
        row_sql = "(%s::bigint, %s::jsonb, %s::integer, %s::integer)"
    else:
        row_sql = "(%s, %s, %s, %s)"
    values = ", ".join([row_sql] * len(rows))
    # Only placeholders are interpolated; every value travels as a parameter.
    sql = (
        f"WITH v(id, codes, errors, warnings) AS (VALUES {values}) "  # noqa: S608
        "UPDATE catalog_notification SET verdict_codes = v.codes, verdict_errors = v.errors, "
        "verdict_warnings = v.warnings FROM v WHERE catalog_notification.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


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
            {"project": [ValidationError(PROJECT_SENTENCES[guard_sql.PROJECT_FIXED], code=guard_sql.PROJECT_FIXED)]}
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


ENFORCERS = {
    Notification: enforce_notification,
    MessageType: enforce_message_type,
    Channel: enforce_channel,
    Template: enforce_template,
}


def enforce(instance) -> None:
    ENFORCERS[type(instance)](instance)


# -- refusals from the database (catalog/guard_sql.py) ----------------------------------------------------

CONCURRENT_CHANGE = "concurrent-change"
PROJECT_SENTENCES = {
    guard_sql.PROJECT_MISMATCH: (
        "Refused: everything a notification uses (message type, templates, journey, custom event) must belong "
        "to the notification's Iterable project; ids mean different things in different projects."
    ),
    guard_sql.PROJECT_FIXED: (
        "Refused: an Iterable object cannot move to another project, because its ids belong to the project "
        "it came from. Create it in the other project instead."
    ),
}


def _db_refusal_payload(error: Exception) -> dict | None:
    text = str(error)
    at = text.find(guard_sql.MARKER)
    if at < 0:
        return None
    decoder = json.JSONDecoder()
    try:
        payload, _ = decoder.raw_decode(text[at + len(guard_sql.MARKER) :])
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
