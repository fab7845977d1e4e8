"""Setting a job up: every rule a job must meet before it may run, checked once here for the pages, the API
and the schedule alike (a mapping that names only writable fields, retention rules, a static list, a channel
confirmed by its name, a read-only query, a valid schedule)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.audit.services import audit_record, diff, snapshot
from catalog.iterable import IterableError, client_for_project
from catalog.jobs.services.conf import REFUSED_FIELDS
from catalog.jobs.services.rows import RETENTION_RULES
from catalog.jobs.services.schedules import cron_problem, job_schedule_sync
from catalog.jobs.services.sources import query_problem
from catalog.models import Channel, Job, JobAction, JobItem, JobRun, JobSource
from catalog.types import Actor

EDITABLE = (
    "project", "name", "description", "action", "source", "mapping", "email_column", "user_id_column",
    "prefer_user_id", "merge_nested_objects", "retention", "list_id", "channel_id", "channel_unsubscribe",
    "channel_confirmed", "campaign_id", "on_invalid", "db_alias", "query", "row_cap", "query_timeout_seconds",
    "schedule_cron", "schedule_enabled", "batch_size", "rate_per_second", "read_concurrency",
)  # fmt: skip
LIST_ACTIONS = (JobAction.LIST_ADD, JobAction.LIST_REMOVE)


def _mapping_errors(job: Job) -> list[str]:
    errors: list[str] = []
    if not isinstance(job.mapping, list):
        return ["The mapping is a list of rows, each a column and an Iterable field."]
    seen: set[str] = set()
    for number, row in enumerate(job.mapping, start=1):
        if not isinstance(row, dict) or not str(row.get("column") or "").strip() or not str(row.get("field") or ""):
            errors.append(f"Row {number}: give both a column and an Iterable field.")
            continue
        field = str(row["field"]).strip()
        top = field.split(".", 1)[0]
        if top in REFUSED_FIELDS:
            errors.append(f"Row {number}: '{field}' may not be written by this job: {REFUSED_FIELDS[top]}.")
        elif field in seen:
            errors.append(f"Row {number}: '{field}' is named twice.")
        seen.add(field)
    if job.action == JobAction.UPDATE_PROFILES and not job.mapping:
        errors.append("A profile sync writes only the fields its mapping names: name at least one.")
    return errors


def _retention_errors(job: Job) -> list[str]:
    if not isinstance(job.retention, list):
        return ["The retention rules are a list."]
    errors = []
    for number, rule in enumerate(job.retention, start=1):
        if not isinstance(rule, dict) or rule.get("rule") not in RETENTION_RULES or not rule.get("column"):
            errors.append(f"Rule {number}: choose a column and one of: {', '.join(RETENTION_RULES.values())}.")
        elif rule["rule"] == "within_days":
            value = rule.get("value")
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 36_500:
                errors.append(f"Rule {number}: the number of days must be a whole number from 1 to 36500.")
    return errors


def _check_list(job: Job, lists: list[dict] | None = None) -> dict[str, str]:
    """The list exists in Iterable and is static (Iterable refuses to change a dynamic list). ``lists``: the
    project's lists as Iterable holds them, when the caller already has them."""
    if not job.list_id:
        return {"list_id": "Choose the list."}
    try:
        lists = client_for_project(job.project).get_lists() if lists is None else lists
    except IterableError as exc:
        return {"list_id": f"The list could not be checked with Iterable: {exc.msg[:200]}"}
    found = next((lst for lst in lists if int(lst.get("id", 0)) == int(job.list_id)), None)
    if found is None:
        return {"list_id": f"Iterable has no list {job.list_id} in {job.project}."}
    if found.get("listType", "Standard") != "Standard":
        return {
            "list_id": f"'{found.get('name')}' is a {found.get('listType')} list: Iterable changes only static lists."
        }
    job.list_name = str(found.get("name") or "")[:255]
    return {}


def _check_channel(job: Job) -> dict[str, str]:
    """The channel people are unsubscribed from, confirmed by typing its name."""
    needs = job.action == JobAction.OPT_OUT or (job.action == JobAction.LIST_REMOVE and job.channel_unsubscribe)
    if not needs:
        job.channel_confirmed = ""
        return {}
    channel = (
        Channel.objects.filter(project=job.project, iterable_id=job.channel_id).first() if job.channel_id else None
    )
    if channel is None:
        return {"channel_id": "Choose the channel people will be unsubscribed from."}
    job.channel_name = channel.name
    if (job.channel_confirmed or "").strip().casefold() != channel.name.casefold():
        return {
            "channel_confirmed": f"Type the channel's name, '{channel.name}', to confirm that everyone this job "
            "touches will be unsubscribed from it."
        }
    return {}


