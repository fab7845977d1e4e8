"""Import a catalog file: everything or nothing, every error with its place in the file.

References inside an object (channel, message type, template, journey, event) are looked up in that object's
project. Import creates or updates (by natural key) and never deletes. Every object is written through the one
catalog write path (catalog_object_upsert, or for notifications the batched catalog_notifications_save_bulk:
validation, the guard, an audit event), every error is collected with its location (e.g.
"notifications[3].message_type"), and if there is any error nothing is kept.
"""

import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from rest_framework import serializers

from catalog.audit.services import snapshot
from catalog.io.services.schema import (
    MAX_IMPORT_BYTES,
    SECTIONS,
    CatalogRefs,
    ImportProblem,
    Item,
    catalog_file_problems,
    item_serializer,
    problems_from,
)
from catalog.models import EventField, Notification
from catalog.services.catalog import (
    NotificationWrite,
    catalog_notifications_save_bulk,
    catalog_notifications_validate,
    catalog_object_upsert,
    catalog_values_assign,
)
from catalog.services.input_limits import UNSTORABLE_MESSAGE, json_loads_bounded, unstorable, yaml_load_bounded
from catalog.services.projects import project_write_refusal
from catalog.types import Actor

# Notifications judged and written together: references come from one query per kind and project, and the
# writes are bulk statements, so a 25,000-notification file imports in well under a minute.
NOTIFICATION_BATCH = 2000


@dataclass
class ImportResult:
    """What an import did: counts per section, or the problems that stopped it (then nothing was kept)."""

    errors: list[ImportProblem] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Abort(Exception):
    """Rolls the import's transaction back once every error has been collected."""


def catalog_file_text(content: bytes | str) -> tuple[str, list[ImportProblem]]:
    """The file as text, or what is wrong with it as a file: too large, not UTF-8, empty."""
    if isinstance(content, bytes):
        if len(content) > MAX_IMPORT_BYTES:
            return "", [ImportProblem("file", f"The file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB.")]
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return "", [ImportProblem("file", f"The file is not UTF-8 text (byte {error.start}).")]
    if not content.strip():
        return "", [ImportProblem("file", "The file is empty.")]
    return content, []


