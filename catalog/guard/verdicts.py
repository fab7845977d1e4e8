"""The one verdict on a notification: the catalog's rules (catalog/guard/policy.py) plus what the latest sync
found in Iterable, computed for pages and stored on each row so lists can filter on it."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Prefetch, Q
from django.utils import timezone

from catalog.guard import policy
from catalog.guard.enforcement import facts_from_values, notification_facts
from catalog.models import IterableProject, Notification
from catalog.services.bulk import ids_in, rows_update

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
    return {pk: iterable_check(at) for pk, at in last}


def iterable_check(checked_at: datetime | None) -> IterableCheck:
    """The check of a project whose last successful sync finished at `checked_at` (None: never), for a page
    that read that time along with its rows."""
    limit = timezone.now() - timedelta(minutes=settings.ITERABLE_CHECK_STALE_MINUTES)
    return IterableCheck(checked_at, checked_at is None or checked_at < limit)


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
VERDICTS_TASK = "catalog.guard.tasks.verdicts_refresh_task"
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
    """Recompute one batch from plain rows: a message type's facts are built once however many rows use it,
    and no model instance or related manager is made per row (those were four fifths of a refresh)."""
    from catalog.models import FindingCategory, MessageType, SyncFinding

    ids_array = ids_in(ids)
    rows = list(
        Notification.objects.filter(pk__in=ids_array)
        .annotate(owner_total=Count("owners"))
        .values(
            "pk",
            "key",
            "status",
            "trigger_type",
            "message_type_id",
            "campaign_id",
            "event_id",
            "journey_id",
            "owner_total",
            "verdict_codes",
            "verdict_errors",
            "verdict_warnings",
        )
    )
    links = Notification.templates.through.objects.filter(notification_id__in=ids_array)
    templates_of: dict[int, list[tuple[str, int, int | None]]] = {}
    for link_owner, name, template_id, type_id in links.order_by("template__name", "template_id").values_list(
        "notification_id", "template__name", "template__iterable_id", "template__message_type_id"
    ):
        templates_of.setdefault(link_owner, []).append((name, template_id, type_id))
    type_ids = {row["message_type_id"] for row in rows} | {t[2] for ts in templates_of.values() for t in ts}
    type_ids.discard(None)
    types = {
        pk: policy.MessageTypeFacts(
            name=name, policy=type_policy, channel_name=channel_name, channel_type=channel_type, deprecated=deprecated
        )
        for pk, name, type_policy, channel_name, channel_type, deprecated in MessageType.objects.filter(
            pk__in=type_ids
        ).values_list("pk", "name", "policy", "channel__name", "channel__channel_type", "deprecated")
    }
    in_iterable: dict[int, set[tuple[str, Any, str]]] = {}
    for notification_id, code, iterable_id, severity in SyncFinding.objects.filter(
        notification_id__in=ids_array, category=FindingCategory.GUARD
    ).values_list("notification_id", "code", "iterable_id", "severity"):
        in_iterable.setdefault(notification_id, set()).add((code, iterable_id, severity))
    changed = []
    for row in rows:
        facts = facts_from_values(
            key=row["key"],
            status=row["status"],
            trigger_type=row["trigger_type"],
            message_type=types.get(row["message_type_id"]),
            campaign_id=row["campaign_id"],
            event_id=row["event_id"],
            journey_id=row["journey_id"],
            owner_count=row["owner_total"],
            templates=(
                (name, iterable_id, types.get(type_id))
                for name, iterable_id, type_id in templates_of.get(row["pk"], ())
            ),
        )
        found = policy.notification_violations(facts)
        iterable = in_iterable.get(row["pk"], set())
        codes = sorted({v.code for v in found} | {code for code, _, _ in iterable})
        error_count = sum(v.is_error for v in found) + sum(1 for *_, sev in iterable if sev == policy.ERROR)
        warning_count = len(found) + len(iterable) - error_count
        if (codes, error_count, warning_count) != (
            row["verdict_codes"],
            row["verdict_errors"],
            row["verdict_warnings"],
        ):
            changed.append((row["pk"], codes, error_count, warning_count))
    # The verdict columns are no guard input (the triggers watch other columns): a set-based write needs no
    # guard of its own.
    return rows_update(Notification, changed, ["verdict_codes", "verdict_errors", "verdict_warnings"])
