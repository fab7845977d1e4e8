"""The seed jobs: what a job does (its action, source, mapping, rules, schedule), its runs and their rows,
the record kept of each deleted person, and the opt-out events received. Rules live in services/."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from catalog.core.models import IterableProject, choices_check
from catalog.runs.models import RunBase, RunItemBase


def between(low: float, high: float) -> list:
    message = f"must be between {low} and {high}"
    return [MinValueValidator(low, message=message), MaxValueValidator(high, message=message)]


class JobAction(models.TextChoices):
    UPDATE_PROFILES = "update_profiles", "Update profiles"
    LIST_ADD = "list_add", "Add to a list"
    LIST_REMOVE = "list_remove", "Remove from a list"
    DELETE_USERS = "delete_users", "Delete users"
    OPT_OUT = "opt_out", "Opt people out"


class JobSource(models.TextChoices):
    UPLOAD = "upload", "An uploaded file (CSV or JSON lines)"
    API = "api", "Rows pushed through the API"
    QUERY = "query", "A database query, pulled on a schedule"
    EVENTS = "events", "Unsubscribe events from another system"


class InvalidRows(models.TextChoices):
    SKIP = "skip", "Skip invalid rows and go on"
    FAIL = "fail", "Fail the run (nothing is sent)"


class Job(models.Model):
    """One of the company's recurring jobs that keep Iterable in step with its own data."""

    Action = JobAction
    Source = JobSource

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="jobs")
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    action = models.CharField(max_length=20, choices=JobAction.choices)
    source = models.CharField(max_length=10, choices=JobSource.choices, default=JobSource.UPLOAD)
    # [{"column": "first_name", "field": "firstName"}]: only the fields named here are written.
    mapping = models.JSONField(default=list, blank=True)
    email_column = models.CharField(max_length=100, default="email", blank=True)
    user_id_column = models.CharField(max_length=100, default="user_id", blank=True)
    prefer_user_id = models.BooleanField("prefer the user id over the email", default=False)
    merge_nested_objects = models.BooleanField(
        "merge nested objects",
        default=False,
        help_text="Merge an object field into the one Iterable has, instead of replacing it whole.",
    )
    # [{"column": "created_at", "rule": "within_days", "value": 60}]: rows that fail a rule are left out.
    retention = models.JSONField(default=list, blank=True)
    list_id = models.BigIntegerField(null=True, blank=True)
    list_name = models.CharField(max_length=255, blank=True)
    channel_unsubscribe = models.BooleanField("also unsubscribe from the list's channel", default=False)
    channel_name = models.CharField(
        max_length=255, blank=True, help_text="The channel a removal or an opt-out unsubscribes people from."
    )
    channel_id = models.BigIntegerField(null=True, blank=True)
    channel_confirmed = models.CharField(max_length=255, blank=True, help_text="The channel's name, typed to confirm.")
    campaign_id = models.BigIntegerField(null=True, blank=True)
    on_invalid = models.CharField(max_length=5, choices=InvalidRows.choices, default=InvalidRows.SKIP)
    db_alias = models.CharField("database", max_length=100, blank=True)
    query = models.TextField(blank=True, help_text="One SELECT, run read-only.")
    row_cap = models.PositiveIntegerField(default=100_000, validators=between(1, 1_000_000))
    query_timeout_seconds = models.PositiveIntegerField(default=60, validators=between(1, 600))
    schedule_cron = models.CharField("schedule (cron)", max_length=100, blank=True)
    schedule_enabled = models.BooleanField("scheduled", default=False)
    batch_size = models.PositiveIntegerField(default=1000, validators=between(1, 10_000))
    rate_per_second = models.FloatField(
        default=0, validators=between(0, 1000), help_text="Write calls per second (0: the endpoint's own limit)."
    )
    read_concurrency = models.PositiveSmallIntegerField(default=8, validators=between(1, 64))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # When a save last changed one of its settings: a dry run older than this no longer shows what the job
    # would send, and may not be applied.
    changed_at = models.DateTimeField(null=True, blank=True)
    # Who last saved it: a scheduled run has no requester of its own, so this person may not approve it.
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The last tick of its schedule that started nothing, and why (a run of the job had not finished yet).
    schedule_skipped_at = models.DateTimeField("scheduled pull last skipped", null=True, blank=True, editable=False)
    schedule_skip_reason = models.CharField("why it was skipped", max_length=300, blank=True, editable=False)

    class Meta:
        ordering = ["project__name", "name"]
        permissions = [
            ("run_jobs", "Can set up, dry-run, apply and schedule seed jobs"),
            ("approve_deletions", "Can approve a user deletion requested by someone else"),
            ("receive_opt_outs", "Can send unsubscribe events from another marketing system"),
        ]
        constraints = [
            choices_check("action", JobAction, "job_action_valid"),
            choices_check("source", JobSource, "job_source_valid"),
            choices_check("on_invalid", InvalidRows, "job_on_invalid_valid"),
            models.UniqueConstraint(fields=["project", "name"], name="job_name_unique"),
            models.CheckConstraint(
                condition=Q(batch_size__gte=1, batch_size__lte=10_000)
                & Q(rate_per_second__gte=0, rate_per_second__lte=1000)
                & Q(row_cap__gte=1, row_cap__lte=1_000_000),
                name="job_bounds",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class JobRunStatus(models.TextChoices):
    AWAITING_APPROVAL = "approval", "Waiting for a second person's approval"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Stopped on error"
    CANCELLED = "cancelled", "Cancelled"


class JobRun(RunBase):
    """One run of a job (or a dry run of it), processed batch by batch by the run engine."""

    Status = JobRunStatus

    class Origin(models.TextChoices):
        UPLOAD = "upload", "Uploaded file"
        API = "api", "API"
        QUERY = "query", "Database query"
        SCHEDULE = "schedule", "Schedule"
        EVENT = "event", "Unsubscribe event"
        DRY_RUN = "dry_run", "Rows of a dry run"
        RETRY = "retry", "Retry"

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    filename = models.CharField(max_length=255, blank=True)
    listed = models.BooleanField(default=True, help_text="False while its task must still pull its rows.")
    # An uploaded file waiting for the run's task to read it (deleted once its rows are in).
    source_file = models.CharField(max_length=500, blank=True)
    invalid = models.PositiveIntegerField(default=0)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by_label = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"]), models.Index(fields=["job", "status"])]
        constraints = [choices_check("status", JobRunStatus, "job_run_status_valid")]

    def __str__(self) -> str:
        kind = "Dry run" if self.dry_run else "Run"
        return f"{kind} #{self.pk} of {self.job}"


class JobItem(RunItemBase):
    """One row of one run: what is sent for it (Iterable's shape), its outcome, the difference found."""

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="items")
    row_no = models.PositiveIntegerField()
    key = models.CharField(max_length=320, help_text="The row's email or user id (a hash once deleted).")
    payload = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=30, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        # (run, row_no): an applied deletion finds the rows of the dry run that listed the same people.
        indexes = [models.Index(fields=["run", "status"]), models.Index(fields=["run", "row_no"])]

    def __str__(self) -> str:
        return f"Row {self.row_no} of run #{self.run_id}"


class DeletionRecord(models.Model):
    """Who was deleted from Iterable, kept without their data: a keyed hash of the address, when, by whose
    request and approval, and whether their preferences were resynced afterwards."""

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="deletion_records")
    run = models.ForeignKey(JobRun, on_delete=models.SET_NULL, null=True, related_name="deletions")
    identity_hash = models.CharField(max_length=64, db_index=True)
    by_user_id = models.BooleanField(default=False)
    deleted_at = models.DateTimeField()
    requested_by_label = models.CharField(max_length=150)
    approved_by_label = models.CharField(max_length=150)
    # The person's desired preferences, when the source of truth has them: their resync marker says
    # whether Iterable was given them again after the deletion.
    contact = models.ForeignKey(
        "catalog.ContactPreference", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-deleted_at", "-id"]
        indexes = [models.Index(fields=["-deleted_at", "-id"])]
        constraints = [
            models.UniqueConstraint(fields=["run", "identity_hash"], name="deletion_record_once_per_run"),
        ]

    def __str__(self) -> str:
        return f"Deletion {self.identity_hash[:10]}… on {self.deleted_at:%Y-%m-%d}"


class OptOutEvent(models.Model):
    """An unsubscribe received from another marketing system, once per sender's event id."""

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="opt_out_events")
    event_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(auto_now_add=True)
    received_by_label = models.CharField(max_length=150)
    run = models.ForeignKey(JobRun, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["-received_at", "-id"])]
        constraints = [models.UniqueConstraint(fields=["job", "event_id"], name="opt_out_event_once")]

    def __str__(self) -> str:
        return f"Opt-out event {self.event_id}"
