"""Forms. The guard's errors come from model validation (Guarded.clean) and land beside their field."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from catalog.models import IterableProject, Notification
from catalog.services.guard import enforce_notification


class NotificationForm(forms.ModelForm):
    class Meta:
        model = Notification
        fields = [
            "key",
            "name",
            "description",
            "audience",
            "project",
            "medium",
            "trigger_type",
            "campaign_id",
            "event",
            "journey",
            "templates",
            "message_type",
            "owners",
            "status",
            "tags",
            "code_location",
        ]

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


class CatalogImportForm(forms.Form):
    file = forms.FileField(
        label="Catalog file (YAML or JSON)",
        help_text="A file exported from this dashboard. Objects are created or updated, never deleted.",
    )


def _formfield(db_field, **kwargs):
    # Links to Iterable are https; say so rather than rely on Django's changing default scheme.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


def model_form_for(model, field_names):
    """A plain ModelForm for the catalog's other entities; their guard rules run in model validation."""
    return forms.modelform_factory(model, fields=field_names, formfield_callback=_formfield)


class ContactLookupForm(forms.Form):
    """Who to look up and where: an email or a userId; one project or all; one notification or all."""

    email = forms.CharField(required=False, max_length=254, label="Email")
    user_id = forms.CharField(required=False, max_length=200, label="or userId")
    project = forms.ModelChoiceField(queryset=IterableProject.objects.all(), required=False, empty_label="All projects")
    notification = forms.ModelChoiceField(
        queryset=Notification.objects.order_by("key"),
        required=False,
        empty_label="Every notification",
        to_field_name="key",
        help_text="Would this one reach them?",
    )
