"""Forms. The guard's errors come from model validation (Guarded.clean) and land beside their field."""

from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Notification
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