def catalog_file_parse(content: bytes | str, fmt: str) -> tuple[Any, list[ImportProblem]]:
    """The file's data (fmt "json" or "yaml"), read with the input limits (size, nesting, no YAML aliases)."""
    content, problems = catalog_file_text(content)
    if problems:
        return None, problems
    if fmt == "json":
        try:
            data = json_loads_bounded(content, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as error:
            return None, [ImportProblem(f"line {error.lineno}, column {error.colno}", f"Invalid JSON: {error.msg}.")]
        except _KeyTwice as error:
            return None, [
                ImportProblem("file", f"Invalid JSON: the key {error.args[0]!r} is given twice in one object.")
            ]
    else:
        try:
            data = yaml_load_bounded(content)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
            problem = getattr(error, "problem", None) or str(error)
            return None, [ImportProblem(where, f"Invalid YAML: {problem}.")]
    # Escapes ("\u0000", YAML's "\0") put in values what the file's text did not show: NUL, which PostgreSQL
    # cannot store, and lone surrogates, which no database stores.
    unstorable_at = _unstorable_at(data)
    if unstorable_at is not None:
        return None, [ImportProblem(unstorable_at, UNSTORABLE_MESSAGE)]
    return data, []


class _KeyTwice(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON objects with each key once: json keeps the last silently, losing the value written first."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _KeyTwice(key)
        data[key] = value
    return data


def _unstorable_at(data: Any, where: str = "file") -> str | None:
    """Where in the parsed file (``notifications[3].name``) the first unstorable text is, or None."""
    if isinstance(data, dict):
        for key, value in data.items():
            if unstorable(key):
                return where
            found = _unstorable_at(value, f"{key}" if where == "file" else f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found = _unstorable_at(value, f"{where}[{index}]")
            if found is not None:
                return found
    elif unstorable(data):
        return where
    return None


def guess_format(filename: str, content: bytes | str) -> str:
    """json or yaml, from the file name, else from the first character (YAML otherwise)."""
    name = (filename or "").lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    head = content[:1024].lstrip() if content else ""
    return "json" if head[:1] in ("{", b"{") else "yaml"


def catalog_import(*, actor: Actor, content: bytes | str, fmt: str) -> ImportResult:
    """Import a catalog file (fmt "json" or "yaml"): everything or nothing, every error with its location."""
    data, problems = catalog_file_parse(content, fmt)
    if problems:
        return ImportResult(errors=problems)
    return catalog_import_data(actor=actor, data=data)


def catalog_import_data(*, actor: Actor, data: Any, checked: bool = False) -> ImportResult:
    """Import a catalog file's data (as parsed); ``checked``: catalog_file_problems already found none."""
    result = ImportResult()
    problems = [] if checked else catalog_file_problems(data)
    if problems:
        result.errors = problems
        return result
    try:
        with transaction.atomic():
            _Importer(actor, result).run(data)
            if result.errors:
                raise _Abort
    except _Abort:
        result.created, result.updated, result.unchanged = {}, {}, {}
    return result


class _Importer:
    def __init__(self, actor: Actor, result: ImportResult):
        self.actor = actor
        self.result = result
        self.refs = CatalogRefs()
        self.seen: dict[tuple, str] = {}  # each object's natural key: where in the file it was first given

    def problem(self, where: str, message: str) -> None:
        self.result.errors.append(ImportProblem(where, message))

    def count(self, outcome: str, section: str) -> None:
        bucket = getattr(self.result, outcome)
        bucket[section] = bucket.get(section, 0) + 1

    def validation_problems(self, where: str, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                location = where if name == NON_FIELD_ERRORS else f"{where}.{name}"
                for message in messages:
                    self.problem(location, message)
        else:
            for message in error.messages:
                self.problem(where, message)

    def run(self, data: dict) -> None:
        for section in SECTIONS[:-1]:
            serializer = item_serializer(section, self.refs)
            for i, item in enumerate(data.get(section) or []):
                self.item(section, serializer, item, f"{section}[{i}]")
        self.notifications(data.get("notifications") or [])

    def resolved(self, serializer: Item, item: dict, where: str) -> dict | None:
        """The item's values with its references resolved, or None (each unknown one is a problem)."""
        try:
            return serializer.run_validation(item)
        except serializers.ValidationError as error:
            self.result.errors += problems_from(error, where)
            return None

    def item(self, section: str, serializer: Item, item: dict, where: str) -> None:
        values = self.resolved(serializer, item, where)
        if values is None:
            return
        children = values.pop("fields", [])  # a custom event's data fields, written after the event
        lookup = {name: values.pop(name) for name in serializer.natural_key}
        # The same object twice would be written twice, the later silently replacing the earlier.
        natural = (section, *lookup.values())
        if natural in self.seen:
            described = ", ".join(f"{name} {str(value)!r}" for name, value in lookup.items())
            self.problem(where, f"The same object ({described}) as {self.seen[natural]}: give each object once.")
            return
        self.seen[natural] = where
        if section == "projects":
            refusal = project_write_refusal(actor=self.actor, name=lookup["name"], values=values)
            if refusal:
                self.problem(where, refusal)
                return
        instance = self.upsert(section, where, serializer.model, lookup, values)
        if instance is None:
            return
        if section == "projects":
            self.refs.projects[lookup["name"]] = instance
        for j, child in enumerate(children):
            lookup = {"event": instance, "name": child["name"]}
            values = {name: value for name, value in child.items() if name != "name"}
            self.upsert("event_fields", f"{where}.fields[{j}]", EventField, lookup, values)

    def upsert(self, section: str, where: str, model: Any, lookup: dict, values: dict) -> Any:
        """Create or update one object through the catalog's write path; errors are recorded, never raised."""
        try:
            # A refused write is rolled back to the save's own savepoint (catalog_object_save is atomic), so it
            # does not spoil the rest of the checks; an unchanged object costs no savepoint at all.
            instance, outcome = catalog_object_upsert(actor=self.actor, model=model, lookup=lookup, values=values)
        except ValidationError as error:
            self.validation_problems(where, error)
            return None
        except IntegrityError as error:
            self.problem(where, f"The database refused it: {error}")
            return None
        self.count(outcome, section)
        return instance

    def notifications(self, items: list) -> None:
        """In batches: references resolved from one query per kind and project, every notification of the
        batch judged before any is written, then written together (catalog_notifications_save_bulk)."""
        serializer = item_serializer("notifications", self.refs)
        seen: dict[str, str] = {}
        for start in range(0, len(items), NOTIFICATION_BATCH):
            self._notification_batch(serializer, items[start : start + NOTIFICATION_BATCH], start, seen)

    def _notification_batch(self, serializer: Item, items: list, offset: int, seen: dict[str, str]) -> None:
        existing = {
            n.key: n
            for n in Notification.objects.filter(key__in=[n["key"] for n in items])
            .select_related("project", "message_type__channel", "event", "journey")
            .prefetch_related("templates__message_type__channel", "owners")
        }
        writes: list[NotificationWrite] = []
        places: list[str] = []
        for i, item in enumerate(items, start=offset):
            where = f"notifications[{i}]"
            if item["key"] in seen:
                self.problem(f"{where}.key", f"The key {item['key']!r} is also used by {seen[item['key']]}.")
                continue
            seen[item["key"]] = where
            values = self.resolved(serializer, item, where)
            if values is None:
                continue
            write = self._notification_write(values, existing.get(values.pop("key")) or Notification(key=item["key"]))
            if write is None:
                self.count("unchanged", "notifications")
            else:
                writes.append(write)
                places.append(where)
        for index, error in catalog_notifications_validate(writes).items():
            self.validation_problems(places[index], error)
        if self.result.errors or not writes:
            return  # nothing is kept anyway; the rest of the file is still checked so every problem is listed
        try:
            catalog_notifications_save_bulk(actor=self.actor, writes=writes)
        except (ValidationError, IntegrityError) as error:
            detail = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            self.problem(f"notifications[{offset}:{offset + len(items)}]", f"The database refused them: {detail}")
            return
        for write in writes:
            self.count("updated" if write.before else "created", "notifications")

    @staticmethod
    def _notification_write(values: dict, instance: Notification) -> NotificationWrite | None:
        """What to write for one notification of the file (its values resolved), or None if nothing differs."""
        creating = instance.pk is None
        before = {} if creating else snapshot(instance)
        wanted = {name: values.pop(name) for name in ("templates", "owners") if name in values}
        changed_fields = catalog_values_assign(instance, values)
        current = {m: [] if creating else list(getattr(instance, m).all()) for m in ("templates", "owners")}
        m2m_changed = creating or any({o.pk for o in wanted[m]} != {o.pk for o in current[m]} for m in wanted)
        if not (creating or changed_fields or m2m_changed):
            return None
        final = {name: wanted.get(name, current[name]) for name in ("templates", "owners")}
        return NotificationWrite(
            instance, final["templates"], final["owners"], before, m2m_changed, tuple(changed_fields)
        )
