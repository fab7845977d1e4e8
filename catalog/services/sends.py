"""Test sends ("proof sends" in code): a notification sent to an allowlisted recipient, safely and on record.

One send (`proof_send`) goes in this order:
1. The input is checked (mode, template, recipient, data fields against the custom event's schema). Bad input
   raises ValidationError keyed by field; nothing is recorded or sent.
2. The attempt is recorded as pending, with the form's one-time token (unique in the database: a double
   submit finds the first attempt and sends nothing). It is committed before Iterable is called, so even a
   crash mid-send leaves a trace.
3. Per-user rate limit, the allowlist, the guard on the catalog, then the guard on Iterable's LIVE data:
   the templates' current message type, its policy and its channel, read just now and never from a cache.
   If they cannot be read, the send is refused (fail closed).
4. Eligibility: a recipient who would not receive it (unsubscribed, never opted in, channel blocked) is
   refused with the reason. Template proofs ignore subscriptions in Iterable, so they skip this step.
5. Exactly the request `proof_preview` shows is sent, once. Iterable has no idempotency key: after a read
   timeout the outcome is unknown, recorded as such and never retried.
"""

import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.guard import policy
from catalog.guard.enforcement import message_type_facts
from catalog.iterable import IterableError, client_for_project
from catalog.models import (
    EventField,
    FieldType,
    IterableMirror,
    IterableProject,
    MirrorKind,
    Notification,
    ProofMode,
    ProofOutcome,
    ProofRecipient,
    ProofSend,
    RecipientStatus,
    Template,
)
from catalog.roles import LOOKUP_CONTACT, MANAGE_SHARED_RECIPIENTS
from catalog.services.audit import actor_label, audit_event, audit_record, diff, snapshot
from catalog.services.contacts import LookupInputError, contact_subscriptions, identifier_clean
from catalog.services.input_limits import json_loads_bounded
from catalog.services.iterable_support import explain_iterable_error, fan_out, first_error

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


# ------------------------------------------------------------------------------------------- recipients


def proof_recipients_visible(*, user, project: IterableProject | None = None):
    """The test recipients a user sees: their own and the shared ones, approved or waiting for approval."""
    found = ProofRecipient.objects.filter(Q(owner=user) | Q(owner__isnull=True)).select_related("project", "owner")
    return found.filter(project=project) if project is not None else found


def proof_recipients_sendable(*, user, project: IterableProject | None = None):
    """The allowlist a user may send to: their own and the shared recipients that are approved."""
    return proof_recipients_visible(user=user, project=project).filter(status=RecipientStatus.APPROVED)


def proof_recipients_pending(*, user):
    """Everyone's recipients waiting for approval, for those who may approve them (else none)."""
    if not user.has_perm(MANAGE_SHARED_RECIPIENTS):
        return ProofRecipient.objects.none()
    pending = ProofRecipient.objects.filter(status=RecipientStatus.PENDING)
    return pending.select_related("project", "owner", "added_by").order_by("created_at", "id")


def proof_recipient_can_manage(*, user, recipient: ProofRecipient) -> bool:
    """Change or remove it: one's own; shared ones, and anyone's (to refuse it), with the manage permission."""
    if recipient.owner_id == user.pk and recipient.owner_id is not None:
        return True
    return user.has_perm(MANAGE_SHARED_RECIPIENTS)


def proof_recipient_consent_needed(*, actor, email: str, user_id: str) -> bool:
    """Whether a second person must approve this address before it receives anything.

    Not needed for the actor's own login address or an address at a staff domain (TEST_RECIPIENT_DOMAINS):
    those are staff who agreed by adding themselves. Anyone else may be a customer (who may have unsubscribed),
    and a userId cannot be told apart from a customer's, so they wait.
    """
    if user_id or not email:
        return True
    address = email.strip().lower()
    own = (getattr(actor, "email", "") or "").strip().lower()
    if own and address == own:
        return False
    local, at, domain = address.partition("@")
    if not at or "@" in domain or not _plain_local_part(local):
        # Only a plain local@domain reads the same to every mail system; anything else is judged as unknown.
        return True
    domains = {d.lower() for d in getattr(settings, "TEST_RECIPIENT_DOMAINS", [])}
    return domain not in domains


def _consent_apply(*, actor, recipient: ProofRecipient) -> None:
    if proof_recipient_consent_needed(actor=actor, email=recipient.email, user_id=recipient.user_id):
        recipient.status = RecipientStatus.PENDING
        recipient.approved_by, recipient.approved_at = None, None
    else:
        recipient.status = RecipientStatus.APPROVED
        recipient.approved_by, recipient.approved_at = None, timezone.now()


# The dot-atom local part of an address: no quotes, backslashes or spaces. Quoted local parts are valid mail
# ('"a@customer.example"@staff.example.org'), but they let an address read as a staff one to a naive reader while
# some mail systems deliver it elsewhere; nobody's test inbox needs one.
_PLAIN_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def _plain_local_part(local: str) -> bool:
    return bool(_PLAIN_LOCAL_PART.match(local))


def _recipient_clean(recipient: ProofRecipient) -> None:
    try:
        recipient.email, recipient.user_id = identifier_clean(email=recipient.email, user_id=recipient.user_id)
    except LookupInputError as error:
        raise ValidationError({"email": [str(error)]}) from error
    if recipient.email and not _plain_local_part(recipient.email.rpartition("@")[0]):
        raise ValidationError(
            {
                "email": [
                    f"'{recipient.email}' has a quoted or unusual part before the @: give a plain address "
                    "(letters, digits and . _ + - before the @)."
                ]
            }
        )
    recipient.full_clean()


