"""The resync's forms: a preferences CSV, starting a run, a project's resync settings (the scope as checklists)."""

from dataclasses import dataclass, field

from django import forms

from catalog.forms import upload_within_limit
from catalog.guard import policy
from catalog.models import Channel, IterableProject, MessageType, ResyncSettings, SubscriptionPolicy
from catalog.resync.services.conf import ALL
from catalog.resync.services.report import CHANNELS, LISTS, SUBSCRIBED_TYPES, UNSUBSCRIBED_TYPES, Names, resync_names
from catalog.resync.services.rules import SETTINGS_FIELDS
from catalog.resync.services.runs import MAX_LISTED_EMAILS, MAX_LISTED_EMAILS_MESSAGE, resync_parse_emails
from catalog.services.input_limits import (
    CsvProblem,
    csv_rows,
)


class ResyncImportForm(forms.Form):
    """A CSV of desired preferences for one project (the UI door of the source of truth)."""

    project = forms.ModelChoiceField(queryset=IterableProject.objects.all())
    file = forms.FileField(
        label="Preferences CSV",
        help_text="UTF-8 with a header line naming its columns (below). Good rows are kept; bad rows are listed with "
        "their line.",
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


MODES = [
    ("", "Not managed: the resync never writes these"),
    ("all", "All of them: the source of truth owns the whole list"),
    ("some", "Only the ones ticked below: every other one in Iterable is kept"),
]


@dataclass(frozen=True)
class Scope:
    """One part of the scope as the page shows it: which array, what it is in words, what to tick."""

    key: str  # the form's field name (no API name reaches the page)
    array: str
    legend: str
    noun: str  # "channel", "message type", "list"
    help: str


SCOPES = (
    Scope("channels", CHANNELS, "Channels a contact can be unsubscribed from", "channel",
          "Whole channels: unsubscribing from one stops every message type on it."),
    Scope("unsubscribed_types", UNSUBSCRIBED_TYPES, "Message types a contact can be unsubscribed from",
          "message type", "Grouped by channel."),
    Scope("subscribed_types", SUBSCRIBED_TYPES, "Opt-in message types a contact can be subscribed to",
          "message type", "Only opt-in types take subscriptions; written only while opt-in types are enabled below."),
    Scope("lists", LISTS, "Lists a contact can be on", "list", "The project's lists as Iterable holds them."),
)  # fmt: skip


@dataclass
class Choice:
    value: str
    label: str
    notes: list[str] = field(default_factory=list)
    forbidden: bool = False


def _type_facts(message_type: MessageType) -> policy.MessageTypeFacts:
    return policy.MessageTypeFacts(
        name=message_type.name,
        policy=message_type.policy,
        channel_name=message_type.channel.name,
        channel_type=message_type.channel.channel_type,
    )


def scope_choices(project: IterableProject, names: Names) -> dict[str, list[tuple[str, list[Choice]]]]:
    """What each part of the scope offers, grouped (message types by channel): the project's own channels, types
    and lists, with forbidden types marked. Ids the settings hold that the catalog no longer has are offered
    too, so saving keeps them until someone unticks them."""
    channels = list(Channel.objects.filter(project=project).order_by("name"))
    types = list(
        MessageType.objects.filter(project=project).select_related("channel").order_by("channel__name", "name")
    )
    policies = dict(SubscriptionPolicy.choices)
    out: dict[str, list[tuple[str, list[Choice]]]] = {}
    out["channels"] = [("", [Choice(str(c.iterable_id), c.name, [c.get_channel_type_display()]) for c in channels])]
    for scope in SCOPES[1:3]:
        groups: dict[str, list[Choice]] = {}
        for t in types:
            if scope.array == SUBSCRIBED_TYPES and policy.effective_policy(t.policy) != policy.OPT_IN:
                continue
            forbidden = bool(policy.message_type_violations(_type_facts(t), subject="A message"))
            notes = [str(policies.get(t.policy, t.policy))] + (["deprecated"] if t.deprecated else [])
            groups.setdefault(t.channel.name, []).append(Choice(str(t.iterable_id), t.name, notes, forbidden))
        out[scope.key] = list(groups.items())
    out["lists"] = [("", [Choice(str(i), name) for i, name in sorted(names.lists.items(), key=lambda kv: kv[1])])]
    return out


class ResyncSettingsForm(forms.ModelForm):
    """A project's resync settings; the bounds are the model's. The scope is chosen per part: not managed, all,
    or the ticked channels, message types or lists of this project (by name, never typed ids)."""

    class Meta:
        model = ResyncSettings
        fields = [name for name in SETTINGS_FIELDS if name != "scope"]
        help_texts = {
            "opt_in_enabled": "The Iterable project uses opt-in message types: subscriptions to them may be written.",
        }

    def __init__(self, *args, names: Names | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        project = self.instance.project
        self.names = names if names is not None else resync_names(project=project)
        self.choices = scope_choices(project, self.names)
        scope = self.instance.scope or {}
        for part in SCOPES:
            held = scope.get(part.array)
            offered = {c.value for _, group in self.choices[part.key] for c in group}
            unknown = [str(i) for i in (held if isinstance(held, list) else []) if str(i) not in offered]
            if unknown:
                where = "not in the catalog" if part.array != LISTS else "not found in Iterable just now"
                extra = [Choice(i, self.names.name(part.array, int(i)), [where]) for i in unknown]
                self.choices[part.key].append(("Chosen before, " + where, extra))
            flat = [(c.value, c.label) for _, group in self.choices[part.key] for c in group]
            self.fields[f"{part.key}_mode"] = forms.ChoiceField(
                choices=MODES, required=False, widget=forms.RadioSelect, label=part.legend
            )
            self.fields[part.key] = forms.MultipleChoiceField(
                choices=flat,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                label=part.legend,
                error_messages={"invalid_choice": f"That {part.noun} is not one of this project's; reload the page."},
            )
            mode = "" if held is None else "all" if held == ALL else "some"
            self.initial.setdefault(f"{part.key}_mode", mode)
            self.initial.setdefault(part.key, [str(i) for i in held] if isinstance(held, list) else [])

    def checklists(self) -> list[dict]:
        """The scope's parts for the template: the mode's radio buttons, the grouped boxes and which are ticked."""
        parts = []
        for part in SCOPES:
            bound = self[part.key]
            ticked = {str(v) for v in (bound.value() or [])}
            parts.append(
                {
                    "scope": part,
                    "mode": self[f"{part.key}_mode"],
                    "boxes": bound,
                    "groups": [
                        (name, [(c, c.value in ticked) for c in group]) for name, group in self.choices[part.key]
                    ],
                    "errors": self[f"{part.key}_mode"].errors + bound.errors,
                    "unavailable": part.array == LISTS and self.names.lists_unavailable,
                }
            )
        return parts

    def clean(self):
        data = super().clean()
        scope: dict = {}
        for part in SCOPES:
            mode = data.get(f"{part.key}_mode") or ""
            ticked = data.get(part.key) or []
            if f"{part.key}_mode" in self.errors or part.key in self.errors:
                continue
            if mode == "all":
                scope[part.array] = ALL
            elif mode == "some":
                if not ticked:
                    self.add_error(
                        part.key, f'Tick at least one {part.noun}, or choose "Not managed" or "All of them".'
                    )
                scope[part.array] = sorted(int(v) for v in ticked)
            elif ticked:
                self.add_error(
                    part.key,
                    f'{len(ticked)} {part.noun}{"s" if len(ticked) != 1 else ""} ticked while "Not managed" is chosen: '
                    f'choose "Only the ones ticked below" to manage them, or untick them.',
                )
        data["scope"] = scope
        return data

    def changes(self) -> dict:
        """The keyword arguments for resync_settings_update."""
        return {name: self.cleaned_data[name] for name in SETTINGS_FIELDS}
