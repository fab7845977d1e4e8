"""The audit trail: one row per write or action, kept whoever acted."""

from functools import cached_property

from django.conf import settings
from django.db import models

from catalog.audit.words import event_words


class AuditEvent(models.Model):
    """A record of one write or send: who, when, what, and the fields before and after."""

    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="Who acted, kept if the user is deleted.")
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"]), models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_repr}"
        )

    @cached_property
    def words(self):
        """The event in words (catalog/audit/words.py), read when a page shows it: after any masking for its reader."""
        return event_words(self)
