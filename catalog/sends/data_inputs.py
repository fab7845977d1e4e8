"""The test send's data fields as typed inputs: one per field of the custom event's schema, nothing typed as JSON.

A field's type picks its input (text, number, checkbox, date or date and time, email, web address); an Object
becomes one input per key of its example, an Array a repeatable group (its example's items and an empty row to
add one). Fields beyond the schema, or all of them when the notification has no event (the template's merge
fields), are rows of a name and a value. Each input's value comes back as the JSON value Iterable gets.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django import forms

from catalog.models import EventField, FieldType

PREFIX = "df_"
EXTRA_NAME, EXTRA_VALUE = "extra_name_", "extra_value_"
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# Iterable's own date format (its docs' example), which the schema check accepts.
ITERABLE_DATETIME = "%Y-%m-%d %H:%M:%S +00:00"


@dataclass
class Input:
    """One input: its form field's name, what it is called on the page, its kind, and its place in the value."""

    name: str
    label: str
    kind: str
    path: tuple = ()


@dataclass
class Group:
    """The inputs of one schema field: a single input, an object's keys, or an array's rows."""

    spec: EventField
    shape: str  # "one" | "object" | "array"
    inputs: list[Input] = field(default_factory=list)
    rows: list[list[Input]] = field(default_factory=list)
    item_keys: list[str] = field(default_factory=list)

    @property
    def error_target(self) -> str:
        first = self.inputs or (self.rows[0] if self.rows else [])
        return first[0].name if first else ""


def _example(spec: EventField) -> Any:
    try:
        return json.loads(spec.example)
    except ValueError:
        return None


def _date_kind(example: str) -> str:
    text = (example or "").strip()
    try:
        date.fromisoformat(text)
        return "date"
    except ValueError:
        return "datetime" if text else "date"


def _text_kind(name: str, example: str) -> str:
    lowered, sample = name.lower(), (example or "").strip()
    if lowered.endswith("email") or ("@" in sample and " " not in sample and "." in sample.rpartition("@")[2]):
        return "email"
    if lowered.endswith(("url", "link")) or sample.startswith(("http://", "https://")):
        return "url"
    return "text"


def _kind_of_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "checkbox"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        return "decimal"
    if isinstance(value, list):
        return "list"
    return _text_kind(key, value if isinstance(value, str) else "")


