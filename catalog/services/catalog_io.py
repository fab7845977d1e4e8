"""Import and export of the whole catalog as YAML or JSON, and CSV of a notification list.

The file format (version 1) has one list per kind of object, in dependency order; objects refer to each other
by natural keys, never by database ids, so a file moves between databases:

    format: iterable-admin-catalog
    version: 1
    projects:       [{name, data_center, api_key_env, api_base_url, iterable_project_id}]
    owners:         [{name, role, email, slack_channel}]
    channels:       [{project, iterable_id, name, channel_type, medium}]
    message_types:  [{project, iterable_id, name, channel: <channel iterable_id>, policy, deprecated, notes}]
    templates:      [{project, iterable_id, name, medium, message_type: <name>|null, campaign_id, client_template_id}]
    journeys:       [{project, iterable_id, name, folder, link, trigger_event_names, state}]
    custom_events:  [{project, name, source_system, description, fields: [{name, data_type, example, required,
                      position}]}]
    notifications:  [{key, name, description, audience, project, medium, trigger_type, campaign_id,
                      event: <name>|null, journey: <iterable_id>|null, message_type: <name>,
                      templates: [<template iterable_id>], owners: [{name, role}], status, tags, code_location}]

References inside an object (channel, message type, template, journey, event) are looked up in that object's
project. Import creates or updates (by natural key) and never deletes. It is all-or-nothing: every object is
saved through catalog_object_save (validation, the guard, an audit event), every error is collected with its
location (e.g. "notifications[3].message_type"), and if there is any error nothing is kept.
"""

import csv
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from catalog.audit.services import actor_label, snapshot
from catalog.models import (
    CatalogImport,
    Channel,
    CustomEvent,
    EventField,
    IterableProject,
    Journey,
    MessageType,
    Notification,
    Owner,
    Template,
)
from catalog.services.catalog import (
    NotificationWrite,
    catalog_notifications_save_bulk,
    catalog_notifications_validate,
    catalog_object_save,
)
from catalog.services.input_limits import MAX_UPLOAD_BYTES, json_loads_bounded, yaml_load_bounded
from catalog.services.projects import project_write_refusal
from catalog.types import Actor

FORMAT_NAME = "iterable-admin-catalog"
FORMAT_VERSION = 1
# A worker imports the file (not the web request), so it may hold a large catalog: 25,000 notifications
# take about 10 MB.
MAX_IMPORT_BYTES = 4 * MAX_UPLOAD_BYTES
# No field of the catalog needs more; a file that has more is a mistake (or worse), said before any lookup.
MAX_LIST_ITEMS = 200
MAX_TEXT_CHARS = 10_000

# Per section: key -> (accepted Python types, required). Checked before any lookup so a wrong type gets a
# sentence about the file, not a database error.
STR, INT, BOOL, LIST, OPT_INT, OPT_STR = (str,), (int,), (bool,), (list,), (int, type(None)), (str, type(None))
SPECS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "projects": {
        "name": (STR, True),
        "data_center": (STR, False),
        "api_key_env": (STR, True),
        "api_base_url": (STR, False),
        "iterable_project_id": (OPT_INT, False),
    },
    "owners": {"name": (STR, True), "role": (STR, True), "email": (STR, True), "slack_channel": (STR, False)},
    "channels": {
        "project": (STR, True),
        "iterable_id": (INT, True),
        "name": (STR, True),
        "channel_type": (STR, True),
        "medium": (STR, True),
    },
    "message_types": {
        "project": (STR, True),
        "iterable_id": (INT, True),
        "name": (STR, True),
        "channel": (INT, True),
        "policy": (STR, False),
        "deprecated": (BOOL, False),
        "notes": (STR, False),
    },
    "templates": {
        "project": (STR, True),
        "iterable_id": (INT, True),
        "name": (STR, True),
        "medium": (STR, True),
        "message_type": (OPT_STR, False),
        "campaign_id": (OPT_INT, False),
        "client_template_id": (STR, False),
    },
    "journeys": {
        "project": (STR, True),
        "iterable_id": (INT, True),
        "name": (STR, True),
        "folder": (STR, False),
        "link": (STR, False),
        "trigger_event_names": (LIST, False),
        "state": (STR, False),
    },
    "custom_events": {
        "project": (STR, True),
        "name": (STR, True),
        "source_system": (STR, False),
        "description": (STR, False),
        "fields": (LIST, False),
    },
    "fields": {
        "name": (STR, True),
        "data_type": (STR, False),
        "example": (STR, False),
        "required": (BOOL, False),
        "position": (INT, False),
    },
    "notifications": {
        "key": (STR, True),
        "name": (STR, True),
        "description": (STR, False),
        "audience": (STR, True),
        "project": (STR, True),
        "medium": (STR, True),
        "trigger_type": (STR, True),
        "campaign_id": (OPT_INT, False),
        "event": (OPT_STR, False),
        "journey": (OPT_INT, False),
        "message_type": (STR, True),
        "templates": (LIST, False),
        "owners": (LIST, False),
        "status": (STR, False),
        "tags": (LIST, False),
        "code_location": (STR, False),
    },
}
SECTIONS = [
    "projects",
    "owners",
    "channels",
    "message_types",
    "templates",
    "journeys",
    "custom_events",
    "notifications",
]


