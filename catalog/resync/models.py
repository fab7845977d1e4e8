"""Preference resync: the company's desired subscription state, and the runs that push it to Iterable.
Rules live in catalog/resync/services/; these are the records."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from catalog.core.models import IterableProject, choices_check
from catalog.iterable.client import SUBSCRIPTION_ARRAYS
from catalog.runs.models import RunBase, RunItemBase

# ContactPreference's array fields -> Iterable's array names.
SUBSCRIPTION_ARRAY_FIELDS = {field: array for array, field in SUBSCRIPTION_ARRAYS.items()}


class BatchErrorPolicy(models.TextChoices):
    CONTINUE = "continue", "Record the batch as failed and continue"
    STOP = "stop", "Stop the run (it can be resumed by retrying)"


# django-q2 keeps a schedule's interval in a small integer column.
MAX_SCHEDULE_MINUTES = 32_767


def between(low: float, high: float, unit: str = "") -> list:
    """The bounds of a setting, with one sentence for the form, the API and the service alike."""
    message = f"must be between {low} and {high}{unit}"
    return [MinValueValidator(low, message=message), MaxValueValidator(high, message=message)]


class ResyncSettings(models.Model):
    """How preference resyncs run for one project: what the source of truth manages, pacing, schedule."""

    project = models.OneToOneField(IterableProject, on_delete=models.CASCADE, related_name="resync_settings")
    # {"unsubscribedChannelIds": "all" | [ids], ...}: an array missing here is never written; "all" means the
    # source of truth owns the whole array; a list means it owns only those ids and the rest is kept.
    scope = models.JSONField(default=dict, blank=True)
    opt_in_enabled = models.BooleanField(
        "opt-in message types enabled",
        default=False,
        help_text="The Iterable project has opt-in message types: subscribedMessageTypeIds may be written.",
    )
    batch_size = models.PositiveIntegerField(
        default=1000, validators=between(1, 100_000), help_text="Contacts per bulk update."
    )
    rate_per_second = models.FloatField(
        default=5.0, validators=between(0, 1000), help_text="Bulk update calls per second (0: unpaced)."
    )
    read_concurrency = models.PositiveSmallIntegerField(
        default=8, validators=between(1, 64), help_text="Parallel reads of current state."
    )
    on_batch_error = models.CharField(
        max_length=10, choices=BatchErrorPolicy.choices, default=BatchErrorPolicy.CONTINUE
    )
    schedule_enabled = models.BooleanField(
        "scheduled resync",
        default=False,
        help_text="Regularly resync every contact whose desired state changed since its last resync.",
    )
    schedule_minutes = models.PositiveIntegerField(
        "every (minutes)",
        default=60,
        validators=between(1, MAX_SCHEDULE_MINUTES, " (about 22 days)"),
        help_text="At most 32767 (22 days).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project__name"]
        verbose_name_plural = "resync settings"
        # The database holds the same bounds as the validators, whoever writes the row.
        constraints = [
            choices_check("on_batch_error", BatchErrorPolicy, "resync_settings_on_batch_error_valid"),
            models.CheckConstraint(
                condition=Q(batch_size__gte=1, batch_size__lte=100_000)
                & Q(rate_per_second__gte=0, rate_per_second__lte=1000)
                & Q(read_concurrency__gte=1, read_concurrency__lte=64)
                & Q(schedule_minutes__gte=1, schedule_minutes__lte=MAX_SCHEDULE_MINUTES),
                name="resync_settings_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"Resync settings of {self.project}"


class PreferenceImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed (nothing imported)"


class PreferenceImport(models.Model):
    """One intake of desired preferences (CSV upload or API upsert): who, when, what was kept and rejected."""

    class Source(models.TextChoices):
        CSV = "csv", "CSV upload"
        API = "api", "API upsert"

    Status = PreferenceImportStatus

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="preference_imports")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    source = models.CharField(max_length=10, choices=Source.choices)
    filename = models.CharField(max_length=255, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    contacts = models.ManyToManyField("catalog.ContactPreference", related_name="imports", blank=True)
    # A CSV upload is imported by a worker: the request keeps the file and queues it (API upserts are done
    # at once). The file is dropped once imported.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DONE)
    phase = models.CharField(max_length=100, blank=True, help_text="What the worker is doing, in words.")
    content = models.TextField(blank=True, help_text="The uploaded CSV, until it is imported.")
    processed = models.PositiveIntegerField(default=0, help_text="Rows checked so far.")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"])]
        constraints = [choices_check("status", PreferenceImportStatus, "preference_import_status_valid")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk} ({self.accepted} kept, {self.rejected} rejected)"


class ContactPreference(models.Model):
    """The source of truth for one contact: the desired subscription arrays (null = says nothing)."""

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="contact_preferences")
    email = models.CharField(max_length=254)
    user_id = models.CharField(max_length=200, blank=True)
    unsubscribed_channel_ids = models.JSONField(null=True, blank=True)
    unsubscribed_message_type_ids = models.JSONField(null=True, blank=True)
    subscribed_message_type_ids = models.JSONField(null=True, blank=True)
    email_list_ids = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(help_text="When the desired state last changed.")
    changed_by_label = models.CharField(max_length=150)
    source = models.CharField(max_length=255, help_text="Where the current desired state came from.")
    source_import = models.ForeignKey(
        PreferenceImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The "resynced" marker: when Iterable was last made to match this desired state, and by which run.
    resynced_at = models.DateTimeField(null=True, blank=True)
    resynced_run = models.ForeignKey("ResyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["project__name", "email"]
        constraints = [models.UniqueConstraint(fields=["project", "email"], name="contact_preference_unique")]
        indexes = [models.Index(fields=["project", "changed_at"])]

    def __str__(self) -> str:
        return self.email


class ResyncRun(RunBase):
    """One resync of desired preferences into Iterable (or a dry run of it), processed batch by batch."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Stopped on error"
        CANCELLED = "cancelled", "Cancelled"

    class Selection(models.TextChoices):
        CONTACTS = "contacts", "Listed contacts"
        IMPORT = "import", "An import"
        SINCE = "since", "Changed since a date"
        EVERYONE = "everyone", "Everyone"
        SCHEDULED = "scheduled", "Scheduled (changed since last resync)"
        DRY_RUN = "dry_run", "Contacts of a dry run"

    class Compare(models.TextChoices):
        READ = "read", "Read every contact and send only differences"
        AUTO = "auto", "Read only where the merge needs it"

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="resync_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    selection = models.CharField(max_length=10, choices=Selection.choices)
    selection_detail = models.JSONField(default=dict, blank=True)
    compare = models.CharField(max_length=5, choices=Compare.choices, default=Compare.READ)
    on_batch_error = models.CharField(max_length=10, choices=BatchErrorPolicy.choices)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"]), models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        # No status: the audit trail keeps this label from the moment the run started, and "(queued)" would stay
        # beside a run long finished.
        kind = "Dry run" if self.dry_run else "Resync"
        return f"{kind} #{self.pk} of {self.project}"


class ResyncItem(RunItemBase):
    """One contact in one run: its progress, outcome, the difference found and any failure reason."""

    run = models.ForeignKey(ResyncRun, on_delete=models.CASCADE, related_name="items")
    contact = models.ForeignKey(ContactPreference, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "contact"], name="resync_item_unique")]
        indexes = [models.Index(fields=["run", "status"])]

    def __str__(self) -> str:
        return f"run {self.run_id} contact {self.contact_id}: {self.status}"
