"""Audit events in words: what happened to what, and each recorded value as staff say it.

Every capability records its own shape of `changes` (a catalog write: {field: {before, after}}; a sync: its
status and counts; a test send: the attempt, how and to whom; a resync: its selection). This module turns any
of them into lines a person reads: choice labels instead of stored values, lists and nested values in words,
ids as the names the event carries, and the API's field names never shown.

Pure presentation: it reads the models' field definitions (labels and choices) and makes no query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from catalog.sync.words import code_words

# What an action is called, in the past tense of the person who did it.
ACTIONS = {
    "create": "Created",
    "update": "Changed",
    "delete": "Deleted",
    "sync": "Synced with Iterable",
    "proof_send": "Test send",
    "contact_lookup": "Looked up a contact",
    "resync_start": "Started a resync",
    "resync_dry_run": "Started a dry run",
    "resync_cancel": "Cancelled",
    "resync_retry_failed": "Retried the failed contacts of",
    "resync_stalled": "Stopped, stalled",
    "resync_settings_update": "Changed the resync settings",
    "preferences_import": "Imported preferences",
    "acknowledge": "Acknowledged",
    "approve": "Approved",
    "rotate": "Rotated",
    "revoke": "Revoked",
    "invite": "Invited",
    "role_change": "Changed the role of",
    "deactivate": "Deactivated",
    "reactivate": "Reactivated",
    "password_link": "Made a set-password link for",
    "job_create": "Set up",
    "job_update": "Changed",
    "job_run_start": "Started",
    "job_run_apply": "Applied",
    "job_run_approve": "Approved",
    "job_run_cancel": "Cancelled",
    "job_run_retry": "Retried the failed rows of",
    "job_run_dismiss_failed": "Gave up on the failed rows of",
    "job_run_stalled": "Stopped, stalled",
    "job_schedule_skip": "Skipped a scheduled pull of",
}

# Object types recorded without a model of that name, or whose model's name is not what staff call it.
OBJECT_TYPES = {
    "contact": "Contact",
    "notification": "Notification",
    "syncrun": "Sync run",
    "proofsend": "Test send",
    "proofrecipient": "Test recipient",
    "resyncrun": "Resync run",
    "resyncsettings": "Resync settings",
    "preferenceimport": "Preference import",
    "apitoken": "API token",
    "healthalert": "Health alert",
    "webhooksecret": "Webhook secret",
    "iterableproject": "Project",
    "messagetype": "Message type",
    "customevent": "Custom event",
    "eventfield": "Event field",
    "user": "Person",
}

# Keys that actions (not model fields) record, named as staff would.
KEYS = {
    "attempt": "Test send",
    "mode": "How",
    "recipient": "To",
    "endpoint": "Iterable call",
    "outcome": "Outcome",
    "code": "Iterable's answer",
    "reason": "Why",
    "status": "Status",
    "counts": "Read from Iterable",
    "calls": "Calls to Iterable",
    "findings": "Found",
    "errors": "Errors",
    "selection": "Which contacts",
    "import": "Import",
    "since": "Changed since",
    "total": "Contacts",
    "items": "Contacts retried",
    "projects": "Projects",
    "at": "At",
    "rows": "Rows read",
    "accepted": "Rows accepted",
    "changed": "Contacts changed",
    "rejected": "Rows rejected",
    "filename": "File",
    "note": "Note",
    "replaced_by": "Replaced by token",
    "user": "User",
    "name": "Name",
    "msg": "Message",
    "looked_up_by": "Looked up by",
    "subscribed_message_type_ids": "Subscribed message types",
    "unsubscribed_message_type_ids": "Unsubscribed message types",
    "unsubscribed_channel_ids": "Unsubscribed channels",
}

# Codes a sync or the guard records, in words (the pages never show the code itself).
# Values some action keys hold that no model's choices name.
VALUE_WORDS = {"looked_up_by": {"email": "email address", "userId": "user id"}}

# Values some action keys hold, in words (choices of models that the event does not name as its object).
VALUE_CHOICES = {
    "outcome": ("catalog", "proofsend", "outcome"),
    "mode": ("catalog", "proofsend", "mode"),
    "selection": ("catalog", "resyncrun", "selection"),
}

# The permission each linked page asks for (entity pages: view_<entity>).
ROUTE_PERMISSIONS = {
    "catalog:notification_detail": "catalog.view_notification",
    "catalog:sync_run_detail": "catalog.view_notification",
    "catalog:proof_send_detail": "catalog.send_proof",
    "catalog:resync_run": "catalog.run_resync",
    "catalog:resync_import": "catalog.run_resync",
}
# Set on an event by audit_events_for: whom it is shown to.
READER_ATTR = "_reader"
# Keys whose value is the id of a row with a page of its own.
LINKED_IDS = {"attempt": "catalog:proof_send_detail", "import": "catalog:resync_import"}
EMPTY = "none"
LIST_SHOWN = 12
TEXT_SHOWN = 300


@dataclass
class Line:
    """One recorded value: its label, and either a change (before → after) or a value, each in words."""

    label: str
    value: str = ""
    before: str | None = None
    after: str | None = None
    url: str = ""

    @property
    def is_change(self) -> bool:
        return self.before is not None

    def __str__(self) -> str:
        if self.is_change:
            return f"{self.label}: {self.before} → {self.after}"
        return f"{self.label}: {self.value}"


@dataclass
class EventWords:
    action: str
    object_type: str
    object_name: str
    lines: list[Line] = field(default_factory=list)
    object_url: str = ""

    @property
    def what(self) -> str:
        """ "Changed notification weekly_digest", "Test send notification weekly_digest"."""
        name = f" {self.object_name}" if self.object_name else ""
        return f"{self.action} {self.object_type.lower()}{name}"

    @property
    def details(self) -> str:
        return "; ".join(str(line) for line in self.lines)


def action_words(action: str) -> str:
    return ACTIONS.get(action) or _humanised(action)


def object_type_words(object_type: str) -> str:
    if object_type in OBJECT_TYPES:
        return OBJECT_TYPES[object_type]
    model = _model(object_type)
    if model is not None:
        return str(model._meta.verbose_name).capitalize()
    return _humanised(object_type)


def event_words(event) -> EventWords:
    """The event (already masked for its reader) in words. Links go only to pages the reader may open, when the
    event knows its reader (`audit_events_for` says; READER_ATTR)."""
    reader = getattr(event, READER_ATTR, None)

    def _url(name: str, **kwargs) -> str:
        needed = ROUTE_PERMISSIONS.get(name) or (
            f"catalog.view_{kwargs['entity']}" if name == "catalog:entity_detail" else ""
        )
        if reader is not None and needed and not reader.has_perm(needed):
            return ""
        return _reversed(name, **kwargs)

    changes = event.changes if isinstance(event.changes, dict) else {}
    # A value recorded as null (a lookup made without a notification) has nothing to say.
    lines = [_line(event.object_type, key, value) for key, value in changes.items() if value is not None]
    words = EventWords(
        action=action_words(event.action),
        object_type=object_type_words(event.object_type),
        object_name=event.object_repr,
        lines=lines,
        object_url=_object_url(event, _url),
    )
    # Ids the event carries, as links to what they name.
    for key, route in LINKED_IDS.items():
        if isinstance(changes.get(key), int) and not isinstance(changes.get(key), bool):
            for line in lines:
                if line.label == KEYS[key]:
                    line.value = f"#{changes[key]}"
                    line.url = _url(route, pk=changes[key])
    if event.action in ("create", "delete"):
        words.lines = _values_of(lines, kept="after" if event.action == "create" else "before")
    return words


def _values_of(lines: list[Line], *, kept: str) -> list[Line]:
    """A creation's values as they were set (a deletion's as they were), leaving out those left empty: "none →
    Weekly digest" says less than "Name: Weekly digest"."""
    found = []
    for line in lines:
        if line.is_change:
            value = line.after if kept == "after" else line.before
            if value in (EMPTY, "(empty)", "no"):
                continue
            line = Line(label=line.label, value=value or "", url=line.url)
        found.append(line)
    return found


