"""Preference resync: make Iterable's subscription arrays match the source of truth (``ContactPreference``).

The merge rule (why nothing the source of truth does not speak about is wiped)
------------------------------------------------------------------------------
``bulkUpdateSubscriptions`` overwrites every array it is sent. So for each contact and each of the four arrays:

* the desired value is ``None`` (the truth says nothing), or the array is not in the project's scope
  (``ResyncSettings.scope``), or it is ``subscribedMessageTypeIds`` in a project without opt-in types
  → the array is **not sent** (omitted = left alone by Iterable);
* scope ``"all"`` → the truth owns the whole array: the desired ids are the new array;
* scope ``[ids]`` → the truth owns only those ids: ``new = (current - scope) + desired``. The current array
  is read from Iterable (``getByEmail``) right before the write, in the same batch, so ids outside the scope
  (a marketer's list, an unsubscribe the truth does not track) survive.
* channel alignment: a message type belongs to a channel, and Iterable refuses a subscribed opt-in type on an
  unsubscribed channel (``validateChannelAlignment`` defaults to true). Ingestion refuses rows that contradict
  themselves. When the contradiction appears only after the merge:
  - an opt-in type the truth owns, on a channel unsubscribed outside the scope: the type is **not**
    subscribed (the channel unsubscribe is the broader wish); the diff records it under ``dropped``;
  - an opt-in type the truth does *not* own, on a channel the truth now unsubscribes: the type is **kept**
    (never wipe what the truth does not own) and the row is sent with ``validateChannelAlignment: false``;
    the channel unsubscribe still blocks every send on it. The diff records it under ``kept_misaligned``.

With the current state read, only arrays that differ are sent, and a contact whose arrays already match is
skipped ("in_sync"). ``compare="auto"`` reads only contacts that need it (some array with a partial scope):
a project whose truth owns whole arrays then resyncs without a single read, at the bulk write ceiling.

Throughput and reliability
--------------------------
A run's contacts are ``ResyncItem`` rows. A worker takes the run's lease, then loops: the next
``batch_size`` pending items → read where needed → merge → one ``bulkUpdateSubscriptions`` per batch
(split further only to stay under 4 MB) paced to ``rate_per_second`` → commit the items' outcome and the
contacts' "resynced" marker in one transaction (the checkpoint). After ``RESYNC_SLICE_SECONDS`` it releases
the lease and enqueues a continuation, so no task outlives django-q's ``timeout``. A killed worker's batch
was never committed: its items are still pending and are processed again (the overwrite is idempotent, and a
re-read shows them in sync). Its lease expires (``RESYNC_LEASE_SECONDS`` < Q_CLUSTER ``retry``) before the
ORM broker redelivers its task. Per-row failures (``invalidEmails``, ``validEmailFailures``) and batches
that fail after the client's bounded retries are recorded on the items and can be retried.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from catalog.audit.services import actor_label, audit_record
from catalog.iterable import IterableError, client_for_project
from catalog.iterable.client import MAX_BODY_BYTES
from catalog.iterable.pacing import DEFAULT_MARGIN, SlidingWindow
from catalog.models import (
    SUBSCRIPTION_ARRAY_FIELDS,
    BatchErrorPolicy,
    ContactPreference,
    MessageType,
    PreferenceImport,
    ResyncItem,
    ResyncRun,
    ResyncSettings,
)
from catalog.services.iterable_support import fan_out
from catalog.workers import shutdown_requested

logger = logging.getLogger(__name__)

ALL = "all"
ARRAYS = tuple(SUBSCRIPTION_ARRAY_FIELDS.values())
SUBSCRIBED = "subscribedMessageTypeIds"
UNSUB_CHANNELS = "unsubscribedChannelIds"
TASK = "catalog.tasks.resync_run_task"
SCHEDULED_TASK = "catalog.tasks.resync_scheduled_task"
ACTIVE = (ResyncRun.Status.QUEUED, ResyncRun.Status.RUNNING)
_USER_ARRAY_ATTR = {
    "emailListIds": "email_list_ids",
    "subscribedMessageTypeIds": "subscribed_message_type_ids",
    "unsubscribedChannelIds": "unsubscribed_channel_ids",
    "unsubscribedMessageTypeIds": "unsubscribed_message_type_ids",
}
_BODY_BUDGET = MAX_BODY_BYTES - 64 * 1024  # envelope and safety margin


def _slice_seconds() -> float:
    return float(getattr(django_settings, "RESYNC_SLICE_SECONDS", 60))


def _lease_seconds() -> float:
    return float(getattr(django_settings, "RESYNC_LEASE_SECONDS", 120))


def _task_timeout() -> int:
    return int(getattr(django_settings, "RESYNC_TASK_TIMEOUT", 300))


def _stall_seconds() -> float:
    """How long an active run may sit with nobody holding its lease and no task queued before it counts as
    stalled (a died, overrun or lost task): a lease outlives a slice, so this is the lease plus a margin."""
    return float(getattr(django_settings, "RESYNC_STALL_SECONDS", _lease_seconds() + 60))


def _max_resumes() -> int:
    return int(getattr(django_settings, "RESYNC_MAX_RESUMES", 5))


# ---------------------------------------------------------------------------------------------------------
# Settings and rules


@dataclass(frozen=True)
class Rules:
    """What the resync may write in one project: scope per array, opt-in, and the catalog's type→channel map."""

    scope: dict[str, Any]  # array -> ALL | frozenset[int]
    opt_in_enabled: bool
    type_channel: dict[int, int] = field(default_factory=dict)
    type_policy: dict[int, str] = field(default_factory=dict)


