"""The core forms' widgets, in people's words: tags as chips, pickers as searchable lists. Each works without
JavaScript (a comma-separated text box; a plain list of radio buttons or checkboxes) and is enhanced by
static/js/forms.js (chips; a search box over the list). Nothing here decides what is allowed: the form says
which options are disabled and why (the guard's verdict on a message type), and the server still refuses them."""

import json
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.forms.widgets import ChoiceWidget
from django.utils.html import format_html, format_html_join

from catalog.services.input_limits import BoundedJSONDecoder, control_characters

TAG_SEPARATORS = (",", "\n", "\r")


def split_tags(values) -> list[str]:
    """Tags from what a form posted: one value per tag (the chips) or comma-separated text (without JS), each
    trimmed, empty ones dropped, the first of duplicates kept."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if len(values) == 1 and str(values[0]).strip().startswith("["):
        # A JSON list of texts (the Django admin's old field, a pasted export) is read as the tags it lists.
        try:
            parsed = json.loads(str(values[0]), cls=BoundedJSONDecoder)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
            values = parsed
    found: list[str] = []
    for value in values:
        text = str(value)
        for separator in TAG_SEPARATORS[1:]:
            text = text.replace(separator, TAG_SEPARATORS[0])
        for tag in text.split(TAG_SEPARATORS[0]):
            tag = tag.strip()
            if tag and tag not in found:
                found.append(tag)
    return found


class TagInput(forms.TextInput):
    """A text box of comma-separated tags that forms.js turns into chips (Enter or comma adds one, its cross
    removes it), each posted as its own value. `suggestions` become a datalist (a journey's known event names)."""

    def __init__(self, attrs=None, suggestions: list[str] | None = None):
        super().__init__({"autocomplete": "off", "data-tag-input": "", **(attrs or {})})
        self.suggestions = suggestions or []

    def format_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return super().format_value(value)

    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            values = data.getlist(name)
            return values if len(values) != 1 else values[0]
        return data.get(name)

    def value_omitted_from_data(self, data, files, name):
        # With every chip removed nothing is posted under the name: that is "no tags", not "left as it was".
        return False

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.suggestions:
            context["widget"]["attrs"]["list"] = f"{context['widget']['attrs'].get('id', name)}_suggestions"
        return context

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        if not self.suggestions:
            return html
        list_id = f"{(attrs or {}).get('id', name)}_suggestions"
        options = format_html_join("", '<option value="{}">', ((s,) for s in self.suggestions))
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


class TagListField(forms.Field):
    """A list of short texts (a notification's tags, a journey's trigger event names), typed as chips or as
    comma-separated text; never JSON."""

    widget = TagInput

    def __init__(self, *, max_length: int = 100, max_tags: int = 50, noun: str = "tag", **kwargs):
        self.max_length, self.max_tags, self.noun = max_length, max_tags, noun
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value if isinstance(value, list | tuple) else split_tags(value)

    def to_python(self, value) -> list[str]:
        return split_tags(value)

    def validate(self, value) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        if len(value) > self.max_tags:
            raise ValidationError(f"At most {self.max_tags} {self.noun}s; this has {len(value)}.", code="too_many")
        for tag in value:
            if len(tag) > self.max_length:
                raise ValidationError(
                    f"The {self.noun} “{tag[:40]}…” is longer than {self.max_length} characters.", code="too_long"
                )
            if control_characters(tag):
                raise ValidationError(f"A {self.noun} cannot hold control characters.", code="control_characters")

    def has_changed(self, initial, data) -> bool:
        return split_tags(initial) != split_tags(data)


@dataclass(frozen=True)
class OptionWords:
    """How a picker shows one object: its name, a detail in small print, and why it cannot be chosen (None: it
    can)."""

    label: str
    detail: str = ""
    refused: str | None = None


class Picker(ChoiceWidget):
    """A list of radio buttons or checkboxes in a scrolling box, with a search box added by forms.js.

    `describe(obj)` (set by the form) gives each option's words; an option with a reason is shown disabled,
    the reason beside it, unless it is the current value (so a saved value is never silently dropped: the
    server refuses it on save instead)."""

    describe: Callable[[object], OptionWords] | None = None
    empty_words = "None"
    search_label = "Search"

    def _words(self, value, label) -> OptionWords:
        instance = getattr(value, "instance", None)
        if instance is not None and self.describe is not None:
            return self.describe(instance)
        return OptionWords(str(label) if str(value) != "" else self.empty_words)

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)
        widget = context["widget"]
        items = []
        for _group, options, _index in widget["optgroups"]:
            for option in options:
                words = self._words(option["value"], option["label"])
                option_attrs = dict(option["attrs"])
                refused = words.refused if not option["selected"] else None
                reason_id = f"{option_attrs.get('id', name)}_reason"
                if refused:
                    option_attrs["disabled"] = True
                    option_attrs["aria-describedby"] = reason_id
                input_html = format_html(
                    '<input type="{}" name="{}" value="{}"{}>',
                    option["type"],
                    option["name"],
                    "" if option["value"] is None else str(option["value"]),
                    _flat(option_attrs),
                )
                items.append(
                    format_html(
                        '<li class="picker-option{}"><label>{} <span class="picker-label">{}</span>{}</label>{}</li>',
                        " is-refused" if refused else "",
                        input_html,
                        words.label,
                        format_html(' <small class="picker-detail">{}</small>', words.detail) if words.detail else "",
                        format_html('<small class="picker-reason" id="{}">{}</small>', reason_id, refused)
                        if refused
                        else "",
                    )
                )
        box_id = (attrs or {}).get("id", name)
        return format_html(
            '<div class="picker" data-picker data-search-label="{}" id="{}"><ul class="picker-options">{}</ul>'
            '<p class="picker-empty" hidden>Nothing matches.</p></div>',
            self.search_label,
            box_id,
            format_html_join("", "{}", ((item,) for item in items)) if items else "",
        )


def _flat(attrs: dict) -> str:
    from django.forms.utils import flatatt

    return flatatt({k: v for k, v in attrs.items() if v is not False and v is not None})


class PickOne(Picker, forms.RadioSelect):
    """One object from a searchable list (a message type, a journey, a custom event)."""


class PickMany(Picker, forms.CheckboxSelectMultiple):
    """Any number of objects from a searchable list (templates, owners)."""