def job_problems(job: Job, *, lists: list[dict] | None = None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    try:
        job.full_clean(exclude=["created_by", "updated_by"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                add(field, message)
    if errors.get("project"):
        return errors
    if not (job.email_column or "").strip() and not (job.user_id_column or "").strip():
        add("email_column", "Name the column holding the email, the user id, or both.")
    for message in _mapping_errors(job):
        add("mapping", message)
    for message in _retention_errors(job):
        add("retention", message)
    if job.action in LIST_ACTIONS:
        for field, message in _check_list(job, lists).items():
            add(field, message)
    for field, message in _check_channel(job).items():
        add(field, message)
    for field, message in _source_problems(job):
        add(field, message)
    return errors


def _source_problems(job: Job) -> list[tuple[str, str]]:
    problems = []
    if job.source == JobSource.QUERY and query_problem(job.db_alias, job.query):
        problems.append(("query", query_problem(job.db_alias, job.query)))
    if job.source == JobSource.EVENTS and job.action != JobAction.OPT_OUT:
        problems.append(("source", "Only an opt-out job receives unsubscribe events."))
    if job.schedule_enabled:
        if job.source != JobSource.QUERY:
            problems.append(("schedule_enabled", "Only a job that pulls its rows from a query can run on a schedule."))
        if cron_problem(job.schedule_cron):
            problems.append(("schedule_cron", cron_problem(job.schedule_cron)))
    return problems


# What a run does is read from its job when it is sent: these may not change under a run still to be sent.
RUN_DEFINING = ("action", "project", "list_id")
CHANNEL_DEFINING = ("channel_id", "channel_unsubscribe")
CHANNEL_ACTIONS = (JobAction.LIST_REMOVE, JobAction.OPT_OUT)


def _refuse_changing_what_open_runs_do(job: Job, before: dict[str, Any]) -> None:
    """A queued, running or waiting run (or one whose failed rows may be retried) was set up, and perhaps
    approved, for what the job did then: changing its action, project, list or channel would change that run."""
    fields = [*RUN_DEFINING]
    if before.get("action") in CHANNEL_ACTIONS or job.action in CHANNEL_ACTIONS:
        fields += CHANNEL_DEFINING
    current = {"project": job.project_id, **{name: getattr(job, name) for name in fields if name != "project"}}
    stored = Job.objects.select_for_update().filter(pk=job.pk).values("project", *[f for f in fields if f != "project"])
    old = stored.first() or {}
    changed = [name for name in fields if name in old and old[name] != current[name]]
    if not changed:
        return
    waiting = (JobRun.Status.QUEUED, JobRun.Status.RUNNING, JobRun.Status.AWAITING_APPROVAL)
    runs = JobRun.objects.filter(job_id=job.pk, dry_run=False)
    # Failed rows (and the unsent rows of a run that stopped) may still be retried: they keep it open until
    # they are sent or given up ("give up on failed rows").
    open_runs = runs.filter(status__in=waiting).exists() or (
        JobItem.objects.filter(
            run__in=runs.exclude(status=JobRun.Status.CANCELLED),
            status__in=(JobItem.Status.FAILED, JobItem.Status.PENDING),
        ).exists()
    )
    if open_runs:
        message = (
            "This job has a run that is queued, running, waiting for approval or has failed rows: finish or "
            "cancel it, or give up on its failed rows, before changing what the job does (its action, project, "
            "list or channel)."
        )
        raise ValidationError({name: message for name in changed})


def job_save(*, actor: Actor, data: dict[str, Any], job: Job | None = None, lists: list[dict] | None = None) -> Job:
    """Create a job (``job`` None) or change one. Raises ValidationError naming each field's problem. ``lists``:
    the project's lists as Iterable holds them, when the caller already has them (the demo, whose Iterable is
    seeded from the same data and not yet started); otherwise they are asked of Iterable."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise ValidationError(f"Unknown setting(s): {', '.join(unknown)}.")
    creating = job is None
    job = job or Job(created_by=actor if isinstance(actor, User) and actor.pk else None)
    before = {} if creating else snapshot(job)
    for name, value in data.items():
        setattr(job, name, value)
    job.schedule_cron = " ".join((job.schedule_cron or "").split())
    errors = job_problems(job, lists=lists)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if not creating:
            _refuse_changing_what_open_runs_do(job, before)
        if creating or diff(before, snapshot(job)):
            job.changed_at = timezone.now()  # its earlier dry runs are stale now
        job.updated_by = actor if isinstance(actor, User) and actor.pk else None
        job.save()
        job_schedule_sync(job)
        changes = snapshot(job) if creating else diff(before, snapshot(job))
        changes.pop("changed_at", None)  # the edit itself says when
        audit_record(actor=actor, action="job_create" if creating else "job_update", instance=job, changes=changes)
    return job
