"""Taking in the source of truth: desired subscription state per contact, from the API (a list of dicts)
or from a CSV upload (a file or text). Both doors end in the same ``_ingest``.

A CSV upload can hold 100,000 rows (about 20 s of checking and writing), longer than a web request may take:
the request checks the file's size, text and header (``preference_import_start``) and queues it; a worker
imports it (``preference_import_run``), showing how many rows it has checked. The rows are written in one
transaction, so an import that stops half-way (a killed worker, a timeout) has written nothing: the supervisor
starts it over, or after MAX_IMPORT_ATTEMPTS ends it as failed, saying why.

Policy for bad input: **good rows are kept, bad rows are reported** with their line and every reason, and
nothing is dropped silently. Each row stands alone (one contact's preferences), so one bad row has no reason
to hold the others back; the import record keeps the rejected lines so they can be fixed and sent again.

Row shape (JSON keys; CSV header names are the same):
    email (required), user_id (optional),
    unsubscribed_channel_ids, unsubscribed_message_type_ids, subscribed_message_type_ids, email_list_ids
Iterable's camelCase names (``unsubscribedChannelIds``…) are accepted too. For each array: **omitted keeps
the stored value**, ``null`` clears it to "the source of truth says nothing" (the resync then never writes
that array), ``[]`` means "none of the managed ids". In a CSV a missing column is "omitted" and an empty
cell is ``[]``; ids in a cell are separated by ``;``, ``|``, ``,`` or spaces.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.audit.services import actor_label, audit_record
from catalog.models import SUBSCRIPTION_ARRAY_FIELDS, ContactPreference, IterableProject, PreferenceImport
from catalog.resync.services.conf import ALL
from catalog.resync.services.rules import Rules, resync_rules
from catalog.runs.restart import lost_tasks_restart
from catalog.services.bulk import objects_update
from catalog.services.input_limits import CsvProblem, csv_rows, id_list_parse, unstorable
from catalog.types import Actor

logger = logging.getLogger(__name__)

MAX_STORED_ERRORS = 1000
IMPORT_TASK = "catalog.resync.tasks.preference_import_task"
MAX_IMPORT_ATTEMPTS = 3
PROGRESS_EVERY = 5000  # rows checked between two progress updates
_CHUNK = 2000
_ALIASES = {
    "email": "email",
    "user_id": "user_id",
    "userId": "user_id",
    **{field: field for field in SUBSCRIPTION_ARRAY_FIELDS},
    **{api: field for field, api in SUBSCRIPTION_ARRAY_FIELDS.items()},
}
_UNSET = object()


def preference_upsert(
    *,
    project: IterableProject,
    actor: Actor,
    rows: Iterable[Mapping[str, Any]],
    source: str = PreferenceImport.Source.API,
    filename: str = "",
) -> PreferenceImport:
    """The REST door: upsert desired preferences from dicts, at once (at most the API's MAX_ROWS a request).
    Row numbers in errors ("line") count from 1."""
    numbered = []
    for number, row in enumerate(rows, start=1):
        numbered.append((number, row if isinstance(row, Mapping) else _NotAMapping(row)))
    record = PreferenceImport(
        project=project,
        created_by=actor if isinstance(actor, User) and actor.pk else None,
        actor_label=actor_label(actor),
        source=source,
        filename=filename[:255],
    )
    return _ingest(record, numbered=numbered)


def preference_import_start(
    *, project: IterableProject, actor: Actor, file: Any, filename: str = ""
) -> PreferenceImport:
    """The upload door (page and API): check the file's text and header now (a ValidationError says what is
    wrong), keep it, and queue its import for a worker. The import's page shows its progress and result."""
    text = _read_text(file)
    _csv_header(text)
    with transaction.atomic():
        record = PreferenceImport.objects.create(
            project=project,
            created_by=actor if isinstance(actor, User) and actor.pk else None,
            actor_label=actor_label(actor),
            source=PreferenceImport.Source.CSV,
            filename=(filename or "")[:255],
            status=PreferenceImport.Status.QUEUED,
            phase="Waiting for a worker",
            content=text,
        )
        _import_enqueue(record.pk)
    return record