def proof_recipient_create(
    *, actor, project: IterableProject, email: str = "", user_id: str = "", label: str = "", shared: bool = False
) -> ProofRecipient:
    """Add a test recipient: the actor's own, or a shared one (needs catalog.manage_shared_recipients)."""
    if shared and not actor.has_perm(MANAGE_SHARED_RECIPIENTS):
        raise PermissionDenied("Only admins manage shared test recipients.")
    recipient = ProofRecipient(
        project=project,
        owner=None if shared else actor,
        email=email or "",
        user_id=user_id or "",
        label=label or "",
        added_by=actor,
    )
    _recipient_clean(recipient)
    _consent_apply(actor=actor, recipient=recipient)
    recipient.save()
    audit_record(actor=actor, action="create", instance=recipient, changes=diff({}, snapshot(recipient)))
    return recipient


def proof_recipient_update(*, actor, recipient: ProofRecipient, **changes) -> ProofRecipient:
    """Change a test recipient's project, email, userId or label (the owner, and so "shared", stays)."""
    if not proof_recipient_can_manage(user=actor, recipient=recipient):
        raise PermissionDenied("You can change only your own test recipients.")
    stored = ProofRecipient.objects.get(pk=recipient.pk)
    before = snapshot(stored)
    for name in ("project", "email", "user_id", "label"):
        if name in changes:
            setattr(recipient, name, changes[name] if changes[name] is not None else "")
    _recipient_clean(recipient)
    if (recipient.project_id, recipient.email, recipient.user_id) != (stored.project_id, stored.email, stored.user_id):
        # Another address (or project) is another consent: approved again only on the same terms as new.
        recipient.added_by = actor
        _consent_apply(actor=actor, recipient=recipient)
    recipient.save()
    audit_record(actor=actor, action="update", instance=recipient, changes=diff(before, snapshot(recipient)))
    return recipient


def _login_address(user) -> str:
    return (getattr(user, "email", "") or "").strip().lower() if user is not None else ""


def proof_recipient_approval_refusal(*, actor, recipient: ProofRecipient) -> str:
    """Why `actor` may not be the second person for this recipient ("" when they may).

    A second person is another login address, not only another account: an admin's second account with the same
    address (in any case) is the same person, and nobody approves their own address.
    """
    if actor.pk in {recipient.added_by_id, recipient.owner_id}:
        return "A second person approves a test recipient: not the one who added it."
    login = _login_address(actor)
    if not login:
        return ""
    for other in (recipient.added_by, recipient.owner):
        if other is not None and _login_address(other) == login:
            return (
                f"A second person approves a test recipient: your login address is also {other.get_username()}'s, "
                "who added it, so it counts as the same person. Another admin approves it."
            )
    if recipient.email and recipient.email.strip().lower() == login:
        return "This is your own address: another admin approves it, not you."
    return ""


class ProofRecipientChanged(Exception):
    """The recipient is no longer the address or userId the approver was shown: nothing was approved."""


def proof_recipient_approve(*, actor, recipient: ProofRecipient, seen: str) -> ProofRecipient:
    """A second person, with the manage permission, lets a waiting recipient receive test sends. Audited.

    `seen` is the address or userId the approver was shown. The owner may change it between the listing and the
    approval; approving by id alone would then approve an address nobody reviewed, so a mismatch approves nothing.
    """
    if not actor.has_perm(MANAGE_SHARED_RECIPIENTS):
        raise PermissionDenied("Only admins approve test recipients.")
    with transaction.atomic():
        locked = ProofRecipient.objects.select_for_update(of=("self",)).select_related("added_by", "owner")
        recipient = locked.get(pk=recipient.pk)
        refusal = proof_recipient_approval_refusal(actor=actor, recipient=recipient)
        if refusal:
            raise PermissionDenied(refusal)
        if (seen or "").strip() != recipient.identifier:
            raise ProofRecipientChanged(
                f"This test recipient is now {recipient.identifier}, not {(seen or '').strip() or 'what you saw'}: "
                "it changed after it was listed, so nothing was approved. Review it again."
            )
        if recipient.status == RecipientStatus.APPROVED:
            return recipient
        before = snapshot(recipient)
        recipient.status = RecipientStatus.APPROVED
        recipient.approved_by, recipient.approved_at = actor, timezone.now()
        recipient.save(update_fields=["status", "approved_by", "approved_at"])
        audit_record(actor=actor, action="approve", instance=recipient, changes=diff(before, snapshot(recipient)))
    return recipient


def proof_recipient_delete(*, actor, recipient: ProofRecipient) -> None:
    """Remove a test recipient: one's own; shared ones or anyone's (refusing a waiting one) with the manage
    permission. Audited."""
    if not proof_recipient_can_manage(user=actor, recipient=recipient):
        raise PermissionDenied("You can remove only your own test recipients.")
    with transaction.atomic():
        audit_record(actor=actor, action="delete", instance=recipient, changes=diff(snapshot(recipient), {}))
        recipient.delete()


def _allowlisted(*, actor, project: IterableProject, email: str, user_id: str) -> ProofRecipient | None:
    found = proof_recipients_sendable(user=actor, project=project)
    if email:
        return found.filter(email__iexact=email).order_by("owner_id").first()
    return found.filter(user_id=user_id).order_by("owner_id").first()