# ---------------------------------------------------------------------------------------------- export


# Rows read per database round trip while exporting: the notifications stream, never all in memory at once.
EXPORT_CHUNK_ROWS = 2000


def catalog_export_data() -> dict:
    """The whole catalog as plain data in the file format above (a bounded number of queries)."""
    return {**_catalog_sections(), "notifications": list(_notification_items())}


def _catalog_sections() -> dict:
    """Everything but the notifications: the small tables, read whole."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "projects": [
            {
                "name": p.name,
                "data_center": p.data_center,
                "api_key_env": p.api_key_env,
                "api_base_url": p.api_base_url,
                "iterable_project_id": p.iterable_project_id,
            }
            for p in IterableProject.objects.all()
        ],
        "owners": [
            {"name": o.name, "role": o.role, "email": o.email, "slack_channel": o.slack_channel}
            for o in Owner.objects.all()
        ],
        "channels": [
            {
                "project": c.project.name,
                "iterable_id": c.iterable_id,
                "name": c.name,
                "channel_type": c.channel_type,
                "medium": c.medium,
            }
            for c in Channel.objects.select_related("project")
        ],
        "message_types": [
            {
                "project": m.project.name,
                "iterable_id": m.iterable_id,
                "name": m.name,
                "channel": m.channel.iterable_id,
                "policy": m.policy,
                "deprecated": m.deprecated,
                "notes": m.notes,
            }
            for m in MessageType.objects.select_related("project", "channel")
        ],
        "templates": [
            {
                "project": t.project.name,
                "iterable_id": t.iterable_id,
                "name": t.name,
                "medium": t.medium,
                "message_type": t.message_type.name if t.message_type else None,
                "campaign_id": t.campaign_id,
                "client_template_id": t.client_template_id,
            }
            for t in Template.objects.select_related("project", "message_type")
        ],
        "journeys": [
            {
                "project": j.project.name,
                "iterable_id": j.iterable_id,
                "name": j.name,
                "folder": j.folder,
                "link": j.link,
                "trigger_event_names": list(j.trigger_event_names),
                "state": j.state,
            }
            for j in Journey.objects.select_related("project")
        ],
        "custom_events": [
            {
                "project": e.project.name,
                "name": e.name,
                "source_system": e.source_system,
                "description": e.description,
                "fields": [
                    {
                        "name": f.name,
                        "data_type": f.data_type,
                        "example": f.example,
                        "required": f.required,
                        "position": f.position,
                    }
                    for f in e.fields.all()
                ],
            }
            for e in CustomEvent.objects.select_related("project").prefetch_related("fields")
        ],
    }


def _notification_items():
    """The notifications in the file format, in key order, read EXPORT_CHUNK_ROWS at a time."""
    rows = (
        Notification.objects.select_related("project", "event", "journey", "message_type")
        .prefetch_related("templates", "owners")
        .order_by("key")
    )
    for n in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        yield {
            "key": n.key,
            "name": n.name,
            "description": n.description,
            "audience": n.audience,
            "project": n.project.name,
            "medium": n.medium,
            "trigger_type": n.trigger_type,
            "campaign_id": n.campaign_id,
            "event": n.event.name if n.event else None,
            "journey": n.journey.iterable_id if n.journey else None,
            "message_type": n.message_type.name,
            "templates": sorted(t.iterable_id for t in n.templates.all()),
            "owners": sorted(({"name": o.name, "role": o.role} for o in n.owners.all()), key=_owner_sort),
            "status": n.status,
            "tags": list(n.tags),
            "code_location": n.code_location,
        }


def _owner_sort(owner: dict) -> tuple[str, str]:
    return owner["name"], owner["role"]


def catalog_export(*, fmt: str) -> str:
    return "".join(catalog_export_chunks(fmt=fmt))


def catalog_export_chunks(*, fmt: str):
    """The export file in pieces, the same text catalog_export_data() would dump whole: the small sections
    first, then the notifications a few at a time, so a 100,000-notification export streams in bounded memory."""
    if fmt not in {"json", "yaml"}:
        raise ValueError(f"Unknown export format {fmt!r}: use json or yaml.")
    head = _catalog_sections()
    items = _batched(_notification_items(), 100)
    first = next(items, None)
    if fmt == "yaml":
        yield catalog_yaml_dump(head)
        if first is None:
            yield catalog_yaml_dump({"notifications": []})
            return
        yield "notifications:\n"
        # A top-level block sequence dumps exactly as the same items under a key (PyYAML does not indent it).
        yield catalog_yaml_dump(first)
        for batch in items:
            yield catalog_yaml_dump(batch)
        return
    if first is None:
        yield json.dumps({**head, "notifications": []}, indent=2, ensure_ascii=False) + "\n"
        return
    yield json.dumps(head, indent=2, ensure_ascii=False)[:-2] + ',\n  "notifications": ['
    separator = "\n    "
    for batch in _chain(first, items):
        yield separator + ",\n    ".join(
            json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ") for item in batch
        )
        separator = ",\n    "
    yield "\n  ]\n}\n"


def _chain(first, rest):
    yield first
    yield from rest


def _batched(iterable, size: int):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a value shared by two objects out twice: the import refuses aliases."""

    def ignore_aliases(self, data):
        return True