def preference_import_task_name(import_id: int) -> str:
    return f"preference-import-{import_id}"


def _import_task_timeout() -> int:
    return int(getattr(settings, "PREFERENCE_IMPORT_TASK_TIMEOUT", 300))


def _import_enqueue(import_id: int) -> None:
    from catalog.observability import enqueue_supervised

    name = preference_import_task_name(import_id)
    enqueue_supervised(
        PreferenceImport, import_id, IMPORT_TASK, name=name, group="preference-import", timeout=_import_task_timeout()
    )


def preference_import_run(*, import_id: int) -> str:
    """Import a queued upload (the task's body). Idempotent: only the worker that moves it from queued to
    running imports it; a second delivery finds it claimed or finished and returns ``"skipped"``."""
    claimed = PreferenceImport.objects.filter(pk=import_id, status=PreferenceImport.Status.QUEUED).update(
        status=PreferenceImport.Status.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        processed=0,
        phase="Reading the file",
    )
    if not claimed:
        return "skipped"
    record = PreferenceImport.objects.select_related("project", "created_by").get(pk=import_id)
    try:
        numbered = _csv_numbered(record.content)
        _ingest(record, numbered=numbered, progress=True)
    except ValidationError as error:
        _import_failed(import_id, " ".join(error.messages))
        return "failed"
    except Exception as error:
        logger.exception("Preference import %s stopped", import_id)
        _import_failed(import_id, f"It stopped on an unexpected error ({type(error).__name__}); nothing was imported.")
        raise
    return "done"


def _import_failed(import_id: int, reason: str) -> None:
    PreferenceImport.objects.filter(pk=import_id, status=PreferenceImport.Status.RUNNING).update(
        status=PreferenceImport.Status.FAILED, phase="", finished_at=timezone.now(), last_error=reason[:2000]
    )


def preference_import_progress(record: PreferenceImport) -> dict[str, Any]:
    """Where an import is, for its page and the API: a percentage, the worker's phase, and whether it is over."""
    active = record.status in (PreferenceImport.Status.QUEUED, PreferenceImport.Status.RUNNING)
    if record.status == PreferenceImport.Status.QUEUED:
        percent = 0
    elif record.status == PreferenceImport.Status.RUNNING:
        # Checking the rows is most of the work; saving them is the last step.
        percent = 5 + int(85 * record.processed / record.total_rows) if record.total_rows else 5
    else:
        percent = 100
    return {
        "status": record.status,
        "status_label": record.get_status_display(),
        "phase": record.phase,
        "percent": min(percent, 95) if active else percent,
        "processed": record.processed,
        "total_rows": record.total_rows,
        "active": active,
    }


def preference_imports_supervise(*, queued_names: set[str] | None, now: datetime | None = None) -> dict[str, int]:
    """Uploads whose task is gone (the worker died, or it overran its timeout and was acknowledged): queued
    again to start over (a stopped attempt wrote nothing), or failed after MAX_IMPORT_ATTEMPTS, saying why."""
    return lost_tasks_restart(
        model=PreferenceImport,
        queued_names=queued_names,
        task_name=preference_import_task_name,
        enqueue=_import_enqueue,
        timeout=_import_task_timeout(),
        max_attempts=MAX_IMPORT_ATTEMPTS,
        failed_message=(
            "Its task stopped {attempts} times before finishing (it overran its {timeout} s limit or its worker "
            "died). Nothing was imported; upload the file again, or split it."
        ),
        now=now,
    )