# ------------------------------------------------------------------------------------------- modes and input


def proof_modes(notification: Notification) -> list[str]:
    """The ways this notification can be test-sent: its own trigger, and a template proof if it has a template."""
    modes = []
    if (
        notification.trigger_type == policy.API_SEND
        and notification.campaign_id
        and notification.medium in SENDABLE_MEDIA
    ):
        modes.append(ProofMode.CAMPAIGN)
    if notification.trigger_type == policy.CUSTOM_EVENT and notification.event_id:
        modes.append(ProofMode.EVENT)
    if any(t.medium in SENDABLE_MEDIA for t in notification.templates.all()):
        modes.append(ProofMode.TEMPLATE_PROOF)
    return modes


def proof_templates(notification: Notification) -> list[Template]:
    """Templates a proof can be sent of."""
    return [t for t in notification.templates.all() if t.medium in SENDABLE_MEDIA]


def proof_mode_default(notification: Notification) -> str | None:
    """The notification's own trigger; for a custom event, a template proof when there is one: the event would
    start the real journey, which a test should do only when someone asks for it."""
    modes = proof_modes(notification)
    if ProofMode.EVENT in modes and ProofMode.TEMPLATE_PROOF in modes:
        return ProofMode.TEMPLATE_PROOF
    return modes[0] if modes else None


def proof_event_impact(notification: Notification) -> EventImpact | None:
    """What a custom-event test send of this notification starts (None for other notifications).

    The journeys are the notification's own and any the catalog lists as triggered by the event; their
    campaigns come from the last sync of Iterable (campaigns by workflowId), else from the catalog's
    notifications on those journeys.
    """
    if not notification.event_id:
        return None
    name = notification.event.name
    journeys = [j for j in notification.project.journeys.all() if name in (j.trigger_event_names or [])]
    if notification.journey_id and notification.journey_id not in {j.pk for j in journeys}:
        journeys.insert(0, notification.journey)
    workflow_ids = [j.iterable_id for j in journeys]
    mirrored = IterableMirror.objects.filter(
        project=notification.project, kind=MirrorKind.CAMPAIGN, iterable_workflow_id__in=workflow_ids
    ).order_by("iterable_id")
    campaigns = [f"{m.name} (#{m.iterable_id})" for m in mirrored]
    source = "Iterable, as of the last sync"
    if not campaigns:
        listed = Notification.objects.filter(journey__in=journeys).order_by("key")
        campaigns = [f"{n.name} (#{n.campaign_id})" if n.campaign_id else n.name for n in listed]
        source = "the catalog (no sync has listed this journey's campaigns)"
    states = {j.pk: j.get_state_display().lower() for j in journeys}
    return EventImpact(name, [f"{j.name} ({states[j.pk]})" for j in journeys], campaigns, source)


def _event_fields(notification: Notification) -> list[EventField]:
    return list(notification.event.fields.all()) if notification.event_id else []


_PLACEHOLDER = re.compile(r"\{\{\{?\s*([A-Za-z_][\w]*(?:\.[\w]+)*)\s*\}?\}\}")
_NOT_FIELDS = {"else", "this", "now", "defaultIfEmpty"}


def proof_data_fields_initial(*, notification: Notification, template: Template | None = None) -> dict:
    """Starting data fields: the custom event's example values, else the placeholders of the template's content.

    The template is read from Iterable; if that fails the form just starts empty.
    """
    if notification.event_id:
        return notification.event.example_payload()
    template = template or next(iter(proof_templates(notification)), None)
    if template is None:
        return {}
    try:
        client = client_for_project(notification.project)
        getter = client.get_push_template if template.medium == "Push" else client.get_email_template
        content = getter(template.iterable_id)
    except IterableError:
        return {}
    text = " ".join(str(v) for k, v in content.items() if isinstance(v, str) and k not in {"name", "fromEmail"})
    names = [n for n in dict.fromkeys(_PLACEHOLDER.findall(text)) if n not in _NOT_FIELDS]
    return {name: "" for name in names}


def _parse_date(text: str) -> bool:
    for parse in (
        lambda v: date.fromisoformat(v),
        lambda v: datetime.fromisoformat(v),
        lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S %z"),
    ):
        try:
            parse(text)
            return True
        except ValueError:
            continue
    return False


def _type_error(data_type: str, value) -> str | None:
    """Why `value` is not a valid `data_type`, or None."""
    if data_type == FieldType.STRING:
        return None if isinstance(value, str) else "Must be text."
    if data_type == FieldType.BOOLEAN:
        return None if isinstance(value, bool) else "Must be true or false."
    if data_type == FieldType.LONG:
        return None if isinstance(value, int) and not isinstance(value, bool) else "Must be a whole number."
    if data_type == FieldType.DOUBLE:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "Must be a number."
    if data_type == FieldType.DATE:
        ok = isinstance(value, str) and _parse_date(value.strip())
        return None if ok else "Must be a date, e.g. 2023-06-11 or 2023-06-11 10:00:00 +00:00."
    if data_type == FieldType.OBJECT:
        return None if isinstance(value, dict) else "Must be a JSON object."
    if data_type == FieldType.ARRAY:
        return None if isinstance(value, list) else "Must be a JSON array."
    return None


