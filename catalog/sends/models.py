"""Test sends: who may receive them, and every attempt. "Proof send" in code (pytest collects Test*),
"test send" in the UI."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.core.models import IterableProject, Notification, choices_check


class RecipientStatus(models.TextChoices):
    APPROVED = "approved", "Approved"
    PENDING = "pending", "Waiting for approval"


class ProofRecipient(models.Model):
    """An allowlisted test-send recipient in one project: a person's own (owner set) or shared (owner empty)."""

    project = models.ForeignKey(IterableProject, on_delete=models.CASCADE, related_name="proof_recipients")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="proof_recipients",
        null=True,
        blank=True,
        help_text="Empty for a shared recipient (managed by admins).",
    )
    email = models.CharField(max_length=254, blank=True)
    user_id = models.CharField("userId", max_length=200, blank=True)
    label = models.CharField(max_length=100, blank=True, help_text="Who or what this is, e.g. 'QA iPhone'.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Consent: a person's own login address and staff-domain addresses are approved at once; any other
    # address (a customer's, a userId) waits for a second person with the manage permission.
    status = models.CharField(max_length=10, choices=RecipientStatus.choices, default=RecipientStatus.APPROVED)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project__name", "email", "user_id", "id"]
        constraints = [
            choices_check("status", RecipientStatus, "proof_recipient_status_valid"),
            models.CheckConstraint(
                condition=(Q(email="") & ~Q(user_id="")) | (~Q(email="") & Q(user_id="")),
                name="proof_recipient_one_identity",
                violation_error_message="Give an email address or a userId (one of them).",
            ),
            models.UniqueConstraint(
                fields=["project", "owner", "email", "user_id"],
                condition=Q(owner__isnull=False),
                name="proof_recipient_own_unique",
                violation_error_message="You already have this test recipient in this project.",
            ),
            models.UniqueConstraint(
                fields=["project", "email", "user_id"],
                condition=Q(owner__isnull=True),
                name="proof_recipient_shared_unique",
                violation_error_message="This shared test recipient already exists in this project.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email or self.user_id} ({'shared' if self.owner_id is None else 'own'}, {self.project})"

    @property
    def shared(self) -> bool:
        return self.owner_id is None

    @property
    def identifier(self) -> str:
        return self.email or self.user_id


class ProofMode(models.TextChoices):
    CAMPAIGN = "campaign", "Campaign send (email/push target)"
    EVENT = "event", "Custom event (starts the journey)"
    TEMPLATE_PROOF = "template_proof", "Template proof (no campaign)"


class ProofOutcome(models.TextChoices):
    PENDING = "pending", "In progress"
    SENT = "sent", "Sent (accepted by Iterable)"
    REFUSED_GUARD = "refused_guard", "Refused by the guard"
    REFUSED_ITERABLE = "refused_iterable", "Refused by Iterable"
    UNKNOWN = "unknown", "Unknown (no answer in time)"
    RATE_LIMITED = "rate_limited", "Refused: too many test sends"


class ProofSend(models.Model):
    """One test-send attempt: who, when, what, to whom, how, the exact request, Iterable's answer, outcome."""

    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="proof_sends"
    )
    actor_label = models.CharField(max_length=150)
    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="proof_sends")
    notification = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="proof_sends"
    )
    notification_key = models.CharField(max_length=120, help_text="Kept if the notification is deleted.")
    recipient = models.ForeignKey(
        ProofRecipient, on_delete=models.SET_NULL, null=True, blank=True, related_name="sends"
    )
    recipient_email = models.CharField(max_length=254, blank=True)
    recipient_user_id = models.CharField(max_length=200, blank=True)
    mode = models.CharField(max_length=20, choices=ProofMode.choices)
    template_iterable_id = models.PositiveIntegerField(null=True, blank=True)
    endpoint = models.CharField(max_length=100, blank=True, help_text="e.g. POST /api/email/target")
    request_body = models.JSONField(default=dict, blank=True, help_text="Exactly what was (or would be) sent.")
    outcome = models.CharField(max_length=20, choices=ProofOutcome.choices, default=ProofOutcome.PENDING)
    error_code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True, help_text="The outcome in words.")
    response = models.JSONField(null=True, blank=True, help_text="Iterable's answer (body or error).")
    checks = models.JSONField(default=dict, blank=True, help_text="What the guard read from Iterable and judged.")
    submission_token = models.CharField(
        max_length=64, unique=True, null=True, blank=True, help_text="One per form: a double submit sends once."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"]),
            models.Index(fields=["notification", "outcome", "-created_at"]),
            models.Index(fields=["actor", "created_at"]),
        ]
        constraints = [
            choices_check("mode", ProofMode, "proof_send_mode_valid"),
            choices_check("outcome", ProofOutcome, "proof_send_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"Test send #{self.pk} of {self.notification_key} to {self.recipient_email or self.recipient_user_id}"

    @property
    def recipient_identifier(self) -> str:
        return self.recipient_email or self.recipient_user_id
