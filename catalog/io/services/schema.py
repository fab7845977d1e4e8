"""The catalog file (format version 1) as DRF serializers: one per kind of object, used three ways.

- **Shape** (``catalog_file_problems``): the whole file's structure and types, before anything is looked up
  or written, so a wrong type gets a sentence about the file rather than a database error. References are
  only checked to be a key of the right type here.
- **Import** (``item_serializer(section, refs)``): the same serializers with a ``CatalogRefs`` in their
  context resolve each reference (a natural key) to the catalog object, among the objects of the item's own
  project, and say "Unknown …" at the reference's place in the file.
- **Export** (``to_representation``): the same fields write the file back, references as natural keys.

Types are exact, as in JSON: "12" is not a number and true is not 1 (DRF's own fields would coerce both).
Errors come out as DRF details; ``flatten`` (the API's) gives their dotted paths, ``problems_from`` writes
them as the file's places: ``notifications[3].message_type``.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import models
from rest_framework import serializers
from rest_framework.fields import empty

from catalog.api.exceptions import flatten
from catalog.models import (
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
from catalog.services.input_limits import MAX_UPLOAD_BYTES

FORMAT_NAME = "iterable-admin-catalog"
FORMAT_VERSION = 1
# A worker imports the file (not the web request), so it may hold a large catalog: 25,000 notifications
# take about 10 MB.
MAX_IMPORT_BYTES = 4 * MAX_UPLOAD_BYTES
# No field of the catalog needs more; a file that has more is a mistake (or worse), said before any lookup.
MAX_LIST_ITEMS = 200
MAX_TEXT_CHARS = 10_000
UNKNOWN = "not in the catalog nor earlier in this file."


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an import file, and where."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def problems_from(error: serializers.ValidationError, where: str = "") -> list[ImportProblem]:
    """A serializer's errors as problems at their places in the file: ``where`` plus the error's path, list
    positions in brackets (``notifications.3.templates.1`` is ``notifications[3].templates[1]``)."""
    found = []
    for item in flatten(error.get_full_details()):
        parts = (item["field"] or "").split(".") if item["field"] else []
        location = where + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)
        found.append(ImportProblem(location.lstrip(".") or "file", item["message"]))
    return found


# ---------------------------------------------------------------------------------------------- values


_TYPE_NAMES = {str: "text", int: "a whole number", bool: "true or false", list: "a list", type(None): "null"}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is(value: object, types: tuple[type, ...]) -> bool:
    # bool is an int in Python; a true/false is never a valid id or count.
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def _wrong_type(types: tuple[type, ...], value: object) -> str:
    return f"Must be {' or '.join(_TYPE_NAMES[t] for t in types)}, got {_short(value)}."


class Value(serializers.Field):
    """A plain value of exactly one of ``types`` (text at most MAX_TEXT_CHARS), written back as it is."""

    def __init__(self, *types: type, nullable: bool = False, **kwargs: Any):
        self.types = (*types, type(None)) if nullable else types
        kwargs.setdefault("required", False)
        kwargs["allow_null"] = nullable
        super().__init__(**kwargs)
        self.error_messages.update(required="Required.", null=_wrong_type(self.types, None))

    def to_internal_value(self, data: Any) -> Any:
        if not _is(data, self.types):
            raise serializers.ValidationError(_wrong_type(self.types, data))
        if isinstance(data, str) and len(data) > MAX_TEXT_CHARS:
            raise serializers.ValidationError(f"At most {MAX_TEXT_CHARS:,} characters (the limit).")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class BoundedList(serializers.ListField):
    """A list of at most MAX_LIST_ITEMS; each item checked by ``child`` when given (errors by position), text
    items at most MAX_TEXT_CHARS. Written back sorted by ``order`` when given (a related manager is read)."""

    def __init__(self, *, order: Callable[[Any], Any] | None = None, **kwargs: Any):
        self.order = order
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.error_messages.update(required="Required.", null=_wrong_type((list,), None))

    def to_internal_value(self, data: Any) -> Any:
        if not _is(data, (list,)):
            raise serializers.ValidationError(_wrong_type((list,), data))
        if len(data) > MAX_LIST_ITEMS:
            raise serializers.ValidationError(f"At most {MAX_LIST_ITEMS} items (the limit).")
        if any(isinstance(v, str) and len(v) > MAX_TEXT_CHARS for v in data):
            raise serializers.ValidationError(f"Items of at most {MAX_TEXT_CHARS:,} characters.")
        return self.run_child_validation(data)

    def to_representation(self, data: Any) -> list[Any]:
        items = [self.child.to_representation(v) for v in (data.all() if hasattr(data, "all") else data)]
        return sorted(items, key=self.order) if self.order else items


# ---------------------------------------------------------------------------------------------- references


class CatalogRefs:
    """What an import's references resolve to: projects by name, owners by (name, role), and each project's
    objects of a kind by their key, read in one query per kind and project the first time one is needed. A
    kind is only referred to by later sections of the file, so it is complete when first read."""

    def __init__(self) -> None:
        self.projects: dict[str, IterableProject | None] = {}
        self.current: IterableProject | None = None  # the project of the item being checked
        self._objects: dict[Any, dict[Any, Any]] = {}

    def project(self, name: str) -> IterableProject | None:
        if name not in self.projects:
            self.projects[name] = IterableProject.objects.filter(name=name).first()
        return self.projects[name]

    def owner(self, name: str, role: str) -> Owner | None:
        if "owners" not in self._objects:
            self._objects["owners"] = {(o.name, o.role): o for o in Owner.objects.all()}
        return self._objects["owners"].get((name, role))

    def find(self, queryset: models.QuerySet | models.Manager, key_field: str, key: Any, *, scoped: bool = True) -> Any:
        """The object of ``queryset`` whose ``key_field`` is ``key``: in the current item's project when
        ``scoped``. Cached by model and key, so every reference to a model must read the same related rows."""
        project = self.current if scoped else None
        cache_key = (queryset.model, key_field, project.pk if project else None)
        if cache_key not in self._objects:
            rows = queryset.filter(project=project) if scoped else queryset.all()
            self._objects[cache_key] = {getattr(o, key_field): o for o in rows}
        return self._objects[cache_key].get(key)


class NaturalKey(serializers.SlugRelatedField):
    """A reference to another catalog object by its natural key (``slug_field``), looked up among the
    objects of the item's project. Without a ``CatalogRefs`` in the context it only checks the key's type."""

    def __init__(self, *, key_type: type, label: str, quote: bool = True, scoped: bool = True, **kwargs: Any):
        self.key_type, self.noun, self.quote, self.scoped = key_type, label, quote, scoped
        nullable = kwargs.pop("nullable", False)
        kwargs.setdefault("required", not nullable)
        super().__init__(allow_null=nullable, **kwargs)
        types = (key_type, type(None)) if nullable else (key_type,)
        self.types = types
        self.error_messages.update(required="Required.", null=_wrong_type(types, None))

    def describe(self, key: Any) -> str:
        return f"{self.noun} {key!r}" if self.quote else f"{self.noun} {key}"

    def run_validation(self, data: Any = empty) -> Any:
        # A related field would read "" as null; here it is a key like any other (and unknown).
        return serializers.Field.run_validation(self, data)

    def to_internal_value(self, data: Any) -> Any:
        if not _is(data, (self.key_type,)):
            raise serializers.ValidationError(self.type_error(data))
        refs: CatalogRefs | None = self.context.get("refs")
        if refs is None:
            return data
        assert self.queryset is not None  # every reference names its model's rows
        found = refs.find(self.queryset, self.slug_field, data, scoped=self.scoped)
        if found is None:
            raise serializers.ValidationError(f"Unknown {self.describe(data)}: {UNKNOWN}")
        return found

    def type_error(self, data: Any) -> str:
        return _wrong_type(self.types, data)


class ListedKey(NaturalKey):
    """A natural key as an item of a list, where a wrong one is named for what it should be."""

    def __init__(self, *, wanted: str, **kwargs: Any):
        self.wanted = wanted
        super().__init__(**kwargs)

    def type_error(self, data: Any) -> str:
        return f"Must be {self.wanted}, got {data!r}."


class OwnerKey(serializers.Field):
    """An owner by ``{name, role}`` (owners belong to no project)."""

    def to_internal_value(self, data: Any) -> Any:
        if not (isinstance(data, dict) and isinstance(data.get("name"), str) and isinstance(data.get("role"), str)):
            raise serializers.ValidationError(f"Must be {{name, role}}, got {data!r}.")
        refs: CatalogRefs | None = self.context.get("refs")
        if refs is None:
            return data
        found = refs.owner(data["name"], data["role"])
        if found is None:
            raise serializers.ValidationError(f"Unknown owner {data['name']!r} ({data['role']}): {UNKNOWN}")
        return found

    def to_representation(self, value: Owner) -> dict[str, str]:
        return {"name": value.name, "role": value.role}


# ---------------------------------------------------------------------------------------------- items


class Item(serializers.Serializer):
    """One object of a section: a mapping of known fields. ``model`` and ``natural_key`` say which catalog
    object it creates or updates (the rest of its values are written)."""

    model: type[models.Model]
    natural_key: tuple[str, ...]
    MAPPING = "Must be a mapping of field names to values."

    def run_validation(self, data: Any = empty) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError(self.MAPPING)
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:
        if self.context.get("refs") is not None:
            return self.resolve(data)
        unknown = {
            str(key): [f"Unknown field; expected {', '.join(self.fields)}."] for key in data if key not in self.fields
        }
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as error:
            assert isinstance(error.detail, dict)
            raise serializers.ValidationError({**unknown, **error.detail}) from None
        if unknown:
            raise serializers.ValidationError(unknown)
        return values

    def resolve(self, data: dict) -> dict:
        """The item (its shape already checked, so its plain values stand as they are) with each reference
        looked up: only the reference fields run, which halves the import's second pass over the file."""
        values, errors = dict(data), {}
        for name in self.reference_names:
            if name in data:
                try:
                    values[name] = self.fields[name].run_validation(data[name])
                except serializers.ValidationError as error:
                    errors[name] = error.detail
        if errors:
            raise serializers.ValidationError(errors)
        return values

    @cached_property
    def reference_names(self) -> list[str]:
        keys = (NaturalKey, OwnerKey)
        return [n for n, f in self.fields.items() if isinstance(f, keys) or isinstance(getattr(f, "child", None), keys)]