def catalog_yaml_dump(data) -> str:
    """YAML the import reads back: no aliases, keys in the file format's order."""
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=120)


CSV_COLUMNS = [
    "key",
    "name",
    "status",
    "audience",
    "project",
    "medium",
    "trigger_type",
    "campaign_id",
    "event",
    "journey",
    "message_type",
    "policy",
    "channel",
    "channel_type",
    "templates",
    "owners",
    "errors",
    "warnings",
    "violation_codes",
    "tags",
]


# A spreadsheet evaluates a cell that starts with one of these as a formula (CSV injection: a notification
# named "=HYPERLINK(...)" would run when the export is opened). Such cells get a leading apostrophe, which
# spreadsheets show as text and never evaluate.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_LEADS) else value


class _Line:
    """A file-like target that hands back what csv.writer wrote, one line at a time."""

    def write(self, text: str) -> str:
        return text


def notifications_csv(notifications) -> str:
    """CSV of a notification queryset (already filtered); one row per notification, formula cells escaped."""
    return "".join(notifications_csv_lines(notifications))


def notifications_csv_lines(notifications):
    """The same CSV line by line, reading EXPORT_CHUNK_ROWS notifications at a time (a streamed download)."""
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    rows = notifications.select_related("project", "event", "journey", "message_type__channel").prefetch_related(
        "templates", "owners"
    )
    for n in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS):
        row = [
            n.key,
            n.name,
            n.status,
            n.audience,
            n.project.name,
            n.medium,
            n.trigger_type,
            n.campaign_id if n.campaign_id is not None else "",
            n.event.name if n.event else "",
            n.journey.name if n.journey else "",
            n.message_type.name,
            n.message_type.policy,
            n.message_type.channel.name,
            n.message_type.channel.channel_type,
            " ".join(str(t.iterable_id) for t in n.templates.all()),
            "; ".join(str(o) for o in n.owners.all()),
            n.verdict_errors,
            n.verdict_warnings,
            " ".join(n.verdict_codes),
            " ".join(str(tag) for tag in n.tags),
        ]
        yield writer.writerow([csv_cell(value) for value in row])


# ---------------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an import file, and where."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


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


def _parse(content: bytes | str, fmt: str) -> tuple[Any, list[ImportProblem]]:
    if isinstance(content, bytes):
        if len(content) > MAX_IMPORT_BYTES:
            return None, [ImportProblem("file", f"The file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB.")]
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return None, [ImportProblem("file", f"The file is not UTF-8 text (byte {error.start}).")]
    if not content.strip():
        return None, [ImportProblem("file", "The file is empty.")]
    if fmt == "json":
        try:
            return json_loads_bounded(content), []
        except json.JSONDecodeError as error:
            return None, [ImportProblem(f"line {error.lineno}, column {error.colno}", f"Invalid JSON: {error.msg}.")]
    try:
        return yaml_load_bounded(content), []
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        problem = getattr(error, "problem", None) or str(error)
        return None, [ImportProblem(where, f"Invalid YAML: {problem}.")]


