"""Live health: Iterable's system-webhook events, the counters made from them, and the alerts they raise.

Imported by catalog/models.py so the app label and migrations stay in `catalog`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class EventKind(models.TextChoices):
    SEND = "send", "Sends"
    OPEN = "open", "Opens"
    CLICK = "click", "Clicks"
    BOUNCE = "bounce", "Bounces"
    COMPLAINT = "complaint", "Complaints"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribes"
    SUBSCRIBE = "subscribe", "Subscribes"
    UNINSTALL = "uninstall", "Uninstalls"
    SKIP = "skip", "Skips"
    OTHER = "other", "Other"


class AlertKind(models.TextChoices):
    FORBIDDEN_TYPE = "forbidden-type", "Sent on a forbidden message type"
    UNKNOWN_CAMPAIGN = "unknown-campaign", "Sent from a campaign the catalog does not know"
    UNSUBSCRIBE_SPIKE = "unsubscribe-spike", "Unsubscribes above the baseline"
    BOUNCE_SPIKE = "bounce-spike", "Bounces above the baseline"


class WebhookSecret(models.Model):
    """The secret Iterable's system webhooks present for one project; only its SHA-256 is kept."""

    project = models.OneToOneField("catalog.IterableProject", on_delete=models.CASCADE, related_name="webhook_secret")
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"Webhook secret of {self.project}"


class HealthEvent(models.Model):
    """One event as Iterable's webhook delivered it, in columns; kept HEALTH_RAW_RETENTION_DAYS.

    `event_key` is a hash of the whole payload: a redelivery is the same payload, on the same `day` (the event's
    own), so the unique constraint turns it into a no-op insert. `counted` flips in the same transaction that
    adds the event to the counters. On PostgreSQL the table is partitioned by `day` (catalog/health/partitions.py):
    its primary key there is (id, day), and retention drops whole days.
    """

    # No index of its own: the once-only key and the contact index both start with the project.
    project = models.ForeignKey(
        "catalog.IterableProject", on_delete=models.CASCADE, related_name="health_events", db_index=False
    )
    event_key = models.CharField(max_length=64)
    event_name = models.CharField(max_length=60)
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    medium = models.CharField(max_length=10, blank=True)
    email = models.CharField(max_length=254, blank=True)
    user_id = models.CharField(max_length=200, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    template_id = models.BigIntegerField(null=True, blank=True)
    message_type_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    counted = models.BooleanField(default=False)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "event_key", "day"], name="health_event_once"),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="health_event_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["day"], name="health_event_day"),
            models.Index(fields=["project", "email", "occurred_at"], name="health_event_contact"),
            models.Index(fields=["id"], condition=Q(counted=False), name="health_event_uncounted"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.occurred_at:%Y-%m-%d %H:%M}"


class HealthDaily(models.Model):
    """Events per notification (or per unmapped campaign/template: the orphans), per day and kind."""

    project = models.ForeignKey("catalog.IterableProject", on_delete=models.CASCADE, related_name="+")
    # "n:<notification pk>", or for orphans "c:<campaign id>", "t:<template id>", "-" (neither given).
    bucket = models.CharField(max_length=40)
    notification = models.ForeignKey(
        "catalog.Notification", on_delete=models.CASCADE, null=True, blank=True, related_name="health_days"
    )
    campaign_id = models.BigIntegerField(null=True, blank=True)
    template_id = models.BigIntegerField(null=True, blank=True)
    day = models.DateField()
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    # What pages show: the larger of the two accounts below. Both measure the same messages, so adding them
    # would count a day twice; the larger is the more complete (webhooks missed while the door was down, or
    # metrics read before late events came in). catalog/health/counters.py keeps it so.
    count = models.PositiveBigIntegerField(default=0)
    # Events the webhooks delivered, counted (added to), and Iterable's campaign metrics for the day (set by
    # the backfill; a second backfill replaces its own number).
    webhook_count = models.PositiveBigIntegerField(default=0)
    backfill_count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "bucket", "day", "kind"], name="health_daily_unique"),
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="health_daily_kind_valid"),
        ]
        indexes = [models.Index(fields=["notification", "day"], name="health_daily_notification")]

    def __str__(self) -> str:
        return f"{self.bucket} {self.day} {self.kind}: {self.count}"


class OwnerAlertHook(models.Model):
    """Where an owner's alerts go besides its email: a chat tool's incoming-webhook URL."""

    owner = models.OneToOneField("catalog.Owner", on_delete=models.CASCADE, related_name="alert_hook")
    url = models.URLField(max_length=500)

    def __str__(self) -> str:
        return f"Alert webhook of {self.owner}"


class HealthAlert(models.Model):
    """Something real sends did that someone must look at. One open alert per dedupe key."""

    project = models.ForeignKey("catalog.IterableProject", on_delete=models.CASCADE, related_name="health_alerts")
    notification = models.ForeignKey(
        "catalog.Notification", on_delete=models.CASCADE, null=True, blank=True, related_name="health_alerts"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    dedupe_key = models.CharField(max_length=200)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    # [{"to": ..., "channel": "email"|"webhook", "ok": bool, "error": ...}]
    deliveries = models.JSONField(default=list, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [models.Index(fields=["-last_seen_at", "-id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=Q(acknowledged_at__isnull=True), name="health_alert_open_once"
            ),
            models.CheckConstraint(condition=Q(kind__in=AlertKind.values), name="health_alert_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.notification or self.details.get('campaign_id') or self.project}"
