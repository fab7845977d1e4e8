"""The contact lookup's form."""

from django import forms

from catalog.forms import KeyChoiceField
from catalog.models import IterableProject, Notification


class ContactLookupForm(forms.Form):
    """Who to look up and where: an email or a userId; one project or all; one notification or all."""

    email = forms.CharField(required=False, max_length=254, label="Email")
    user_id = forms.CharField(required=False, max_length=200, label="or userId")
    project = forms.ModelChoiceField(queryset=IterableProject.objects.all(), required=False, empty_label="All projects")
    notification = KeyChoiceField(
        queryset=Notification.objects.order_by("key"),
        required=False,
        empty_label="Every notification",
        to_field_name="key",
        help_text="Would this one reach them?",
    )