def proof_data_field_parse(data_type: str, text: str):
    """A value typed into the form, as the JSON value Iterable gets. Empty text is None (the field is left out).

    Raises ValueError with a sentence for the field.
    """
    text = (text or "").strip() if data_type != FieldType.STRING else (text or "")
    if text == "":
        return None
    if data_type in (FieldType.STRING, FieldType.DATE):
        return text
    if data_type == FieldType.BOOLEAN:
        if text.lower() in {"true", "false"}:
            return text.lower() == "true"
        raise ValueError("Must be true or false.")
    if data_type == FieldType.LONG:
        try:
            return int(text)
        except ValueError:
            raise ValueError("Must be a whole number.") from None
    if data_type == FieldType.DOUBLE:
        try:
            value = float(text)
        except ValueError:
            raise ValueError("Must be a number.") from None
        if not math.isfinite(value):
            raise ValueError("Must be a number.")
        return value
    try:
        return json_loads_bounded(text)
    except ValueError:
        raise ValueError(f"Must be JSON ({'an object' if data_type == FieldType.OBJECT else 'an array'}).") from None


def proof_data_fields_validate(*, notification: Notification, data_fields) -> dict:
    """Data fields as a JSON object, checked against the custom event's schema (types, required).

    Raises ValidationError keyed "data_fields.<name>" per broken field, or "data_fields" for the whole.
    """
    if data_fields is None:
        data_fields = {}
    if not isinstance(data_fields, dict):
        raise ValidationError({"data_fields": ["Data fields must be a JSON object of names to values."]})
    try:
        size = len(json.dumps(data_fields, allow_nan=False))
    except (TypeError, ValueError):
        raise ValidationError(
            {"data_fields": ["Data fields must be plain JSON values (no NaN or Infinity)."]}
        ) from None
    if "\\u0000" in json.dumps(data_fields):
        raise ValidationError({"data_fields": ["Data fields cannot contain NUL characters."]})
    if size > MAX_DATA_FIELDS_BYTES:
        raise ValidationError({"data_fields": [f"Data fields are {size} bytes; at most {MAX_DATA_FIELDS_BYTES}."]})
    errors: dict[str, list[str]] = {}
    event_name = notification.event.name if notification.event_id else ""
    for spec in _event_fields(notification):
        value = data_fields.get(spec.name)
        if value is None or value == "":
            if spec.required:
                errors[f"data_fields.{spec.name}"] = [f"Required by the '{event_name}' event schema."]
            continue
        problem = _type_error(spec.data_type, value)
        if problem:
            errors[f"data_fields.{spec.name}"] = [f"{problem} The '{event_name}' schema says {spec.data_type}."]
    if errors:
        raise ValidationError(errors)
    # An empty optional field is left out rather than sent as "".
    known = {f.name for f in _event_fields(notification)}
    return {k: v for k, v in data_fields.items() if not (k in known and (v is None or v == ""))}


def _request_build(
    *, notification: Notification, mode: str, template: Template | None, email: str, user_id: str, data_fields: dict
) -> ProofRequest:
    """The body exactly as the client will send it (the client drops None, so absent keys are absent here)."""
    if mode == ProofMode.CAMPAIGN:
        path = "/api/push/target" if notification.medium == "Push" else "/api/email/target"
        identity = {"recipientEmail": email} if email else {"recipientUserId": user_id}
        return ProofRequest(path, {"campaignId": int(notification.campaign_id), **identity, "dataFields": data_fields})
    if mode == ProofMode.EVENT:
        identity = {"email": email} if email else {"userId": user_id}
        return ProofRequest(
            "/api/events/track", {"eventName": notification.event.name, **identity, "dataFields": data_fields}
        )
    path = "/api/templates/push/proof" if template.medium == "Push" else "/api/templates/email/proof"
    identity = {"recipientEmail": email} if email else {"recipientUserId": user_id}
    return ProofRequest(path, {"templateId": int(template.iterable_id), **identity, "dataFields": data_fields})


def proof_plan(
    *,
    notification: Notification,
    mode: str | None = None,
    template: Template | None = None,
    recipient: ProofRecipient | None = None,
    email: str = "",
    user_id: str = "",
    data_fields=None,
) -> ProofPlan:
    """Check the input of a test send and build its request. Raises ValidationError keyed by field."""
    errors: dict[str, list[str]] = {}
    modes = proof_modes(notification)
    mode = mode or proof_mode_default(notification)
    if mode not in modes:
        why = {
            ProofMode.CAMPAIGN: "a campaign send needs an API-send notification with a campaign id, by email or push",
            ProofMode.EVENT: "an event send needs a custom-event notification with its event",
            ProofMode.TEMPLATE_PROOF: "a template proof needs an email or push template on the notification",
        }.get(mode, "unknown mode")
        if not modes:
            errors["mode"] = [
                f"{notification.key} cannot be test-sent: it needs a campaign id (API send by email or push), "
                "a custom event, or an email or push template."
            ]
        else:
            available = ", ".join(modes)
            errors["mode"] = [f"'{mode}' is not possible for {notification.key}: {why}. Possible here: {available}."]
    if mode == ProofMode.TEMPLATE_PROOF:
        candidates = proof_templates(notification)
        if template is None and candidates:
            template = candidates[0]
        if template is None or template.pk not in {t.pk for t in candidates}:
            errors["template"] = [f"Pick one of the email or push templates of {notification.key}."]
    elif mode in modes:
        template = None
    if recipient is not None:
        if recipient.project_id != notification.project_id:
            errors["recipient"] = [
                f"{recipient.identifier} is a test recipient in {recipient.project}, "
                f"not in {notification.project}, where {notification.key} is sent."
            ]
        email, user_id = recipient.email, recipient.user_id
    else:
        try:
            email, user_id = identifier_clean(email=email, user_id=user_id)
        except LookupInputError as error:
            errors["recipient"] = [str(error)]
    try:
        data_fields = proof_data_fields_validate(notification=notification, data_fields=data_fields)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    request = _request_build(
        notification=notification, mode=mode, template=template, email=email, user_id=user_id, data_fields=data_fields
    )
    impact = proof_event_impact(notification) if mode == ProofMode.EVENT else None
    return ProofPlan(notification, mode, template, email, user_id, data_fields, request, recipient, impact)


