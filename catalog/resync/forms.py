"""The resync's forms: a preferences CSV, starting a run, a project's resync settings."""

from django import forms

from catalog.forms import upload_within_limit
from catalog.iterable.client import SUBSCRIPTION_ARRAYS
from catalog.models import IterableProject, ResyncSettings
from catalog.resync.services.rules import SETTINGS_FIELDS
from catalog.resync.services.runs import MAX_LISTED_EMAILS, MAX_LISTED_EMAILS_MESSAGE, resync_parse_emails
from catalog.services.input_limits import (
    CsvProblem,
    csv_rows,
    id_list_parse,
)


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
        return upload_within_limit(self.cleaned_data.get("file"))


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
        if len(emails) > MAX_LISTED_EMAILS:
            self.add_error(field, MAX_LISTED_EMAILS_MESSAGE)
        return emails


def _scope_field(array: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        label=array,
        help_text='Blank: never written. "all": the source of truth owns the whole array. Ids (1, 2): only those.',
    )


class ResyncSettingsForm(forms.ModelForm):
    """A project's resync settings; the bounds are the model's. The scope is edited per array in words ("all",
    ids, or blank)."""

    ARRAYS = tuple(SUBSCRIPTION_ARRAYS)

    scope_unsubscribedChannelIds = _scope_field("unsubscribedChannelIds")
    scope_unsubscribedMessageTypeIds = _scope_field("unsubscribedMessageTypeIds")
    scope_subscribedMessageTypeIds = _scope_field("subscribedMessageTypeIds")
    scope_emailListIds = _scope_field("emailListIds")

    class Meta:
        model = ResyncSettings
        fields = [name for name in SETTINGS_FIELDS if name != "scope"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for array in self.ARRAYS:
            value = (self.instance.scope or {}).get(array)
            shown = "" if value is None else value if value == "all" else ", ".join(map(str, value))
            self.initial.setdefault(f"scope_{array}", shown)

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
            ids, bad = id_list_parse(text)
            if bad:
                problem = f'Use "all" or ids separated by commas; not an id: {", ".join(bad[:5])}'
                self.add_error(f"scope_{array}", problem)
            else:
                scope[array] = ids
        data["scope"] = scope
        return data

    def changes(self) -> dict:
        """The keyword arguments for resync_settings_update."""
        return {name: self.cleaned_data[name] for name in SETTINGS_FIELDS}
