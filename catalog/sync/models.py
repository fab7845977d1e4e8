"""Iterable's side, mirrored by the catalog sync. Kept apart from the catalog on purpose: the catalog is what
staff declare, the mirror is what Iterable says; drift is the difference between the two."""

from django.db import models

from catalog.core.models import IterableProject, Notification, choices_check


class MirrorKind(models.TextChoices):
    CHANNEL = "channel", "Channel"
    MESSAGE_TYPE = "message_type", "Message type"
    TEMPLATE = "template", "Template"
    CAMPAIGN = "campaign", "Campaign"
    JOURNEY = "journey", "Journey"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class FindingCategory(models.TextChoices):
    DRIFT = "drift", "Drift"
    ORPHAN = "orphan", "Orphan in Iterable"
    GUARD = "guard", "Guard violation in Iterable"


class SyncRun(models.Model):
    """One catalog sync of one project from Iterable: when, outcome, counts per kind, calls made and errors."""

    project = models.ForeignKey(IterableProject, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=20, default="manual", help_text="manual, command or schedule")
    actor_label = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    # {"template": {"seen": 5000, "created": 3, "updated": 1, "deleted": 0, "unchanged": 4996}, ...}
    counts = models.JSONField(default=dict, blank=True)
    # Logical Iterable calls by endpoint ("GET /api/templates": 5); retries inside the client are not counted.
    calls = models.JSONField(default=dict, blank=True)
    findings = models.JSONField(default=dict, blank=True, help_text="Findings per code.")
    # [{"code": "BadApiKey", "msg": "Invalid API key", "status": 401, "endpoint": "/api/channels"}]
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at", "-id"]), models.Index(fields=["project", "-started_at"])]
        constraints = [choices_check("status", SyncStatus, "sync_run_status_valid")]

    def __str__(self) -> str:
        return f"{self.project} sync {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def call_total(self) -> int:
        return sum(self.calls.values())


class IterableMirror(models.Model):
    """One object as Iterable last reported it, keyed by (project, kind, Iterable id), with its raw JSON.

    One generic table rather than one per kind: the sync writes every kind through one bulk diff (load
    id+hash, bulk_create the new, bulk_update the changed, delete the gone), and the raw payload keeps
    whatever Iterable sends. The few fields drift and orphan queries filter or join on are copied into
    indexed columns (templates: message type, campaign, client template id; campaigns: template, workflow,
    state; journeys: state), so "templates of campaign X" or "templates on type Y" is an index lookup.
    Small kinds (channels, message types) are read from the payload.
    """

    project = models.ForeignKey(IterableProject, on_delete=models.CASCADE, related_name="mirror")
    kind = models.CharField(max_length=20, choices=MirrorKind.choices)
    iterable_id = models.BigIntegerField("Iterable id")
    name = models.CharField(max_length=500, blank=True)
    iterable_message_type_id = models.BigIntegerField(null=True, blank=True, help_text="Templates: messageTypeId.")
    iterable_campaign_id = models.BigIntegerField(null=True, blank=True, help_text="Templates: campaignId.")
    iterable_template_id = models.BigIntegerField(null=True, blank=True, help_text="Campaigns: templateId.")
    iterable_workflow_id = models.BigIntegerField(null=True, blank=True, help_text="Campaigns: workflowId (journey).")
    client_template_id = models.CharField(max_length=200, blank=True, help_text="Templates: clientTemplateId.")
    state = models.CharField(
        max_length=20, blank=True, help_text="Campaigns: campaignState; journeys: enabled, disabled or archived."
    )
    payload = models.JSONField(default=dict)
    payload_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the canonical payload: unchanged rows are not rewritten."
    )
    first_seen_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["project", "kind", "iterable_id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "iterable_id"], name="mirror_project_kind_id_unique"),
            choices_check("kind", MirrorKind, "mirror_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["project", "kind", "iterable_campaign_id"], name="mirror_campaign_idx"),
            models.Index(fields=["project", "kind", "iterable_message_type_id"], name="mirror_message_type_idx"),
            models.Index(fields=["project", "kind", "iterable_workflow_id"], name="mirror_workflow_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.iterable_id} {self.name}"


class SyncFinding(models.Model):
    """One thing the latest sync of a project found: a notification's drift, an orphan, or a guard violation."""

    project = models.ForeignKey(IterableProject, on_delete=models.CASCADE, related_name="sync_findings")
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="found")
    category = models.CharField(max_length=10, choices=FindingCategory.choices)
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=10)
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="sync_findings", null=True, blank=True
    )
    iterable_kind = models.CharField(max_length=20, choices=MirrorKind.choices, blank=True)
    iterable_id = models.BigIntegerField(null=True, blank=True)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["project", "category", "code", "iterable_id", "id"]
        indexes = [models.Index(fields=["project", "category", "code"])]
        constraints = [choices_check("category", FindingCategory, "sync_finding_category_valid")]

    def __str__(self) -> str:
        return f"{self.code}: {self.message[:80]}"