def _recipient_check(*, actor, recipient: ProofRecipient | None) -> None:
    """A recipient picked by id must be the actor's own or a shared one: ids are guessable, and the answer
    would otherwise show someone else's private address."""
    if recipient is not None and not proof_recipients_visible(user=actor).filter(pk=recipient.pk).exists():
        raise ValidationError({"recipient": ["Pick one of your test recipients or a shared one."]})


def _event_confirmation_check(plan: ProofPlan, confirmed: bool) -> None:
    if plan.mode == ProofMode.EVENT and not confirmed:
        raise ValidationError(
            {"confirm_event": [f"{plan.impact.sentence} Confirm that you mean it (confirm_event) to send the event."]}
        )


# ------------------------------------------------------------------------------------------- the guard


def _judged_templates(plan: ProofPlan) -> list[Template]:
    if plan.mode == ProofMode.TEMPLATE_PROOF:
        return [plan.template]
    return proof_templates(plan.notification)


def _catalog_verdict(plan: ProofPlan) -> ProofVerdict | None:
    """The guard on what the catalog declares, before anything is asked of Iterable."""
    subject = f"Notification '{plan.notification.key}'"
    found = policy.message_type_violations(message_type_facts(plan.notification.message_type), subject=subject)
    for template in _judged_templates(plan):
        if template.message_type_id:
            found += policy.message_type_violations(
                message_type_facts(template.message_type), subject=f"{subject} through template '{template.name}'"
            )
    found = policy.errors(found)
    if found:
        return ProofVerdict(False, found[0].code, found[0].message, {"catalog": [v.code for v in found]})
    return None


def _fan_out(calls: dict) -> dict:
    """Every call must answer: the guard fails closed on the first error."""
    results = fan_out(calls)
    error = first_error(results)
    if error is not None:
        raise error
    return results


def _template_getter(client, medium: str):
    return {"Email": client.get_email_template, "Push": client.get_push_template}.get(medium)


def _live_read(
    project: IterableProject,
    templates: list[tuple[int, str]],
    email: str,
    user_id: str,
    who: bool,
    *,
    campaign_id: int | None = None,
    journey_id: int | None = None,
    event_name: str | None = None,
):
    """Read message types, channels, templates, the campaigns that will send and (if `who`) the recipient
    from Iterable now, concurrently; then the template each campaign really uses (Iterable copies a
    template when it is attached to a campaign, so the campaign's template is what renders, whatever the
    catalog lists). `campaign_id`: a campaign send's campaign. `event_name`: a custom event starts every
    journey Iterable triggers on it (archived ones aside), and `journey_id`, the catalog's journey, too;
    their campaigns are those whose workflowId is one of them.

    No cache on purpose: the guard judges what Iterable holds at the moment of the send. No database here.
    """
    client = client_for_project(project)
    calls = {"message_types": client.get_message_types, "channels": client.get_channels}
    for template_id, medium in templates:
        getter = client.get_push_template if medium == "Push" else client.get_email_template
        calls[f"template:{template_id}"] = lambda getter=getter, template_id=template_id: getter(template_id)
    if campaign_id is not None:
        calls["campaigns"] = lambda: [client.get_campaign(campaign_id)]
    elif event_name is not None:
        calls["journeys"] = lambda: [
            j
            for j in client.iter_journeys()
            if event_name in (j.get("triggerEventNames") or []) and not j.get("isArchived")
        ]
        calls["all_campaigns"] = lambda: list(client.iter_campaigns())
    if who:
        calls["user"] = (lambda: client.get_user_by_email(email)) if email else (lambda: client.get_user_by_id(user_id))
    live = _fan_out(calls)
    if event_name is not None:
        journeys = {j.get("id") for j in live["journeys"]} | ({journey_id} if journey_id is not None else set())
        live["campaigns"] = [c for c in live.pop("all_campaigns") if c.get("workflowId") in journeys]
    live.setdefault("campaigns", [])
    rendered = {}
    for campaign in live["campaigns"]:
        template_id = campaign.get("templateId")
        getter = _template_getter(client, campaign.get("messageMedium", ""))
        if template_id is not None and getter is not None:
            rendered[f"campaign-template:{campaign.get('id')}"] = lambda getter=getter, t=int(template_id): getter(t)
    live.update(_fan_out(rendered))
    return live


