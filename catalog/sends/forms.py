"""The test-send forms: a recipient, and a send with one input per field of the event's schema."""

from typing import cast

from django import forms
from django.core.exceptions import ValidationError

from catalog.forms import CachedChoiceIterator
from catalog.models import IterableProject, ProofRecipient, Template
from catalog.sends import data_inputs


class ProofRecipientForm(forms.Form):
    """A test recipient: an email or a userId in one project; shared only for those who manage shared ones."""

    project = forms.ModelChoiceField(queryset=IterableProject.objects.all())
    email = forms.CharField(required=False, max_length=254, label="Email")
    user_id = forms.CharField(required=False, max_length=200, label="or userId")
    label = forms.CharField(required=False, max_length=100, help_text="Who or what this is, e.g. 'QA iPhone'.")
    shared = forms.BooleanField(required=False, label="Shared with everyone who sends tests")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.has_perm("catalog.manage_shared_recipients"):
            del self.fields["shared"]


class _CachedModelChoiceField(forms.ModelChoiceField):
    """A model choice shown from rows read once (the page lists the same recipients for its first choice and its
    notice); a submitted value is still looked up in the queryset itself."""

    iterator = CachedChoiceIterator


class ProofSendForm(forms.Form):
    """A test send of one notification: recipient, mode, template, and the data fields.

    A custom event's fields get typed inputs (catalog/sends/data_inputs.py), so each is checked where it is
    typed and the schema's errors land beside it; anything else is rows of a name and a value.
    """

    # The querysets are the notification's, set in __init__.
    recipient: "forms.ModelChoiceField[ProofRecipient]" = _CachedModelChoiceField(
        queryset=None, empty_label=None, label="Recipient"
    )
    mode = forms.ChoiceField(label="How")
    template: "forms.ModelChoiceField[Template]" = forms.ModelChoiceField(
        queryset=None, required=False, label="Template (for a template proof)"
    )
    confirm_event = forms.BooleanField(
        required=False, label="Yes, send the real event: I know it starts the journey for this recipient"
    )
    submission_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, notification, user, extra_names=None, **kwargs):
        from catalog.models import ProofMode, Template
        from catalog.sends.services.data import proof_event_impact, proof_modes, proof_templates
        from catalog.sends.services.recipients import proof_recipients_sendable

        super().__init__(*args, **kwargs)
        self.notification = notification
        self.fields["recipient"].queryset = proof_recipients_sendable(user=user, project=notification.project)
        self.fields["recipient"].label_from_instance = lambda r: (
            f"{r.identifier}{' · ' + r.label if r.label else ''} ({'shared' if r.shared else 'yours'})"
        )
        modes = proof_modes(notification)
        self.fields["mode"].choices = [(m, ProofMode(m).label) for m in modes]
        if ProofMode.EVENT in modes:
            impact = proof_event_impact(notification)
            self.fields["confirm_event"].help_text = f"Only for a custom-event send. {impact.sentence}"
        else:
            del self.fields["confirm_event"]
        self.fields["template"].queryset = Template.objects.filter(pk__in=[t.pk for t in proof_templates(notification)])
        self.schema = list(notification.event.fields.all()) if notification.event_id else []
        self.groups = data_inputs.groups_for(self.schema, self.data if self.is_bound else None)
        for group in self.groups:
            spec = group.spec
            about = f"{_TYPE_WORDS.get(spec.data_type, spec.data_type)}{', required' if spec.required else ''}"
            for item in [*group.inputs, *(i for row in group.rows for i in row)]:
                self.fields[item.name] = data_inputs.form_field(item, about if group.shape == "one" else "")
        # Rows of a name and a value: the template's merge fields (no event), or fields beyond the schema.
        posted = max(
            data_inputs.posted_rows(self.data if self.is_bound else None, data_inputs.EXTRA_NAME),
            data_inputs.posted_rows(self.data if self.is_bound else None, data_inputs.EXTRA_VALUE),
        )
        self.extra_count = max(len(extra_names or []), posted) + 1
        for i in range(self.extra_count):
            self.fields[f"{data_inputs.EXTRA_NAME}{i}"] = forms.CharField(required=False, max_length=200, label="Name")
            self.fields[f"{data_inputs.EXTRA_VALUE}{i}"] = forms.CharField(
                required=False, max_length=10_000, strip=False, label="Value"
            )

    @property
    def recipients(self) -> list[ProofRecipient]:
        """The recipients this person may send to in the notification's project, read once for the page."""
        field = cast("forms.ModelChoiceField[ProofRecipient]", self.fields["recipient"])
        return list(field.queryset or ())

    def data_field_names(self):
        """The typed inputs of the event's schema, in order."""
        return [i.name for g in self.groups for i in [*g.inputs, *(i for row in g.rows for i in row)]]

    def extra_rows(self):
        return [
            (self[f"{data_inputs.EXTRA_NAME}{i}"], self[f"{data_inputs.EXTRA_VALUE}{i}"])
            for i in range(self.extra_count)
        ]

    def clean(self):
        data = super().clean()
        values = {}
        for i in range(self.extra_count):
            name = (data.get(f"{data_inputs.EXTRA_NAME}{i}") or "").strip()
            value = data.get(f"{data_inputs.EXTRA_VALUE}{i}") or ""
            if name and value != "":
                values[name] = value
            elif value.strip() and not name:
                self.add_error(f"{data_inputs.EXTRA_NAME}{i}", "Give this value a name.")
        values.update(data_inputs.values_from(self.groups, data))
        data["data_fields_value"] = values
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the service's errors beside their inputs: data_fields.<name> beside that field's (first) input."""
        targets = {g.spec.name: g.error_target for g in self.groups}
        for name, messages_ in error.message_dict.items():
            target: str | None = name
            if name.startswith("data_fields"):
                field_name = name.removeprefix("data_fields").lstrip(".")
                target = targets.get(field_name) or None
                if target is None and field_name:
                    messages_ = [f"{field_name}: {m}" for m in messages_]
            if target not in self.fields:
                target = None
            for message in messages_:
                self.add_error(target, message)


_TYPE_WORDS = {
    "String": "Text",
    "Boolean": "Yes or no",
    "Date": "Date",
    "Long": "Whole number",
    "Double": "Number",
    "Object": "Group of fields",
    "Array": "List",
}