def resync_settings_get(*, project) -> ResyncSettings:
    settings, _ = ResyncSettings.objects.get_or_create(project=project)
    return settings


def clean_scope(scope: Any) -> dict[str, Any]:
    """Validate a scope dict: keys are Iterable array names, values ``"all"`` or a list of ids."""
    if not isinstance(scope, dict):
        raise ValidationError({"scope": "must be an object keyed by array name"})
    out: dict[str, Any] = {}
    for key, value in scope.items():
        if key not in ARRAYS:
            raise ValidationError({"scope": f"unknown array {key!r}; use one of {', '.join(ARRAYS)}"})
        if value == ALL:
            out[key] = ALL
        elif isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            out[key] = sorted(set(value))
        else:
            raise ValidationError({"scope": f'{key}: use "all" or a list of integer ids'})
    return out


# django-q2 keeps a schedule's interval in a small integer column.
MAX_SCHEDULE_MINUTES = 32_767

# What staff may change in a project's resync settings (the page, the API and this service share the list).
SETTINGS_FIELDS = (
    "scope",
    "opt_in_enabled",
    "batch_size",
    "rate_per_second",
    "read_concurrency",
    "on_batch_error",
    "schedule_enabled",
    "schedule_minutes",
)


def resync_settings_update(*, project, actor, **changes) -> ResyncSettings:
    """Change a project's resync settings (validated, audited) and keep its django-q Schedule in line."""
    settings = resync_settings_get(project=project)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}")
    if "scope" in changes:
        changes["scope"] = clean_scope(changes["scope"])
    if "batch_size" in changes and not 1 <= int(changes["batch_size"]) <= 100_000:
        raise ValidationError({"batch_size": "must be between 1 and 100000"})
    if "rate_per_second" in changes and float(changes["rate_per_second"]) < 0:
        raise ValidationError({"rate_per_second": "must be 0 (unpaced) or more"})
    if "schedule_minutes" in changes and not 1 <= int(changes["schedule_minutes"]) <= MAX_SCHEDULE_MINUTES:
        raise ValidationError({"schedule_minutes": f"must be between 1 and {MAX_SCHEDULE_MINUTES} (about 22 days)"})
    if "on_batch_error" in changes and changes["on_batch_error"] not in BatchErrorPolicy.values:
        raise ValidationError({"on_batch_error": f"use one of {', '.join(BatchErrorPolicy.values)}"})
    before = {name: getattr(settings, name) for name in changes}
    for name, value in changes.items():
        setattr(settings, name, value)
    with transaction.atomic():
        settings.save()
        _sync_schedule(settings)
        audit_record(
            actor=actor,
            action="resync_settings_update",
            instance=settings,
            changes={k: {"before": before[k], "after": v} for k, v in changes.items() if before[k] != v},
        )
    return settings


def _schedule_name(project_id: int) -> str:
    return f"resync-project-{project_id}"


def _sync_schedule(settings: ResyncSettings) -> None:
    from django_q.models import Schedule

    name = _schedule_name(settings.project_id)
    if not settings.schedule_enabled:
        Schedule.objects.filter(name=name).delete()
        return
    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": SCHEDULED_TASK,
            "args": repr(settings.project_id),
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.schedule_minutes,
            "repeats": -1,
        },
    )


def resync_rules(*, project) -> Rules:
    settings = ResyncSettings.objects.filter(project=project).first()
    raw = clean_scope(settings.scope) if settings else {}
    scope = {k: (ALL if v == ALL else frozenset(v)) for k, v in raw.items()}
    types = MessageType.objects.filter(project=project).values_list("iterable_id", "channel__iterable_id", "policy")
    return Rules(
        scope=scope,
        opt_in_enabled=bool(settings and settings.opt_in_enabled),
        type_channel={t: c for t, c, _ in types},
        type_policy={t: p for t, _, p in types},
    )


# ---------------------------------------------------------------------------------------------------------
# The merge (pure)


def desired_arrays(contact: ContactPreference, rules: Rules) -> dict[str, list[int] | None]:
    """The arrays the resync may write for this contact (``None``: leave it alone), filtered to scope."""
    out: dict[str, list[int] | None] = {}
    for field_name, array in SUBSCRIPTION_ARRAY_FIELDS.items():
        value = getattr(contact, field_name)
        scope = rules.scope.get(array)
        if value is None or scope is None or (array == SUBSCRIBED and not rules.opt_in_enabled):
            out[array] = None
        else:
            out[array] = sorted({int(v) for v in value if scope is ALL or int(v) in scope})
    return out


def needs_read(desired: dict[str, list[int] | None], rules: Rules) -> bool:
    """True when the new value of some array depends on ids outside the scope (so on the current state)."""
    return any(ids is not None and rules.scope.get(a) is not ALL for a, ids in desired.items())


@dataclass
class Merge:
    send: dict[str, list[int]]  # arrays to put in the update row (only those that change, when read)
    diff: dict[str, dict[str, list[int]]]  # array -> {"add": [...], "remove": [...]} (or {"set": [...]})
    dropped: list[int]  # desired opt-in types left out because their channel is unsubscribed
    kept_misaligned: list[int] = field(default_factory=list)  # not owned, kept on an unsubscribed channel

    def row(self, email: str) -> dict[str, Any]:
        """The ``bulkUpdateSubscriptions`` row for this merge."""
        extra = {"validateChannelAlignment": False} if self.kept_misaligned else {}
        return {"email": email, **self.send, **extra}