def _live_verdict(plan: ProofPlan) -> ProofVerdict:
    notification = plan.notification
    project = notification.project
    templates = _judged_templates(plan)
    check_reach = plan.mode != ProofMode.TEMPLATE_PROOF
    checks: dict = {"templates": [], "message_type": None, "eligibility": []}
    follow = {}
    if plan.mode == ProofMode.CAMPAIGN:
        follow["campaign_id"] = notification.campaign_id
    elif plan.mode == ProofMode.EVENT:
        follow["event_name"] = notification.event.name
        follow["journey_id"] = notification.journey.iterable_id if notification.journey_id else None
    try:
        live = _live_read(
            project, [(t.iterable_id, t.medium) for t in templates], plan.email, plan.user_id, check_reach, **follow
        )
    except IterableError as error:
        return ProofVerdict(
            False,
            LIVE_CHECK_FAILED,
            "Refused: the guard could not read the message type, its policy and channel from Iterable just now, "
            f"so it cannot vouch for this send. {explain_iterable_error(error, project)}",
            checks,
        )
    types = {m.get("id"): m for m in live["message_types"]}
    channels = {c.get("id"): c for c in live["channels"]}

    def describe(type_id, via: str) -> tuple[dict | None, ProofVerdict | None]:
        message_type = types.get(type_id)
        if message_type is None:
            return None, ProofVerdict(
                False,
                TYPE_MISSING,
                f"Refused: {via} uses message type #{type_id}, which Iterable does not have.",
                checks,
            )
        channel = channels.get(message_type.get("channelId"))
        if channel is None:
            return None, ProofVerdict(
                False,
                TYPE_MISSING,
                f"Refused: message type '{message_type.get('name')}' is on channel #{message_type.get('channelId')}, "
                "which Iterable does not have.",
                checks,
            )
        return {
            "via": via,
            "message_type_id": type_id,
            "message_type": message_type.get("name", ""),
            "policy": policy.effective_policy(message_type.get("subscriptionPolicy")),
            "channel_id": channel.get("id"),
            "channel": channel.get("name", ""),
            "channel_type": channel.get("channelType", ""),
        }, None

    judged: list[dict] = []
    declared, refused = describe(notification.message_type.iterable_id, "the notification's message type")
    if refused:
        return refused
    checks["message_type"] = declared
    judged.append(declared)
    for template in templates:
        raw = live[f"template:{template.iterable_id}"]
        type_id = raw.get("messageTypeId") if isinstance(raw, dict) else None
        if type_id is None:
            return ProofVerdict(
                False,
                LIVE_CHECK_FAILED,
                f"Refused: Iterable did not say which message type template #{template.iterable_id} uses.",
                checks,
            )
        facts, refused = describe(type_id, f"template '{template.name}' (#{template.iterable_id})")
        if refused:
            return refused
        facts["template_id"] = template.iterable_id
        checks["templates"].append(facts)
        judged.append(facts)
    checks["campaigns"] = []
    for campaign in live["campaigns"]:
        campaign_id = campaign.get("id")
        rendered = live.get(f"campaign-template:{campaign_id}")
        type_id = rendered.get("messageTypeId") if isinstance(rendered, dict) else None
        if type_id is None:
            return ProofVerdict(
                False,
                LIVE_CHECK_FAILED,
                f"Refused: the guard could not read which template campaign #{campaign_id} sends, and on which "
                "message type, so it cannot vouch for what Iterable would render.",
                checks,
            )
        via = (
            f"campaign '{campaign.get('name', '')}' (#{campaign_id}) through its template "
            f"'{rendered.get('name', '')}' (#{campaign.get('templateId')})"
        )
        facts, refused = describe(type_id, via)
        if refused:
            return refused
        facts["template_id"] = campaign.get("templateId")
        facts["campaign_id"] = campaign_id
        checks["campaigns"].append(facts)
        judged.append(facts)
    for facts in judged:
        found = policy.errors(
            policy.message_type_violations(
                policy.MessageTypeFacts(
                    name=facts["message_type"],
                    policy=facts["policy"],
                    channel_name=facts["channel"],
                    channel_type=facts["channel_type"],
                ),
                subject=f"In Iterable now, {facts['via']} of '{notification.key}'",
            )
        )
        if found:
            return ProofVerdict(False, found[0].code, f"Refused: {found[0].message}", checks)
    if check_reach:
        user = live["user"]
        subscriptions = contact_subscriptions(user)
        checks["contact_found"] = user is not None
        # What goes out is on the rendered templates' types: the campaigns' own, else the catalog's templates,
        # else the declared type.
        for facts in checks["campaigns"] or checks["templates"] or [declared]:
            reach = policy.eligibility(
                subscriptions,
                message_type_id=facts["message_type_id"],
                message_type_name=facts["message_type"],
                policy=facts["policy"],
                channel_id=facts["channel_id"],
                channel_name=facts["channel"],
            )
            checks["eligibility"].append({"message_type": facts["message_type"], "allowed": reach.allowed,
                                          "state": reach.state, "reason": reach.reason})  # fmt: skip
            if not reach.allowed:
                who = plan.email or plan.user_id
                unknown = "" if user else " (Iterable has no such contact yet, so nothing is subscribed)"
                return ProofVerdict(
                    False,
                    RECIPIENT_INELIGIBLE,
                    f"{who} would not receive it{unknown}: {reach.reason} Pick another test recipient, or send a "
                    "template proof, which ignores subscriptions.",
                    checks,
                )
    return ProofVerdict(True, "", "The guard and the recipient's subscriptions allow this test send.", checks)


def _verdict(plan: ProofPlan) -> ProofVerdict:
    return _catalog_verdict(plan) or _live_verdict(plan)