def _csv_header(text: str) -> list[str]:
    """The header of a preferences CSV, checked: an email column, only known columns. ValidationError if not."""
    if unstorable(text):  # a CSV with NUL in it is not the text file it claims to be
        raise ValidationError("The file contains NUL characters: upload a UTF-8 text CSV.")
    try:
        _, header = next(csv_rows(text))
    except StopIteration:
        raise ValidationError("The file is empty: expected a header line with an email column.") from None
    except CsvProblem as problem:
        raise ValidationError(str(problem)) from None
    header = [h.strip() for h in header]
    unknown = [h for h in header if h and h not in _ALIASES]
    if "email" not in header:
        raise ValidationError("The header has no email column.")
    if unknown:
        raise ValidationError(f"Unknown column(s) in the header: {', '.join(unknown)}.")
    # Each row becomes a dict by column name: a column given twice (or under both its names) would silently
    # keep only one of its cells.
    fields = [_ALIASES[h] for h in header if h]
    twice = sorted({field for field in fields if fields.count(field) > 1})
    if twice:
        raise ValidationError(f"Column(s) given twice in the header: {', '.join(twice)}. Keep one of each.")
    return header


def _csv_numbered(text: str) -> list[tuple[int, Any]]:
    """Every row of a preferences CSV with its line (the header is line 1). Errors name the line."""
    header = _csv_header(text)
    records = csv_rows(text)
    next(records)
    numbered: list[tuple[int, Any]] = []
    try:
        for line, cells in records:
            _csv_row(numbered, header, line, cells)
    except CsvProblem as problem:
        # The reader cannot go past this line: nothing is imported (the lines after it are unread).
        raise ValidationError(f"{problem} Nothing was imported; fix that line and upload again.") from None
    return numbered


def _csv_row(numbered: list, header: list[str], line: int, cells: list[str]) -> None:
    if not any(c.strip() for c in cells):
        return  # blank lines carry nothing
    if len(cells) != len(header):
        numbered.append((line, _BadShape(len(cells), len(header))))
        return
    row: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=True):
        if not name:
            continue
        if _ALIASES[name] in SUBSCRIPTION_ARRAY_FIELDS:
            row[name] = _CsvIds(cell)
        else:
            row[name] = cell
    numbered.append((line, row))


# ---------------------------------------------------------------------------------------------------------


class _NotAMapping:
    def __init__(self, value):
        self.value = value


class _BadShape:
    def __init__(self, got: int, expected: int):
        self.got, self.expected = got, expected


class _CsvIds(str):
    """A CSV cell holding ids: '' is [], otherwise ids split on ; | , or spaces."""


def _read_text(file) -> str:
    if isinstance(file, str):
        return file.removeprefix("\ufeff")
    data = file if isinstance(file, bytes | bytearray) else file.read()
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"The file is not UTF-8 text (byte {exc.start}).") from None


def _parse_ids(value: Any) -> tuple[list[int] | None, str | None]:
    """(ids, None) or (None, reason). ``None`` input stays ``None`` (says nothing)."""
    if isinstance(value, _CsvIds):
        ids, bad = id_list_parse(value)
        if bad:
            return None, f"not an id: {', '.join(bad[:5])}"
        return ids, None
    if not isinstance(value, list):
        return None, "must be a list of integer ids or null"
    bad = [v for v in value if not isinstance(v, int) or isinstance(v, bool) or v < 0]
    if bad:
        return None, f"not an id: {', '.join(repr(v) for v in bad[:5])}"
    return sorted(set(value)), None