def guess_format(filename: str, content: bytes | str) -> str:
    """json or yaml, from the file name, else from the first character (YAML otherwise)."""
    name = (filename or "").lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    head = content[:1024].lstrip() if content else ""
    return "json" if head[:1] in ("{", b"{") else "yaml"


def _check_shape(data) -> list[ImportProblem]:
    """Structure and types of the whole file, before anything is looked up or written."""
    if not isinstance(data, dict):
        return [ImportProblem("file", "The file must hold a mapping with the sections " + ", ".join(SECTIONS) + ".")]
    problems = []
    known = {"format", "version", *SECTIONS}
    for key in data:
        if key not in known:
            problems.append(ImportProblem(str(key), f"Unknown section; expected one of {', '.join(SECTIONS)}."))
    if data.get("format", FORMAT_NAME) != FORMAT_NAME:
        problems.append(ImportProblem("format", f"Expected {FORMAT_NAME!r}, got {data.get('format')!r}."))
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        problems.append(ImportProblem("version", f"Only version {FORMAT_VERSION} is supported."))
    for section in SECTIONS:
        items = data.get(section, [])
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(ImportProblem(section, "Must be a list."))
            continue
        for i, item in enumerate(items):
            problems += _check_item(item, SPECS[section], f"{section}[{i}]")
            if section == "custom_events" and isinstance(item, dict) and isinstance(item.get("fields"), list):
                for j, event_field in enumerate(item["fields"]):
                    problems += _check_item(event_field, SPECS["fields"], f"{section}[{i}].fields[{j}]")
            if section == "notifications" and isinstance(item, dict):
                problems += _check_notification_lists(item, f"{section}[{i}]")
    return problems


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "text", int: "a whole number", bool: "true or false", list: "a list", type(None): "null"}
    return " or ".join(names[t] for t in types)


def _check_item(item, spec, where: str) -> list[ImportProblem]:
    if not isinstance(item, dict):
        return [ImportProblem(where, "Must be a mapping of field names to values.")]
    problems = []
    for key in item:
        if key not in spec:
            problems.append(ImportProblem(f"{where}.{key}", f"Unknown field; expected {', '.join(spec)}."))
    for key, (types, required) in spec.items():
        if key not in item:
            if required:
                problems.append(ImportProblem(f"{where}.{key}", "Required."))
            continue
        value = item[key]
        # bool is an int in Python; a true/false is never a valid id or count.
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            problems.append(ImportProblem(f"{where}.{key}", f"Must be {_type_names(types)}, got {_short(value)}."))
        elif isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
            problems.append(ImportProblem(f"{where}.{key}", f"At most {MAX_LIST_ITEMS} items (the limit)."))
        elif isinstance(value, list) and any(isinstance(v, str) and len(v) > MAX_TEXT_CHARS for v in value):
            problems.append(ImportProblem(f"{where}.{key}", f"Items of at most {MAX_TEXT_CHARS:,} characters."))
        elif isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            problems.append(ImportProblem(f"{where}.{key}", f"At most {MAX_TEXT_CHARS:,} characters (the limit)."))
    return problems


def _check_notification_lists(item: dict, where: str) -> list[ImportProblem]:
    problems = []
    for i, value in enumerate(item.get("templates") or []):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                ImportProblem(f"{where}.templates[{i}]", f"Must be a template's Iterable id, got {value!r}.")
            )
    for i, value in enumerate(item.get("owners") or []):
        if not (isinstance(value, dict) and isinstance(value.get("name"), str) and isinstance(value.get("role"), str)):
            problems.append(ImportProblem(f"{where}.owners[{i}]", f"Must be {{name, role}}, got {value!r}."))
    return problems


NOTIFICATION_BATCH = 2000