def proof_preview(*, actor, **given) -> ProofPreview:
    """The exact request a test send would make, and whether it would go ahead (nothing is sent or recorded).

    Takes proof_plan's arguments. Raises ValidationError for bad input.
    """
    _recipient_check(actor=actor, recipient=given.get("recipient"))
    plan = proof_plan(**given)
    notification = plan.notification
    if _allowlisted(actor=actor, project=notification.project, email=plan.email, user_id=plan.user_id) is None:
        return ProofPreview(plan, _not_allowlisted(plan, actor))
    return ProofPreview(plan, _verdict(plan))


def _not_allowlisted(plan: ProofPlan, actor) -> ProofVerdict:
    who = plan.email or plan.user_id
    waiting = proof_recipients_visible(user=actor, project=plan.notification.project).filter(
        Q(email__iexact=plan.email) if plan.email else Q(user_id=plan.user_id), status=RecipientStatus.PENDING
    )
    if waiting.exists():
        return ProofVerdict(
            False,
            NOT_ALLOWLISTED,
            f"Refused: {who} is waiting for an admin's approval as a test recipient, and receives nothing until "
            "then. Your own login address and addresses at the staff domains need no approval.",
        )
    return ProofVerdict(
        False,
        NOT_ALLOWLISTED,
        f"Refused: {who} is not on your test recipients or the shared ones in {plan.notification.project}. "
        "Test sends go only to allowlisted recipients.",
    )


# ------------------------------------------------------------------------------------------- the send


def _rate_limit() -> tuple[int, int]:
    return tuple(getattr(settings, "PROOF_SEND_RATE_LIMIT", DEFAULT_RATE_LIMIT))


def _dispatch(client, request: ProofRequest) -> dict:
    body = request.body
    email, user_id = body.get("recipientEmail") or body.get("email"), body.get("recipientUserId") or body.get("userId")
    if request.path == "/api/events/track":
        return client.track(body["eventName"], email=email, user_id=user_id, data_fields=body["dataFields"])
    send = {
        "/api/email/target": client.email_target,
        "/api/push/target": client.push_target,
        "/api/templates/email/proof": client.email_template_proof,
        "/api/templates/push/proof": client.push_template_proof,
    }[request.path]
    first = body["campaignId"] if "campaignId" in body else body["templateId"]
    return send(first, recipient_email=email, recipient_user_id=user_id, data_fields=body["dataFields"])


def _start(*, actor, plan: ProofPlan, token: str | None) -> ProofSend:
    notification = plan.notification
    attempt = ProofSend(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor),
        project=notification.project,
        notification=notification,
        notification_key=notification.key,
        recipient=plan.recipient,
        recipient_email=plan.email,
        recipient_user_id=plan.user_id,
        mode=plan.mode,
        template_iterable_id=plan.template.iterable_id if plan.template else None,
        endpoint=plan.request.endpoint,
        request_body=plan.request.body,
        submission_token=token or None,
    )
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError:
        first = ProofSend.objects.filter(submission_token=token).first() if token else None
        if first is None:
            raise
        raise ProofSendDuplicate(first) from None
    return attempt


def _finish(attempt: ProofSend, *, actor, outcome: str, code: str = "", message: str = "", response=None, checks=None):
    attempt.outcome = outcome
    attempt.error_code = code
    attempt.message = message
    attempt.response = response
    attempt.checks = checks or {}
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["outcome", "error_code", "message", "response", "checks", "finished_at"])
    audit_event(
        actor=actor,
        action="proof_send",
        object_type="notification",
        object_id=str(attempt.notification_id or ""),
        object_repr=attempt.notification_key,
        changes={
            "attempt": attempt.pk,
            "mode": attempt.mode,
            "recipient": attempt.recipient_identifier,
            "endpoint": attempt.endpoint,
            "outcome": outcome,
            "code": code,
        },
    )
    return attempt


def proof_submission_token_clean(token: str | None) -> str | None:
    token = (token or "").strip()
    if not token:
        return None
    if not TOKEN_RE.match(token):
        raise ValidationError({"submission_token": ["Use 16 to 64 letters, digits, '-' or '_' (e.g. a UUID)."]})
    return token


