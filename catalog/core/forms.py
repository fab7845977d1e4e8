"""The core's forms: a notification and the other catalog objects. The guard's errors come from model validation
(Guarded.clean) and land beside their field; saving is catalog_object_save's (catalog/services/catalog.py)."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from catalog.forms import BoundedModelMultipleChoiceField
from catalog.guard.enforcement import enforce_notification, guard_forbids_type
from catalog.models import MessageType, Notification
from catalog.services.input_limits import BoundedJSONDecoder


class ProjectObjectChoiceMixin:
    """Options labelled with their Iterable project, so two projects' "GitLab Marketing (Opt-in)" never
    look the same; message types the guard forbids are marked and cannot be picked."""

    def label_from_instance(self, obj):
        label = f"{obj} · {obj.project}"
        if isinstance(obj, MessageType) and guard_forbids_type(obj):
            label += " — forbidden by the guard"
        return label


class ProjectObjectChoiceField(ProjectObjectChoiceMixin, forms.ModelChoiceField):
    pass


class ProjectObjectMultipleChoiceField(ProjectObjectChoiceMixin, BoundedModelMultipleChoiceField):
    pass


class GuardedTypeSelect(forms.Select):
    """A select whose forbidden message types are shown but disabled."""

    forbidden: frozenset = frozenset()

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if getattr(value, "value", value) in self.forbidden and not selected:
            option["attrs"]["disabled"] = True
        return option


class NotificationForm(forms.ModelForm):
    class Meta:
        model = Notification
        fields = Notification.EDITABLE_FIELDS
        field_classes = {
            "message_type": ProjectObjectChoiceField,
            "journey": ProjectObjectChoiceField,
            "event": ProjectObjectChoiceField,
            "templates": ProjectObjectMultipleChoiceField,
            "owners": BoundedModelMultipleChoiceField,
        }
        widgets = {"message_type": GuardedTypeSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_json_fields(self)
        # Only the notification's project's objects: ids mean different things in different projects.
        project_id = self.instance.project_id
        if self.is_bound and self.data.get(self.add_prefix("project")):
            project_id = self.data.get(self.add_prefix("project"))
        related = {"message_type": "channel", "templates": "message_type", "journey": None, "event": None}
        for name, join in related.items():
            if name not in self.fields:
                continue
            queryset = self.fields[name].queryset.select_related("project", *([join] if join else []))
            if project_id and str(project_id).isascii() and str(project_id).isdigit() and len(str(project_id)) < 19:
                queryset = queryset.filter(project_id=project_id)
            self.fields[name].queryset = queryset
        if "message_type" in self.fields:
            self.fields["message_type"].widget.forbidden = frozenset(
                t.pk for t in self.fields["message_type"].queryset if guard_forbids_type(t)
            )

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


def bound_json_fields(form) -> None:
    """JSON typed into a form is parsed with the nesting limit (Python's parser recurses: a 500 otherwise)."""
    for form_field in form.fields.values():
        if isinstance(form_field, forms.JSONField):
            form_field.decoder = BoundedJSONDecoder


def _formfield(db_field, **kwargs):
    # Links to Iterable are https; say so rather than rely on Django's changing default scheme.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    if isinstance(db_field, models.JSONField):
        kwargs["decoder"] = BoundedJSONDecoder
    return db_field.formfield(**kwargs)


def model_form_for(model, field_names):
    """A plain ModelForm for the catalog's other entities; their guard rules run in model validation."""
    return forms.modelform_factory(model, fields=field_names, formfield_callback=_formfield)