def _line(object_type: str, key: str, value: Any) -> Line:
    label, choices = _field(object_type, key)
    if isinstance(value, dict) and set(value) == {"before", "after"}:
        return Line(
            label=label,
            before=value_words(value["before"], choices=choices),
            after=value_words(value["after"], choices=choices),
        )
    if key in ("findings",) and isinstance(value, dict):
        return Line(label=label, value=_codes_words(value))
    if key == "calls" and isinstance(value, dict) and all(isinstance(n, int) for n in value.values()):
        # Per endpoint is the engineers' detail (the sync run's page has it); here, how many.
        return Line(label=label, value=str(sum(value.values())))
    return Line(label=label, value=value_words(value, choices=choices))


def _field(object_type: str, key: str) -> tuple[str, dict]:
    """The label and the choices of a recorded key: the label staff use for an action's key, else the model's
    field of that name (its verbose name); the choices from that field, or from the model the key's values
    come from."""
    model = _model(object_type)
    model_field = None
    if model is not None:
        try:
            model_field = model._meta.get_field(key)
        except FieldDoesNotExist:
            model_field = None
    if model_field is not None and not hasattr(model_field, "verbose_name"):
        model_field = None
    choices: dict = dict(getattr(model_field, "choices", None) or ())
    if not choices and key in VALUE_WORDS:
        choices = VALUE_WORDS[key]
    if not choices and key in VALUE_CHOICES:
        app_label, model_name, field_name = VALUE_CHOICES[key]
        try:
            choices = dict(apps.get_model(app_label, model_name)._meta.get_field(field_name).choices or ())
        except (LookupError, FieldDoesNotExist):
            choices = {}
    if key in KEYS:
        return KEYS[key], choices
    if model_field is not None:
        return str(model_field.verbose_name).capitalize(), choices
    return _humanised(key), choices