def proof_send(*, actor, submission_token: str | None = None, confirm_event: bool = False, **given) -> ProofSend:
    """Send one test send, guarded and recorded (see the module docstring). Returns the recorded attempt.

    Takes proof_plan's arguments. Raises ValidationError for bad input (nothing recorded), for a custom event
    sent without `confirm_event` (it starts the real journey), and ProofSendDuplicate when the submission
    token was used before (nothing sent again).
    """
    token = proof_submission_token_clean(submission_token)
    _recipient_check(actor=actor, recipient=given.get("recipient"))
    plan = proof_plan(**given)
    _event_confirmation_check(plan, confirm_event)
    attempt = _start(actor=actor, plan=plan, token=token)
    limit, seconds = _rate_limit()
    recent = ProofSend.objects.filter(
        actor=attempt.actor, created_at__gte=timezone.now() - timedelta(seconds=seconds), pk__lte=attempt.pk
    ).exclude(outcome=ProofOutcome.RATE_LIMITED)
    if attempt.actor is not None and recent.count() > limit:
        return _finish(
            attempt,
            actor=actor,
            outcome=ProofOutcome.RATE_LIMITED,
            code=RATE_LIMITED,
            message=f"Refused: at most {limit} test sends per {seconds} seconds per person. Wait a moment and retry.",
        )
    notification = plan.notification
    if _allowlisted(actor=actor, project=notification.project, email=plan.email, user_id=plan.user_id) is None:
        verdict = _not_allowlisted(plan, actor)
    else:
        verdict = _verdict(plan)
    if not verdict.allowed:
        return _finish(
            attempt,
            actor=actor,
            outcome=ProofOutcome.REFUSED_GUARD,
            code=verdict.code,
            message=verdict.message,
            checks=verdict.checks,
        )
    try:
        answer = _dispatch(client_for_project(notification.project), plan.request)
    except IterableError as error:
        response = {"code": error.code, "msg": error.msg, "status": error.status, "params": error.params}
        if error.outcome_unknown:
            what = (
                f"Iterable answered with a server error ({error.status} {error.code})"
                if error.status and error.status >= 500
                else "Iterable did not answer in time"
            )
            message = (
                f"Unknown: {what}, so the test send may or may not have gone out. It was "
                "not resent (Iterable has no idempotency key); check the recipient's inbox or the contact's history "
                "before sending again."
            )
            outcome = ProofOutcome.UNKNOWN
        else:
            message = f"Refused by Iterable: {explain_iterable_error(error, notification.project)}"
            outcome = ProofOutcome.REFUSED_ITERABLE
        return _finish(
            attempt, actor=actor, outcome=outcome, code=error.code, message=message, response=response,
            checks=verdict.checks,
        )  # fmt: skip
    accepted = {
        ProofMode.CAMPAIGN: "Iterable accepted the send (accepted, not yet delivered: a skipped send shows later in "
        "the contact's history).",
        ProofMode.EVENT: f"Iterable accepted the '{notification.event.name if notification.event_id else ''}' event "
        "for the recipient; the journey it triggers takes it from here.",
        ProofMode.TEMPLATE_PROOF: "Iterable accepted the template proof.",
    }[plan.mode]
    return _finish(
        attempt,
        actor=actor,
        outcome=ProofOutcome.SENT,
        message=accepted,
        response=answer if isinstance(answer, dict | list) else {"body": answer},
        checks=verdict.checks,
    )


def proof_send_recipient_shown(*, user, attempt: ProofSend) -> bool:
    """Whether `user` may see to whom a test send went: their own sends, sends to a shared recipient (for roles
    that may look contacts up), and everything for those who manage recipients. Another person's private test
    recipient is theirs."""
    if user.has_perm(MANAGE_SHARED_RECIPIENTS) or (attempt.actor_id is not None and attempt.actor_id == user.pk):
        return True
    shared = attempt.recipient is not None and attempt.recipient.owner_id is None
    return shared and user.has_perm(LOOKUP_CONTACT)


# Any address, whatever Iterable made of it (lowercased, quoted local part, inside a sentence or a path).
_ANY_ADDRESS = re.compile(r"[^\s@<>\"',;:()\[\]{}/?#=&]+@[^\s@<>\"',;:()\[\]{}/?#=&]+")


def _decoded(text: str) -> str:
    """The text as a reader would see it once URL- and HTML-escapes are undone (nested ones too)."""
    for _ in range(3):
        plain = html.unescape(unquote(text))
        if plain == text:
            break
        text = plain
    return text


def _contacts_hidden(value, user_ids: list[str]):
    """Every contact identifier out of `value`: any email address and the given userIds, in any case or escaping.

    Iterable answers with the contact as it stores it, not as it was asked: a userId recipient comes back as the
    contact's email, an address comes back lowercased or URL-encoded. Replacing only the stored text misses those.
    """
    if isinstance(value, dict):
        return {_contacts_hidden(k, user_ids): _contacts_hidden(v, user_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_contacts_hidden(v, user_ids) for v in value]
    if not isinstance(value, str) or not value:
        return value
    masked = _ANY_ADDRESS.sub(PRIVATE_RECIPIENT, value)
    for user_id in user_ids:
        masked = re.sub(re.escape(user_id), PRIVATE_RECIPIENT, masked, flags=re.IGNORECASE)
    plain = _decoded(value)
    if plain == value:
        return masked
    hidden = _contacts_hidden(plain, user_ids)
    # The escaped form hid something the plain one shows: show the plain form, masked.
    return hidden if hidden != plain else masked


def proof_send_for(*, user, attempt: ProofSend) -> ProofSend:
    """The attempt as `user` may see it (in memory). When its recipient is someone else's private one, every contact
    identifier in the record is hidden, not only the stored address: Iterable's answer names the contact its own
    way. The sender and those who manage recipients see the record as it is."""
    if proof_send_recipient_shown(user=user, attempt=attempt):
        return attempt
    user_ids = [attempt.recipient_user_id] if attempt.recipient_user_id else []
    attempt.recipient_email = PRIVATE_RECIPIENT if attempt.recipient_email else ""
    attempt.recipient_user_id = PRIVATE_RECIPIENT if attempt.recipient_user_id else ""
    attempt.request_body = _contacts_hidden(attempt.request_body, user_ids)
    attempt.response = _contacts_hidden(attempt.response, user_ids)
    attempt.message = _contacts_hidden(attempt.message, user_ids)
    attempt.checks = _contacts_hidden(attempt.checks, user_ids)
    return attempt


def proof_send_last_success(*, notification: Notification) -> ProofSend | None:
    return (
        ProofSend.objects.filter(notification=notification, outcome=ProofOutcome.SENT)
        .order_by("-created_at", "-id")
        .first()
    )
