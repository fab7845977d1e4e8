"""The guard: the catalog's rules, stated once, as pure functions over plain facts.

The rule that matters: an opt-out message type on a Marketing channel mails everyone who never
unsubscribed, including people who never opted in, and Iterable's default "Marketing Message" type is
exactly that. Every door (model save, forms, admin, API, import, sync, test sends) asks these functions;
nothing else re-implements the rule. The functions take facts, not models, so the same rule judges the
catalog, Iterable's own data and a proposed change before it is made.
"""

import unicodedata
from dataclasses import dataclass, field
from functools import cache

from catalog.guard import lookalikes

MARKETING = "Marketing"
TRANSACTIONAL = "Transactional"
OPT_IN = "OptIn"
OPT_OUT = "OptOut"
API_SEND = "api_send"
CUSTOM_EVENT = "custom_event"
DRAFT = "draft"
ACTIVE = "active"
DEPRECATED = "deprecated"

MARKETING_MESSAGE_NAME = "Marketing Message"

ERROR = "error"
WARNING = "warning"

OPTOUT_MARKETING = "optout-marketing"
MARKETING_MESSAGE_TYPE = "marketing-message-type"
NO_OWNER = "no-owner"
DEPRECATED_MESSAGE_TYPE = "deprecated-message-type"
TRIGGER_INCOMPLETE = "trigger-incomplete"

CODES = {
    OPTOUT_MARKETING: ERROR,
    MARKETING_MESSAGE_TYPE: ERROR,
    NO_OWNER: WARNING,
    DEPRECATED_MESSAGE_TYPE: WARNING,
    TRIGGER_INCOMPLETE: WARNING,
}


@dataclass(frozen=True)
class Violation:
    """One broken rule: a code, its severity, the objects involved and a sentence a marketer understands."""

    code: str
    severity: str
    message: str
    objects: tuple[str, ...] = ()
    field: str = ""
    # "catalog": what staff declare breaks a rule; "iterable": the latest sync found it in Iterable itself.
    source: str = "catalog"

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


@dataclass(frozen=True)
class MessageTypeFacts:
    """What the rule needs to know about a message type, from the catalog or from Iterable."""

    name: str
    policy: str | None
    channel_name: str
    channel_type: str | None
    deprecated: bool = False


@dataclass(frozen=True)
class NotificationFacts:
    """What the rules need to know about a notification. owner_count None means not known yet."""

    key: str
    status: str
    trigger_type: str
    message_type: MessageTypeFacts | None
    campaign_id: int | None = None
    has_event: bool = False
    has_journey: bool = False
    owner_count: int | None = None
    templates: tuple[tuple[str, MessageTypeFacts | None], ...] = field(default_factory=tuple)


def normalise_name(name: str) -> str:
    """Fold case, compatibility characters and whitespace: how two spellings of one name are matched."""
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return " ".join(folded.split())


@cache
def forbidden_name_keys() -> frozenset[str]:
    """Look-alike keys of the forbidden name. UTS #39 makes capital "I" a look-alike of "l" but not of
    "i"; the key ignores case, so the "l" spelling is listed too ("MARKETlNG MESSAGE")."""
    name = MARKETING_MESSAGE_NAME
    return frozenset({lookalikes.key(name), lookalikes.key(name.replace("i", "l"))})


def is_marketing_message(name: str) -> bool:
    """True for "Marketing Message" however it is disguised: case, spacing, punctuation, invisible
    characters, fullwidth forms, Cyrillic or Greek look-alike letters (catalog/lookalikes.py)."""
    return lookalikes.key(name) in forbidden_name_keys()


def effective_policy(policy: str | None) -> str:
    """Iterable omits the policy on old message types and treats them as opt-out; so do we.

    Anything that is not exactly opt-in counts as opt-out: an unknown value must fail closed.
    """
    return OPT_IN if policy == OPT_IN else OPT_OUT


def effective_channel_type(channel_type: str | None) -> str:
    """Only a channel that says exactly Transactional is one; anything else (missing, "marketing", a new
    value) is judged as Marketing: an unknown value must fail closed."""
    return TRANSACTIONAL if channel_type == TRANSACTIONAL else MARKETING


def message_type_violations(
    message_type: MessageTypeFacts, *, subject: str, field_name: str = "message_type"
) -> list[Violation]:
    """The two errors: an opt-out type on a Marketing channel, and the "Marketing Message" type anywhere.

    `subject` names what would be sent on the type ("Notification 'weekly_digest'", "Template #123").
    """
    found = []
    type_label = f"message type '{message_type.name}'"
    channel_label = f"channel '{message_type.channel_name}'"
    if (
        effective_channel_type(message_type.channel_type) == MARKETING
        and effective_policy(message_type.policy) == OPT_OUT
    ):
        found.append(
            Violation(
                code=OPTOUT_MARKETING,
                severity=ERROR,
                message=(
                    f"{subject} would go out on the opt-out {type_label} on the Marketing {channel_label}: "
                    "it would reach everyone who never unsubscribed, including people who never opted in. "
                    "Use an opt-in marketing message type."
                ),
                objects=(subject, type_label, channel_label),
                field=field_name,
            )
        )
    if is_marketing_message(message_type.name):
        found.append(
            Violation(
                code=MARKETING_MESSAGE_TYPE,
                severity=ERROR,
                message=(
                    f'{subject} uses the "{MARKETING_MESSAGE_NAME}" message type, Iterable\'s opt-out '
                    "default, which can email people who unsubscribed. Do not use it: pick the message "
                    "type that matches what you send."
                ),
                objects=(subject, type_label),
                field=field_name,
            )
        )
    return found