class ProjectItem(Item):
    """An object of one Iterable project: its references are looked up among that project's objects."""

    def to_internal_value(self, data: Any) -> Any:
        refs: CatalogRefs | None = self.context.get("refs")
        if refs is not None:
            name = data.get("project")
            refs.current = refs.project(name) if isinstance(name, str) else None
            if refs.current is None:
                raise serializers.ValidationError({"project": [f"Unknown project {name!r}: {UNKNOWN}"]})
        return super().to_internal_value(data)


def project_key() -> NaturalKey:
    return NaturalKey(
        queryset=IterableProject.objects.all(), slug_field="name", key_type=str, label="project", scoped=False
    )


class ProjectFile(Item):
    model, natural_key = IterableProject, ("name",)
    name = Value(str, required=True)
    data_center = Value(str)
    api_key_env = Value(str, required=True)
    api_base_url = Value(str)
    iterable_project_id = Value(int, nullable=True)


class OwnerFile(Item):
    model, natural_key = Owner, ("name", "role")
    name = Value(str, required=True)
    role = Value(str, required=True)
    email = Value(str, required=True)
    slack_channel = Value(str)


class IterableObjectFile(ProjectItem):
    """An object Iterable numbers within its project: known by the project and that id."""

    natural_key = ("project", "iterable_id")
    project = project_key()
    iterable_id = Value(int, required=True)
    name = Value(str, required=True)


