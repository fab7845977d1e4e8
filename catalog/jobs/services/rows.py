"""From a source's row (a dict of column -> value) to what is sent to Iterable for it, by the job's action,
mapping and retention rules. A row is either sent (``Built``), left out by a retention rule, or invalid."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from catalog.jobs.services.conf import deletion_hash_key
from catalog.models import Job, JobAction
from catalog.services.input_limits import unstorable

RETENTION_RULES = {
    "within_days": "was within the last N days",
    "equals": "equals",
    "not_empty": "is not empty",
}
MAX_KEY = 320
# A row's own column for each per-row choice (the export integration's preserved columns), overriding the job's
# setting when the row has a value: column -> (the job's field, Iterable's field).
ROW_CHOICES = {
    "prefer_user_id": ("prefer_user_id", "preferUserId"),
    "merge_nested_objects": ("merge_nested_objects", "mergeNestedObjects"),
}
YES = {"true", "t", "yes", "y", "1"}
NO = {"false", "f", "no", "n", "0"}


class RowProblem(ValueError):
    """A row that cannot be sent, with the reason in words."""


@dataclass
class Built:
    key: str
    payload: dict[str, Any]
    left_out: str = ""  # the retention rule the row failed, in words ("" when it is sent)


def identity_hash(key: str) -> str:
    """A keyed hash of an address or user id: the same person gives the same hash, nobody can read it back."""
    return hmac.new(deletion_hash_key(), key.strip().lower().encode(), hashlib.sha256).hexdigest()


def plain(value: Any) -> Any:
    """A database value as JSON can hold it: a query's timestamp, numeric or uuid column comes back as a Python
    object the run's rows (a JSON column) cannot store."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise RowProblem(f"'{value}' is not a number Iterable can store")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raise RowProblem("a binary value cannot be sent to Iterable (select it as text)")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)
    if not isinstance(value, str):
        raise RowProblem("the identity must be text")
    return value.strip()


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = _text(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowProblem(f"'{text[:40]}' is not a date (use 2026-11-30 or 2026-11-30T22:00:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _choice(row: dict[str, Any], column: str, default: bool) -> bool:
    """The row's true/false in ``column``, or ``default`` when the row has no value there."""
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in YES:
        return True
    if text in NO:
        return False
    raise RowProblem(f"{column} must be true or false (or left empty for the job's setting), not '{str(value)[:40]}'")


def retention_words(rule: dict) -> str:
    kind, column, value = rule.get("rule"), rule.get("column"), rule.get("value")
    if kind == "within_days":
        return f"{column} within the last {value} days"
    if kind == "equals":
        return f"{column} is '{value}'"
    return f"{column} is not empty"


class RowBuilder:
    """Built once per run (``now`` fixes the retention window for every row of it)."""

    def __init__(self, job: Job, now: datetime | None = None) -> None:
        self.job = job
        self.now = now or datetime.now(UTC)
        self.mapping = [(m["column"], m["field"]) for m in job.mapping or []]
        # The columns the job reads: what is stored for a row, sent, or quoted in its reason comes from these.
        retention = [rule["column"] for rule in job.retention or []]
        used = [job.email_column, job.user_id_column, *(column for column, _ in self.mapping), *retention, *ROW_CHOICES]
        self.used = [column for column in dict.fromkeys(used) if column]

    def storable(self, row: dict[str, Any]) -> None:
        """A used column holding NUL or a lone surrogate (a file's stray byte, JSON's \\u0000 or \\ud800) makes
        the row invalid: PostgreSQL cannot store such text in the run's rows, and from SQLite Iterable would be sent
        it. The columns the job does not read are never stored, so they may hold anything."""
        for column in self.used:
            if unstorable(row.get(column)):
                raise RowProblem(f"{column[:100]} holds a NUL or a lone surrogate character, which cannot be stored")

    def identity(self, row: dict[str, Any]) -> tuple[str, str]:
        job = self.job
        email = _text(row.get(job.email_column)) if job.email_column else ""
        user_id = _text(row.get(job.user_id_column)) if job.user_id_column else ""
        if not email and not user_id:
            raise RowProblem(f"no {job.email_column or 'email'} and no {job.user_id_column or 'user id'}")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise RowProblem(f"'{email[:80]}' is not a valid email address") from None
            email = email.lower()
        if len(email) > 254 or len(user_id) > 200:
            raise RowProblem("the email or user id is too long")
        return email, user_id

    def retained(self, row: dict[str, Any]) -> str:
        """ "" when every retention rule holds, else the first rule that does not, in words."""
        for rule in self.job.retention or []:
            value = row.get(rule["column"])
            kind = rule["rule"]
            if kind == "not_empty":
                ok = value not in (None, "")
            elif kind == "equals":
                ok = _text(value) == str(rule.get("value", ""))
            else:
                ok = value not in (None, "") and _moment(value) >= self.now - timedelta(days=int(rule["value"]))
            if not ok:
                return retention_words(rule)
        return ""

    def fields(self, row: dict[str, Any]) -> dict[str, Any]:
        # Only the mapped fields; an empty cell is not sent (null would remove the field in Iterable).
        return {field: plain(row[column]) for column, field in self.mapping if row.get(column) not in (None, "")}

    def build(self, row: dict[str, Any]) -> Built:
        """What to send for ``row``; raises RowProblem when it cannot be sent."""
        if not isinstance(row, dict):
            raise RowProblem("a row must be an object of column: value")
        self.storable(row)
        email, user_id = self.identity(row)
        left_out = self.retained(row)
        job = self.job
        ident: dict[str, Any] = {"email": email} if email else {"userId": user_id}
        if email and user_id and job.action in (JobAction.UPDATE_PROFILES, JobAction.LIST_ADD):
            ident["userId"] = user_id
        key = email or f"user id {user_id}"
        if job.action == JobAction.UPDATE_PROFILES or job.action == JobAction.LIST_ADD:
            payload = {**ident, "dataFields": self.fields(row)}
            for column, (setting, name) in ROW_CHOICES.items():
                # Preferring the user id means nothing without one: it is left out then.
                if _choice(row, column, getattr(job, setting)) and (user_id or name != "preferUserId"):
                    payload[name] = True
        else:
            payload = ident
        try:
            json.dumps(payload, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise RowProblem(f"a value cannot be sent to Iterable ({str(exc)[:120]})") from None
        return Built(key=key[:MAX_KEY], payload=payload, left_out=left_out)