def validate_row(row: Any, rules: Rules) -> tuple[dict[str, Any], list[str]]:
    """Check one row against the project's rules; return (clean values, reasons). Clean arrays may be
    ``_UNSET`` (omitted: keep what is stored)."""
    if isinstance(row, _NotAMapping):
        return {}, ["a row must be an object"]
    if isinstance(row, _BadShape):
        return {}, [f"has {row.got} cells, the header has {row.expected}"]
    errors: list[str] = []
    clean: dict[str, Any] = {field: _UNSET for field in SUBSCRIPTION_ARRAY_FIELDS}
    seen: set[str] = set()
    for key, value in row.items():
        field = _ALIASES.get(key)
        if field is None:
            errors.append(f"unknown field {key!r}")
            continue
        if field in seen:
            errors.append(f"{field} given twice")
            continue
        seen.add(field)
        if field in SUBSCRIPTION_ARRAY_FIELDS:
            if value is None:
                clean[field] = None
                continue
            ids, problem = _parse_ids(value)
            if problem:
                errors.append(f"{field}: {problem}")
            else:
                clean[field] = ids
        else:
            clean[field] = value
    email = clean.get("email")
    if not isinstance(email, str) or not email.strip():
        errors.append("email is required")
    else:
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            errors.append(f"invalid email {email!r}")
        else:
            if len(email) > 254:  # the validator allows 320; the column (and Iterable's practice) holds 254
                errors.append("email is longer than 254 characters")
        clean["email"] = email
    user_id = clean.get("user_id", "")
    if user_id is None:
        user_id = ""
    if not isinstance(user_id, str) or len(user_id) > 200:
        errors.append("user_id must be text of at most 200 characters")
    clean["user_id"] = user_id.strip() if isinstance(user_id, str) else ""
    errors.extend(_rule_problems(clean, rules))
    return clean, errors


def _rule_problems(clean: dict[str, Any], rules: Rules) -> list[str]:
    problems = []
    for field, array in SUBSCRIPTION_ARRAY_FIELDS.items():
        ids = clean[field]
        if ids is _UNSET or not ids:
            continue
        scope = rules.scope.get(array)
        if scope is None:
            problems.append(f"{field}: the source of truth does not manage {array} in this project")
            continue
        outside = [i for i in ids if scope is not ALL and i not in scope]
        if outside:
            problems.append(f"{field}: ids {outside} are not managed by the source of truth in this project")
    subscribed = clean["subscribed_message_type_ids"]
    if subscribed is not _UNSET and subscribed:
        if not rules.opt_in_enabled:
            problems.append("subscribed_message_type_ids: opt-in message types are not enabled for this project")
        else:
            unknown = [i for i in subscribed if i not in rules.type_policy]
            opt_out = [i for i in subscribed if rules.type_policy.get(i, "OptIn") != "OptIn"]
            if unknown and rules.type_policy:
                problems.append(f"subscribed_message_type_ids: unknown message types {unknown}")
            if opt_out:
                problems.append(
                    f"subscribed_message_type_ids: {opt_out} are opt-out types; only opt-in types are subscribed to"
                )
        unsubscribed_types = clean["unsubscribed_message_type_ids"]
        if unsubscribed_types is not _UNSET and unsubscribed_types:
            both = sorted(set(subscribed) & set(unsubscribed_types))
            if both:
                problems.append(f"message types {both} are both subscribed and unsubscribed")
        channels = clean["unsubscribed_channel_ids"]
        if channels is not _UNSET and channels:
            misaligned = [i for i in subscribed if rules.type_channel.get(i) in set(channels)]
            if misaligned:
                problems.append(
                    f"message types {misaligned} are subscribed but their channel is unsubscribed "
                    "(a message type belongs to a channel)"
                )
    return problems


def _progress(record: PreferenceImport, **fields) -> None:
    """Written at once (outside the import's transaction), so the import's page sees it while it runs."""
    if record.pk is not None:
        PreferenceImport.objects.filter(pk=record.pk).update(**fields)


