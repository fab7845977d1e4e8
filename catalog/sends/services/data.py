"""What a test send sends: its modes, templates, and the custom event's data fields, checked against their schema."""

import json
import math
import re
from datetime import date, datetime

from django.core.exceptions import ValidationError

from catalog.contacts.services import identifier_clean
from catalog.guard import policy
from catalog.iterable import IterableError, client_for_project
from catalog.models import (
    EventField,
    FieldType,
    IterableMirror,
    MirrorKind,
    Notification,
    ProofMode,
    ProofRecipient,
    Template,
)
from catalog.sends.services.recipients import proof_recipients_visible
from catalog.sends.services.results import MAX_DATA_FIELDS_BYTES, SENDABLE_MEDIA, EventImpact, ProofPlan, ProofRequest
from catalog.services.input_limits import json_loads_bounded, unstorable
from catalog.types import RequestUser


def proof_modes(notification: Notification) -> list[str]:
    """The ways this notification can be test-sent: its own trigger, and a template proof if it has a template."""
    modes: list[str] = []
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
    if notification.event is None:
        return None
    name = notification.event.name
    journeys = [j for j in notification.project.journeys.all() if name in (j.trigger_event_names or [])]
    if notification.journey_id and notification.journey_id not in {j.pk for j in journeys} and notification.journey:
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
    return list(notification.event.fields.all()) if notification.event is not None else []


_PLACEHOLDER = re.compile(r"\{\{\{?\s*([A-Za-z_][\w]*(?:\.[\w]+)*)\s*\}?\}\}")
_NOT_FIELDS = {"else", "this", "now", "defaultIfEmpty"}


def proof_data_fields_initial(*, notification: Notification, template: Template | None = None) -> dict:
    """Starting data fields: the custom event's example values, else the placeholders of the template's content.

    The template is read from Iterable; if that fails the form just starts empty.
    """
    if notification.event is not None:
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
    # Lone surrogates as well as NUL: no database stores them, and no JSON encoder Iterable reads can send them.
    if unstorable(data_fields):
        raise ValidationError({"data_fields": ["Data fields cannot contain NUL or lone surrogate characters."]})
    if size > MAX_DATA_FIELDS_BYTES:
        raise ValidationError({"data_fields": [f"Data fields are {size} bytes; at most {MAX_DATA_FIELDS_BYTES}."]})
    errors: dict[str, list[str]] = {}
    event_name = notification.event.name if notification.event is not None else ""
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
    # proof_plan built `mode` from proof_modes, which offers each mode only with what it needs.
    if mode == ProofMode.CAMPAIGN:
        assert notification.campaign_id is not None
        path = "/api/push/target" if notification.medium == "Push" else "/api/email/target"
        identity = {"recipientEmail": email} if email else {"recipientUserId": user_id}
        return ProofRequest(path, {"campaignId": int(notification.campaign_id), **identity, "dataFields": data_fields})
    if mode == ProofMode.EVENT:
        assert notification.event is not None
        identity = {"email": email} if email else {"userId": user_id}
        return ProofRequest(
            "/api/events/track", {"eventName": notification.event.name, **identity, "dataFields": data_fields}
        )
    assert template is not None
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
        reasons: dict[str | None, str] = {
            ProofMode.CAMPAIGN: "a campaign send needs an API-send notification with a campaign id, by email or push",
            ProofMode.EVENT: "an event send needs a custom-event notification with its event",
            ProofMode.TEMPLATE_PROOF: "a template proof needs an email or push template on the notification",
        }
        why = reasons.get(mode, "unknown mode")
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
        except ValidationError as error:
            errors["recipient"] = error.messages
    try:
        data_fields = proof_data_fields_validate(notification=notification, data_fields=data_fields)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    assert mode is not None  # a mode not in `modes` was refused above
    request = _request_build(
        notification=notification, mode=mode, template=template, email=email, user_id=user_id, data_fields=data_fields
    )
    impact = proof_event_impact(notification) if mode == ProofMode.EVENT else None
    return ProofPlan(notification, mode, template, email, user_id, data_fields, request, recipient, impact)


def recipient_check(*, actor: RequestUser, recipient: ProofRecipient | None) -> None:
    """A recipient picked by id must be the actor's own or a shared one: ids are guessable, and the answer
    would otherwise show someone else's private address."""
    if recipient is not None and not proof_recipients_visible(user=actor).filter(pk=recipient.pk).exists():
        raise ValidationError({"recipient": ["Pick one of your test recipients or a shared one."]})


def event_confirmation_check(plan: ProofPlan, confirmed: bool) -> None:
    if plan.mode == ProofMode.EVENT and not confirmed:
        impact = plan.impact.sentence if plan.impact else ""  # an event plan always has one
        raise ValidationError(
            {"confirm_event": [f"{impact} Confirm that you mean it (confirm_event) to send the event."]}
        )
