"""The core's forms: a notification and the other catalog objects, in people's words (no JSON typed by hand, no
Ctrl-click lists). The guard's errors come from model validation (Guarded.clean) and land beside their field;
saving is catalog_object_save's (catalog/services/catalog.py).

Pickers offer the objects of the form's project (and, for templates and message types, its medium): the
project the page was given (`scope`, when the person changes it and the page reloads the pickers), else the
posted one, else the saved one. They still look a posted value up among every project's objects, so one from
another project reaches the guard's sentence ("belongs to the Iterable project …") instead of Django's
"not one of the available choices"."""

from functools import partial
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.forms.models import model_to_dict

from catalog.core.widgets import OptionWords, PickMany, PickOne, TagInput, TagListField
from catalog.forms import BoundedModelMultipleChoiceField, CachedChoiceIterator
from catalog.guard import policy
from catalog.guard.enforcement import enforce_notification, message_type_facts
from catalog.models import (
    Channel,
    CustomEvent,
    Journey,
    Medium,
    MessageType,
    Notification,
    Owner,
    Template,
)
from catalog.services.input_limits import BoundedJSONDecoder

# Why the guard refuses a message type, short enough for a picker (the full sentence comes on save).
REFUSED_WORDS = {
    policy.OPTOUT_MARKETING: "Not allowed: an opt-out type on a Marketing channel reaches people who never opted in.",
    policy.MARKETING_MESSAGE_TYPE: (
        "Not allowed: “Marketing Message” is Iterable's opt-out default and can email people who unsubscribed."
    ),
}
POLICY_WORDS = {policy.OPT_IN: "opt-in", policy.OPT_OUT: "opt-out"}


def message_type_refusal(message_type: MessageType) -> str | None:
    """Why no notification may use this type, in a few words (None: it may)."""
    found = policy.message_type_violations(message_type_facts(message_type), subject="A notification")
    return " ".join(REFUSED_WORDS.get(v.code, v.message) for v in found) or None


def _describe_message_type(t: MessageType) -> OptionWords:
    channel = t.channel
    detail = f"{POLICY_WORDS.get(policy.effective_policy(t.policy), t.policy)} · {channel.name} ({channel.medium})"
    if t.deprecated:
        detail += " · deprecated"
    return OptionWords(t.name, f"{detail} · {t.project}", message_type_refusal(t))


def _describe_template(t: Template) -> OptionWords:
    kind = t.message_type.name if t.message_type else "no message type"
    return OptionWords(t.name, f"template {t.iterable_id} · {t.get_medium_display()} · {kind} · {t.project}")


def _describe_journey(j: Journey) -> OptionWords:
    return OptionWords(j.name, f"journey {j.iterable_id} · {j.get_state_display()} · {j.project}")


def _describe_event(e: CustomEvent) -> OptionWords:
    source = f"from {e.source_system} · " if e.source_system else ""
    return OptionWords(e.name, f"{source}{e.project}")


def _describe_owner(o: Owner) -> OptionWords:
    return OptionWords(o.name, f"{o.get_role_display()} · {o.email}")


def _describe_channel(c: Channel) -> OptionWords:
    return OptionWords(c.name, f"{c.channel_type} · {c.medium} · {c.project}")


class ShownChoiceIterator(CachedChoiceIterator):
    """Offers the field's `shown` queryset (the form's project) while the field looks values up in all. The shown
    list is read once and kept: a saved object's values are taken from it too (PickerFormMixin)."""

    def __init__(self, field):
        super().__init__(field)
        if getattr(field, "shown", None) is not None:
            self.queryset = field.shown


class ScopedChoiceField(forms.ModelChoiceField):
    iterator = ShownChoiceIterator
    shown = None

    def label_from_instance(self, obj):
        return f"{obj} · {obj.project}" if hasattr(obj, "project") else str(obj)


class ScopedMultipleChoiceField(BoundedModelMultipleChoiceField):
    iterator = ShownChoiceIterator
    shown = None


def _inner(widget):
    """The widget itself, or the one the Django admin wraps (its "add another" links)."""
    return getattr(widget, "widget", widget)


def _picked(shown: QuerySet) -> list[int]:
    """The saved values of a picker, from its list (which marks them): a callable initial, read when the page
    is drawn, with the options."""
    return [obj.pk for obj in shown if obj.picked]


def _id(value) -> int | None:
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


