"""The catalog file written from the schema's serializers (YAML or JSON, streamed), and the CSV of a
notification list."""

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

import yaml
from django.db import models

from catalog.io.services.schema import FORMAT_NAME, FORMAT_VERSION, SECTIONS, item_serializer
from catalog.models import Channel, CustomEvent, IterableProject, Journey, MessageType, Notification, Owner, Template

# Rows read per database round trip while exporting: the notifications stream, never all in memory at once.
EXPORT_CHUNK_ROWS = 500

# Each section's rows with what its serializer reads, so a section costs a bounded number of queries.
EXPORT_ROWS: dict[str, Any] = {
    "projects": lambda: IterableProject.objects.all(),
    "owners": lambda: Owner.objects.all(),
    "channels": lambda: Channel.objects.select_related("project"),
    "message_types": lambda: MessageType.objects.select_related("project", "channel"),
    "templates": lambda: Template.objects.select_related("project", "message_type"),
    "journeys": lambda: Journey.objects.select_related("project"),
    "custom_events": lambda: CustomEvent.objects.select_related("project").prefetch_related("fields"),
    "notifications": lambda: (
        Notification.objects.select_related("project", "event", "journey", "message_type")
        .prefetch_related("templates", "owners")
        .order_by("key")
    ),
}


def catalog_export_data() -> dict:
    """The whole catalog as plain data in the file format (a bounded number of queries)."""
    return {**_catalog_sections(), "notifications": list(_items("notifications"))}


def _catalog_sections() -> dict:
    """Everything but the notifications: the small tables, read whole."""
    head: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
    for section in SECTIONS[:-1]:
        head[section] = list(_items(section))
    return head


def _items(section: str) -> Iterator[dict]:
    """A section's objects in the file format; the notifications read EXPORT_CHUNK_ROWS at a time."""
    serializer = item_serializer(section)
    rows: models.QuerySet = EXPORT_ROWS[section]()
    for row in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS) if section == "notifications" else rows:
        yield serializer.to_representation(row)


def catalog_export(*, fmt: str) -> str:
    return "".join(catalog_export_chunks(fmt=fmt))


def catalog_export_chunks(*, fmt: str) -> Iterator[str]:
    """The export file in pieces, the same text catalog_export_data() would dump whole: the small sections
    first, then the notifications a few at a time, so a 100,000-notification export streams in bounded memory."""
    if fmt not in {"json", "yaml"}:
        raise ValueError(f"Unknown export format {fmt!r}: use json or yaml.")
    head = _catalog_sections()
    items = _batched(_items("notifications"), 100)
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


def _chain(first: list, rest: Iterator[list]) -> Iterator[list]:
    yield first
    yield from rest


def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# libyaml's emitter writes the same documents six times faster than PyYAML's own (long quoted strings fold at
# other places; both read back the same), which is most of a YAML export's time.
_SafeDumper = yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper


class _NoAliasDumper(_SafeDumper):  # type: ignore[misc, valid-type]
    """Writes a value shared by two objects out twice: the import refuses aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def catalog_yaml_dump(data: Any) -> str:
    """YAML the import reads back: no aliases, keys in the file format's order."""
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=120)


# ---------------------------------------------------------------------------------------------- CSV

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


def csv_cell(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_LEADS) else value


class _Line:
    """A file-like target that hands back what csv.writer wrote, one line at a time."""

    def write(self, text: str) -> str:
        return text


def notifications_csv(notifications: models.QuerySet) -> str:
    """CSV of a notification queryset (already filtered); one row per notification, formula cells escaped."""
    return "".join(notifications_csv_lines(notifications))


def notifications_csv_lines(notifications: models.QuerySet) -> Iterator[str]:
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
