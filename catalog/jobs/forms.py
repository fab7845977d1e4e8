"""The jobs' forms: a job's setup (the mapping and the retention rules as rows of inputs, never JSON typed
by hand), starting a run, and the opt-out or list channel confirmed by typing its name."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.safestring import mark_safe

from catalog.forms import upload_within_limit
from catalog.iterable import IterableError, client_for_project
from catalog.jobs.services.conf import max_upload_bytes
from catalog.jobs.services.rows import RETENTION_RULES
from catalog.models import Channel, IterableProject, Job


class JobForm(forms.ModelForm):
    """Everything but the mapping and the retention rules (their own row forms)."""

    # Numbers shown as a list of names: the service says why a number is refused (unknown, dynamic list…).
    list_id = forms.IntegerField(required=False, label="List", widget=forms.Select, min_value=1)
    channel_id = forms.IntegerField(required=False, label="Channel", widget=forms.Select, min_value=1)
    db_alias = forms.ChoiceField(required=False, label="Database")

    class Meta:
        model = Job
        fields = [
            "project", "name", "description", "action", "source", "email_column", "user_id_column",
            "prefer_user_id", "merge_nested_objects", "list_id", "channel_unsubscribe", "channel_id",
            "channel_confirmed", "campaign_id", "on_invalid", "db_alias", "query", "row_cap",
            "query_timeout_seconds", "schedule_enabled", "schedule_cron", "batch_size", "rate_per_second",
            "read_concurrency",
        ]  # fmt: skip
        labels = {
            "action": "What the job does",
            "source": "Where its rows come from",
            "email_column": "Column holding the email",
            "user_id_column": "Column holding the user id",
            "channel_confirmed": "Type the channel's name to confirm",
            "campaign_id": "Attribute removals to campaign (optional)",
            "on_invalid": "Invalid rows",
            "row_cap": "At most this many rows",
            "query_timeout_seconds": "Query time limit (seconds)",
            "schedule_cron": "Schedule",
            "batch_size": "Rows per batch",
            "rate_per_second": "Calls per second",
            "read_concurrency": "Parallel reads",
        }
        help_texts = {
            # The column names are what a file must hold, so they are shown as code.
            "prefer_user_id": mark_safe(
                "The default: a row with its own <code>prefer_user_id</code> column (true or false) decides for itself."
            ),
            "merge_nested_objects": mark_safe(
                "Merge an object field into the one Iterable has, instead of replacing it whole. The default: a row "
                "with its own <code>merge_nested_objects</code> column (true or false) decides for itself."
            ),
            "schedule_cron": "Five parts: minute hour day-of-month month day-of-week, in UTC. 0 22 * * * is every "
            "day at 22:00; @daily and @hourly work too.",
            "channel_confirmed": "Everyone this job touches is unsubscribed from that channel: type its name exactly.",
        }
        widgets = {
            "action": forms.RadioSelect,
            "source": forms.RadioSelect,
            "on_invalid": forms.RadioSelect,
            "description": forms.Textarea(attrs={"rows": 2}),
            "query": forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "code"}),
        }

    # The page's fieldsets and the fields each shows, in order (the mapping, retention and schedule are laid
    # out by hand in the template).
    GROUPS = {
        "job": ["project", "name", "description", "action"],
        "who": ["email_column", "user_id_column", "prefer_user_id"],
        "list": ["list_id", "channel_unsubscribe", "channel_id", "channel_confirmed", "campaign_id"],
        "source": ["source", "on_invalid", "db_alias", "query", "row_cap", "query_timeout_seconds"],
        "pace": ["batch_size", "rate_per_second", "read_concurrency"],
    }

    @property
    def groups(self) -> dict[str, list[forms.BoundField]]:
        return {group: [self[name] for name in names] for group, names in self.GROUPS.items()}

    def __init__(self, *args, project: IterableProject | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        project = project or (self.instance.project if self.instance.pk else None)
        if project is None and self.is_bound and str(self.data.get("project", "")).isdigit():
            project = IterableProject.objects.filter(pk=int(self.data["project"][:18])).first()
        if project is not None:
            self.fields["project"].initial = project.pk
        self.fields["db_alias"].choices = [("", "—")] + [(alias, alias) for alias in settings.DATABASES]  # type: ignore[attr-defined]  # a ChoiceField
        channels = Channel.objects.select_related("project").order_by("project__name", "name")
        if project is not None:
            channels = channels.filter(project=project)
        self.fields["channel_id"].widget.choices = [("", "—")] + [
            (c.iterable_id, c.name if project else f"{c.project.name}: {c.name}") for c in channels
        ]
        self.fields["list_id"].widget.choices = [("", "—"), *_list_choices(project, self.instance)]
        self.fields["channel_id"].help_text = "The channel a removal with unsubscribe, or an opt-out, applies to."
        self.fields["list_id"].help_text = "Only static lists: Iterable refuses to change a dynamic list."


def _list_choices(project: IterableProject | None, job: Job) -> list[tuple[int, str]]:
    """The project's lists by name (dynamic ones marked: the service refuses them with the reason)."""
    choices: list[tuple[int, str]] = []
    if project is not None:
        try:
            for lst in client_for_project(project).get_lists():
                kind = lst.get("listType", "Standard")
                label = lst.get("name") or f"List {lst.get('id')}"
                if kind != "Standard":
                    label = f"{label} ({kind}: cannot be changed)"
                choices.append((int(lst["id"]), label))
        except (IterableError, KeyError, TypeError, ValueError):
            pass
    if job.list_id and all(value != job.list_id for value, _ in choices):
        choices.append((job.list_id, job.list_name or f"List {job.list_id}"))
    return choices


class MappingRowForm(forms.Form):
    column = forms.CharField(max_length=100, required=False, label="Column in the file or query")
    field = forms.CharField(max_length=100, required=False, label="Iterable field")


class RetentionRuleForm(forms.Form):
    column = forms.CharField(max_length=100, required=False)
    rule = forms.ChoiceField(choices=[("", "—"), *RETENTION_RULES.items()], required=False)
    value = forms.CharField(max_length=100, required=False, label="N (days) or the value")

    def as_rule(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("column") or not data.get("rule"):
            return None
        rule = {"column": data["column"].strip(), "rule": data["rule"]}
        if data["rule"] == "within_days":
            value = (data.get("value") or "").strip()
            rule["value"] = int(value) if value.isdigit() and len(value) < 7 else value
        elif data["rule"] == "equals":
            rule["value"] = data.get("value") or ""
        return rule


MappingFormSet = forms.formset_factory(MappingRowForm, extra=3, max_num=100, validate_max=True)
RetentionFormSet = forms.formset_factory(RetentionRuleForm, extra=1, max_num=20, validate_max=True)


class RunStartForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="File of rows",
        help_text="A CSV with a header line, or JSON lines (one object a line). Read by a worker as a stream; "
        "up to 200 MB.",
    )
    pull = forms.BooleanField(required=False, label="Pull the rows from the job's query now")
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run first (read and compare; nothing is written)"
    )

    def clean_file(self):
        # Just past the limit the body's declared length passes (it allows for the form's overhead): the API's words.
        return upload_within_limit(self.cleaned_data["file"], max_upload_bytes())