class PickerFormMixin:
    """Pickers scoped to a project (and a medium), and the page's groups of fields: the scoped ones sit in one
    box the page reloads when the project changes (htmx, `reload_url`)."""

    # field name → (how it shows an object, joins to read with it, whether the medium narrows it and how)
    pickers: dict = {}
    scoped_group = "project-pickers"

    def __init__(self, data=None, files=None, *, instance=None, initial=None, **kwargs):
        form: Any = self
        meta = form._meta
        many = [
            name for name in self.pickers if name in self.base_fields and meta.model._meta.get_field(name).many_to_many
        ]
        if data is None and files is None and instance is not None and instance.pk is not None and many:
            # A saved object's page: Django's ModelForm would read each many-to-many value from the instance, a
            # query each, before the pickers read their lists. Those lists mark the saved values (scope_pickers),
            # so the form starts from the instance's other values and is given the instance after.
            values = model_to_dict(instance, meta.fields, [*(meta.exclude or ()), *many])
            super().__init__(data, files, initial={**values, **(initial or {})}, **kwargs)
            form.instance = instance
        else:
            super().__init__(data, files, instance=instance, initial=initial, **kwargs)

    def scope_pickers(self, *, scope: dict | None, reload_url: str | None) -> None:
        form: Any = self
        project_id, medium = self._scope(scope or {})
        for name, (describe, joins, medium_path) in self.pickers.items():
            if name not in form.fields:
                continue
            field = form.fields[name]
            everything = field.queryset.select_related(*joins)
            field.queryset = everything
            wanted = Q()
            if project_id is not None and hasattr(everything.model, "project_id"):
                wanted &= Q(project_id=project_id)
            if medium and medium_path:
                wanted &= Q(**{medium_path: medium})
            current = self._current(name)
            saved = isinstance(current, QuerySet)
            if not wanted:
                # Neither a project nor a medium to narrow it: every object, the current ones among them (an
                # empty Q() | Q(pk__in=current) would be the current ones alone).
                shown = everything
            elif saved or current:
                shown = everything.filter(wanted | Q(pk__in=current))
            else:
                shown = everything.filter(wanted)
            if isinstance(current, QuerySet):
                shown = shown.annotate(picked=Exists(current.filter(pk=OuterRef("pk"))))
            field.shown = shown.order_by("name", "pk")
            if saved:
                form.initial[name] = partial(_picked, field.shown)
            widget = _inner(field.widget)
            widget.describe = describe
            widget.choices = field.choices
        for name in ("project", "medium"):
            if reload_url and self.scoped_fields and name in form.fields:
                form.fields[name].widget.attrs.update(
                    {
                        "hx-get": reload_url,
                        "hx-trigger": "change",
                        "hx-target": f"#{self.scoped_group}",
                        "hx-select": f"#{self.scoped_group}",
                        "hx-swap": "outerHTML",
                        "hx-include": "closest form",
                    }
                )

    def _scope(self, scope: dict) -> tuple[int | None, str | None]:
        form: Any = self
        project = medium = None
        if form.is_bound:
            project, medium = form.data.get(form.add_prefix("project")), form.data.get(form.add_prefix("medium"))
        project = scope.get("project", project)
        medium = scope.get("medium", medium)
        if project in (None, ""):
            project = getattr(form.instance, "project_id", None)
        if medium in (None, ""):
            medium = getattr(form.instance, "medium", None)
        return _id(project) if project is not None else None, medium if medium in Medium.values else None

    def _current(self, name: str) -> list[int] | QuerySet:
        """The ids the field holds now (posted, given or saved): always shown, so nothing is dropped unseen. A saved
        object's many-to-many values come as a subquery, read with the picker's list."""
        form: Any = self
        if form.is_bound:
            key = form.add_prefix(name)
            raw = form.data.getlist(key) if hasattr(form.data, "getlist") else form.data.get(key)
            raw = raw if isinstance(raw, list | tuple) else [raw]
        else:
            value = form.initial.get(name)
            if value is None and form.instance.pk:
                model_field = form.instance._meta.get_field(name)
                if model_field.many_to_many:
                    return getattr(form.instance, name).values("pk")
                value = getattr(form.instance, f"{name}_id", None)
            raw = value if isinstance(value, list | tuple) else [value]
        return [pk for pk in (_id(getattr(v, "pk", v)) for v in raw if v not in (None, "")) if pk is not None]

    def field_groups(self):
        """(group id or None, bound fields) in the form's order: the scoped pickers together in one group."""
        form: Any = self
        groups: list[tuple[str | None, list]] = []
        for bound in form:
            group = self.scoped_group if bound.name in self.scoped_fields else None
            if not groups or groups[-1][0] != group:
                groups.append((group, []))
            groups[-1][1].append(bound)
        return groups

    scoped_fields: tuple[str, ...] = ()


