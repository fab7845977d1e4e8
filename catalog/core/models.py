"""The catalog's core: Iterable projects, channels, message types, templates, journeys, custom events,
owners and notifications, as staff declare them.

Channel, MessageType, Template and Notification are guarded: every save, queryset update(), bulk_update() and
bulk_create() is judged by the guard (catalog/guard/), which plugs its enforcement in at start-up
(`guard_install`); the database refuses the same writes with its own triggers (catalog/guard/triggers.py).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q

from catalog.guard import policy
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


@dataclass
class GuardHooks:
    """What the guard (catalog/guard/enforcement.py) plugs into the guarded models at start-up.

    The core does not import the guard's enforcement (which reads the core's models): the guard installs
    itself from the app's ready(). Until it has, every guarded write is refused rather than let through.
    """

    enforce: Callable[[models.Model], None] | None = None
    fields: dict[str, frozenset[str]] = dataclass_field(default_factory=dict)
    database_refusals: Callable[[], AbstractContextManager] | None = None


GUARD = GuardHooks()


def guard_install(
    *,
    enforce: Callable[[models.Model], None],
    fields: dict[str, frozenset[str]],
    database_refusals: Callable[[], AbstractContextManager],
) -> None:
    GUARD.enforce, GUARD.fields, GUARD.database_refusals = enforce, fields, database_refusals


def _guard_enforce(obj: models.Model) -> None:
    if GUARD.enforce is None:
        raise ImproperlyConfigured("The guard is not installed (catalog.apps.CatalogConfig.ready); refusing the write.")
    GUARD.enforce(obj)


class GuardedQuerySet(models.QuerySet):
    """Runs the guard on update(), bulk_update() and bulk_create(), which bypass save().

    The database refuses the same writes (catalog/guard/triggers.py); its refusals are turned into the
    guard's ValidationError here, in a savepoint so the caller's transaction stays usable.
    """

    def _enforce(self, objs) -> None:
        for obj in objs:
            _guard_enforce(obj)

    def _touches_guard(self, fields) -> bool:
        return bool(GUARD.fields.get(self.model._meta.model_name, frozenset()) & set(fields))

    def _write(self, method, *args, **kwargs):
        refusals = GUARD.database_refusals() if GUARD.database_refusals else nullcontext()
        with refusals, transaction.atomic(using=self.db):
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
        _guard_enforce(self)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        _guard_enforce(self)


def choices_check(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
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
            choices_check("data_center", DataCenter, "project_data_center_valid"),
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
            choices_check("channel_type", ChannelType, "channel_type_valid"),
            choices_check("medium", Medium, "channel_medium_valid"),
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
    # Whether the name reads as "Marketing Message" (catalog/guard/lookalikes.py). The database computes it
    # again on every write (catalog/guard/triggers.py), so no writer can store a wrong value.
    name_forbidden = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "iterable_id"], name="message_type_iterable_id_unique"),
            models.UniqueConstraint(fields=["project", "name"], name="message_type_name_unique"),
            choices_check("policy", SubscriptionPolicy, "message_type_policy_valid"),
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
            choices_check("medium", Medium, "template_medium_valid"),
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
            choices_check("state", JourneyState, "journey_state_valid"),
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
            choices_check("data_type", FieldType, "event_field_type_valid"),
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
            choices_check("role", OwnerRole, "owner_role_valid"),
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
            choices_check("trigger_type", TriggerType, "notification_trigger_type_valid"),
            choices_check("status", NotificationStatus, "notification_status_valid"),
            choices_check("audience", Audience, "notification_audience_valid"),
            choices_check("medium", Medium, "notification_medium_valid"),
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