def _check_rows(
    record: PreferenceImport, numbered: list[tuple[int, Any]], *, progress: bool
) -> tuple[dict[str, tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    """(good rows by email with their line, rejected rows with their line and every reason)."""
    rules = resync_rules(project=record.project)
    good: dict[str, tuple[int, dict[str, Any]]] = {}
    errors: list[dict[str, Any]] = []
    if progress:
        _progress(record, total_rows=len(numbered), phase=f"Checking {len(numbered):,} rows")
    for checked, (line, row) in enumerate(numbered, start=1):
        clean, problems = validate_row(row, rules)
        email = clean.get("email")
        if not problems and email in good:
            problems = [f"duplicate of line {good[email][0]}"]
        if problems or not isinstance(email, str):
            errors.append({"line": line, "email": email if isinstance(email, str) else "", "errors": problems})
        else:
            good[email] = (line, clean)
        if progress and checked % PROGRESS_EVERY == 0:
            _progress(record, processed=checked)
    if progress:
        _progress(record, processed=len(numbered), phase=f"Saving {len(good):,} contacts")
    return good, errors


def _upsert_contacts(
    record: PreferenceImport, rows: dict[str, dict[str, Any]], *, now, label: str, origin: str
) -> tuple[list[int], list[int]]:
    """Create or update one chunk of contacts from clean rows; returns (ids written, ids already as wanted)."""
    project = record.project
    existing = {c.email: c for c in ContactPreference.objects.filter(project=project, email__in=list(rows))}
    to_create: list[ContactPreference] = []
    to_update: list[ContactPreference] = []
    unchanged: list[int] = []
    for email, clean in rows.items():
        found = existing.get(email)
        is_new = found is None
        contact = ContactPreference(project=project, email=email) if found is None else found
        dirty = is_new
        for field in SUBSCRIPTION_ARRAY_FIELDS:
            value = clean[field]
            if value is not _UNSET and (is_new or getattr(contact, field) != value):
                setattr(contact, field, value)
                dirty = True
        if clean["user_id"] and clean["user_id"] != contact.user_id:
            contact.user_id = clean["user_id"]
            dirty = True
        if not dirty:
            unchanged.append(contact.pk)
            continue
        contact.changed_at = now
        contact.changed_by_label = label
        contact.source = origin
        contact.source_import = record
        (to_create if is_new else to_update).append(contact)
    ContactPreference.objects.bulk_create(to_create, batch_size=500)
    if not all(c.pk for c in to_create):  # backends without RETURNING on bulk insert
        ids = dict(
            ContactPreference.objects.filter(project=project, email__in=[c.email for c in to_create]).values_list(
                "email", "pk"
            )
        )
        for c in to_create:
            c.pk = ids[c.email]
    objects_update(
        ContactPreference,
        to_update,
        [*SUBSCRIPTION_ARRAY_FIELDS, "user_id", "changed_at", "changed_by_label", "source", "source_import"],
    )
    return [c.pk for c in to_create + to_update], unchanged


def _ingest(record: PreferenceImport, *, numbered: list[tuple[int, Any]], progress: bool = False) -> PreferenceImport:
    """Check every row, then write the good ones and the record's counts in one transaction (all or nothing).
    ``record``: unsaved (the API's upsert) or the queued upload being imported (``progress``: count the rows
    checked on it as it goes)."""
    filename = record.filename
    actor = record.created_by or record.actor_label
    good, errors = _check_rows(record, numbered, progress=progress)
    label = record.actor_label
    now = timezone.now()
    with transaction.atomic():
        record.total_rows = len(numbered)
        record.accepted = len(good)
        record.rejected = len(errors)
        record.errors = errors[:MAX_STORED_ERRORS]
        record.processed = len(numbered)
        record.status = PreferenceImport.Status.DONE
        record.phase = ""
        record.content = ""
        record.finished_at = now
        record.save()
        origin = f"{record.get_source_display()} #{record.pk}" + (f" ({filename})" if filename else "")
        changed = 0
        contact_ids: list[int] = []
        emails = list(good)
        for start in range(0, len(emails), _CHUNK):
            rows = {email: good[email][1] for email in emails[start : start + _CHUNK]}
            written, unchanged = _upsert_contacts(record, rows, now=now, label=label, origin=origin[:255])
            changed += len(written)
            contact_ids += unchanged + written
        through = PreferenceImport.contacts.through
        through.objects.bulk_create(
            [through(preferenceimport_id=record.pk, contactpreference_id=pk) for pk in contact_ids], batch_size=2000
        )
        record.changed = changed
        record.save(update_fields=["changed"])
        audit_record(
            actor=actor,
            action="preferences_import",
            instance=record,
            changes={
                "rows": len(numbered),
                "accepted": len(good),
                "changed": changed,
                "rejected": len(errors),
                "filename": filename,
            },
        )
    return record
