"""The test-send forms: a recipient, and a send with one input per field of the event's schema."""

from django import forms
from django.core.exceptions import ValidationError

from catalog.models import IterableProject, ProofRecipient, Template
from catalog.services.input_limits import (
    json_loads_bounded,
)


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


class ProofSendForm(forms.Form):
    """A test send of one notification: recipient, mode, template, and the data fields.

    A custom event's fields get one input each (typed values as JSON text: true, 42, "text"), so their errors
    land beside them; anything else goes in the JSON object of other data fields.
    """

    # The querysets are the notification's, set in __init__.
    recipient: "forms.ModelChoiceField[ProofRecipient]" = forms.ModelChoiceField(
        queryset=None, empty_label=None, label="Recipient"
    )
    mode = forms.ChoiceField(label="How")
    template: "forms.ModelChoiceField[Template]" = forms.ModelChoiceField(
        queryset=None, required=False, label="Template (for a template proof)"
    )
    data_fields = forms.CharField(
        required=False,
        label="Other data fields (JSON object)",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    confirm_event = forms.BooleanField(
        required=False, label="Yes, send the real event: I know it starts the journey for this recipient"
    )
    submission_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, notification, user, **kwargs):
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
        for spec in self.schema:
            self.fields[f"df_{spec.name}"] = forms.CharField(
                required=False,
                label=spec.name,
                help_text=f"{spec.get_data_type_display()}{', required' if spec.required else ''}",
            )
        if self.schema:
            self.fields["data_fields"].help_text = "Fields beyond the event's schema, if any."

    def data_field_names(self):
        return [f"df_{spec.name}" for spec in self.schema]

    def clean(self):
        from catalog.sends.services.data import proof_data_field_parse

        data = super().clean()
        values = {}
        raw = (data.get("data_fields") or "").strip()
        if raw:
            try:
                values = json_loads_bounded(raw)
            except ValueError as error:
                self.add_error("data_fields", f"Not valid JSON: {error.msg} (line {error.lineno}).")
            else:
                if not isinstance(values, dict):
                    self.add_error("data_fields", 'Give a JSON object of names to values, e.g. {"firstName": "QA"}.')
                    values = {}
        for spec in self.schema:
            try:
                value = proof_data_field_parse(spec.data_type, data.get(f"df_{spec.name}", ""))
            except ValueError as error:
                self.add_error(f"df_{spec.name}", str(error))
                continue
            if value is not None:
                values[spec.name] = value
        data["data_fields_value"] = values
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the service's errors beside their inputs: data_fields.<name> beside that field's input."""
        for name, messages_ in error.message_dict.items():
            target: str | None = name
            if name.startswith("data_fields."):
                target = f"df_{name.removeprefix('data_fields.')}"
                if target not in self.fields:
                    target = "data_fields"
                    messages_ = [f"{name.removeprefix('data_fields.')}: {m}" for m in messages_]
            if target not in self.fields:
                target = None
            for message in messages_:
                self.add_error(target, message)
