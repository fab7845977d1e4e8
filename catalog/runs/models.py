"""The fields every engine-driven run and its rows share (the resync's and the seed jobs'), as abstract models:
who started it, the pacing it runs at, its counts and times, and the lease and supervision fields the engine
(``catalog/runs/engine.py``) reads and writes. Each slice adds its own status choices, origin and rows."""

from django.conf import settings
from django.db import models


class RunBase(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    dry_run = models.BooleanField(default=False)
    source_run = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    batch_size = models.PositiveIntegerField()
    rate_per_second = models.FloatField()
    total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # A lease, not a lock: whichever worker holds an unexpired lease processes the run; a killed worker's
    # lease runs out and its redelivered task (or any later one) takes over.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Supervision: when its task was last queued, and how many times in a row a lost or overrun task was
    # resumed without the run getting further (past the slice's limit it fails, with the reason).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    resumes = models.PositiveIntegerField(default=0)
    resumed_at_batch = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class RunItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class RunItemBase(models.Model):
    """A row of a run: its progress, the difference found and any failure reason (each slice adds what the row
    is, its outcome and error code)."""

    Status = RunItemStatus

    status = models.CharField(max_length=10, choices=RunItemStatus.choices, default=RunItemStatus.PENDING)
    diff = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(blank=True)
    batch_no = models.PositiveIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