class _Importer:
    def __init__(self, actor: Actor, result: ImportResult):
        self.actor = actor
        self.result = result
        self._refs: dict = {}

    def problem(self, where: str, message: str) -> None:
        self.result.errors.append(ImportProblem(where, message))

    def count(self, bucket: dict, section: str) -> None:
        bucket[section] = bucket.get(section, 0) + 1

    def lookup(self, model, where: str, label: str, **filters):
        found = model.objects.filter(**filters).first()
        if found is None:
            self.problem(where, f"Unknown {label}: not in the catalog nor earlier in this file.")
        return found

    def upsert(self, section: str, where: str, model, lookup: dict, values: dict, m2m: dict | None = None):
        """Create or update one object through catalog_object_save; errors are recorded, never raised."""
        instance = model.objects.filter(**lookup).first()
        creating = instance is None
        if creating:
            instance = model(**lookup)
        changed = creating
        for name, value in values.items():
            model_field = model._meta.get_field(name)
            wanted = value.pk if model_field.is_relation and value is not None else value
            if getattr(instance, model_field.attname) != wanted:
                setattr(instance, name, value)
                changed = True
        for name, wanted in (m2m or {}).items():
            if creating or {o.pk for o in getattr(instance, name).all()} != {o.pk for o in wanted}:
                changed = True
        if not changed:
            self.count(self.result.unchanged, section)
            return instance
        try:
            # A savepoint per object: one refused object must not spoil the rest of the checks (PostgreSQL
            # aborts the whole transaction on an error otherwise).
            with transaction.atomic():
                catalog_object_save(actor=self.actor, instance=instance, m2m=m2m)
        except ValidationError as error:
            self.validation_problems(where, error)
            return None
        except IntegrityError as error:
            self.problem(where, f"The database refused it: {error}")
            return None
        self.count(self.result.created if creating else self.result.updated, section)
        return instance

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
        projects = self.projects(data.get("projects") or [])
        self.owners(data.get("owners") or [])
        self.channels(data.get("channels") or [], projects)
        self.message_types(data.get("message_types") or [], projects)
        self.templates(data.get("templates") or [], projects)
        self.journeys(data.get("journeys") or [], projects)
        self.custom_events(data.get("custom_events") or [], projects)
        self.notifications(data.get("notifications") or [], projects)

    @staticmethod
    def _values(item: dict, keys) -> dict:
        return {k: item[k] for k in keys if k in item}

    def project(self, projects: dict[str, IterableProject | None], name: str, where: str) -> IterableProject | None:
        if name not in projects:
            projects[name] = IterableProject.objects.filter(name=name).first()
        if projects[name] is None:
            self.problem(f"{where}.project", f"Unknown project {name!r}: not in the catalog nor earlier in this file.")
        return projects[name]

    def projects(self, items) -> dict:
        found = {}
        for i, p in enumerate(items):
            keys = ("data_center", "api_key_env", "api_base_url", "iterable_project_id")
            refusal = project_write_refusal(actor=self.actor, name=p["name"], values=self._values(p, keys))
            if refusal:
                self.problem(f"projects[{i}]", refusal)
                continue
            obj = self.upsert("projects", f"projects[{i}]", IterableProject, {"name": p["name"]}, self._values(p, keys))
            if obj is not None:
                found[p["name"]] = obj
        return found

    def owners(self, items) -> None:
        for i, o in enumerate(items):
            lookup = {"name": o["name"], "role": o["role"]}
            self.upsert("owners", f"owners[{i}]", Owner, lookup, self._values(o, ("email", "slack_channel")))

    def channels(self, items, projects) -> None:
        for i, c in enumerate(items):
            where = f"channels[{i}]"
            project = self.project(projects, c["project"], where)
            if project is not None:
                lookup = {"project": project, "iterable_id": c["iterable_id"]}
                self.upsert("channels", where, Channel, lookup, self._values(c, ("name", "channel_type", "medium")))

    def message_types(self, items, projects) -> None:
        for i, m in enumerate(items):
            where = f"message_types[{i}]"
            project = self.project(projects, m["project"], where)
            if project is None:
                continue
            channel = self.lookup(
                Channel, f"{where}.channel", f"channel {m['channel']}", project=project, iterable_id=m["channel"]
            )
            if channel is None:
                continue
            values = {**self._values(m, ("name", "policy", "deprecated", "notes")), "channel": channel}
            self.upsert(
                "message_types", where, MessageType, {"project": project, "iterable_id": m["iterable_id"]}, values
            )

    def templates(self, items, projects) -> None:
        for i, t in enumerate(items):
            where = f"templates[{i}]"
            project = self.project(projects, t["project"], where)
            if project is None:
                continue
            values = self._values(t, ("name", "medium", "campaign_id", "client_template_id"))
            if t.get("message_type") is not None:
                values["message_type"] = self.lookup(
                    MessageType,
                    f"{where}.message_type",
                    f"message type {t['message_type']!r}",
                    project=project,
                    name=t["message_type"],
                )
                if values["message_type"] is None:
                    continue
            elif "message_type" in t:
                values["message_type"] = None
            self.upsert("templates", where, Template, {"project": project, "iterable_id": t["iterable_id"]}, values)

    def journeys(self, items, projects) -> None:
        for i, j in enumerate(items):
            where = f"journeys[{i}]"
            project = self.project(projects, j["project"], where)
            if project is not None:
                values = self._values(j, ("name", "folder", "link", "trigger_event_names", "state"))
                self.upsert("journeys", where, Journey, {"project": project, "iterable_id": j["iterable_id"]}, values)

    def custom_events(self, items, projects) -> None:
        for i, e in enumerate(items):
            where = f"custom_events[{i}]"
            project = self.project(projects, e["project"], where)
            if project is None:
                continue
            values = self._values(e, ("source_system", "description"))
            event = self.upsert("custom_events", where, CustomEvent, {"project": project, "name": e["name"]}, values)
            if event is None:
                continue
            for j, f in enumerate(e.get("fields") or []):
                values = self._values(f, ("data_type", "example", "required", "position"))
                lookup = {"event": event, "name": f["name"]}
                self.upsert("event_fields", f"{where}.fields[{j}]", EventField, lookup, values)

    def notifications(self, items, projects) -> None:
        """In batches: references resolved from one query per kind and project, every notification of the
        batch judged before any is written, then written together (catalog_notifications_save_bulk)."""
        seen: dict[str, str] = {}
        for start in range(0, len(items), NOTIFICATION_BATCH):
            self._notification_batch(items[start : start + NOTIFICATION_BATCH], start, projects, seen)

    def _references(self, project: IterableProject) -> dict[Any, Any]:
        """The project's message types, events, journeys and templates by the keys a file uses, with what the
        guard reads loaded (channels, the templates' message types); owners are global."""
        if project.pk not in self._refs:
            self._refs[project.pk] = {
                "message_type": {
                    m.name: m for m in MessageType.objects.filter(project=project).select_related("channel")
                },
                "event": {e.name: e for e in CustomEvent.objects.filter(project=project)},
                "journey": {j.iterable_id: j for j in Journey.objects.filter(project=project)},
                "template": {
                    t.iterable_id: t
                    for t in Template.objects.filter(project=project).select_related("message_type__channel")
                },
            }
        if "owners" not in self._refs:
            self._refs["owners"] = {(o.name, o.role): o for o in Owner.objects.all()}
        return self._refs[project.pk]

    def _reference(self, refs: dict, kind: str, key, where: str, label: str):
        found = refs[kind].get(key)
        if found is None:
            self.problem(where, f"Unknown {label}: not in the catalog nor earlier in this file.")
        return found

    def _notification_references(
        self, n: dict[str, Any], where: str, project: IterableProject
    ) -> tuple[dict[str, Any], dict[str, list[Any]], bool]:
        """A file's notification as field values and many-to-many lists of catalog objects, and whether every
        name in it was found (each one that was not is a problem at its place in the file)."""
        scalar = ("name", "description", "audience", "medium", "trigger_type", "campaign_id", "status", "tags")
        refs = self._references(project)
        values = {**self._values(n, (*scalar, "code_location")), "project": project}
        values["message_type"] = self._reference(
            refs, "message_type", n["message_type"], f"{where}.message_type", f"message type {n['message_type']!r}"
        )
        ok = values["message_type"] is not None
        for name, label in (("event", "custom event"), ("journey", "journey")):
            if n.get(name) is not None:
                values[name] = self._reference(refs, name, n[name], f"{where}.{name}", f"{label} {n[name]!r}")
                ok &= values[name] is not None
            elif name in n:
                values[name] = None
        wanted: dict[str, list[Any]] = {}
        if "templates" in n:
            wanted["templates"] = [
                self._reference(refs, "template", t, f"{where}.templates[{j}]", f"template {t}")
                for j, t in enumerate(n["templates"])
            ]
        if "owners" in n:
            wanted["owners"] = [
                self._reference(
                    self._refs, "owners", (o["name"], o["role"]), f"{where}.owners[{j}]",
                    f"owner {o['name']!r} ({o['role']})",
                )
                for j, o in enumerate(n["owners"])
            ]  # fmt: skip
        ok &= all(obj is not None for objs in wanted.values() for obj in objs)
        return values, wanted, ok

    def _notification_batch(self, items, offset: int, projects, seen: dict[str, str]) -> None:
        existing = {
            n.key: n
            for n in Notification.objects.filter(key__in=[n["key"] for n in items])
            .select_related("project", "message_type__channel", "event", "journey")
            .prefetch_related("templates__message_type__channel", "owners")
        }
        writes: list[NotificationWrite] = []
        places: list[str] = []
        for i, n in enumerate(items, start=offset):
            where = f"notifications[{i}]"
            if n["key"] in seen:
                self.problem(f"{where}.key", f"The key {n['key']!r} is also used by {seen[n['key']]}.")
                continue
            seen[n["key"]] = where
            project = self.project(projects, n["project"], where)
            if project is None:
                continue
            values, wanted, ok = self._notification_references(n, where, project)
            if not ok:
                continue
            found = existing.get(n["key"])
            creating = found is None
            before = {} if found is None else snapshot(found)
            instance = Notification(key=n["key"]) if found is None else found
            changed_fields = []
            for name, value in values.items():
                model_field = Notification._meta.get_field(name)
                assert isinstance(model_field, models.Field)  # a file sets concrete fields and foreign keys only
                target = value.pk if model_field.is_relation and value is not None else value
                if getattr(instance, model_field.attname) != target:
                    setattr(instance, name, value)
                    changed_fields.append(name)
            changed = creating or bool(changed_fields)
            current = {m: [] if creating else list(getattr(instance, m).all()) for m in ("templates", "owners")}
            m2m_changed = creating or any(
                {o.pk for o in wanted[name]} != {o.pk for o in current[name]} for name in wanted
            )
            if not (changed or m2m_changed):
                self.count(self.result.unchanged, "notifications")
                continue
            final = {name: wanted.get(name, current[name]) for name in ("templates", "owners")}
            writes.append(
                NotificationWrite(
                    instance, final["templates"], final["owners"], before, m2m_changed, tuple(changed_fields)
                )
            )
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
            self.count(self.result.updated if write.before else self.result.created, "notifications")


