"""Forms. The guard's errors come from model validation (Guarded.clean) and land beside their field."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from catalog.guard.enforcement import enforce_notification, guard_forbids_type
from catalog.models import BatchErrorPolicy, IterableProject, MessageType, Notification
from catalog.services.input_limits import (
    MAX_UPLOAD_BYTES,
    BoundedJSONDecoder,
    CsvProblem,
    csv_rows,
)
from catalog.services.resync import MAX_SCHEDULE_MINUTES, SETTINGS_FIELDS, resync_parse_emails


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


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's field, except that an id too large for any integer column is an invalid choice: Django looks
    the values up with ``pk__in``, which SQLite refuses with OverflowError (a 500) for such a number."""

    def _check_values(self, value):
        for pk in value if isinstance(value, list | tuple) else []:
            digits = str(pk).strip().lstrip("-")
            if digits.isascii() and digits.isdigit() and int(digits) > 2**63 - 1:
                message = self.error_messages["invalid_pk_value"]
                raise ValidationError(message, code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)


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


def _upload_within_limit(upload, limit: int = MAX_UPLOAD_BYTES):
    if upload is not None and upload.size > limit:
        message = f"The file is larger than {limit // (1024 * 1024)} MB (the limit); split it."
        raise ValidationError(message, code="too_large")
    return upload


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


class KeyChoiceField(forms.ModelChoiceField):
    """Choose by a text key; NUL or control characters are an invalid choice, not a database error."""

    def to_python(self, value):
        if isinstance(value, str) and any(ord(char) < 32 for char in value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


# -- preference resync (issue #8) ---------------------------------------------------------------------------


class ResyncImportForm(forms.Form):
    """A CSV of desired preferences for one project (the UI door of the source of truth)."""

    project = forms.ModelChoiceField(queryset=IterableProject.objects.all())
    file = forms.FileField(
        label="Preferences CSV",
        help_text=(
            "UTF-8, a header line with an email column and any of unsubscribed_channel_ids, "
            "unsubscribed_message_type_ids, subscribed_message_type_ids, email_list_ids (ids separated by ; or |). "
            "Good rows are kept; bad rows are listed with their line."
        ),
    )

    def clean_file(self):
        return _upload_within_limit(self.cleaned_data.get("file"))


class ResyncStartForm(forms.Form):
    """Which contacts a resync (or dry run) covers: a pasted list, a file of addresses, an import, the contacts
    changed since a date, or everyone. The addresses are checked here; the selection itself is the service's."""

    SELECTIONS = [
        ("list", "A pasted list of addresses"),
        ("file", "A file of addresses"),
        ("import", "The contacts of an import"),
        ("since", "Contacts changed since a date"),
        ("everyone", "Everyone in the source of truth"),
    ]

    project = forms.ModelChoiceField(queryset=IterableProject.objects.all())
    selection = forms.ChoiceField(choices=SELECTIONS, widget=forms.RadioSelect, initial="list", label="Contacts")
    emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Addresses",
        help_text="One per line, or separated by commas, semicolons or spaces.",
    )
    file = forms.FileField(
        required=False,
        label="File of addresses",
        help_text="Text or CSV, one address per line; a CSV with an email column works too.",
    )
    import_record = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, label="Import number")
    changed_since = forms.DateTimeField(
        required=False,
        label="Changed since",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="A date (YYYY-MM-DD) or a date and time, in the site's time zone.",
    )
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        label="Dry run first",
        help_text="Read Iterable and show what would change, without writing. You can apply it afterwards.",
    )
    compare = forms.ChoiceField(
        choices=[("read", "Read every contact and send only differences"), ("auto", "Read only where needed")],
        initial="read",
        required=False,
        label="Compare",
    )

    def clean(self):
        data = super().clean()
        data["compare"] = data.get("compare") or "read"
        selection = data.get("selection")
        if selection == "list":
            data["email_list"] = self._addresses(data.get("emails") or "", "emails")
        elif selection == "file":
            upload = data.get("file")
            if upload is None:
                self.add_error("file", "Choose a file of addresses.")
            else:
                data["email_list"] = self._addresses(self._file_text(upload), "file")
        elif selection == "import" and not data.get("import_record") and "import_record" not in self.errors:
            self.add_error("import_record", "Give the number of an import.")
        elif selection == "since" and not data.get("changed_since") and "changed_since" not in self.errors:
            self.add_error("changed_since", "Give a date.")
        return data

    def _file_text(self, upload) -> str:
        raw = upload.read(5 * 1024 * 1024 + 1)
        if len(raw) > 5 * 1024 * 1024:
            self.add_error("file", "The file is larger than 5 MB; split it or upload the preferences instead.")
            return ""
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.add_error("file", "The file is not UTF-8 text.")
            return ""
        first = text.split("\n", 1)[0]
        if "email" not in first.lower():
            return text
        try:
            rows = list(csv_rows(text))
        except CsvProblem as problem:
            self.add_error("file", str(problem))
            return ""
        header = [h.strip().lower() for h in rows[0][1]] if rows else []
        if "email" in header:  # a CSV with an email column: keep only that column (line numbers kept)
            column = header.index("email")
            lines = [""] * (rows[-1][0] if rows else 0)
            for line, row in rows[1:]:
                lines[line - 1] = row[column] if len(row) > column else ""
            return "\n".join(lines)
        return text

    def _addresses(self, text: str, field: str) -> list[str]:
        if field in self.errors:
            return []
        emails, errors = resync_parse_emails(text)
        for error in errors[:20]:
            self.add_error(field, f"Line {error['line']}: {error['email']!r} is not a valid email address.")
        if len(errors) > 20:
            self.add_error(field, f"… and {len(errors) - 20} more invalid addresses.")
        if not errors and not emails:
            self.add_error(field, "Give at least one address.")
        return emails


