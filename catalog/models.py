"""The notifications catalog: what staff declare about every Iterable notification.

The guard (catalog/policy.py) is enforced on save of the three models it depends on (Notification,
MessageType, Channel) and on their querysets' update(), so no door that goes through the ORM can store a
notification on a forbidden message type. The enforcement itself lives in catalog/services/guard.py.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q

from catalog import policy
from catalog.iterable import API_KEY_ENV_PATTERN


class DataCenter(models.TextChoices):
    US = "US", "US (api.iterable.com)"
    EU = "EU", "EU (api.eu.iterable.com)"


class ChannelType(models.TextChoices):
    MARKETING = policy.MARKETING, "Marketing"
    TRANSACTIONAL = policy.TRANSACTIONAL, "Transactional"


class Medium(models.TextChoices):
    EMAIL = "Email", "Email"
    PUSH = "Push", "Push"
    SMS = "SMS", "SMS"
    IN_APP = "InApp", "In-app"
    WEB_PUSH = "WebPush", "Web push"


class SubscriptionPolicy(models.TextChoices):
    OPT_IN = policy.OPT_IN, "Opt-in"
    OPT_OUT = policy.OPT_OUT, "Opt-out"


class TriggerType(models.TextChoices):
    API_SEND = policy.API_SEND, "API send (campaign id)"
    CUSTOM_EVENT = policy.CUSTOM_EVENT, "Custom event + journey"


class NotificationStatus(models.TextChoices):
    DRAFT = policy.DRAFT, "Draft"
    ACTIVE = policy.ACTIVE, "Active"
    DEPRECATED = policy.DEPRECATED, "Deprecated"


class Audience(models.TextChoices):
    STUDENTS = "students", "Students"
    EMPLOYERS = "employers", "Employers"
    ALL = "all", "All users"


class OwnerRole(models.TextChoices):
    BUSINESS = "business", "Business owner"
    TECHNICAL = "technical", "Technical owner"
    CAMPAIGNS = "campaigns", "Campaigns owner"


class JourneyState(models.TextChoices):
    DRAFT = "draft", "Draft"
    ENABLED = "enabled", "Enabled"
    DISABLED = "disabled", "Disabled"
    ARCHIVED = "archived", "Archived"


class FieldType(models.TextChoices):
    STRING = "String", "String"
    BOOLEAN = "Boolean", "Boolean"
    DATE = "Date", "Date"
    LONG = "Long", "Long (integer)"
    DOUBLE = "Double", "Double (decimal)"
    OBJECT = "Object", "Object"
    ARRAY = "Array", "Array"


class GuardedQuerySet(models.QuerySet):
    """Runs the guard on update(), bulk_update() and bulk_create(), which bypass save().

    The database refuses the same writes (catalog/guard_sql.py); its refusals are turned into the
    guard's ValidationError here, in a savepoint so the caller's transaction stays usable.
    """

    def _enforce(self, objs) -> None:
        from catalog.services.guard import enforce

        for obj in objs:
            enforce(obj)

    def _touches_guard(self, fields) -> bool:
        from catalog.services.guard import GUARDED_FIELDS

        return bool(GUARDED_FIELDS[self.model] & set(fields))

    def _write(self, method, *args, **kwargs):
        from catalog.services.guard import database_refusals_as_validation_errors

        with database_refusals_as_validation_errors(), transaction.atomic(using=self.db):
            return method(*args, **kwargs)

    def update(self, **kwargs):
        if self._touches_guard(kwargs):
            if any(hasattr(value, "resolve_expression") for value in kwargs.values()):
                raise ValueError("Guarded fields cannot be updated with expressions; save each object instead.")
            objs = list(self)
            for obj in objs:
                for name, value in kwargs.items():
                    setattr(obj, name, value)
            self._enforce(objs)
        return self._write(super().update, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if self._touches_guard(fields):
            self._enforce(objs)
        return self._write(super().bulk_update, objs, fields, *args, **kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        self._enforce(objs)
        return self._write(super().bulk_create, objs, *args, **kwargs)


class Guarded(models.Model):
    """A model the guard judges before every write."""

    objects = GuardedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        from catalog.services.guard import enforce

        enforce(self)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from catalog.services.guard import enforce

        super().clean()
        enforce(self)


def _choices_check(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


env_var_name = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$",
    "Use the name of an environment variable (capital letters, digits, underscores), never the key itself.",
)
# Only variables meant for Iterable keys: a project must never be able to name SECRET_KEY or DATABASE_URL.
api_key_env_name = RegexValidator(
    API_KEY_ENV_PATTERN,
    "Use the name of an environment variable ITERABLE_API_KEY_<NAME> (capital letters, digits, underscores), e.g. "
    "ITERABLE_API_KEY_STUDENT_US; never the key itself.",
)


def api_base_url_allowed(value: str) -> None:
    """A project's key may go only to Iterable's data centres, or to a host ITERABLE_ALLOWED_HOSTS lists."""
    from django.core.exceptions import ValidationError

    from catalog.iterable.client import base_url_refusal

    refusal = base_url_refusal(value, settings.ITERABLE_ALLOWED_HOSTS) if value else None
    if refusal:
        raise ValidationError(refusal, code="host_not_allowed")


class IterableProject(models.Model):
    """One Iterable project: its data centre and the environment variable that holds its API key."""

    name = models.CharField(max_length=100, unique=True)
    data_center = models.CharField(max_length=2, choices=DataCenter.choices, default=DataCenter.US)
    api_key_env = models.CharField(
        "API key environment variable",
        max_length=100,
        validators=[api_key_env_name],
        help_text="Name of the environment variable that holds this project's API key: ITERABLE_API_KEY_<NAME>.",
    )
    api_base_url = models.URLField(
        "API base URL override",
        blank=True,
        validators=[api_base_url_allowed],
        help_text="Leave blank for Iterable's host in this data centre. Anything else (the local emulator) only "
        "when the server's ITERABLE_ALLOWED_HOSTS lists it.",
    )
    iterable_project_id = models.PositiveIntegerField("Iterable project id", null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            _choices_check("data_center", DataCenter, "project_data_center_valid"),
            # Django's regex lookup is the database's own on PostgreSQL and a function Django registers on SQLite.
            models.CheckConstraint(
                condition=Q(api_key_env__regex=API_KEY_ENV_PATTERN),
                name="project_api_key_env_iterable",
                violation_error_message=api_key_env_name.message,
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def app_url(self) -> str:
        return "https://app.eu.iterable.com" if self.data_center == DataCenter.EU else "https://app.iterable.com"


class Channel(Guarded):
    """An Iterable channel: Marketing or Transactional, on one medium."""

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="channels")
    iterable_id = models.PositiveIntegerField("Iterable id")
    name = models.CharField(max_length=200)
    channel_type = models.CharField(max_length=20, choices=ChannelType.choices)
    medium = models.CharField(max_length=10, choices=Medium.choices)

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "iterable_id"], name="channel_iterable_id_unique"),
            models.UniqueConstraint(fields=["project", "name"], name="channel_name_unique"),
            _choices_check("channel_type", ChannelType, "channel_type_valid"),
            _choices_check("medium", Medium, "channel_medium_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel_type} {self.medium})"


class MessageType(Guarded):
    """An Iterable message type: belongs to one channel and carries the subscription policy."""

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="message_types")
    iterable_id = models.PositiveIntegerField("Iterable id")
    name = models.CharField(max_length=200)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="message_types")
    policy = models.CharField(
        "subscription policy", max_length=10, choices=SubscriptionPolicy.choices, default=SubscriptionPolicy.OPT_IN
    )
    deprecated = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    # Whether the name reads as "Marketing Message" (catalog/lookalikes.py). The database computes it
    # again on every write (catalog/guard_sql.py), so no writer can store a wrong value.
    name_forbidden = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "iterable_id"], name="message_type_iterable_id_unique"),
            models.UniqueConstraint(fields=["project", "name"], name="message_type_name_unique"),
            _choices_check("policy", SubscriptionPolicy, "message_type_policy_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_policy_display()})"

    def save(self, *args, **kwargs):
        self.name_forbidden = policy.is_marketing_message(self.name)
        super().save(*args, **kwargs)


class Template(Guarded):
    """An Iterable template, by id; through its message type it has one channel."""

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="templates")
    iterable_id = models.PositiveIntegerField("Iterable template id")
    name = models.CharField(max_length=200)
    medium = models.CharField(max_length=10, choices=Medium.choices)
    message_type = models.ForeignKey(
        MessageType, on_delete=models.PROTECT, related_name="templates", null=True, blank=True
    )
    campaign_id = models.PositiveIntegerField("Iterable campaign id", null=True, blank=True)
    client_template_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "iterable_id"], name="template_iterable_id_unique"),
            _choices_check("medium", Medium, "template_medium_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.iterable_id})"


class Journey(models.Model):
    """An Iterable journey (workflow) and the custom events that trigger it."""

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="journeys")
    iterable_id = models.PositiveIntegerField("Iterable id")
    name = models.CharField(max_length=200)
    folder = models.CharField(max_length=200, blank=True)
    link = models.URLField(blank=True)
    trigger_event_names = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=JourneyState.choices, default=JourneyState.ENABLED)

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "iterable_id"], name="journey_iterable_id_unique"),
            _choices_check("state", JourneyState, "journey_state_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomEvent(models.Model):
    """A custom event posted to Iterable's events/track, with the schema of its data fields."""

    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="custom_events")
    name = models.CharField("event name", max_length=200)
    source_system = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="custom_event_name_unique")]

    def __str__(self) -> str:
        return self.name

    def example_payload(self) -> dict:
        return {field.name: field.example_value() for field in self.fields.all()}