def catalog_import(*, actor: Actor, content: bytes | str, fmt: str, parsed: Any = None) -> ImportResult:
    """Import a catalog file (fmt "json" or "yaml"): everything or nothing, every error with its location.
    ``parsed``: the file already parsed and shape-checked (the background task did it)."""
    result = ImportResult()
    problems: list[ImportProblem]
    if parsed is not None:
        data, problems = parsed, []
    else:
        data, problems = _parse(content, fmt)
        if not problems:
            problems = _check_shape(data)
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


# ---------------------------------------------------------------------------------------------- in the background
# A large file takes longer than a web request may (gunicorn's timeout): the request checks what it can at
# once (size, text) and queues the import; a worker runs catalog_import on it and records the result, which
# the import's page shows. The supervisor (catalog/services/supervision.py) starts over an import whose task
# was lost: it is all-or-nothing, so a stopped attempt left nothing behind.

IMPORT_TASK = "catalog.tasks.catalog_import_task"
MAX_IMPORT_ATTEMPTS = 3
logger = logging.getLogger(__name__)


def _import_task_timeout() -> int:
    return int(getattr(settings, "CATALOG_IMPORT_TASK_TIMEOUT", 300))


def catalog_import_task_name(import_id: int) -> str:
    return f"catalog-import-{import_id}"


