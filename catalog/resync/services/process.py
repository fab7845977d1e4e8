"""Processing a run in slices under a lease: read, merge, one paced bulk write per batch, checkpoint."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from catalog.iterable import IterableError, client_for_project
from catalog.models import (
    SUBSCRIPTION_ARRAY_FIELDS,
    BatchErrorPolicy,
    ContactPreference,
    ResyncItem,
    ResyncRun,
)
from catalog.resync.services.conf import ACTIVE, ALL, ARRAYS, BODY_BUDGET, default_slice_seconds, lease_seconds
from catalog.resync.services.merge import current_of, desired_arrays, merge_subscriptions, needs_read
from catalog.resync.services.queue import resync_enqueue
from catalog.resync.services.rules import resync_rules, resync_settings_get
from catalog.resync.services.runs import insert_items
from catalog.runs import engine
from catalog.services.iterable_support import call_while, fan_out

logger = logging.getLogger(__name__)


def _acquire(run_id: int, token: str) -> bool:
    return engine.lease_acquire(ResyncRun, run_id, token, active=ACTIVE, seconds=lease_seconds())


def _release(run_id: int, token: str, **fields) -> None:
    engine.lease_release(ResyncRun, run_id, token, **fields)


def resync_process(*, run_id: int, slice_seconds: float | None = None, token: str | None = None) -> str:
    """Process a run's batches for up to ``slice_seconds`` (default ``RESYNC_SLICE_SECONDS``) while holding
    its lease. Returns ``"done"``, ``"continue"`` (a continuation was enqueued), ``"busy"`` (another worker
    holds the lease), ``"stopped"`` (cancelled, lease lost, or stopped on a batch error) or ``"failed"``.
    ``token`` names the lease holder (the task passes its own, to release the lease if it overruns)."""
    token = token or uuid.uuid4().hex
    if not _acquire(run_id, token):
        return "busy"
    deadline = time.monotonic() + (default_slice_seconds() if slice_seconds is None else slice_seconds)
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
    pacer = engine.pacer(("resync", run.project_id), run.rate_per_second)
    spec = engine.Slice(
        model=ResyncRun,
        active=ACTIVE,
        lease_seconds=lease_seconds(),
        done_status=ResyncRun.Status.DONE,
        failed_status=ResyncRun.Status.FAILED,
        next_items=lambda run, after: _next_batch(run, after, rules),
        process_batch=lambda run, items, ahead: _process_batch(
            run, items, ahead, client, rules, pacer, settings.read_concurrency
        ),
        enqueue=resync_enqueue,
    )
    return engine.slice_run(spec, run, token, deadline)


@dataclass(slots=True)
class Contact:
    """What a batch reads of a contact: its address and its stored subscription arrays."""

    email: str
    email_list_ids: list[int] | None
    unsubscribed_channel_ids: list[int] | None
    unsubscribed_message_type_ids: list[int] | None
    subscribed_message_type_ids: list[int] | None


@dataclass(slots=True)
class Item:
    """One pending row of a run as a batch needs it. Plain rows, not model instances: building a thousand
    ResyncItems with their contacts cost a quarter of a batch."""

    pk: int
    contact_id: int
    attempts: int
    contact: Contact
    read_at: datetime  # when its contact was read: a change made after it stays "changed since the resync"
    # What the merge decided (a failed send may still change it), and the row to send, if any.
    result: engine.Result | None = None
    diff: dict = field(default_factory=dict)
    row: dict[str, Any] | None = None


# Read in the dataclass's own order; desired_arrays reads every SUBSCRIPTION_ARRAY_FIELDS name of it.
_CONTACT_FIELDS = tuple(f.name for f in fields(Contact))
assert set(SUBSCRIPTION_ARRAY_FIELDS) <= set(_CONTACT_FIELDS), "Contact lacks a subscription array"


def _next_items(run: ResyncRun, after: int) -> list[Item]:
    read_at = timezone.now()
    pending = run.items.filter(status=ResyncItem.Status.PENDING, id__gt=after).order_by("id")[: run.batch_size]
    columns = pending.values_list("id", "contact_id", "attempts", *(f"contact__{name}" for name in _CONTACT_FIELDS))
    return [Item(pk, contact_id, attempts, Contact(*rest), read_at) for pk, contact_id, attempts, *rest in columns]


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


def _list_contacts(run: ResyncRun, token: str) -> None:
    """Write a run's items from its selection, once: in one transaction under the run's row lock, so a killed
    worker leaves nothing half-listed and a second worker finds the items there."""
    with transaction.atomic():
        held = ResyncRun.objects.select_for_update().filter(pk=run.pk, lease_owner=token).exists()
        if not held or run.items.exists():
            return
        total = insert_items(run, _selected_contacts(run))
        ResyncRun.objects.filter(pk=run.pk).update(total=total)
    run.total = total


def _has_pending(run: ResyncRun) -> bool:
    return run.items.filter(status=ResyncItem.Status.PENDING).exists()


def _read_many(client, emails: list[str], concurrency: int) -> dict[str, Any]:
    """Current profiles by email (``None``: no such user; an ``IterableError``: could not read)."""
    return fan_out({email: partial(client.get_user_by_email, email) for email in emails}, max_workers=concurrency)


def _merged(run, items: list[Item], client, rules, concurrency) -> list[Item]:
    """Decide each item's outcome and row: its stored arrays merged with Iterable's current state, read first
    where the merge needs it (or for every contact, in a dry run or a run that compares by reading)."""
    desired = {item.pk: desired_arrays(item.contact, rules) for item in items}
    read_all = run.dry_run or run.compare == ResyncRun.Compare.READ
    to_read = [
        item.contact.email
        for item in items
        if any(v is not None for v in desired[item.pk].values()) and (read_all or needs_read(desired[item.pk], rules))
    ]
    reads = _read_many(client, to_read, concurrency)
    for item in items:
        wanted = desired[item.pk]
        email = item.contact.email
        if all(v is None for v in wanted.values()):
            item.result = engine.Result(ResyncItem.Status.SKIPPED, "nothing_in_scope")
            continue
        current = None
        created = False
        if email in reads:
            found = reads[email]
            if isinstance(found, IterableError):
                item.result = engine.Result(ResyncItem.Status.FAILED, "read_failed", {}, found.code, found.msg[:500])
                continue
            created = found is None
            current = {a: [] for a in ARRAYS} if found is None else current_of(found)
        merge = merge_subscriptions(desired=wanted, current=current, rules=rules)
        diff = item.diff = {"arrays": merge.diff}
        if merge.dropped:
            diff["dropped"] = merge.dropped
        if merge.kept_misaligned:
            diff["kept_misaligned"] = merge.kept_misaligned
        if not merge.send:
            item.result = engine.Result(ResyncItem.Status.SKIPPED, "in_sync", diff if merge.dropped else {})
        elif run.dry_run:
            item.result = engine.Result(ResyncItem.Status.DONE, "would_change", diff)
        else:
            # The difference is kept so the run's page and download say, by name, what it changed.
            item.result = engine.Result(ResyncItem.Status.DONE, "created" if created else "changed", diff)
            item.row = merge.row(email)
    return items


def _reads_iterable(run: ResyncRun, rules) -> bool:
    """Whether a batch's merge reads Iterable's current state first (a dry run, a run that compares by reading,
    or an array owned only in part)."""
    partial_scope = any(scope is not None and scope is not ALL for scope in rules.scope.values())
    return run.dry_run or run.compare == ResyncRun.Compare.READ or partial_scope


def _next_batch(run: ResyncRun, after: int, rules) -> list[Item]:
    """The next batch's items, merged at once when the merge needs nothing from Iterable: read ahead, during
    the batch before's write (engine.ReadAhead), the merge is then done too. A merge that reads Iterable waits
    for its own batch: read a whole write earlier, a change made in Iterable meanwhile would be overwritten."""
    items = _next_items(run, after)
    if not _reads_iterable(run, rules):
        _merged(run, items, None, rules, 1)
    return items


def _process_batch(run, items: list[Item], ahead, client, rules, pacer, concurrency) -> str:
    """One checkpointed batch. Returns ``"ok"``, ``"retry"`` (batch size halved; items still pending) or
    ``"stop"`` (policy says stop; items still pending)."""
    if any(item.result is None for item in items):
        _merged(run, items, client, rules, concurrency)
    results: dict[int, engine.Result] = {}
    for item in items:
        assert item.result is not None  # _merged decides every item
        results[item.pk] = item.result
    diffs = {item.pk: item.diff for item in items}
    rows = [(item, item.row) for item in items if item.row is not None]
    if rows:
        outcome = _send(run, rows, results, diffs, client, pacer, ahead)
        if outcome != "ok":
            return outcome
    _checkpoint(run, items, results, run.batches_done + 1, items[0].read_at)
    return "ok"


def _chunks_by_size(rows: list[tuple[Item, dict]]) -> list[list[tuple[Item, dict]]]:
    chunks: list[list[tuple[Item, dict]]] = []
    current: list[tuple[Item, dict]] = []
    size = 0
    for pair in rows:
        row_size = len(json.dumps(pair[1], separators=(",", ":"))) + 1
        if current and size + row_size > BODY_BUDGET:
            chunks.append(current)
            current, size = [], 0
        current.append(pair)
        size += row_size
    if current:
        chunks.append(current)
    return chunks


def _send(run, rows, results, diffs, client, pacer, ahead) -> str:
    for chunk in _chunks_by_size(rows):
        engine.pace(pacer)
        try:
            answer = call_while(partial(client.bulk_update_subscriptions, [row for _, row in chunk]), ahead)
        except IterableError as exc:
            if exc.code == "BatchTooLarge" or exc.status == 413:
                # The limit is undocumented: halve and try the same contacts again (they are still pending).
                new_size = max(1, min(run.batch_size, len(chunk)) // 2)
                ResyncRun.objects.filter(pk=run.pk).update(batch_size=new_size)
                logger.warning("Resync run %s: batch of %d too large, now %d", run.pk, len(chunk), new_size)
                if len(chunk) == 1:
                    pk = chunk[0][0].pk
                    results[pk] = engine.Result(ResyncItem.Status.FAILED, "send_failed", diffs[pk], exc.code, exc.msg)
                    continue
                return "retry"
            if run.on_batch_error == BatchErrorPolicy.STOP:
                ResyncRun.objects.filter(pk=run.pk).update(last_error=str(exc)[:2000])
                return "stop"
            ResyncRun.objects.filter(pk=run.pk).update(last_error=str(exc)[:2000])
            for item, _ in chunk:
                results[item.pk] = engine.Result(
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
                results[item.pk] = engine.Result(ResyncItem.Status.FAILED, "rejected", diffs[item.pk], code, message)
    return "ok"


def _checkpoint(run, items: list[Item], results: dict[int, engine.Result], batch_no: int, read_at) -> None:
    """Record one batch atomically: item outcomes, the contacts' resynced marker, the run's batch count."""
    now = timezone.now()
    groups: dict[tuple[str, str], list[int]] = {}
    detailed: list[tuple[int, int, engine.Result]] = []
    for item in items:
        result = results[item.pk]
        # Failures and dry-run differences keep their detail; plain outcomes are written in groups.
        if result.diff or result.error_code:
            detailed.append((item.pk, item.attempts, result))
        else:
            groups.setdefault((result.status, result.outcome), []).append(item.pk)
    synced = [
        item.contact_id
        for item in items
        if not run.dry_run and results[item.pk].status in (ResyncItem.Status.DONE, ResyncItem.Status.SKIPPED)
    ]
    with transaction.atomic():
        engine.items_write(ResyncItem, groups, detailed, batch_no=batch_no, now=now)
        if synced:
            # The "resynced" marker: when the contacts were read (a change made since stays "changed").
            ContactPreference.objects.filter(pk__in=synced).update(resynced_at=read_at, resynced_run=run)
        ResyncRun.objects.filter(pk=run.pk).update(batches_done=F("batches_done") + 1)