def value_words(value: Any, *, choices: dict | None = None) -> str:
    """Any recorded value as words: choice labels, yes/no, lists joined, nested values spelled out."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)
    if isinstance(value, str):
        if choices and value in choices:
            return str(choices[value])
        if value == "":
            return "(empty)"
        moment = _moment(value)
        if moment is not None:
            return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
        return value if len(value) <= TEXT_SHOWN else value[:TEXT_SHOWN] + "…"
    if isinstance(value, list | tuple):
        if not value:
            return EMPTY
        shown = [value_words(v, choices=choices) for v in value[:LIST_SHOWN]]
        more = len(value) - LIST_SHOWN
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    if isinstance(value, dict):
        if not value:
            return EMPTY
        if set(value) <= {"code", "msg"}:
            return " — ".join(str(v) for v in (value.get("code"), value.get("msg")) if v)
        # Counts that are zero say nothing ("updated 0, deleted 0"); a nested group reads as "name (its values)".
        kept = {k: v for k, v in value.items() if not (isinstance(v, int) and not isinstance(v, bool) and v == 0)}
        if not kept:
            return "nothing"
        if any(isinstance(v, dict) for v in kept.values()):
            return "; ".join(f"{_key_words(str(k))} ({value_words(v, choices=choices)})" for k, v in kept.items())
        return ", ".join(f"{_key_words(str(k))}: {value_words(v, choices=choices)}" for k, v in kept.items())
    return str(value)


def _key_words(key: str) -> str:
    """A key inside a recorded value: the staff's word for it, a name as words, or as is when it is no name (an
    Iterable call such as "GET /api/templates")."""
    if key in KEYS:
        return KEYS[key].lower()
    if _NAME.fullmatch(key):
        return _humanised(key).lower()
    return key


def _codes_words(counts: dict) -> str:
    if not counts:
        return "nothing"
    return ", ".join(f"{_code_in_a_sentence(code)}: {n}" for code, n in counts.items())


def _code_in_a_sentence(code: str) -> str:
    """A rule's or finding's words (the one source, catalog/sync/words.py), lower-cased to sit inside a line."""
    words = code_words(code)
    return words[:1].lower() + words[1:]


def _moment(text: str) -> datetime | None:
    if len(text) < 19 or text[4] != "-" or "T" not in text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\- ]*")


def _humanised(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").strip().capitalize() or name


def _model(object_type: str):
    if not object_type:
        return None
    try:
        return apps.get_model("catalog", object_type)
    except LookupError:
        return None


def _reversed(name: str, **kwargs) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""


def _object_url(event, _url) -> str:
    """The page of the event's object, when it has one and the event says which."""
    object_id = event.object_id
    if event.action == "delete" or not object_id or not object_id.isdigit():
        return ""
    if event.object_type == "notification":
        return _url("catalog:notification_detail", key=event.object_repr) if event.object_repr else ""
    if event.object_type == "syncrun":
        return _url("catalog:sync_run_detail", pk=int(object_id))
    if event.object_type == "resyncrun":
        return _url("catalog:resync_run", pk=int(object_id))
    if event.object_type == "preferenceimport":
        return _url("catalog:resync_import", pk=int(object_id))
    if event.object_type in {
        "channel",
        "messagetype",
        "template",
        "journey",
        "customevent",
        "owner",
        "iterableproject",
    }:
        return _url("catalog:entity_detail", entity=event.object_type, pk=int(object_id))
    return ""