def catalog_import_start(
    *, actor: Actor, content: bytes | str, filename: str = ""
) -> tuple[CatalogImport | None, list[ImportProblem]]:
    """Check the file's size and text, then queue its import. Returns (the import, []) or (None, problems)."""
    if isinstance(content, bytes):
        if len(content) > MAX_IMPORT_BYTES:
            return None, [ImportProblem("file", f"The file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB.")]
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            return None, [ImportProblem("file", f"The file is not UTF-8 text (byte {error.start}).")]
    else:
        text = content
    if not text.strip():
        return None, [ImportProblem("file", "The file is empty.")]
    if "\x00" in text:
        return None, [ImportProblem("file", "The file contains NUL characters: it is not a text file.")]
    with transaction.atomic():
        record = CatalogImport.objects.create(
            created_by=actor if isinstance(actor, User) and actor.pk else None,
            actor_label=actor_label(actor),
            filename=(filename or "")[:255],
            fmt=guess_format(filename, text),
            content=text,
            phase="Waiting for a worker",
        )
        _import_enqueue(record.pk)
    return record, []


def _import_enqueue(import_id: int) -> None:
    from catalog.observability import enqueue

    options = {
        "timeout": _import_task_timeout(),
        "ack_failure": True,
        "group": "catalog-import",
        "task_name": catalog_import_task_name(import_id),
    }
    CatalogImport.objects.filter(pk=import_id).update(enqueued_at=timezone.now())
    transaction.on_commit(lambda: enqueue(IMPORT_TASK, import_id, q_options=options))