def merge_subscriptions(
    *, desired: dict[str, list[int] | None], current: dict[str, list[int]] | None, rules: Rules
) -> Merge:
    """The new arrays for one contact. ``current`` is Iterable's state, or ``None`` when it was not read
    (allowed only for arrays whose scope is ``"all"``: callers read first when ``needs_read``)."""
    target: dict[str, list[int]] = {}
    for array, ids in desired.items():
        if ids is None:
            continue
        scope = rules.scope.get(array)
        if scope is ALL:
            target[array] = list(ids)
        else:
            if current is None:
                raise ValueError(f"{array} has a partial scope: read the current state first")
            kept = [i for i in current.get(array, []) if i not in scope]
            target[array] = kept + sorted(set(ids) - set(kept))
    dropped: list[int] = []
    channels = target.get(UNSUB_CHANNELS)
    if channels is None and current is not None:
        channels = current.get(UNSUB_CHANNELS, [])
    channels = set(channels or ())
    if SUBSCRIBED in target:
        wanted = set(desired[SUBSCRIBED] or ())
        dropped = sorted(i for i in target[SUBSCRIBED] if i in wanted and rules.type_channel.get(i) in channels)
        if dropped:
            target[SUBSCRIBED] = [i for i in target[SUBSCRIBED] if i not in dropped]
    subscribed = target.get(SUBSCRIBED)
    if subscribed is None and current is not None:
        subscribed = current.get(SUBSCRIBED, [])
    # Opt-ins the truth does not own, on a channel that is (now) unsubscribed: kept as they are (never wiped);
    # Iterable would refuse the row, so it goes with validateChannelAlignment=false. The channel still blocks.
    misaligned = sorted(i for i in subscribed or () if rules.type_channel.get(i) in channels)
    if current is None:
        diff = {a: {"set": sorted(v)} for a, v in target.items()}
        return Merge(send=target, diff=diff, dropped=dropped, kept_misaligned=misaligned)
    send, diff = {}, {}
    for array, new in target.items():
        old = current.get(array, [])
        add, remove = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        if add or remove:
            send[array] = new
            diff[array] = {"add": add, "remove": remove}
    return Merge(send=send, diff=diff, dropped=dropped, kept_misaligned=misaligned if send else [])


def _current_of(user) -> dict[str, list[int]]:
    return {array: [int(i) for i in getattr(user, attr)] for array, attr in _USER_ARRAY_ATTR.items()}


# ---------------------------------------------------------------------------------------------------------
# Starting runs


@dataclass
class ResyncStart:
    """What starting a run returns: the run (``None`` if nothing to do for a schedule) and emails not found."""

    run: ResyncRun | None
    unknown_emails: list[str] = field(default_factory=list)


def resync_parse_emails(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    """A pasted list (one address per line, or separated by commas/semicolons/spaces) → (emails, errors)."""
    emails: list[str] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line_no, line in enumerate((text or "").splitlines(), start=1):
        for token in re.split(r"[,;\s]+", line.strip()):
            if not token:
                continue
            email = token.lower()
            try:
                validate_email(email)
            except ValidationError:
                errors.append({"line": line_no, "email": token, "errors": ["invalid email"]})
                continue
            if email not in seen:
                seen.add(email)
                emails.append(email)
    return emails, errors


def resync_start(
    *,
    project,
    actor,
    emails: list[str] | None = None,
    import_record: PreferenceImport | None = None,
    changed_since: datetime | None = None,
    everyone: bool = False,
    dry_run: bool = False,
    compare: str = ResyncRun.Compare.READ,
) -> ResyncStart:
    """Start a resync (or a dry run) of one contact / a list (``emails``), an import, the contacts changed
    since a date, or everyone. Exactly one selection. The task is enqueued when the transaction commits."""
    chosen = [emails is not None, import_record is not None, changed_since is not None, everyone]
    if sum(chosen) != 1:
        raise ValidationError("Choose exactly one of: emails, an import, changed since a date, or everyone.")
    if compare not in ResyncRun.Compare.values:
        raise ValidationError({"compare": f"use one of {', '.join(ResyncRun.Compare.values)}"})
    contacts = ContactPreference.objects.filter(project=project)
    unknown: list[str] = []
    contact_ids: list[int] | None = None  # None: the run's task lists them (LISTED_BY_TASK)
    if emails is not None:
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 2000):  # no single huge IN (SQLite's variable limit)
            found.update(contacts.filter(email__in=wanted[start : start + 2000]).values_list("email", "pk"))
        unknown = [e for e in wanted if e not in found]
        contact_ids = sorted(found.values())
        detail: dict[str, Any] = {"count": len(found), "unknown": len(unknown)}
        selection = ResyncRun.Selection.CONTACTS
        if len(found) <= 20:
            detail["emails"] = sorted(found)
    elif import_record is not None:
        if import_record.project_id != project.pk:
            raise ValidationError("That import belongs to another project.")
        if import_record.status != PreferenceImport.Status.DONE:
            raise ValidationError(f"Import #{import_record.pk} has not finished; resync its contacts once it has.")
        selection, detail = ResyncRun.Selection.IMPORT, {"import": import_record.pk}
    elif changed_since is not None:
        selection, detail = ResyncRun.Selection.SINCE, {"since": changed_since.isoformat()}
    else:
        selection, detail = ResyncRun.Selection.EVERYONE, {}
    run = _create_run(
        project=project,
        actor=actor,
        contact_ids=contact_ids,
        selection=selection,
        detail=detail,
        dry_run=dry_run,
        compare=compare,
    )
    return ResyncStart(run=run, unknown_emails=unknown)