class ChannelFile(IterableObjectFile):
    model = Channel
    channel_type = Value(str, required=True)
    medium = Value(str, required=True)


class MessageTypeFile(IterableObjectFile):
    model = MessageType
    channel = NaturalKey(queryset=Channel.objects.all(), slug_field="iterable_id", key_type=int, label="channel",
                         quote=False)  # fmt: skip
    policy = Value(str)
    deprecated = Value(bool)
    notes = Value(str)


class TemplateFile(IterableObjectFile):
    model = Template
    medium = Value(str, required=True)
    # The same rows as a notification's message type (one read serves both): with the channel the guard reads.
    message_type = NaturalKey(
        queryset=MessageType.objects.select_related("channel"), slug_field="name", key_type=str,
        label="message type", nullable=True, required=False,
    )  # fmt: skip
    campaign_id = Value(int, nullable=True)
    client_template_id = Value(str)


class JourneyFile(IterableObjectFile):
    model = Journey
    folder = Value(str)
    link = Value(str)
    trigger_event_names = BoundedList()
    state = Value(str)


class EventFieldFile(Item):
    model, natural_key = EventField, ("event", "name")
    name = Value(str, required=True)
    data_type = Value(str)
    example = Value(str)
    required = Value(bool)  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class
    position = Value(int)


