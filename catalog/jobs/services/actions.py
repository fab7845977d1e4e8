"""What one batch of each action does: read where a dry run (or the action) needs it, compare, write paced,
and say each row's outcome. No database access here (the engine's checkpoint records the outcomes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from catalog.iterable import IterableError
from catalog.iterable.client import MAX_BODY_BYTES, User
from catalog.models import Job, JobAction, JobItem, JobRun
from catalog.runs import engine
from catalog.runs.engine import Result
from catalog.services.iterable_support import call_while, fan_out

BODY_BUDGET = MAX_BODY_BYTES - 64 * 1024
DONE, FAILED, SKIPPED = JobItem.Status.DONE, JobItem.Status.FAILED, JobItem.Status.SKIPPED

# Each outcome in people's words (pages and the API's ``outcome_label``).
OUTCOMES = {
    "would_create": "Would be created",
    "would_change": "Would change",
    "would_add": "Would be added to the list",
    "would_remove": "Would be removed from the list",
    "would_delete": "Would be deleted",
    "would_opt_out": "Would be opted out",
    "unchanged": "Already up to date",
    "already_on_list": "Already on the list",
    "not_on_list": "Not on the list",
    "not_found": "Not in Iterable",
    "already_opted_out": "Already opted out",
    "updated": "Updated",
    "added": "Added to the list",
    "removed": "Removed from the list",
    "deleted": "Deleted",
    "opted_out": "Opted out",
    "left_out": "Left out by a retention rule",
    "invalid": "Invalid row (skipped)",
    "read_failed": "Could not read from Iterable",
    "send_failed": "Iterable refused the batch",
    "rejected": "Iterable refused this row",
    "given_up": "Given up after failing (never sent again)",
}
CHANGES = {"would_create", "would_change", "would_add", "would_remove", "would_delete", "would_opt_out"}


@dataclass
class Row:
    """One pending row of a run, as a batch needs it (its JobItem's id, number, key, payload, attempts)."""

    pk: int
    row_no: int
    key: str
    payload: dict
    attempts: int


@dataclass
class Batch:
    run: JobRun
    job: Job
    client: Any
    pacer: Any  # the action's bulk writes, at the rate the job sets (the client keeps Iterable's)
    concurrency: int
    call_pacer: Any = None  # a call per row (a delete): in order, evenly spaced, a window after earlier ones ended
    read_pacer: Any = None  # a row's read, likewise at the read endpoints' rate
    # The next batch's read, done while a bulk write is in flight (engine.ReadAhead); set for each batch.
    ahead: Callable[[], object] = lambda: None


def _read(batch: Batch, payload: dict) -> User | None:
    with engine.paced_call(batch.read_pacer):
        if payload.get("email"):
            return batch.client.get_user_by_email(payload["email"])
        return batch.client.get_user_by_id(payload["userId"])


def _reads(batch: Batch, items: list[Row]) -> dict[int, Any]:
    calls = {item.pk: partial(_read, batch, item.payload) for item in items}
    return fan_out(calls, max_workers=batch.concurrency)


def _read_failed(error: IterableError) -> Result:
    return Result(FAILED, "read_failed", {}, error.code, error.msg[:500])


def _dry_run(
    batch: Batch, items: list[Row], judge: Callable[[Row, User | None], Result]
) -> tuple[str, dict[int, Result]]:
    """A dry run reads each row's person (in parallel) and says what the run would do to them; it writes
    nothing. ``judge`` turns a row and the person read (None: not in Iterable) into the row's result."""
    reads = _reads(batch, items)
    results = {
        item.pk: _read_failed(found) if isinstance(found, IterableError) else judge(item, found)
        for item, found in ((item, reads[item.pk]) for item in items)
    }
    return "ok", results


def _chunks(items: list[Row], row: Callable[[Row], dict]) -> list[list[tuple[Row, dict]]]:
    """Rows in chunks that stay under Iterable's 4 MB body."""
    chunks: list[list[tuple[Row, dict]]] = []
    current: list[tuple[Row, dict]] = []
    size = 0
    for item in items:
        body = row(item)
        row_size = len(json.dumps(body, separators=(",", ":"))) + 1
        if current and size + row_size > BODY_BUDGET:
            chunks.append(current)
            current, size = [], 0
        current.append((item, body))
        size += row_size
    if current:
        chunks.append(current)
    return chunks


def _failures(answer: dict) -> dict[str, str]:
    """Identities Iterable refused in a bulk answer -> the reason's code."""
    refused: dict[str, str] = {}
    for name, values in (answer.get("failedUpdates") or {}).items():
        for value in values or []:
            refused[str(value).lower()] = name
    for value in answer.get("invalidEmails") or []:
        refused[str(value).lower()] = "invalidEmails"
    for name in ("invalidUserIds", "validEmailFailures", "validUserIdFailures"):
        for value in answer.get(name) or []:
            refused[str(value).lower()] = name
    return refused


REFUSAL_WORDS = {
    "invalidEmails": "Iterable says the address is invalid.",
    "invalidUserIds": "Iterable has no user with this user id.",
    "notFoundEmails": "Iterable has no user with this address.",
    "notFoundUserIds": "Iterable has no user with this user id.",
    "conflictEmails": "The address belongs to another user id in Iterable.",
    "conflictUserIds": "The user id belongs to another address in Iterable.",
    "forgottenEmails": "This person asked to be forgotten: Iterable refuses to recreate them.",
    "forgottenUserIds": "This person asked to be forgotten: Iterable refuses to recreate them.",
    "invalidDataEmails": "Iterable refused a field's value.",
    "invalidDataUserIds": "Iterable refused a field's value.",
    "validEmailFailures": "Iterable refused the update.",
    "validUserIdFailures": "Iterable refused the update.",
}


def _identity(payload: dict) -> str:
    return str(payload.get("email") or payload.get("userId") or "").lower()


def _bulk(
    batch: Batch,
    items: list[Row],
    results: dict[int, Result],
    write: Callable[[list[dict]], dict],
    row: Callable[[Row], dict],
    success: str,
) -> str:
    """Write ``items`` with one paced bulk call per chunk; a row Iterable refuses fails alone."""
    for chunk in _chunks(items, row):
        engine.pace(batch.pacer)
        try:
            answer = call_while(partial(write, [body for _, body in chunk]), batch.ahead)
        except IterableError as exc:
            if batch.job.action != JobAction.OPT_OUT and (exc.code == "BatchTooLarge" or exc.status == 413):
                return "retry"
            # Every write here is idempotent (a profile merge, a list change, an unsubscribe): a row whose
            # outcome is unknown is recorded as failed, and retrying it cannot do it twice.
            for item, _ in chunk:
                results[item.pk] = Result(FAILED, "send_failed", {}, exc.code, exc.msg[:500])
            continue
        refused = _failures(answer)
        for item, body in chunk:
            code = refused.get(_identity(body))
            if code:
                outcome = "not_found" if code.startswith("notFound") and success == "removed" else "rejected"
                status = SKIPPED if outcome == "not_found" else FAILED
                results[item.pk] = Result(status, outcome, {}, code, REFUSAL_WORDS.get(code, code))
            else:
                results[item.pk] = results.get(item.pk) or Result(DONE, success)
    return "ok"


# ---------------------------------------------------------------------------------------------- profiles


ROW_CHOICES = ("preferUserId", "mergeNestedObjects")


def _choices(payload: dict) -> dict:
    """The row's own choices (its prefer_user_id, merge_nested_objects, or the job's), for the dry run to show."""
    chosen = [name for name in ROW_CHOICES if payload.get(name)]
    return {"choices": chosen} if chosen else {}


def _profile_diff(item: Row, found: User | None) -> Result:
    if found is None:
        fields = {k: [None, v] for k, v in item.payload["dataFields"].items()}
        return Result(DONE, "would_create", {"fields": fields, **_choices(item.payload)})
    merge = bool(item.payload.get("mergeNestedObjects"))  # the row's own, or the job's
    changes = {}
    for name, value in item.payload.get("dataFields", {}).items():
        current = found.data_fields.get(name)
        new = {**current, **value} if merge and isinstance(current, dict) and isinstance(value, dict) else value
        if current != new:
            changes[name] = [current, new]
    if not changes:
        return Result(SKIPPED, "unchanged")
    return Result(DONE, "would_change", {"fields": changes, **_choices(item.payload)})


def update_profiles(batch: Batch, items: list[Row]) -> tuple[str, dict[int, Result]]:
    if batch.run.dry_run:
        return _dry_run(batch, items, _profile_diff)
    results: dict[int, Result] = {}
    outcome = _bulk(batch, items, results, batch.client.bulk_update_users, lambda item: item.payload, "updated")
    return outcome, results


# ---------------------------------------------------------------------------------------------- lists


def _list_rows(item: Row) -> dict:
    return item.payload


def list_add(batch: Batch, items: list[Row]) -> tuple[str, dict[int, Result]]:
    list_id = int(batch.job.list_id or 0)
    if batch.run.dry_run:

        def judge(item: Row, found: User | None) -> Result:
            if found is None:
                if not item.payload.get("email"):
                    return Result(SKIPPED, "not_found")
                return Result(DONE, "would_create", _choices(item.payload))
            if list_id in found.email_list_ids:
                return Result(SKIPPED, "already_on_list")
            return Result(DONE, "would_add", _choices(item.payload))

        return _dry_run(batch, items, judge)
    results: dict[int, Result] = {}

    def write(rows: list[dict]) -> dict:
        return batch.client.subscribe_to_list(list_id, rows)

    return _bulk(batch, items, results, write, _list_rows, "added"), results


def list_remove(batch: Batch, items: list[Row]) -> tuple[str, dict[int, Result]]:
    job = batch.job
    list_id = int(job.list_id or 0)
    if batch.run.dry_run:

        def judge(item: Row, found: User | None) -> Result:
            if found is None:
                return Result(SKIPPED, "not_found")
            if list_id not in found.email_list_ids:
                return Result(SKIPPED, "not_on_list")
            diff = {"channel_unsubscribe": job.channel_name} if job.channel_unsubscribe else {}
            return Result(DONE, "would_remove", diff)

        return _dry_run(batch, items, judge)
    results: dict[int, Result] = {}

    def write(rows: list[dict]) -> dict:
        return batch.client.unsubscribe_from_list(
            list_id,
            rows,
            campaign_id=job.campaign_id,
            channel_unsubscribe=True if job.channel_unsubscribe else None,
        )

    return _bulk(batch, items, results, write, _list_rows, "removed"), results


# ---------------------------------------------------------------------------------------------- deletions


def delete_users(batch: Batch, items: list[Row]) -> tuple[str, dict[int, Result]]:
    if batch.run.dry_run:
        return _dry_run(
            batch, items, lambda item, found: Result(DONE, "would_delete") if found else Result(SKIPPED, "not_found")
        )
    results: dict[int, Result] = {}

    def delete(payload: dict) -> dict:
        with engine.paced_call(batch.call_pacer):
            if payload.get("email"):
                return batch.client.delete_user(payload["email"])
            return batch.client.delete_user_by_id(payload["userId"])

    answers = fan_out({item.pk: partial(delete, item.payload) for item in items}, max_workers=batch.concurrency)
    for item in items:
        answer = answers[item.pk]
        if isinstance(answer, IterableError):
            gone = answer.code in ("UnknownUserIdError", "UnknownEmailError", "NotFound") or (
                answer.status == 400 and "no user" in answer.msg.lower()
            )
            # Already gone (deleted by an earlier attempt that was not checkpointed, or never there): done.
            results[item.pk] = (
                Result(DONE, "deleted") if gone else Result(FAILED, "send_failed", {}, answer.code, answer.msg[:500])
            )
        else:
            results[item.pk] = Result(DONE, "deleted")
    return "ok", results


# ---------------------------------------------------------------------------------------------- opt-outs


def opt_out(batch: Batch, items: list[Row]) -> tuple[str, dict[int, Result]]:
    """Add the job's channel to each person's unsubscribed channels, keeping the rest of the array (it is
    overwritten when sent: read right before, in the same batch). Someone not in Iterable is left alone."""
    results: dict[int, Result] = {}
    channel = int(batch.job.channel_id or 0)
    reads = _reads(batch, items)
    to_write: list[Row] = []
    arrays: dict[int, list[int]] = {}
    for item in items:
        found = reads[item.pk]
        if isinstance(found, IterableError):
            results[item.pk] = _read_failed(found)
        elif found is None:
            results[item.pk] = Result(SKIPPED, "not_found")
        elif channel in found.unsubscribed_channel_ids:
            results[item.pk] = Result(SKIPPED, "already_opted_out")
        elif batch.run.dry_run:
            results[item.pk] = Result(DONE, "would_opt_out", {"channel": batch.job.channel_name})
        else:
            arrays[item.pk] = [*found.unsubscribed_channel_ids, channel]
            to_write.append(item)

    def row(item: Row) -> dict:
        ident = {"email": item.payload["email"]} if item.payload.get("email") else {"userId": item.payload["userId"]}
        return {**ident, "unsubscribedChannelIds": arrays[item.pk]}

    outcome = "ok"
    if to_write:
        outcome = _bulk(batch, to_write, results, batch.client.bulk_update_subscriptions, row, "opted_out")
    return outcome, results


HANDLERS: dict[str, Callable[[Batch, list[Row]], tuple[str, dict[int, Result]]]] = {
    JobAction.UPDATE_PROFILES: update_profiles,
    JobAction.LIST_ADD: list_add,
    JobAction.LIST_REMOVE: list_remove,
    JobAction.DELETE_USERS: delete_users,
    JobAction.OPT_OUT: opt_out,
}