def _phase(import_id: int, text: str, **fields) -> None:
    CatalogImport.objects.filter(pk=import_id).update(phase=text, **fields)


def catalog_import_run(*, import_id: int) -> str:
    """Run a queued import (the task's body). Idempotent: only the worker that moves it from queued to
    running imports it; a second delivery finds it claimed or finished and returns."""
    now = timezone.now()
    claimed = CatalogImport.objects.filter(pk=import_id, status=CatalogImport.Status.QUEUED).update(
        status=CatalogImport.Status.RUNNING, started_at=now, attempts=F("attempts") + 1, phase="Reading the file"
    )
    if not claimed:
        return "skipped"
    record = CatalogImport.objects.get(pk=import_id)
    actor = record.created_by or record.actor_label
    data, problems = _parse(record.content, record.fmt)
    if not problems:
        problems = _check_shape(data)
    if not problems:
        total = sum(len(data.get(section) or []) for section in SECTIONS)
        _phase(import_id, f"Importing {total:,} objects", total=total)
        result = catalog_import(actor=actor, content=record.content, fmt=record.fmt, parsed=data)
    else:
        result = ImportResult(errors=problems)
    CatalogImport.objects.filter(pk=import_id, status=CatalogImport.Status.RUNNING).update(
        status=CatalogImport.Status.DONE if result.ok else CatalogImport.Status.REFUSED,
        phase="",
        finished_at=timezone.now(),
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        errors=[{"location": p.location, "message": p.message} for p in result.errors[:1000]],
    )
    return "done" if result.ok else "refused"


def catalog_import_progress(record: CatalogImport) -> dict:
    """Where an import is, for its page: a percentage, what the worker is doing, and whether it is over."""
    by_status: dict[str, int] = {
        CatalogImport.Status.QUEUED: 5,
        CatalogImport.Status.RUNNING: 50,
    }
    percent = by_status.get(record.status, 100)
    return {
        "status": record.status,
        "status_label": record.get_status_display(),
        "phase": record.phase,
        "percent": percent,
        "active": record.status in (CatalogImport.Status.QUEUED, CatalogImport.Status.RUNNING),
        "total": record.total,
    }


def catalog_imports_supervise(*, queued_names: set[str] | None, now: datetime | None = None) -> dict[str, int]:
    """Imports whose task is gone (the worker died, or it overran its timeout and was acknowledged): queued
    again to start over (nothing of a stopped attempt was kept), or failed after MAX_IMPORT_ATTEMPTS."""
    from django.db.models import Q

    now = now or timezone.now()
    grace = timedelta(seconds=_import_task_timeout() + 60)
    counts = {"resumed": 0, "failed": 0}
    if queued_names is None:
        return counts
    stalled = CatalogImport.objects.filter(
        Q(status=CatalogImport.Status.RUNNING, started_at__lt=now - grace)
        | Q(status=CatalogImport.Status.QUEUED, enqueued_at__lt=now - grace)
    )
    for record in stalled:
        if catalog_import_task_name(record.pk) in queued_names:
            continue
        with transaction.atomic():
            if record.attempts >= MAX_IMPORT_ATTEMPTS:
                counts["failed"] += CatalogImport.objects.filter(pk=record.pk, status=record.status).update(
                    status=CatalogImport.Status.FAILED,
                    phase="",
                    finished_at=now,
                    last_error=(
                        f"Its task stopped {record.attempts} times before finishing (it overran its "
                        f"{_import_task_timeout()} s limit or its worker died). Nothing was imported."
                    ),
                )
                continue
            updated = CatalogImport.objects.filter(pk=record.pk, status=record.status).update(
                status=CatalogImport.Status.QUEUED,
                phase="Queued again: the previous attempt stopped before finishing",
            )
            if updated:
                _import_enqueue(record.pk)
                counts["resumed"] += 1
    return counts