class CustomEventFile(ProjectItem):
    model, natural_key = CustomEvent, ("project", "name")
    project = project_key()
    name = Value(str, required=True)
    source_system = Value(str)
    description = Value(str)
    fields = BoundedList(child=EventFieldFile())  # type: ignore[assignment]  # a declared field, as ``required`` above


class NotificationFile(ProjectItem):
    model, natural_key = Notification, ("key",)
    key = Value(str, required=True)
    name = Value(str, required=True)
    description = Value(str)
    audience = Value(str, required=True)
    project = project_key()
    medium = Value(str, required=True)
    trigger_type = Value(str, required=True)
    campaign_id = Value(int, nullable=True)
    event = NaturalKey(
        queryset=CustomEvent.objects.all(), slug_field="name", key_type=str, label="custom event", nullable=True,
        required=False,
    )  # fmt: skip
    journey = NaturalKey(
        queryset=Journey.objects.all(), slug_field="iterable_id", key_type=int, label="journey", nullable=True,
        required=False,
    )  # fmt: skip
    # What the guard reads is loaded with the references: the message type's channel, the templates' types.
    message_type = NaturalKey(queryset=MessageType.objects.select_related("channel"), slug_field="name",
                              key_type=str, label="message type")  # fmt: skip
    templates = BoundedList(
        child=ListedKey(
            queryset=Template.objects.select_related("message_type__channel"), slug_field="iterable_id",
            key_type=int, label="template", quote=False, wanted="a template's Iterable id",
        ),
        order=lambda key: key,
    )  # fmt: skip
    owners = BoundedList(child=OwnerKey(), order=lambda owner: (owner["name"], owner["role"]))
    status = Value(str)
    tags = BoundedList(child=Value(str))  # text, as the API and the pages show them: not numbers nor lists
    code_location = Value(str)


# The file's sections, in dependency order: an object refers only to objects of earlier sections.
ITEMS: dict[str, type[Item]] = {
    "projects": ProjectFile,
    "owners": OwnerFile,
    "channels": ChannelFile,
    "message_types": MessageTypeFile,
    "templates": TemplateFile,
    "journeys": JourneyFile,
    "custom_events": CustomEventFile,
    "notifications": NotificationFile,
}
SECTIONS = list(ITEMS)


def item_serializer(section: str, refs: CatalogRefs | None = None) -> Item:
    """The section's item serializer, bound once and run per item (``run_validation``) or per row
    (``to_representation``); with ``refs`` it resolves references."""
    return ITEMS[section](context={"refs": refs} if refs is not None else {})


# ---------------------------------------------------------------------------------------------- the file


def catalog_file_problems(data: Any) -> list[ImportProblem]:
    """Structure and types of the whole file, before anything is looked up or written."""
    if not isinstance(data, dict):
        return [ImportProblem("file", "The file must hold a mapping with the sections " + ", ".join(SECTIONS) + ".")]
    problems = [
        ImportProblem(str(key), f"Unknown section; expected one of {', '.join(SECTIONS)}.")
        for key in data
        if key not in {"format", "version", *SECTIONS}
    ]
    if data.get("format", FORMAT_NAME) != FORMAT_NAME:
        problems.append(ImportProblem("format", f"Expected {FORMAT_NAME!r}, got {data.get('format')!r}."))
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        problems.append(ImportProblem("version", f"Only version {FORMAT_VERSION} is supported."))
    for section in SECTIONS:
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(ImportProblem(section, "Must be a list."))
            continue
        problems += _item_problems(item_serializer(section), items, section)
    return problems


def _item_problems(serializer: Item, items: Iterable[Any], section: str) -> list[ImportProblem]:
    problems = []
    for i, item in enumerate(items):
        try:
            serializer.run_validation(item)
        except serializers.ValidationError as error:
            problems += problems_from(error, f"{section}[{i}]")
    return problems