def notification_violations(notification: NotificationFacts) -> list[Violation]:
    """Every rule for one notification: errors first, then warnings."""
    subject = f"Notification '{notification.key}'"
    found: list[Violation] = []
    if notification.message_type is not None:
        found += message_type_violations(notification.message_type, subject=subject)
    for template_label, template_type in notification.templates:
        if template_type is not None:
            found += message_type_violations(
                template_type, subject=f"{subject} through {template_label}", field_name="templates"
            )

    if notification.owner_count == 0:
        found.append(
            Violation(
                code=NO_OWNER,
                severity=WARNING,
                message=f"{subject} has no owner: nobody answers for what it sends. Add a DRI.",
                objects=(subject,),
                field="owners",
            )
        )
    if notification.status == ACTIVE and notification.message_type is not None and notification.message_type.deprecated:
        found.append(
            Violation(
                code=DEPRECATED_MESSAGE_TYPE,
                severity=WARNING,
                message=(
                    f"{subject} is active on the deprecated message type "
                    f"'{notification.message_type.name}'. Move it to a current type."
                ),
                objects=(subject, f"message type '{notification.message_type.name}'"),
                field="message_type",
            )
        )
    if notification.trigger_type == API_SEND and notification.campaign_id is None:
        found.append(
            Violation(
                code=TRIGGER_INCOMPLETE,
                severity=WARNING,
                message=f"{subject} is an API send without a campaign id: the code cannot send it.",
                objects=(subject,),
                field="campaign_id",
            )
        )
    elif notification.trigger_type == CUSTOM_EVENT and not (notification.has_event and notification.has_journey):
        missing = " and ".join(
            part
            for part, present in (("custom event", notification.has_event), ("journey", notification.has_journey))
            if not present
        )
        found.append(
            Violation(
                code=TRIGGER_INCOMPLETE,
                severity=WARNING,
                message=f"{subject} is triggered by a custom event but has no {missing}: nothing would send it.",
                objects=(subject,),
                field="event" if not notification.has_event else "journey",
            )
        )
    return sorted(found, key=lambda v: v.severity != ERROR)


def errors(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.is_error]


# --- Eligibility: would a message on this type reach this contact? -------------------------------------
# Iterable does not publish its algorithm; this is the rule its docs and the emulator apply. It is a
# catalog rule, so it lives here beside the guard, and the lookup page and test sends both ask it.

SUBSCRIBED = "subscribed"
UNSUBSCRIBED = "unsubscribed"
NOT_OPTED_IN = "never opted in"
CHANNEL_BLOCKED = "blocked by the channel"
OPT_OUT_DEFAULT = "receiving by default"


@dataclass(frozen=True)
class ContactSubscriptions:
    """A contact's subscription arrays as Iterable holds them (missing arrays are empty)."""

    subscribed_message_type_ids: frozenset[int] = frozenset()
    unsubscribed_channel_ids: frozenset[int] = frozenset()
    unsubscribed_message_type_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Eligibility:
    """Whether messages of one type reach a contact, the deciding rule, and why in words."""

    allowed: bool
    state: str
    rule: str
    reason: str


def eligibility(
    subscriptions: ContactSubscriptions,
    *,
    message_type_id: int,
    message_type_name: str,
    policy: str | None,
    channel_id: int,
    channel_name: str,
) -> Eligibility:
    if channel_id in subscriptions.unsubscribed_channel_ids:
        return Eligibility(
            False,
            CHANNEL_BLOCKED,
            "channel-unsubscribed",
            f"They unsubscribed from the whole '{channel_name}' channel, so nothing on it reaches them.",
        )
    if effective_policy(policy) == OPT_IN:
        if message_type_id in subscriptions.subscribed_message_type_ids:
            return Eligibility(
                True, SUBSCRIBED, "opted-in", f"'{message_type_name}' is opt-in and they opted in to it."
            )
        if message_type_id in subscriptions.unsubscribed_message_type_ids:
            return Eligibility(False, UNSUBSCRIBED, "unsubscribed", f"They unsubscribed from '{message_type_name}'.")
        return Eligibility(
            False,
            NOT_OPTED_IN,
            "not-opted-in",
            f"'{message_type_name}' is opt-in and they never opted in, so it does not reach them.",
        )
    if message_type_id in subscriptions.unsubscribed_message_type_ids:
        return Eligibility(False, UNSUBSCRIBED, "unsubscribed", f"They unsubscribed from '{message_type_name}'.")
    return Eligibility(
        True,
        OPT_OUT_DEFAULT,
        "opt-out-default",
        f"'{message_type_name}' is opt-out: it reaches them because they never unsubscribed.",
    )