class NotificationForm(PickerFormMixin, forms.ModelForm):
    pickers = {
        "message_type": (_describe_message_type, ("project", "channel"), "channel__medium"),
        "templates": (_describe_template, ("project", "message_type"), "medium"),
        "journey": (_describe_journey, ("project",), None),
        "event": (_describe_event, ("project",), None),
        "owners": (_describe_owner, (), None),
    }
    scoped_fields = ("message_type", "templates", "trigger_type", "campaign_id", "event", "journey")

    tags = TagListField(help_text="Type a tag and press Enter or a comma; the cross on a tag removes it.")

    class Meta:
        model = Notification
        fields = (
            "key", "name", "description", "status", "audience", "project", "medium", "message_type", "templates",
            "trigger_type", "campaign_id", "event", "journey", "owners", "tags", "code_location",
        )  # fmt: skip
        field_classes = {
            "message_type": ScopedChoiceField,
            "journey": ScopedChoiceField,
            "event": ScopedChoiceField,
            "templates": ScopedMultipleChoiceField,
            "owners": ScopedMultipleChoiceField,
        }
        widgets = {
            "message_type": PickOne,
            "journey": PickOne,
            "event": PickOne,
            "templates": PickMany,
            "owners": PickMany,
        }
        help_texts = {
            "message_type": "The project's types for this medium; the ones the guard forbids are shown, greyed out.",
            "templates": "The project's templates for this medium.",
        }

    def __init__(self, *args, scope: dict | None = None, reload_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, words in (("message_type", "Search message types"), ("templates", "Search templates"),
                            ("journey", "Search journeys"), ("event", "Search custom events"),
                            ("owners", "Search owners")):  # fmt: skip
            if name in self.fields:  # the admin leaves out what its user may only view
                _inner(self.fields[name].widget).search_label = words
        for name in ("journey", "event"):
            if name in self.fields:
                cast(forms.ModelChoiceField, self.fields[name]).empty_label = "None"
        self.scope_pickers(scope=scope, reload_url=reload_url)

    def clean(self):
        cleaned = super().clean()
        medium = cleaned.get("medium")
        words = dict(Medium.choices)
        for template in cleaned.get("templates") or []:
            if medium and template.medium != medium:
                self.add_error(
                    "templates",
                    f"Template “{template.name}” ({template.iterable_id}) is a {words.get(template.medium)} template; "
                    f"this notification is sent by {words.get(medium)}: choose one of its {words.get(medium)} "
                    "templates.",
                )
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        # Model validation judged the saved templates; the proposed set only exists here.
        if "templates" not in self.cleaned_data or self.has_error("templates"):
            return
        try:
            enforce_notification(self.instance, templates=list(self.cleaned_data["templates"]))
        except ValidationError as error:
            for message in error.message_dict.get("templates", []):
                self.add_error("templates", message)


# ---------------------------------------------------------------------------------------------- other entities


class EntityForm(PickerFormMixin, forms.ModelForm):
    """The base of the other catalog objects' forms (model_form_for): pickers scoped to the project."""

    def __init__(self, *args, scope: dict | None = None, reload_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if "trigger_event_names" in self.fields:
            project_id, _ = self._scope(scope or {})
            events = CustomEvent.objects.order_by("name")
            if project_id is not None:
                events = events.filter(project_id=project_id)
            names = sorted(set(events.values_list("name", flat=True)[:500]))
            self.fields["trigger_event_names"].widget = TagInput(suggestions=names)
        self.scope_pickers(scope=scope, reload_url=reload_url)


ENTITY_PICKERS = {
    "channel": (_describe_channel, ("project",), None),
    "message_type": (_describe_message_type, ("project", "channel"), None),
}
# The fields a changed project reloads (a journey's trigger events: the project's event names are offered).
ENTITY_SCOPED = {MessageType: ("channel",), Template: ("message_type",), Journey: ("trigger_event_names",)}


def _formfield(db_field, **kwargs):
    # Links to Iterable are https; say so rather than rely on Django's changing default scheme.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    if isinstance(db_field, models.JSONField):
        if db_field.name == "trigger_event_names":
            return TagListField(
                label="Trigger event names", noun="event name", max_length=200,
                help_text="The custom events that start this journey: type a name and press Enter or a comma.",
            )  # fmt: skip
        kwargs["decoder"] = BoundedJSONDecoder
    if db_field.name in ENTITY_PICKERS and isinstance(db_field, models.ForeignKey):
        return db_field.formfield(form_class=ScopedChoiceField, widget=PickOne, **kwargs)
    return db_field.formfield(**kwargs)


def model_form_for(model, field_names):
    """The form of one of the catalog's other entities; their guard rules run in model validation."""
    scoped = ENTITY_SCOPED.get(model, ())
    attrs = {
        "pickers": {name: ENTITY_PICKERS[name] for name in scoped if name in ENTITY_PICKERS},
        "scoped_fields": scoped,
    }
    base = type(f"{model.__name__}EntityForm", (EntityForm,), attrs)
    return forms.modelform_factory(model, form=base, fields=field_names, formfield_callback=_formfield)