def _create_run(
    *, project, actor, contact_ids: list[int] | None, selection, detail, dry_run, compare, source_run=None
) -> ResyncRun:
    """The run, its items and its task (queued when the transaction commits). ``contact_ids=None``: a selection
    by query, listed as items by the run's task (``_list_contacts``), so a request never writes 100,000 rows."""
    settings = resync_settings_get(project=project)
    with transaction.atomic():
        run = ResyncRun.objects.create(
            project=project,
            created_by=actor if getattr(actor, "pk", None) else None,
            actor_label=actor_label(actor),
            dry_run=dry_run,
            selection=selection,
            selection_detail=detail,
            compare=compare,
            source_run=source_run,
            batch_size=settings.batch_size,
            rate_per_second=settings.rate_per_second,
            on_batch_error=settings.on_batch_error,
            total=len(contact_ids or ()),
        )
        listed = contact_ids or []
        for start in range(0, len(listed), 2000):  # no single huge IN (SQLite's variable limit)
            chunk = ContactPreference.objects.filter(pk__in=listed[start : start + 2000])
            _insert_items(run, chunk.annotate(cid=F("pk")).values_list("cid", flat=True))
        counted = {} if contact_ids is None else {"total": len(contact_ids)}
        audit_record(
            actor=actor,
            action="resync_dry_run" if dry_run else "resync_start",
            instance=run,
            changes={"selection": selection, **detail, **counted},
        )
        if contact_ids == []:
            run.status = ResyncRun.Status.DONE
            run.started_at = run.finished_at = timezone.now()
            run.save(update_fields=["status", "started_at", "finished_at"])
        else:
            _enqueue(run.pk)
    return run


def resync_apply(*, run: ResyncRun, actor) -> ResyncRun:
    """Apply a finished dry run: a new run over the contacts it found different (or could not read).
    It reads again before writing, so what is sent is what differs *now*."""
    if not run.dry_run:
        raise ValidationError("Only a dry run can be applied.")
    if run.status != ResyncRun.Status.DONE:
        raise ValidationError("The dry run has not finished.")
    return _create_run(
        project=run.project,
        actor=actor,
        contact_ids=None,
        selection=ResyncRun.Selection.DRY_RUN,
        detail={"dry_run": run.pk},
        dry_run=False,
        compare=ResyncRun.Compare.READ,
        source_run=run,
    )