def _scope_field(array: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        label=array,
        help_text='Blank: never written. "all": the source of truth owns the whole array. Ids (1, 2): only those.',
    )


class ResyncSettingsForm(forms.Form):
    """A project's resync settings; the scope is edited per array in words ("all", ids, or blank)."""

    ARRAYS = ["unsubscribedChannelIds", "unsubscribedMessageTypeIds", "subscribedMessageTypeIds", "emailListIds"]

    scope_unsubscribedChannelIds = _scope_field("unsubscribedChannelIds")
    scope_unsubscribedMessageTypeIds = _scope_field("unsubscribedMessageTypeIds")
    scope_subscribedMessageTypeIds = _scope_field("subscribedMessageTypeIds")
    scope_emailListIds = _scope_field("emailListIds")
    opt_in_enabled = forms.BooleanField(
        required=False,
        label="Opt-in message types enabled",
        help_text="The Iterable project has opt-in message types: subscribedMessageTypeIds may be written.",
    )
    batch_size = forms.IntegerField(min_value=1, max_value=100_000, help_text="Contacts per bulk update.")
    rate_per_second = forms.FloatField(
        min_value=0, max_value=1000, help_text="Bulk update calls per second (0: unpaced)."
    )
    read_concurrency = forms.IntegerField(min_value=1, max_value=64, help_text="Parallel reads of current state.")
    on_batch_error = forms.ChoiceField(choices=BatchErrorPolicy.choices)
    schedule_enabled = forms.BooleanField(
        required=False,
        label="Scheduled resync",
        help_text="Regularly resync every contact whose desired state changed since its last resync.",
    )
    schedule_minutes = forms.IntegerField(
        min_value=1, max_value=MAX_SCHEDULE_MINUTES, label="Every (minutes)", help_text="At most 32767 (22 days)."
    )

    @classmethod
    def initial_from(cls, settings) -> dict:
        initial = {
            name: getattr(settings, name)
            for name in (
                "opt_in_enabled",
                "batch_size",
                "rate_per_second",
                "read_concurrency",
                "on_batch_error",
                "schedule_enabled",
                "schedule_minutes",
            )
        }
        for array in cls.ARRAYS:
            value = (settings.scope or {}).get(array)
            initial[f"scope_{array}"] = "" if value is None else value if value == "all" else ", ".join(map(str, value))
        return initial

    def clean(self):
        data = super().clean()
        scope = {}
        for array in self.ARRAYS:
            text = (data.get(f"scope_{array}") or "").strip()
            if not text:
                continue
            if text.lower() == "all":
                scope[array] = "all"
                continue
            parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
            bad = [p for p in parts if not (p.isascii() and p.isdigit()) or len(p) > 18]
            if bad:
                problem = f'Use "all" or ids separated by commas; not an id: {", ".join(bad[:5])}'
                self.add_error(f"scope_{array}", problem)
            else:
                scope[array] = sorted({int(p) for p in parts})
        data["scope"] = scope
        return data

    def changes(self) -> dict:
        """The keyword arguments for resync_settings_update."""
        return {name: self.cleaned_data[name] for name in SETTINGS_FIELDS}