class EventField(models.Model):
    """One data field of a custom event: name, type, example value and whether it is required."""

    event = models.ForeignKey(CustomEvent, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=200)
    data_type = models.CharField(max_length=10, choices=FieldType.choices, default=FieldType.STRING)
    example = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["event", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["event", "name"], name="event_field_name_unique"),
            _choices_check("data_type", FieldType, "event_field_type_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.event.name}.{self.name} ({self.data_type})"

    def example_value(self):
        """The example as the JSON value Iterable would receive (true, not "true")."""
        if self.data_type == FieldType.BOOLEAN:
            return self.example.strip().lower() in {"true", "1", "yes"}
        if self.data_type == FieldType.LONG:
            try:
                return int(self.example)
            except ValueError:
                return self.example
        if self.data_type == FieldType.DOUBLE:
            try:
                return float(self.example)
            except ValueError:
                return self.example
        return self.example


class Owner(models.Model):
    """A DRI: a team or role (not a person) that owns notifications, with its role and contact."""

    name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=OwnerRole.choices)
    email = models.EmailField()
    slack_channel = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name", "role"]
        constraints = [
            models.UniqueConstraint(fields=["name", "role"], name="owner_name_role_unique"),
            _choices_check("role", OwnerRole, "owner_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class Notification(Guarded):
    """One notification the company sends through Iterable, as staff declare it."""

    # What staff edit, in form order; the form and the API both use this list.
    EDITABLE_FIELDS = (
        "key", "name", "description", "audience", "project", "medium", "trigger_type", "campaign_id", "event",
        "journey", "templates", "message_type", "owners", "status", "tags", "code_location",
    )  # fmt: skip

    key = models.SlugField(max_length=120, unique=True, help_text="Stable identifier, e.g. student_weekly_digest")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    audience = models.CharField(max_length=20, choices=Audience.choices)
    project = models.ForeignKey(IterableProject, on_delete=models.PROTECT, related_name="notifications")
    medium = models.CharField(max_length=10, choices=Medium.choices)
    trigger_type = models.CharField(max_length=20, choices=TriggerType.choices)
    campaign_id = models.PositiveIntegerField("Iterable campaign id", null=True, blank=True)
    event = models.ForeignKey(
        CustomEvent, on_delete=models.PROTECT, related_name="notifications", null=True, blank=True
    )
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="notifications", null=True, blank=True)
    templates = models.ManyToManyField(Template, related_name="notifications", blank=True)
    message_type = models.ForeignKey(MessageType, on_delete=models.PROTECT, related_name="notifications")
    owners = models.ManyToManyField(Owner, related_name="notifications", blank=True)
    status = models.CharField(max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.DRAFT)
    tags = models.JSONField(default=list, blank=True)
    code_location = models.CharField(
        "sent from (code)", max_length=300, blank=True, help_text="Where in the codebase the send happens."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The guard's last verdict, kept so lists can filter and show it without judging every row;
    # catalog/signals.py refreshes it whenever anything it depends on changes.
    verdict_codes = models.JSONField(default=list, blank=True, editable=False)
    verdict_errors = models.PositiveSmallIntegerField(default=0, editable=False)
    verdict_warnings = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["key"]
        # Capabilities that are not a model's add/change/delete; catalog/roles.py gives them to roles.
        permissions = [
            ("lookup_contact", "Can look up contacts in Iterable"),
            ("send_proof", "Can send test sends to allowlisted recipients"),
            ("run_resync", "Can start and cancel preference resyncs"),
            ("run_sync", "Can start catalog syncs from Iterable"),
            ("manage_shared_recipients", "Can manage shared test recipients"),
        ]
        constraints = [
            _choices_check("trigger_type", TriggerType, "notification_trigger_type_valid"),
            _choices_check("status", NotificationStatus, "notification_status_valid"),
            _choices_check("audience", Audience, "notification_audience_valid"),
            _choices_check("medium", Medium, "notification_medium_valid"),
            # A draft may be incomplete (the guard warns); anything live must say how it is triggered.
            models.CheckConstraint(
                condition=Q(status=policy.DRAFT)
                | Q(trigger_type=policy.API_SEND, campaign_id__isnull=False)
                | Q(trigger_type=policy.CUSTOM_EVENT, event__isnull=False, journey__isnull=False),
                name="notification_trigger_complete",
                violation_error_message=(
                    "An active or deprecated notification needs its trigger: a campaign id for an API send, "
                    "or a custom event and a journey for a custom-event notification."
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "trigger_type"]),
            models.Index(fields=["verdict_errors", "verdict_warnings"]),
        ]

    def __str__(self) -> str:
        return self.key


class AuditEvent(models.Model):
    """A record of one write or send: who, when, what, and the fields before and after."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
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
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_repr}"
        )


class ApiToken(models.Model):
    """A user's API token for scripts: only a SHA-256 hash of its secret is stored, with a lookup prefix."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. the script that uses it.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Every token expires (API_TOKEN_MAX_DAYS).")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="replaces"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# ---------------------------------------------------------------------------------------------------------
# Catalog sync: Iterable's side, mirrored (issue #9). Kept apart from the catalog on purpose: the catalog is
# what staff declare, the mirror is what Iterable says; drift is the difference between the two.


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
    started_at = models.DateTimeField(db_index=True)
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
        indexes = [models.Index(fields=["project", "-started_at"])]
        constraints = [_choices_check("status", SyncStatus, "sync_run_status_valid")]

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
            _choices_check("kind", MirrorKind, "mirror_kind_valid"),
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
        constraints = [_choices_check("category", FindingCategory, "sync_finding_category_valid")]

    def __str__(self) -> str:
        return f"{self.code}: {self.message[:80]}"


# ---------------------------------------------------------------------------------------------------------
# Preference resync (issue #8): the company's desired subscription state, and runs that push it to Iterable.
# Rules live in catalog/services/resync.py and resync_ingest.py; these are the records.

SUBSCRIPTION_ARRAY_FIELDS = {
    # model field -> Iterable array name
    "unsubscribed_channel_ids": "unsubscribedChannelIds",
    "unsubscribed_message_type_ids": "unsubscribedMessageTypeIds",
    "subscribed_message_type_ids": "subscribedMessageTypeIds",
    "email_list_ids": "emailListIds",
}


class BatchErrorPolicy(models.TextChoices):
    CONTINUE = "continue", "Record the batch as failed and continue"
    STOP = "stop", "Stop the run (it can be resumed by retrying)"


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
    batch_size = models.PositiveIntegerField(default=1000)
    rate_per_second = models.FloatField(default=5.0, help_text="bulkUpdateSubscriptions calls per second.")
    read_concurrency = models.PositiveSmallIntegerField(default=8)
    on_batch_error = models.CharField(
        max_length=10, choices=BatchErrorPolicy.choices, default=BatchErrorPolicy.CONTINUE
    )
    schedule_enabled = models.BooleanField(default=False)
    schedule_minutes = models.PositiveIntegerField(default=60)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project__name"]
        verbose_name_plural = "resync settings"

    def __str__(self) -> str:
        return f"Resync settings of {self.project}"


class PreferenceImport(models.Model):
    """One intake of desired preferences (CSV upload or API upsert): who, when, what was kept and rejected."""

    class Source(models.TextChoices):
        CSV = "csv", "CSV upload"
        API = "api", "API upsert"

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
    contacts = models.ManyToManyField("ContactPreference", related_name="imports", blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

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
    resynced_run = models.ForeignKey(
        "ResyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["project__name", "email"]
        constraints = [models.UniqueConstraint(fields=["project", "email"], name="contact_preference_unique")]
        indexes = [models.Index(fields=["project", "changed_at"])]

    def __str__(self) -> str:
        return self.email


class ResyncRun(models.Model):
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
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    dry_run = models.BooleanField(default=False)
    selection = models.CharField(max_length=10, choices=Selection.choices)
    selection_detail = models.JSONField(default=dict, blank=True)
    compare = models.CharField(max_length=5, choices=Compare.choices, default=Compare.READ)
    source_run = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    batch_size = models.PositiveIntegerField()
    rate_per_second = models.FloatField()
    on_batch_error = models.CharField(max_length=10, choices=BatchErrorPolicy.choices)
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
    # resumed without the run getting further (past RESYNC_MAX_RESUMES it fails, with the reason).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    resumes = models.PositiveIntegerField(default=0)
    resumed_at_batch = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        kind = "Dry run" if self.dry_run else "Resync"
        return f"{kind} #{self.pk} of {self.project} ({self.status})"


class ResyncItem(models.Model):
    """One contact in one run: its progress, outcome, the difference found and any failure reason."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(ResyncRun, on_delete=models.CASCADE, related_name="items")
    contact = models.ForeignKey(ContactPreference, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    outcome = models.CharField(max_length=20, blank=True)
    diff = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    batch_no = models.PositiveIntegerField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "contact"], name="resync_item_unique")]
        indexes = [models.Index(fields=["run", "status"])]

    def __str__(self) -> str:
        return f"run {self.run_id} contact {self.contact_id}: {self.status}"


# ---------------------------------------------------------------------------------------------------------
# Test sends (issue #7): who may receive them, and every attempt. Rules live in catalog/services/sends.py.
# "Proof send" in code (pytest collects Test*), "test send" in the UI.


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
            _choices_check("status", RecipientStatus, "proof_recipient_status_valid"),
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

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
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
            models.Index(fields=["notification", "outcome", "-created_at"]),
            models.Index(fields=["actor", "created_at"]),
        ]
        constraints = [
            _choices_check("mode", ProofMode, "proof_send_mode_valid"),
            _choices_check("outcome", ProofOutcome, "proof_send_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"Test send #{self.pk} of {self.notification_key} to {self.recipient_email or self.recipient_user_id}"

    @property
    def recipient_identifier(self) -> str:
        return self.recipient_email or self.recipient_user_id


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
        constraints = [_choices_check("status", CatalogImportStatus, "catalog_import_status_valid")]

    def __str__(self) -> str:
        return f"Catalog import #{self.pk} ({self.filename or self.fmt}, {self.status})"


from catalog.health.models import HealthAlert, HealthDaily, HealthEvent, OwnerAlertHook, WebhookSecret  # noqa: E402, F401
