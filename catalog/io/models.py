"""Catalog imports: one row per uploaded file, processed in the background."""

from django.conf import settings
from django.db import models

from catalog.core.models import choices_check


class CatalogImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    REFUSED = "refused", "Refused (nothing imported)"
    FAILED = "failed", "Failed (nothing imported)"


class CatalogImport(models.Model):
    """One catalog file import, run by a worker: the file as uploaded, where it is, and what it did."""

    Status = CatalogImportStatus

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    filename = models.CharField(max_length=255, blank=True)
    fmt = models.CharField(max_length=4, help_text="json or yaml")
    content = models.TextField(help_text="The file as uploaded (UTF-8 text, bounded by the upload limit).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=100, blank=True, help_text="What the worker is doing, in words.")
    total = models.PositiveIntegerField(default=0, help_text="Objects in the file.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.JSONField(default=dict, blank=True)
    updated = models.JSONField(default=dict, blank=True)
    unchanged = models.JSONField(default=dict, blank=True)
    # [{"location": "notifications[3].message_type", "message": "..."}]
    errors = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"])]
        constraints = [choices_check("status", CatalogImportStatus, "catalog_import_status_valid")]

    def __str__(self) -> str:
        return f"Catalog import #{self.pk} ({self.filename or self.fmt}, {self.status})"
