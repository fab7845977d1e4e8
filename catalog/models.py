"""Every model of the catalog app, imported from the slice that owns it so Django finds them all under the
app label "catalog" (migrations and permissions are the app's). Import from here or from the slice."""

from catalog.audit.models import (  # noqa: F401
    AuditEvent,
)
from catalog.core.models import (  # noqa: F401
    Audience,
    Channel,
    ChannelType,
    CustomEvent,
    DataCenter,
    EventField,
    FieldType,
    Guarded,
    GuardedQuerySet,
    IterableProject,
    Journey,
    JourneyState,
    Medium,
    MessageType,
    Notification,
    NotificationStatus,
    Owner,
    OwnerRole,
    SubscriptionPolicy,
    Template,
    TriggerType,
    api_base_url_allowed,
    api_key_env_name,
    choices_check,
    env_var_name,
)
from catalog.health.models import HealthAlert, HealthDaily, HealthEvent, OwnerAlertHook, WebhookSecret  # noqa: F401
from catalog.io.models import (  # noqa: F401
    CatalogImport,
    CatalogImportStatus,
)
from catalog.jobs.models import (  # noqa: F401
    DeletionRecord,
    InvalidRows,
    Job,
    JobAction,
    JobItem,
    JobRun,
    JobRunStatus,
    JobSource,
    OptOutEvent,
)
from catalog.resync.models import (  # noqa: F401
    SUBSCRIPTION_ARRAY_FIELDS,
    BatchErrorPolicy,
    ContactPreference,
    PreferenceImport,
    ResyncItem,
    ResyncRun,
    ResyncSettings,
)
from catalog.sends.models import (  # noqa: F401
    ProofMode,
    ProofOutcome,
    ProofRecipient,
    ProofSend,
    RecipientStatus,
)
from catalog.sync.models import (  # noqa: F401
    FindingCategory,
    IterableMirror,
    MirrorKind,
    SyncFinding,
    SyncRun,
    SyncStatus,
)
from catalog.tokens.models import (  # noqa: F401
    ApiToken,
)
