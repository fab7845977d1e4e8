"""Taking in the source of truth: desired subscription state per contact, from the API (a list of dicts)
or from a CSV upload (a file or text). Both doors end in the same ``_ingest``.

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

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from catalog.models import SUBSCRIPTION_ARRAY_FIELDS, ContactPreference, PreferenceImport
from catalog.services.audit import actor_label, audit_record
from catalog.services.input_limits import CsvProblem, csv_rows
from catalog.services.resync import ALL, Rules, resync_rules

MAX_STORED_ERRORS = 1000
_CHUNK = 2000
_ID_SPLIT = re.compile(r"[;|,\s]+")
_ASCII_ID = re.compile(r"[0-9]{1,18}")
_ALIASES = {
    "email": "email",
    "user_id": "user_id",
    "userId": "user_id",
    **{field: field for field in SUBSCRIPTION_ARRAY_FIELDS},
    **{api: field for field, api in SUBSCRIPTION_ARRAY_FIELDS.items()},
}
_UNSET = object()


def preference_upsert(
    *, project, actor, rows: Iterable[Mapping[str, Any]], source: str = PreferenceImport.Source.API, filename=""
) -> PreferenceImport:
    """The REST door: upsert desired preferences from dicts. Row numbers in errors ("line") count from 1."""
    numbered = []
    for number, row in enumerate(rows, start=1):
        numbered.append((number, row if isinstance(row, Mapping) else _NotAMapping(row)))
    return _ingest(project=project, actor=actor, numbered=numbered, source=source, filename=filename)


def preference_import_csv(*, project, actor, file, filename: str = "") -> PreferenceImport:
    """The UI door: upsert desired preferences from a CSV (text, bytes or a file object; UTF-8, BOM allowed).

    Errors name the CSV line (the header is line 1). A file without an ``email`` column is refused whole.
    """
    text = _read_text(file)
    if "\x00" in text:  # no database stores NUL in text; a CSV with one is not the text file it claims to be
        raise ValidationError("The file contains NUL characters: upload a UTF-8 text CSV.")
    records = csv_rows(text)
    try:
        _, header = next(records)
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
    numbered = []
    try:
        for line, cells in records:
            _csv_row(numbered, header, line, cells)
    except CsvProblem as problem:
        # The reader cannot go past this line: nothing is imported (the lines after it are unread).
        raise ValidationError(f"{problem} Nothing was imported; fix that line and upload again.") from None
    return _ingest(
        project=project, actor=actor, numbered=numbered, source=PreferenceImport.Source.CSV, filename=filename
    )


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
        parts = [p for p in _ID_SPLIT.split(value.strip()) if p]
        # isdigit() is true for "²" and other digits int() refuses; ids are ASCII digits only.
        bad = [p for p in parts if not _ASCII_ID.fullmatch(p)]
        if bad:
            return None, f"not an id: {', '.join(bad[:5])}"
        return sorted({int(p) for p in parts}), None
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


def _ingest(*, project, actor, numbered: list[tuple[int, Any]], source: str, filename: str) -> PreferenceImport:
    rules = resync_rules(project=project)
    good: dict[str, tuple[int, dict[str, Any]]] = {}
    errors: list[dict[str, Any]] = []
    for line, row in numbered:
        clean, problems = validate_row(row, rules)
        email = clean.get("email")
        if not problems and email in good:
            problems = [f"duplicate of line {good[email][0]}"]
        if problems:
            errors.append({"line": line, "email": email if isinstance(email, str) else "", "errors": problems})
        else:
            good[email] = (line, clean)
    label = actor_label(actor)
    now = timezone.now()
    with transaction.atomic():
        record = PreferenceImport.objects.create(
            project=project,
            created_by=actor if getattr(actor, "pk", None) else None,
            actor_label=label,
            source=source,
            filename=filename[:255],
            total_rows=len(numbered),
            accepted=len(good),
            rejected=len(errors),
            errors=errors[:MAX_STORED_ERRORS],
        )
        origin = f"{record.get_source_display()} #{record.pk}" + (f" ({filename})" if filename else "")
        changed = 0
        contact_ids: list[int] = []
        emails = list(good)
        for start in range(0, len(emails), _CHUNK):
            chunk = emails[start : start + _CHUNK]
            existing = {c.email: c for c in ContactPreference.objects.filter(project=project, email__in=chunk)}
            to_create, to_update = [], []
            for email in chunk:
                clean = good[email][1]
                contact = existing.get(email)
                is_new = contact is None
                if is_new:
                    contact = ContactPreference(project=project, email=email)
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
                    contact_ids.append(contact.pk)
                    continue
                changed += 1
                contact.changed_at = now
                contact.changed_by_label = label
                contact.source = origin[:255]
                contact.source_import = record
                (to_create if is_new else to_update).append(contact)
            ContactPreference.objects.bulk_create(to_create, batch_size=500)
            if not all(c.pk for c in to_create):  # backends without RETURNING on bulk insert
                ids = dict(
                    ContactPreference.objects.filter(
                        project=project, email__in=[c.email for c in to_create]
                    ).values_list("email", "pk")
                )
                for c in to_create:
                    c.pk = ids[c.email]
            ContactPreference.objects.bulk_update(
                to_update,
                [*SUBSCRIPTION_ARRAY_FIELDS, "user_id", "changed_at", "changed_by_label", "source", "source_import"],
                batch_size=500,
            )
            contact_ids.extend(c.pk for c in to_create + to_update)
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