def _flatten(value: dict, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """An object's keys, nested objects as dotted paths (address.city)."""
    out: list[tuple[tuple, Any]] = []
    for key, item in value.items():
        if isinstance(item, dict) and item:
            out += _flatten(item, (*path, key))
        else:
            out.append(((*path, key), item))
    return out


def posted_rows(data, prefix: str) -> int:
    """How many rows of a repeatable group were filled in (the highest filled row's index plus one): empty rows
    are not counted, so each Preview offers one empty row, not one more each time."""
    top = -1
    for name in data or {}:
        if name.startswith(prefix) and str(data.get(name) or "").strip():
            head = name[len(prefix) :].split(".", 1)[0]
            if head.isdigit():
                top = max(top, int(head))
    return top + 1


def groups_for(schema: list[EventField], data=None) -> list[Group]:
    """The inputs of each schema field; `data` (a POST) adds the rows someone added to a repeatable group."""
    groups = []
    for spec in schema:
        base = f"{PREFIX}{spec.name}"
        example = _example(spec)
        if spec.data_type == FieldType.OBJECT and isinstance(example, dict) and example:
            inputs = [
                Input(f"{base}.{'.'.join(path)}", ".".join(path), _kind_of_value(path[-1], value), path)
                for path, value in _flatten(example)
            ]
            groups.append(Group(spec, "object", inputs=inputs))
        elif spec.data_type in (FieldType.ARRAY, FieldType.OBJECT):
            # An array's rows; an object with no example keys is rows of a key and a value.
            items = example if isinstance(example, list) else []
            first = next((i for i in items if isinstance(i, dict)), None)
            keys = list(first) if first and spec.data_type == FieldType.ARRAY else []
            count = max(len(items), posted_rows(data, f"{base}.")) + 1
            rows = []
            for i in range(count):
                if spec.data_type == FieldType.OBJECT:
                    rows.append([Input(f"{base}.{i}.key", "Name", "text", (i, "key")),
                                 Input(f"{base}.{i}.value", "Value", "text", (i, "value"))])  # fmt: skip
                elif keys:
                    rows.append(
                        [Input(f"{base}.{i}.{k}", k, _kind_of_value(k, first.get(k) if first else ""), (i, k))
                         for k in keys]
                    )  # fmt: skip
                else:
                    sample = next((x for x in items if not isinstance(x, dict | list)), "")
                    rows.append([Input(f"{base}.{i}", f"Item {i + 1}", _kind_of_value(spec.name, sample), (i,))])
            groups.append(Group(spec, "array" if spec.data_type == FieldType.ARRAY else "pairs", rows=rows,
                                item_keys=keys))  # fmt: skip
        else:
            kinds: dict[str, str] = {
                FieldType.BOOLEAN: "checkbox",
                FieldType.LONG: "number",
                FieldType.DOUBLE: "decimal",
                FieldType.DATE: _date_kind(spec.example),
            }
            kind = kinds.get(spec.data_type) or _text_kind(spec.name, spec.example)
            groups.append(Group(spec, "one", inputs=[Input(base, spec.name, kind)]))
    return groups


def form_field(item: Input, help_text: str = "") -> forms.Field:
    """The Django form field of one input: its type checks the value where it was typed."""
    common: dict[str, Any] = {"required": False, "label": item.label, "help_text": help_text}
    if item.kind == "checkbox":
        return forms.BooleanField(**common)
    if item.kind == "number":
        return forms.IntegerField(**common)
    if item.kind == "decimal":
        return forms.FloatField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if item.kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
    if item.kind == "datetime":
        widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
        return forms.DateTimeField(widget=widget, input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S"], **common)
    if item.kind == "email":
        return forms.EmailField(max_length=254, **common)
    if item.kind == "url":
        return forms.URLField(max_length=2000, assume_scheme="https", **common)
    if item.kind == "list":
        return forms.CharField(help_text=help_text or "Separate items with commas.", required=False, label=item.label)
    return forms.CharField(max_length=10_000, strip=False, **common)


def initial_value(kind: str, value: Any) -> Any:
    """A JSON value (an example, a template's placeholder) as its input shows it."""
    if value is None:
        return None
    if kind == "checkbox":
        return value is True or str(value).strip().lower() in {"true", "1", "yes"}
    if kind == "date":
        try:
            return date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            return None
    if kind == "datetime":
        text = str(value).strip()
        for parse in (datetime.fromisoformat, lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S %z")):
            try:
                return parse(text).strftime(DATETIME_LOCAL)
            except ValueError:
                continue
        return None
    if kind == "list":
        return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if kind in ("number", "decimal") and isinstance(value, bool):
        return None
    return value


def json_value(kind: str, cleaned: Any) -> Any:
    """What a cleaned input sends to Iterable; None leaves it out."""
    if cleaned is None or cleaned == "":
        return None if kind != "checkbox" else False
    if kind == "date":
        return cleaned.isoformat()
    if kind == "datetime":
        return cleaned.strftime(ITERABLE_DATETIME)
    if kind == "list":
        items = [part.strip() for part in str(cleaned).split(",")]
        return [i for i in items if i] or None
    return cleaned


def _get(value: Any, path: tuple) -> Any:
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def initial_for(groups: list[Group], values: dict) -> dict[str, Any]:
    """The inputs' starting values from a data-fields object (the event's examples)."""
    initial: dict[str, Any] = {}
    for group in groups:
        value = values.get(group.spec.name)
        if isinstance(value, str) and group.shape != "one":
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if group.shape == "pairs":
            pairs = list(value.items()) if isinstance(value, dict) else []
            for row, (k, v) in zip(group.rows, pairs, strict=False):
                initial[row[0].name], initial[row[1].name] = k, v if isinstance(v, str) else json.dumps(v)
            continue
        if group.shape == "one" and group.spec.data_type == FieldType.DATE:
            value = group.spec.example  # the raw example: its date and time as written
        for item in [*group.inputs, *(i for row in group.rows for i in row)]:
            shown = value if group.shape == "one" else _get(value, item.path)
            initial[item.name] = initial_value(item.kind, shown)
    return initial


def _set(target: dict, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def _one_value(group: Group, cleaned: dict) -> Any:
    item = group.inputs[0]
    return json_value(item.kind, cleaned.get(item.name))


def _object_value(group: Group, cleaned: dict) -> Any:
    obj: dict[str, Any] = {}
    for item in group.inputs:
        value = json_value(item.kind, cleaned.get(item.name))
        if value is not None:
            _set(obj, item.path, value)
    # Only unticked boxes: nothing was given.
    return obj if any(v not in (None, False) for _, v in _flatten(obj)) else None


def _pairs_value(group: Group, cleaned: dict) -> Any:
    pairs = {}
    for key_input, value_input in group.rows:
        key = (cleaned.get(key_input.name) or "").strip()
        if key:
            pairs[key] = cleaned.get(value_input.name) or ""
    return pairs or None


def _array_value(group: Group, cleaned: dict) -> Any:
    items = []
    for row in group.rows:
        if group.item_keys:
            entry = {i.path[-1]: json_value(i.kind, cleaned.get(i.name)) for i in row}
            if any(v not in (None, False) for v in entry.values()):
                items.append({k: v for k, v in entry.items() if v is not None})
        else:
            value = json_value(row[0].kind, cleaned.get(row[0].name))
            if value is not None:
                items.append(value)
    return items or None


_VALUE_OF = {"one": _one_value, "object": _object_value, "pairs": _pairs_value, "array": _array_value}


def values_from(groups: list[Group], cleaned: dict) -> dict[str, Any]:
    """The data fields the inputs say (a field left empty is left out)."""
    out: dict[str, Any] = {}
    for group in groups:
        value = _VALUE_OF[group.shape](group, cleaned)
        if value is not None:
            out[group.spec.name] = value
    return out
