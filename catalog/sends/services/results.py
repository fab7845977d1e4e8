"""What a test send is made of: its request, plan, verdict and preview, and the codes of its refusals."""

import json
import re
from dataclasses import dataclass, field

from catalog.models import (
    Notification,
    ProofRecipient,
    ProofSend,
    Template,
)

# (sends, seconds) per user; PROOF_SEND_RATE_LIMIT in settings overrides it.
DEFAULT_RATE_LIMIT = (10, 60)
SENDABLE_MEDIA = ("Email", "Push")
MAX_DATA_FIELDS_BYTES = 64 * 1024
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

NOT_ALLOWLISTED = "recipient-not-allowlisted"
RECIPIENT_INELIGIBLE = "recipient-ineligible"
LIVE_CHECK_FAILED = "live-check-failed"
TYPE_MISSING = "type-missing-in-iterable"
RATE_LIMITED = "rate-limited"
PRIVATE_RECIPIENT = "(someone's private test recipient)"


class ProofSendDuplicate(Exception):
    """The form was already submitted: its attempt exists and nothing was sent again."""

    def __init__(self, attempt: ProofSend):
        self.attempt = attempt
        super().__init__(
            f"This form was already submitted (test send #{attempt.pk}, {attempt.get_outcome_display().lower()}); "
            "it was not sent again."
        )


@dataclass(frozen=True)
class ProofRequest:
    """The exact call that goes to Iterable: method and path, and the JSON body."""

    path: str
    body: dict

    @property
    def endpoint(self) -> str:
        return f"POST {self.path}"

    @property
    def body_json(self) -> str:
        return json.dumps(self.body, indent=2, ensure_ascii=False)


@dataclass
class ProofVerdict:
    """Would the send go ahead: the deciding code and sentence, and what was read from Iterable to judge it."""

    allowed: bool
    code: str = ""
    message: str = ""
    checks: dict = field(default_factory=dict)


@dataclass
class ProofPlan:
    """Checked input of one test send: who, how, with what, and the request it makes."""

    notification: Notification
    mode: str
    template: Template | None
    email: str
    user_id: str
    data_fields: dict
    request: ProofRequest
    recipient: ProofRecipient | None = None
    impact: "EventImpact | None" = None


@dataclass
class EventImpact:
    """What sending a custom event starts: the journeys it triggers, their campaigns, how many messages."""

    event: str
    journeys: list[str]
    campaigns: list[str]
    source: str

    @property
    def messages(self) -> int:
        """At most one message per campaign of the journeys, per contact that enters them."""
        return len(self.campaigns)

    @property
    def sentence(self) -> str:
        if not self.journeys:
            return (
                f"Sending the '{self.event}' event is a real event: the catalog knows no journey it starts, but "
                "any journey in Iterable triggered by it will start for the recipient."
            )
        journeys = ", ".join(f"'{j}'" for j in self.journeys)
        campaigns = f": {', '.join(self.campaigns)}" if self.campaigns else ""
        return (
            f"Sending the '{self.event}' event starts the journey {journeys} for the recipient, for real. It has "
            f"{self.messages} campaign{'s' if self.messages != 1 else ''}{campaigns}; the recipient may get up to "
            f"{self.messages} message{'s' if self.messages != 1 else ''} over the journey's schedule "
            f"(counted from {self.source}). A template proof starts nothing."
        )

    def as_dict(self) -> dict:
        return {
            "event": self.event,
            "journeys": self.journeys,
            "campaigns": self.campaigns,
            "messages": self.messages,
            "source": self.source,
            "summary": self.sentence,
        }


@dataclass
class ProofPreview:
    """The request that would go to Iterable, and whether the guard and the recipient's subscriptions allow it."""

    plan: ProofPlan
    verdict: ProofVerdict
    # The messages as the recipient would see them (catalog.sends.services.rendering.RenderedMessage), or why not.
    rendered: list = field(default_factory=list)
    render_error: str = ""