def resync_start_scheduled(*, project) -> ResyncRun | None:
    """The scheduled resync: every contact whose desired state changed since it was last resynced (or never
    was). Nothing is lost to a cancelled or failed run: those contacts stay "changed" and come back next time.
    Returns ``None`` (and nudges it) when a scheduled run of the project is still active."""
    active = ResyncRun.objects.filter(project=project, status__in=ACTIVE, selection=ResyncRun.Selection.SCHEDULED)
    for run in active:
        resync_resume(run=run)
    if active:
        return None
    contact_ids = list(
        ContactPreference.objects.filter(project=project)
        .filter(Q(resynced_at__isnull=True) | Q(changed_at__gt=F("resynced_at")))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not contact_ids:
        return None
    return _create_run(
        project=project,
        actor="schedule",
        contact_ids=contact_ids,
        selection=ResyncRun.Selection.SCHEDULED,
        detail={},
        dry_run=False,
        compare=ResyncRun.Compare.READ,
    )


def _enqueue(run_id: int) -> None:
    from catalog.observability import enqueue

    # Only the id travels: task arguments are pickled into the database and shown in the admin.
    options = {
        "timeout": _task_timeout(),  # > slice, < Q_CLUSTER retry
        "ack_failure": True,
        "group": "resync",
        "task_name": resync_task_name(run_id),
    }
    ResyncRun.objects.filter(pk=run_id).update(enqueued_at=timezone.now())
    transaction.on_commit(lambda: enqueue(TASK, run_id, q_options=options))


def resync_task_name(run_id: int) -> str:
    return f"resync-run-{run_id}"


def resync_resume(*, run: ResyncRun) -> None:
    """Enqueue the run's task again (harmless if one is already running: the lease keeps it single)."""
    if run.status in ACTIVE:
        _enqueue(run.pk)


# ---------------------------------------------------------------------------------------------------------
# Cancel, retry, progress, reports (what the run list and run page need)


def resync_cancel(*, run: ResyncRun, actor) -> ResyncRun:
    """Cancel a queued or running run: its pending contacts become skipped ("cancelled"); a batch already on
    its way to Iterable finishes and is recorded as what it was."""
    with transaction.atomic():
        updated = ResyncRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(
            status=ResyncRun.Status.CANCELLED, finished_at=timezone.now()
        )
        if updated:
            run.items.filter(status=ResyncItem.Status.PENDING).update(
                status=ResyncItem.Status.SKIPPED, outcome="cancelled", processed_at=timezone.now()
            )
            audit_record(actor=actor, action="resync_cancel", instance=run)
    run.refresh_from_db()
    return run


def resync_retry_failed(*, run: ResyncRun, actor) -> int:
    """Put the run's failed contacts back to pending and run it again. Returns how many."""
    run.refresh_from_db()
    if run.status in ACTIVE and _lease_held(run):
        raise ValidationError("The run is being processed right now; retry its failures when it has finished.")
    stalled = run.status in ACTIVE  # active, yet nobody holds it: its task died, overran or was lost
    with transaction.atomic():
        count = run.items.filter(status=ResyncItem.Status.FAILED).update(
            status=ResyncItem.Status.PENDING, error_code="", error_message="", outcome=""
        )
        if not count and run.status != ResyncRun.Status.FAILED and not stalled:
            return 0
        ResyncRun.objects.filter(pk=run.pk).update(
            status=ResyncRun.Status.QUEUED,
            finished_at=None,
            last_error="",
            lease_owner="",
            lease_until=None,
            resumes=0,
            resumed_at_batch=F("batches_done"),
        )
        audit_record(actor=actor, action="resync_retry_failed", instance=run, changes={"items": count})
        _enqueue(run.pk)
    run.refresh_from_db()
    return count


def resync_runs(*, project=None):
    """Runs for the run list, newest first (a queryset: the door paginates)."""
    runs = ResyncRun.objects.select_related("project")
    return runs.filter(project=project) if project is not None else runs


def resync_progress(*, run: ResyncRun) -> dict[str, Any]:
    """Counts for the run page: pending/done/failed/skipped, outcomes, batches, rate and an ETA."""
    run.refresh_from_db()
    by_status = dict(run.items.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_outcome = dict(
        run.items.exclude(outcome="").values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")
    )
    counts = {s: by_status.get(s, 0) for s in ResyncItem.Status.values}
    processed = counts["done"] + counts["failed"] + counts["skipped"]
    elapsed = None
    rate = None
    if run.started_at:
        elapsed = ((run.finished_at or timezone.now()) - run.started_at).total_seconds()
        rate = processed / elapsed if elapsed > 0 else None
    eta = counts["pending"] / rate if rate and run.status in ACTIVE else None
    return {
        "id": run.pk,
        "status": run.status,
        "dry_run": run.dry_run,
        "selection": run.selection,
        "selection_detail": run.selection_detail,
        "total": run.total,
        **counts,
        "outcomes": by_outcome,
        "batches_done": run.batches_done,
        "batch_size": run.batch_size,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "elapsed_seconds": elapsed,
        "contacts_per_second": rate,
        "eta_seconds": eta,
        "last_error": run.last_error,
        "can_cancel": run.status in ACTIVE,
        "stalled": resync_stalled(run),
        "resumes": run.resumes,
        "can_retry_failed": (
            run.status not in ACTIVE and (counts["failed"] > 0 or run.status == "failed")
        ) or (run.status in ACTIVE and not _lease_held(run) and (counts["failed"] > 0 or resync_stalled(run))),
        "can_apply": run.dry_run and run.status == ResyncRun.Status.DONE,
        "listing": resync_listing(run),
    }


def resync_failures(*, run: ResyncRun, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Failed contacts with their reason, for the run page."""
    items = (
        run.items.filter(status=ResyncItem.Status.FAILED)
        .select_related("contact")
        .order_by("id")[offset : offset + limit]
    )
    return [
        {
            "email": i.contact.email,
            "code": i.error_code,
            "message": i.error_message,
            "attempts": i.attempts,
            "batch": i.batch_no,
            "at": i.processed_at,
        }
        for i in items
    ]


def resync_dry_run_report(*, run: ResyncRun, samples: int = 20) -> dict[str, Any]:
    """A dry run's summary: how many contacts would change, per array and direction, and sample diffs."""
    per_array: Counter[str] = Counter()
    dropped = 0
    for diff in run.items.filter(outcome="would_change").values_list("diff", flat=True).iterator(chunk_size=2000):
        for array, change in diff.get("arrays", {}).items():
            if change.get("add"):
                per_array[f"{array}:add"] += 1
            if change.get("remove"):
                per_array[f"{array}:remove"] += 1
        dropped += bool(diff.get("dropped"))
    sample = [
        {"email": i.contact.email, **i.diff}
        for i in run.items.filter(outcome="would_change").select_related("contact").order_by("id")[:samples]
    ]
    return {
        "progress": resync_progress(run=run),
        "contacts_by_change": dict(sorted(per_array.items())),
        "contacts_with_alignment_drops": dropped,
        "samples": sample,
        "failures": resync_failures(run=run, limit=samples),
    }


# ---------------------------------------------------------------------------------------------------------
# Processing (called by the task; the bench calls it directly)

_pacers: dict[tuple[int, float], SlidingWindow] = {}
_pacers_lock = threading.Lock()


def _pacer(project_id: int, rate: float) -> SlidingWindow | None:
    """One bulk-write pacer per project and rate in this process, shared by successive slices."""
    if rate <= 0:
        return None
    key = (project_id, rate)
    with _pacers_lock:
        if key not in _pacers:
            # Whole calls per window: a fractional rate (0.5/s) becomes 1 call per 2 s.
            count, period = (rate, 1.0) if rate >= 1 else (1, 1.0 / rate)
            _pacers[key] = SlidingWindow(count, period * (1 + DEFAULT_MARGIN), clock=time.monotonic)
        return _pacers[key]


def _acquire(run_id: int, token: str) -> bool:
    now = timezone.now()
    return bool(
        ResyncRun.objects.filter(pk=run_id, status__in=ACTIVE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=token))
        .update(lease_owner=token, lease_until=now + timedelta(seconds=_lease_seconds()))
    )


def _release(run_id: int, token: str, **fields) -> None:
    ResyncRun.objects.filter(pk=run_id, lease_owner=token).update(lease_owner="", lease_until=None, **fields)


def resync_process(*, run_id: int, slice_seconds: float | None = None, token: str | None = None) -> str:
    """Process a run's batches for up to ``slice_seconds`` (default ``RESYNC_SLICE_SECONDS``) while holding
    its lease. Returns ``"done"``, ``"continue"`` (a continuation was enqueued), ``"busy"`` (another worker
    holds the lease), ``"stopped"`` (cancelled, lease lost, or stopped on a batch error) or ``"failed"``.
    ``token`` names the lease holder (the task passes its own, to release the lease if it overruns)."""
    token = token or uuid.uuid4().hex
    if not _acquire(run_id, token):
        return "busy"
    deadline = time.monotonic() + (_slice_seconds() if slice_seconds is None else slice_seconds)
    run = ResyncRun.objects.select_related("project").get(pk=run_id)
    if resync_listing(run):
        _list_contacts(run, token)
    if run.status == ResyncRun.Status.QUEUED:
        run.status = ResyncRun.Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        ResyncRun.objects.filter(pk=run_id, status=ResyncRun.Status.QUEUED).update(
            status=run.status, started_at=run.started_at
        )
    try:
        client = client_for_project(run.project) if _has_pending(run) else None
    except IterableError as exc:
        _release(run_id, token, status=ResyncRun.Status.FAILED, last_error=str(exc), finished_at=timezone.now())
        return "failed"
    rules = resync_rules(project=run.project)
    settings = resync_settings_get(project=run.project)
    pacer = _pacer(run.project_id, run.rate_per_second)
    while True:
        if not _acquire(run_id, token):
            return "stopped"
        run.refresh_from_db(fields=["batch_size", "batches_done", "status"])
        items = list(
            run.items.filter(status=ResyncItem.Status.PENDING)
            .select_related("contact")
            .order_by("id")[: run.batch_size]
        )
        if not items:
            ResyncRun.objects.filter(pk=run_id, status__in=ACTIVE).update(
                status=ResyncRun.Status.DONE, finished_at=timezone.now()
            )
            _release(run_id, token)
            return "done"
        outcome = _process_batch(run, items, client, rules, pacer, settings.read_concurrency)
        if outcome == "stop":
            _release(run_id, token, status=ResyncRun.Status.FAILED, finished_at=timezone.now())
            return "stopped"
        if time.monotonic() >= deadline or shutdown_requested():  # a stopping worker ends at the checkpoint
            _release(run_id, token)
            with transaction.atomic():
                _enqueue(run_id)
            return "continue"


# Selections by query: the request only records the choice; the run's task lists the contacts.
LISTED_BY_TASK = (
    ResyncRun.Selection.IMPORT,
    ResyncRun.Selection.SINCE,
    ResyncRun.Selection.EVERYONE,
    ResyncRun.Selection.DRY_RUN,
)


def resync_listing(run: ResyncRun) -> bool:
    """True while a run waits for its task to list the contacts it selected (its total is not known yet)."""
    return (
        run.selection in LISTED_BY_TASK
        and run.status == ResyncRun.Status.QUEUED
        and run.started_at is None
        and run.total == 0
        and not run.items.exists()
    )


def _selected_contacts(run: ResyncRun) -> QuerySet:
    """The ids of the contacts a run selected, as a query (one column, ``cid``)."""
    detail = run.selection_detail or {}
    if run.selection == ResyncRun.Selection.DRY_RUN:
        # The dry run's contacts that differed (or could not be read); the run reads them again before writing.
        chosen = ResyncItem.objects.filter(run_id=detail.get("dry_run")).filter(
            Q(outcome="would_change") | Q(status=ResyncItem.Status.FAILED)
        )
        return chosen.annotate(cid=F("contact_id")).values_list("cid", flat=True)
    contacts = ContactPreference.objects.filter(project_id=run.project_id)
    if run.selection == ResyncRun.Selection.IMPORT:
        contacts = contacts.filter(imports=detail.get("import"))
    elif run.selection == ResyncRun.Selection.SINCE:
        contacts = contacts.filter(changed_at__gte=datetime.fromisoformat(detail["since"]))
    return contacts.annotate(cid=F("pk")).values_list("cid", flat=True)


def _insert_items(run: ResyncRun, contacts: QuerySet) -> int:
    """One pending item per selected contact, written by one INSERT ... SELECT: the database copies the ids,
    so 100,000 items cost one statement rather than 100,000 rows through Python. Returns how many."""
    meta = ResyncItem._meta
    pending = {
        "run_id": run.pk,
        "status": ResyncItem.Status.PENDING,
        "outcome": "",
        "diff": meta.get_field("diff").get_db_prep_save({}, connection),
        "error_code": "",
        "error_message": "",
        "attempts": 0,
    }
    select_sql, select_params = contacts.order_by("cid").query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in [*pending, "contact_id"])
    # Only quoted model names and Django's own compiled query are in the text; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {', '.join(['%s'] * len(pending))}, chosen.cid FROM ({select_sql}) chosen"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*pending.values(), *select_params])
        return cursor.rowcount


def _list_contacts(run: ResyncRun, token: str) -> None:
    """Write a run's items from its selection, once: in one transaction under the run's row lock, so a killed
    worker leaves nothing half-listed and a second worker finds the items there."""
    with transaction.atomic():
        held = ResyncRun.objects.select_for_update().filter(pk=run.pk, lease_owner=token).exists()
        if not held or run.items.exists():
            return
        total = _insert_items(run, _selected_contacts(run))
        ResyncRun.objects.filter(pk=run.pk).update(total=total)
    run.total = total


def _has_pending(run: ResyncRun) -> bool:
    return run.items.filter(status=ResyncItem.Status.PENDING).exists()


def _read_many(client, emails: list[str], concurrency: int) -> dict[str, Any]:
    """Current profiles by email (``None``: no such user; an ``IterableError``: could not read)."""
    return fan_out({email: partial(client.get_user_by_email, email) for email in emails}, max_workers=concurrency)


@dataclass
class _Result:
    status: str
    outcome: str = ""
    diff: dict = field(default_factory=dict)
    error_code: str = ""
    error_message: str = ""


def _process_batch(run, items, client, rules, pacer, concurrency) -> str:
    """One checkpointed batch. Returns ``"ok"``, ``"retry"`` (batch size halved; items still pending) or
    ``"stop"`` (policy says stop; items still pending)."""
    started = timezone.now()
    batch_no = run.batches_done + 1
    desired = {item.pk: desired_arrays(item.contact, rules) for item in items}
    read_all = run.dry_run or run.compare == ResyncRun.Compare.READ
    to_read = [
        item.contact.email
        for item in items
        if any(v is not None for v in desired[item.pk].values()) and (read_all or needs_read(desired[item.pk], rules))
    ]
    reads = _read_many(client, to_read, concurrency)
    results: dict[int, _Result] = {}
    diffs: dict[int, dict] = {}
    rows: list[tuple[ResyncItem, dict[str, Any]]] = []
    for item in items:
        wanted = desired[item.pk]
        email = item.contact.email
        if all(v is None for v in wanted.values()):
            results[item.pk] = _Result(ResyncItem.Status.SKIPPED, "nothing_in_scope")
            continue
        current = None
        created = False
        if email in reads:
            found = reads[email]
            if isinstance(found, IterableError):
                results[item.pk] = _Result(ResyncItem.Status.FAILED, "read_failed", {}, found.code, found.msg[:500])
                continue
            created = found is None
            current = {a: [] for a in ARRAYS} if found is None else _current_of(found)
        merge = merge_subscriptions(desired=wanted, current=current, rules=rules)
        diff = diffs[item.pk] = {"arrays": merge.diff}
        if merge.dropped:
            diff["dropped"] = merge.dropped
        if merge.kept_misaligned:
            diff["kept_misaligned"] = merge.kept_misaligned
        if not merge.send:
            results[item.pk] = _Result(ResyncItem.Status.SKIPPED, "in_sync", diff if merge.dropped else {})
        elif run.dry_run:
            results[item.pk] = _Result(ResyncItem.Status.DONE, "would_change", diff)
        else:
            # Applied changes are written in groups (fast); only alignment drops keep a per-contact detail.
            kept = diff if merge.dropped or merge.kept_misaligned else {}
            results[item.pk] = _Result(ResyncItem.Status.DONE, "created" if created else "changed", kept)
            rows.append((item, merge.row(email)))
    if rows:
        outcome = _send(run, rows, results, diffs, client, pacer)
        if outcome != "ok":
            return outcome
    _checkpoint(run, items, results, batch_no, started)
    return "ok"


def _chunks_by_size(rows: list[tuple[ResyncItem, dict]]) -> list[list[tuple[ResyncItem, dict]]]:
    chunks, current, size = [], [], 0
    for pair in rows:
        row_size = len(json.dumps(pair[1], separators=(",", ":"))) + 1
        if current and size + row_size > _BODY_BUDGET:
            chunks.append(current)
            current, size = [], 0
        current.append(pair)
        size += row_size
    if current:
        chunks.append(current)
    return chunks


def _send(run, rows, results, diffs, client, pacer) -> str:
    for chunk in _chunks_by_size(rows):
        if pacer is not None:
            delay = pacer.acquire()
            if delay > 0:
                time.sleep(delay)
        try:
            answer = client.bulk_update_subscriptions([row for _, row in chunk])
        except IterableError as exc:
            if exc.code == "BatchTooLarge" or exc.status == 413:
                # The limit is undocumented: halve and try the same contacts again (they are still pending).
                new_size = max(1, min(run.batch_size, len(chunk)) // 2)
                ResyncRun.objects.filter(pk=run.pk).update(batch_size=new_size)
                logger.warning("Resync run %s: batch of %d too large, now %d", run.pk, len(chunk), new_size)
                if len(chunk) == 1:
                    pk = chunk[0][0].pk
                    results[pk] = _Result(ResyncItem.Status.FAILED, "send_failed", diffs[pk], exc.code, exc.msg)
                    continue
                return "retry"
            if run.on_batch_error == BatchErrorPolicy.STOP:
                ResyncRun.objects.filter(pk=run.pk).update(last_error=str(exc)[:2000])
                return "stop"
            ResyncRun.objects.filter(pk=run.pk).update(last_error=str(exc)[:2000])
            for item, _ in chunk:
                results[item.pk] = _Result(
                    ResyncItem.Status.FAILED, "send_failed", diffs[item.pk], exc.code, exc.msg[:500]
                )
            continue
        rejected = {e.lower(): "invalidEmail" for e in answer["invalidEmails"]}
        rejected.update({e.lower(): "validEmailFailure" for e in answer["validEmailFailures"]})
        for item, row in chunk:
            code = rejected.get(row["email"])
            if code:
                message = (
                    "Iterable rejected the address as invalid."
                    if code == "invalidEmail"
                    else "Iterable refused the update (unknown id, or a subscribed type on an unsubscribed channel)."
                )
                results[item.pk] = _Result(ResyncItem.Status.FAILED, "rejected", diffs[item.pk], code, message)
    return "ok"


def _checkpoint(run, items, results: dict[int, _Result], batch_no: int, started) -> None:
    """Record one batch atomically: item outcomes, the contacts' resynced marker, the run's batch count."""
    now = timezone.now()
    groups: dict[tuple[str, str], list[int]] = {}
    detailed: list[ResyncItem] = []
    for item in items:
        result = results[item.pk]
        # Failures and dry-run differences keep their detail; plain outcomes are written in groups.
        if result.diff or result.error_code:
            item.status, item.outcome, item.diff = result.status, result.outcome, result.diff
            item.error_code, item.error_message = result.error_code, result.error_message
            item.attempts += 1
            item.batch_no, item.processed_at = batch_no, now
            detailed.append(item)
        else:
            groups.setdefault((result.status, result.outcome), []).append(item.pk)
    synced = [
        item.contact_id
        for item in items
        if not run.dry_run and results[item.pk].status in (ResyncItem.Status.DONE, ResyncItem.Status.SKIPPED)
    ]
    with transaction.atomic():
        for (status, outcome), ids in groups.items():
            ResyncItem.objects.filter(pk__in=ids).update(
                status=status,
                outcome=outcome,
                attempts=F("attempts") + 1,
                batch_no=batch_no,
                processed_at=now,
                error_code="",
                error_message="",
            )
        ResyncItem.objects.bulk_update(
            detailed,
            ["status", "outcome", "diff", "error_code", "error_message", "attempts", "batch_no", "processed_at"],
            batch_size=500,
        )
        if synced:
            # The "resynced" marker: the time the batch started (a change made during the batch stays "changed").
            ContactPreference.objects.filter(pk__in=synced).update(resynced_at=started, resynced_run=run)
        ResyncRun.objects.filter(pk=run.pk).update(batches_done=F("batches_done") + 1)


# ---------------------------------------------------------------------------------------------------------
# Supervision: a run whose task died, overran its timeout or was lost is resumed from its checkpoint (the
# pending items), or fails with the reason once resuming no longer gets it further.


def _lease_held(run: ResyncRun, now: datetime | None = None) -> bool:
    return bool(run.lease_until and run.lease_until > (now or timezone.now()))


def resync_stalled(run: ResyncRun, now: datetime | None = None) -> bool:
    """Active, yet nobody has held its lease nor queued its task for ``RESYNC_STALL_SECONDS``."""
    now = now or timezone.now()
    if run.status not in ACTIVE:
        return False
    quiet_since = now - timedelta(seconds=_stall_seconds())
    if run.lease_until and run.lease_until > quiet_since:
        return False
    return not (run.enqueued_at and run.enqueued_at > quiet_since)


def _last_task_failure(run: ResyncRun) -> str:
    """What django-q recorded about the run's last failed task since it was queued, in one line."""
    from django_q.models import Task

    failures = Task.objects.filter(name=resync_task_name(run.pk), success=False)
    if run.enqueued_at:
        failures = failures.filter(stopped__gte=run.enqueued_at)
    task = failures.order_by("-stopped").first()
    if task is None:
        return ""
    return str(task.result or "").split(" : ", 1)[0].strip()[:300]


def resync_resume_or_fail(*, run: ResyncRun, reason: str, overran: bool = False, token: str = "") -> str:
    """Resume a stalled run from its checkpoint, halving its batches when its task overran (a batch must fit
    in the task's time), or fail it with ``reason`` after RESYNC_MAX_RESUMES resumes in a row that did not
    get it further. Returns ``"resumed"``, ``"failed"`` or ``"skipped"`` (no longer active)."""
    run.refresh_from_db()
    if run.status not in ACTIVE:
        return "skipped"
    resumes = 1 if run.batches_done > run.resumed_at_batch else run.resumes + 1
    lease = Q(lease_owner=token) if token else Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    with transaction.atomic():
        if resumes > _max_resumes():
            message = (
                f"Stopped: its task was resumed {resumes - 1} times without getting further. Last reason: {reason}. "
                "Its pending contacts were not sent; fix the cause, then use 'retry failed'."
            )
            updated = ResyncRun.objects.filter(lease, pk=run.pk, status__in=ACTIVE).update(
                status=ResyncRun.Status.FAILED,
                finished_at=timezone.now(),
                last_error=message[:2000],
                lease_owner="",
                lease_until=None,
            )
            if updated:
                audit_record(actor="supervisor", action="resync_stalled", instance=run, changes={"reason": reason})
            return "failed" if updated else "skipped"
        batch_size = max(1, run.batch_size // 2) if overran else run.batch_size
        updated = ResyncRun.objects.filter(lease, pk=run.pk, status__in=ACTIVE).update(
            resumes=resumes,
            resumed_at_batch=run.batches_done,
            batch_size=batch_size,
            last_error=f"Resumed from its checkpoint after batch {run.batches_done}: {reason}."[:2000],
            lease_owner="",
            lease_until=None,
        )
        if updated:
            logger.warning("Resync run %s resumed (%s); batches of %d", run.pk, reason, batch_size)
            _enqueue(run.pk)
    return "resumed" if updated else "skipped"


def resync_overran(*, run_id: int, token: str) -> str:
    """The run's task hit its timeout mid-slice: resume from the checkpoint with smaller batches now, rather
    than wait for the supervisor (django-q acknowledges a timed-out task and never delivers it again)."""
    run = ResyncRun.objects.filter(pk=run_id).first()
    if run is None:
        return "skipped"
    reason = f"its task overran its {_task_timeout()} s time limit (Iterable slow to answer?)"
    return resync_resume_or_fail(run=run, reason=reason, overran=True, token=token)


def resync_supervise(*, queued_names: set[str] | None, now: datetime | None = None) -> dict[str, int]:
    """Resume (or fail) every stalled run whose task is not waiting in the queue. ``queued_names``: the task
    names in the broker's queue, ``None`` when they cannot be known (then only runs with no task at all)."""
    now = now or timezone.now()
    counts = {"resumed": 0, "failed": 0}
    for run in ResyncRun.objects.filter(status__in=ACTIVE).order_by("pk"):
        if not resync_stalled(run, now):
            continue
        if queued_names is None or resync_task_name(run.pk) in queued_names:
            continue  # the broker still holds its task and will deliver it (again)
        failure = _last_task_failure(run)
        overran = "timeout" in failure.lower()
        reason = failure or "its task was lost (the worker stopped, or the queue dropped it)"
        outcome = resync_resume_or_fail(run=run, reason=reason, overran=overran)
        if outcome in counts:
            counts[outcome] += 1
    return counts
