"""Contact lookup: who is this person to Iterable, and would a notification reach them now?

The Iterable calls of a lookup are independent (profile, sent messages, events, and the schema's channels,
message types and lists, in every project looked in), so all of them start at once in one fan-out: the page
costs about the slowest call, not the sum, for one project or for all. The schema is cached per project for a
minute. Threads only talk to Iterable; the database is read before and after, in the request's own thread.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from catalog.audit.services import audit_event
from catalog.guard import policy
from catalog.guard.verdicts import IterableCheck, iterable_checks, iterable_violations, prefetch_iterable_violations
from catalog.iterable import IterableError, User, client_for_project
from catalog.iterable.client import SUBSCRIPTION_ARRAYS
from catalog.models import AuditEvent, IterableProject, Notification, NotificationStatus, Template
from catalog.services.iterable_support import (
    SCHEMA_READS,
    IterableSchema,
    explain_iterable_error,
    fan_out,
    iterable_schema_cached,
    iterable_schema_calls,
    iterable_schema_store,
)
from catalog.types import Actor

HISTORY_LIMIT = 25
LOOKUP_ACTION = "contact_lookup"
MANAGED_FIELDS = {
    "email", "userId", *SUBSCRIPTION_ARRAYS, "devices", "itblInternal", "signupDate", "signupSource",
    "profileUpdatedAt",
}  # fmt: skip


@dataclass
class SubscriptionRow:
    """One channel or message type of the project and this contact's state on it."""

    kind: str
    iterable_id: int
    name: str
    channel_name: str
    channel_type: str
    medium: str
    policy: str
    state: str
    allowed: bool
    reason: str


@dataclass
class Reach:
    """Would this notification reach the contact now: yes or no, the deciding rule, and the guard's verdict."""

    notification: Notification
    allowed: bool
    rule: str
    reason: str
    guard: list[policy.Violation] = field(default_factory=list)
    # Set when nothing is wrong but Iterable's side was not synced lately: "not checked since ...".
    not_checked: str = ""


@dataclass
class HistoryItem:
    """A sent message or an event, with ids resolved to catalog names where the catalog knows them."""

    kind: str
    created_at: str
    label: str
    campaign_id: int | None = None
    template_id: int | None = None
    notification: Notification | None = None
    detail: str = ""


@dataclass
class ContactLookup:
    """Everything one project's Iterable knows about a contact, explained, or the error that stopped it."""

    project: IterableProject
    identifier: str
    found: bool = False
    not_found: bool = False
    error: str = ""
    user: User | None = None
    profile: dict = field(default_factory=dict)
    signup_source: str = ""
    signup_date: str = ""
    profile_updated_at: str = ""
    lists: list[tuple[int, str]] = field(default_factory=list)
    devices: list[dict] = field(default_factory=list)
    subscriptions: list[SubscriptionRow] = field(default_factory=list)
    reach: list[Reach] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)
    history_error: str = ""


def identifier_clean(*, email: str = "", user_id: str = "") -> tuple[str, str]:
    """Validate what staff typed: exactly one of an email or a userId."""
    email, user_id = (email or "").strip(), (user_id or "").strip()
    if bool(email) == bool(user_id):
        raise ValidationError({"email": ["Give an email address or a userId (one of them)."]})
    if email:
        try:
            validate_email(email)
        except ValidationError as error:
            raise ValidationError({"email": [f"'{email}' is not a valid email address."]}) from error
    return email, user_id


def mask_token(token: str) -> str:
    return token if len(token) <= 8 else f"{token[:4]}…{token[-4:]}"


def _lookup_calls(project: IterableProject, email: str, user_id: str, *, with_schema: bool) -> dict[str, Callable]:
    """One project's Iterable reads for a lookup, by name (the schema's three when it is not cached)."""
    client = client_for_project(project)
    calls: dict[str, Callable] = {
        "user": (lambda: client.get_user_by_email(email)) if email else (lambda: client.get_user_by_id(user_id)),
        "sent": lambda: client.get_sent_messages(email=email or None, user_id=user_id or None, limit=HISTORY_LIMIT),
        "events": lambda: client.get_events(email or None, user_id=user_id or None, limit=HISTORY_LIMIT),
    }
    if with_schema:
        calls.update(iterable_schema_calls(client))
    return calls


def contact_subscriptions(user: User | None) -> policy.ContactSubscriptions:
    """A contact's subscription arrays as the eligibility rule takes them (no contact: none at all)."""
    if user is None:
        return policy.ContactSubscriptions()
    return policy.ContactSubscriptions(
        subscribed_message_type_ids=frozenset(user.subscribed_message_type_ids),
        unsubscribed_channel_ids=frozenset(user.unsubscribed_channel_ids),
        unsubscribed_message_type_ids=frozenset(user.unsubscribed_message_type_ids),
    )


def _subscription_rows(schema: IterableSchema, subs: policy.ContactSubscriptions) -> list[SubscriptionRow]:
    rows = []
    for channel in sorted(schema.channels.values(), key=lambda c: c["name"]):
        blocked = channel["id"] in subs.unsubscribed_channel_ids
        rows.append(
            SubscriptionRow(
                kind="channel",
                iterable_id=channel["id"],
                name=channel["name"],
                channel_name=channel["name"],
                channel_type=channel.get("channelType", ""),
                medium=channel.get("messageMedium", ""),
                policy="",
                state=policy.UNSUBSCRIBED if blocked else policy.SUBSCRIBED,
                allowed=not blocked,
                reason="Unsubscribed from the whole channel." if blocked else "Not unsubscribed from the channel.",
            )
        )
        types = [m for m in schema.message_types.values() if m.get("channelId") == channel["id"]]
        for message_type in sorted(types, key=lambda m: m["name"]):
            verdict = policy.eligibility(
                subs,
                message_type_id=message_type["id"],
                message_type_name=message_type["name"],
                policy=message_type.get("subscriptionPolicy"),
                channel_id=channel["id"],
                channel_name=channel["name"],
            )
            rows.append(
                SubscriptionRow(
                    kind="message_type",
                    iterable_id=message_type["id"],
                    name=message_type["name"],
                    channel_name=channel["name"],
                    channel_type=channel.get("channelType", ""),
                    medium=channel.get("messageMedium", ""),
                    policy=policy.effective_policy(message_type.get("subscriptionPolicy")),
                    state=verdict.state,
                    allowed=verdict.allowed,
                    reason=verdict.reason,
                )
            )
    return rows


def _medium(notification: Notification, schema: IterableSchema) -> str:
    """How it is delivered: the medium of its message type's channel in Iterable now, else the catalog's."""
    live = schema.message_types.get(notification.message_type.iterable_id) or {}
    channel_id = live.get("channelId")
    channel = schema.channels.get(channel_id, {}) if isinstance(channel_id, int) else {}
    return channel.get("messageMedium") or notification.medium


def _reach(notification: Notification, schema: IterableSchema, subs: policy.ContactSubscriptions) -> Reach:
    """Judge with Iterable's live message type; the catalog's copy only names it."""
    declared = notification.message_type
    live = schema.message_types.get(declared.iterable_id)
    if live is None:
        return Reach(
            notification,
            False,
            "type-missing-in-iterable",
            f"Its message type '{declared.name}' (#{declared.iterable_id}) does not exist in Iterable.",
        )
    channel_id = live.get("channelId")
    channel = schema.channels.get(channel_id, {}) if isinstance(channel_id, int) else {}
    facts = policy.MessageTypeFacts(
        name=live["name"],
        policy=live.get("subscriptionPolicy"),
        channel_name=channel.get("name", "?"),
        channel_type=channel.get("channelType"),
    )
    guard = policy.message_type_violations(facts, subject=f"Notification '{notification.key}'")
    verdict = policy.eligibility(
        subs,
        message_type_id=live["id"],
        message_type_name=live["name"],
        policy=live.get("subscriptionPolicy"),
        channel_id=channel_id if isinstance(channel_id, int) else -1,  # no channel: nothing unsubscribed from it
        channel_name=channel.get("name", "?"),
    )
    return Reach(notification, verdict.allowed, verdict.rule, verdict.reason, guard)


def _latest_email_event(events: list[dict]) -> dict | None:
    """The contact's newest email send or bounce in their recent history (Iterable lists events newest first)."""
    mail = [e for e in events if e.get("eventType") in ("emailSend", "emailBounce")]
    return max(mail, key=lambda e: str(e.get("createdAt", "")), default=None)


def contact_deliverable(user: User, medium: str, events: list[dict] | None = None) -> tuple[bool, str, str]:
    """Whether Iterable has somewhere to deliver `medium` to for this contact: (yes, rule, why in words).

    Push needs a registered device with a token that is not switched off, SMS a phone number, email a valid
    address whose last email did not bounce. Iterable documents no "bounced" flag on the profile; a bounce shows
    in the contact's events (`emailBounce`), which a lookup reads anyway (`events`).
    """
    fields = user.data_fields
    if medium == "Push":
        devices = [d for d in fields.get("devices") or [] if isinstance(d, dict) and str(d.get("token") or "").strip()]
        if not devices:
            return False, "no-device", "No device is registered for push: their profile has no push token."
        if all(d.get("endpointEnabled") is False for d in devices):
            return False, "push-disabled", "Push is switched off on every device registered for them."
        return True, "device", f"{len(devices)} device{'s' if len(devices) != 1 else ''} registered for push."
    if medium == "SMS":
        if not str(fields.get("phoneNumber") or "").strip():
            return False, "no-phone", "No phone number is registered for SMS on their profile."
        return True, "phone", "A phone number is registered for SMS."
    if medium == "Email":
        address = (user.email or "").strip()
        if not address:
            return False, "no-email", "No email address on their profile: email has nowhere to go."
        try:
            validate_email(address)
        except ValidationError:
            return False, "invalid-email", f"'{address}' is not a valid email address, so email cannot reach it."
        latest = _latest_email_event(events or [])
        if latest is not None and latest.get("eventType") == "emailBounce":
            return (
                False,
                "email-bounced",
                f"The last email to {address} bounced ({latest.get('createdAt', 'recently')}), so email is not "
                "reaching this address.",
            )
        return True, "email", f"{address} is a valid address and its last email did not bounce."
    return True, "", ""


def _deliverable(reach: Reach, user: User, medium: str, events: list[dict]) -> Reach:
    """A contact who may receive it is reached only if Iterable has somewhere to deliver it to."""
    if not reach.allowed:
        return reach
    ok, rule, why = contact_deliverable(user, medium, events)
    if not ok:
        reach.allowed, reach.rule, reach.reason = False, rule, why
    return reach


def _with_verdict(reach: Reach, check) -> Reach:
    """The guard column shows the one verdict: what Iterable's message type says now, what the latest sync
    found in Iterable (templates, campaigns), and "not checked since" when that sync is too old."""
    seen = {v.code for v in reach.guard}
    reach.guard += [v for v in iterable_violations(reach.notification) if v.is_error and v.code not in seen]
    if not reach.guard and (check is None or check.stale):
        reach.not_checked = (check.label if check else "Not checked in Iterable yet") + " (templates and campaigns)"
    return reach


def _listed(result) -> list[dict]:
    """Sent messages or events as Iterable listed them (none when the read failed)."""
    return [] if isinstance(result, IterableError) else result


def _history(
    result_sent, result_events, project: IterableProject, catalog: "_CatalogRows"
) -> tuple[list[HistoryItem], str]:
    errors = [r for r in (result_sent, result_events) if isinstance(r, IterableError)]
    sent, events = _listed(result_sent), _listed(result_events)
    by_campaign = catalog.by_campaign.get(project.pk, {})
    templates = catalog.templates.get(project.pk, {})

    def resolve(raw: dict, kind: str, fallback: str) -> HistoryItem:
        campaign_id, template_id = raw.get("campaignId"), raw.get("templateId")
        template = templates.get(template_id)
        notification = by_campaign.get(campaign_id) or (
            next(iter(template.notifications.all()), None) if template else None
        )
        label = notification.name if notification else (template.name if template else fallback)
        return HistoryItem(
            kind=kind,
            created_at=str(raw.get("createdAt", "")),
            label=label,
            campaign_id=campaign_id,
            template_id=template_id,
            notification=notification,
            detail=raw.get("eventName") or raw.get("eventType") or "",
        )

    items = [resolve(m, "sent", f"Campaign {m.get('campaignId')}") for m in sent]
    items += [resolve(e, "event", e.get("eventName") or e.get("eventType") or "event") for e in events]
    items.sort(key=lambda item: item.created_at, reverse=True)
    return items, " ".join(explain_iterable_error(e, project) for e in errors)


def _fetch_all(projects: list[IterableProject], email: str, user_id: str) -> dict[int, dict | IterableError]:
    """Every project's Iterable reads in one fan-out; per project, the answers by name (with its schema) or
    the error that stopped it before any call (e.g. its key's variable is not set)."""
    answers: dict[int, dict | IterableError] = {}
    cached: dict[int, IterableSchema | None] = {}
    calls: dict[tuple[int, str], Callable] = {}
    for project in projects:
        cached[project.pk] = iterable_schema_cached(project)
        try:
            reads = _lookup_calls(project, email, user_id, with_schema=cached[project.pk] is None)
        except IterableError as error:
            answers[project.pk] = error
            continue
        calls.update({(project.pk, name): call for name, call in reads.items()})
    results = fan_out(calls)
    for project in projects:
        if project.pk in answers:
            continue
        mine = {name: value for (pk, name), value in results.items() if pk == project.pk}
        schema: IterableSchema | IterableError | None = cached[project.pk]
        if schema is None:
            schema = iterable_schema_store(project, {name: mine.pop(name) for name in SCHEMA_READS})
        answers[project.pk] = {**mine, "schema": schema}
    return answers


def _found(results: dict | IterableError) -> TypeGuard[dict]:
    """Whether Iterable answered with the contact and the project's schema (only then is the catalog read)."""
    if isinstance(results, IterableError):
        return False
    if any(isinstance(results[name], IterableError) for name in ("user", "schema")):
        return False
    return results["user"] is not None


@dataclass
class _CatalogRows:
    """The catalog's rows every project's lookup needs, read once for all the projects looked in (so a lookup in
    every project costs as many queries as one in a single project), by project id."""

    reach: dict[int, list[Notification]] = field(default_factory=dict)
    checks: dict[int, IterableCheck] = field(default_factory=dict)
    # By the ids Iterable gave (whatever their type: a lookup by an id the catalog lacks finds nothing).
    by_campaign: dict[int, dict[Any, Notification]] = field(default_factory=dict)
    templates: dict[int, dict[Any, Template]] = field(default_factory=dict)


def _catalog_rows(
    projects: list[IterableProject], answers: dict[int, dict | IterableError], notification: Notification | None
) -> _CatalogRows:
    """What the projects where Iterable found the contact are asked about (each of their notifications but the
    deprecated ones, or the one notification asked about) and what their history's campaign and template ids
    name in the catalog: one read of each kind, whatever the number of projects."""
    catalog = _CatalogRows()
    answered = {p.pk: results for p in projects if _found(results := answers[p.pk])}
    if not answered:
        return catalog
    found = list(answered)
    listed = [raw for results in answered.values() for name in ("sent", "events") for raw in _listed(results[name])]
    campaign_ids = {c for raw in listed if (c := raw.get("campaignId"))}
    template_ids = {t for raw in listed if (t := raw.get("templateId"))}

    # The rows asked about and the ones the history's campaigns name, in one read (the history's may be deprecated).
    asked = (
        Q(pk=notification.pk)
        if notification is not None
        else Q(project_id__in=found) & ~Q(status=NotificationStatus.DEPRECATED)
    )
    if campaign_ids:
        asked |= Q(project_id__in=found, campaign_id__in=campaign_ids)
    rows = list(
        Notification.objects.filter(asked)
        .select_related("message_type")
        .prefetch_related(prefetch_iterable_violations())
    )
    for pk in found:
        if notification is not None:
            catalog.reach[pk] = [n for n in rows if n.pk == notification.pk]
        else:
            catalog.reach[pk] = [n for n in rows if n.project_id == pk and n.status != NotificationStatus.DEPRECATED]
        # The last of a campaign's notifications wins, as it did when each project read its own.
        catalog.by_campaign[pk] = {
            n.campaign_id: n for n in rows if n.project_id == pk and n.campaign_id in campaign_ids
        }
    catalog.checks = iterable_checks(found)
    if template_ids:
        for template in Template.objects.filter(project_id__in=found, iterable_id__in=template_ids).prefetch_related(
            "notifications"
        ):
            catalog.templates.setdefault(template.project_id, {})[template.iterable_id] = template
    return catalog


def _build(
    project: IterableProject, identifier: str, results: dict | IterableError, catalog: _CatalogRows
) -> ContactLookup:
    """Turn one project's Iterable answers and the catalog's rows read for every project into the explained lookup."""
    lookup = ContactLookup(project=project, identifier=identifier)
    if isinstance(results, IterableError):
        lookup.error = explain_iterable_error(results, project)
        return lookup
    schema, user = results["schema"], results["user"]
    for failed in (user, schema):
        if isinstance(failed, IterableError):
            lookup.error = explain_iterable_error(failed, project)
            return lookup
    if user is None:
        lookup.not_found = True
        lookup.error = f"No contact '{identifier}' in Iterable project '{project.name}'."
        return lookup
    lookup.found, lookup.user = True, user
    fields = user.data_fields
    lookup.profile = {k: v for k, v in sorted(fields.items()) if k not in MANAGED_FIELDS}
    lookup.signup_source = str(fields.get("signupSource", ""))
    lookup.signup_date = str(fields.get("signupDate", ""))
    lookup.profile_updated_at = str(fields.get("profileUpdatedAt", ""))
    lookup.lists = [(i, schema.lists.get(i, {}).get("name", f"List {i}")) for i in user.email_list_ids]
    lookup.devices = [
        {**{k: v for k, v in device.items() if k != "token"}, "token": mask_token(str(device.get("token", "")))}
        for device in fields.get("devices") or []
        if isinstance(device, dict)
    ]
    subs = contact_subscriptions(user)
    lookup.subscriptions = _subscription_rows(schema, subs)
    check = catalog.checks.get(project.pk)
    events = _listed(results["events"])
    lookup.reach = [
        _with_verdict(_deliverable(_reach(n, schema, subs), user, _medium(n, schema), events), check)
        for n in catalog.reach[project.pk]
    ]
    lookup.history, lookup.history_error = _history(results["sent"], results["events"], project, catalog)
    return lookup


@dataclass
class LookupRun:
    """One lookup: its audit event (whose id is the lookup's shareable address) and what it found."""

    event: AuditEvent
    lookups: list[ContactLookup]


def contact_lookup_run(
    *,
    actor: Actor,
    email: str = "",
    user_id: str = "",
    project: IterableProject | None = None,
    notification: Notification | None = None,
) -> LookupRun:
    """Look a contact up in one project (or every project), explained. Audited: who looked up whom, and how
    (by email or userId, which project and notification), so the lookup can be opened again by its event.

    Raises ValidationError (on ``email``) for input that cannot be looked up; Iterable's errors come back in each
    ContactLookup's `error`, so one failing project does not hide the others.
    """
    email, user_id = identifier_clean(email=email, user_id=user_id)
    projects = [project] if project is not None else list(IterableProject.objects.all())
    event = audit_event(
        actor=actor,
        action=LOOKUP_ACTION,
        object_type="contact",
        object_id="",
        object_repr=email or user_id,
        changes={
            "projects": [p.name for p in projects],
            "at": datetime.now(UTC).isoformat(),
            # Read back to open the lookup again (contact_lookup_asked); words the activity page shows as they are.
            "looked_up_by": "email" if email else "userId",
            "scope": "one project" if project is not None else "every project",
            "notification": notification.key if notification is not None else None,
        },
    )
    answers = _fetch_all(projects, email, user_id)
    catalog = _catalog_rows(projects, answers, notification)
    return LookupRun(event, [_build(p, email or user_id, answers[p.pk], catalog) for p in projects])


def contact_lookup(**given: Any) -> list[ContactLookup]:
    """`contact_lookup_run`'s lookups (its arguments)."""
    return contact_lookup_run(**given).lookups


class LookupGone(Exception):
    """The recorded lookup cannot be opened again; the message says why."""


@dataclass
class LookupAsked:
    """What a recorded lookup asked: who, where, about which notification."""

    email: str
    user_id: str
    project: IterableProject | None
    notification: Notification | None


def contact_lookup_asked(*, event_id: int) -> LookupAsked:
    """What the lookup recorded as audit event `event_id` asked. Raises LookupGone when there is no such lookup
    or it cannot be asked again. Only for people who may look contacts up: the answer names the contact."""
    event = AuditEvent.objects.filter(pk=event_id, action=LOOKUP_ACTION, object_type="contact").first()
    if event is None:
        raise LookupGone("There is no such lookup: the link is wrong, or the activity log no longer holds it.")
    changes = event.changes if isinstance(event.changes, dict) else {}
    identifier = event.object_repr
    by = changes.get("looked_up_by")
    if by is None:
        # Recorded before lookups said how: an identifier that is a valid address was an email.
        try:
            validate_email(identifier)
            by = "email"
        except ValidationError:
            by = "userId"
    project = None
    names = changes.get("projects") or []
    notification_key = changes.get("notification") or ""
    # Events written by older versions (or repaired by hand) may hold other shapes: they cannot be asked again.
    if by not in ("email", "userId") or not isinstance(names, list) or not isinstance(notification_key, str):
        raise LookupGone("This lookup's record is not in a form that can be opened again.")
    if names and not isinstance(names[0], str):
        raise LookupGone("This lookup's record is not in a form that can be opened again.")
    # Recorded before lookups said their scope: one project named was one project asked.
    if changes.get("scope", "one project" if len(names) == 1 else "") == "one project" and names:
        project = IterableProject.objects.filter(name=names[0]).first()
        if project is None:
            raise LookupGone(f"The project this lookup was made in, '{names[0]}', no longer exists (or was renamed).")
    notification = Notification.objects.filter(key=notification_key).first() if notification_key else None
    email, user_id = (identifier, "") if by == "email" else ("", identifier)
    try:
        identifier_clean(email=email, user_id=user_id)
    except ValidationError:
        raise LookupGone("This lookup's contact was not recorded in full, so it cannot be opened again.") from None
    return LookupAsked(email, user_id, project, notification)


def contact_lookup_again(*, actor: Actor, event_id: int) -> tuple[LookupAsked, LookupRun]:
    """Run the lookup recorded as audit event `event_id` again, now (audited as a new lookup)."""
    asked = contact_lookup_asked(event_id=event_id)
    run = contact_lookup_run(
        actor=actor,
        email=asked.email,
        user_id=asked.user_id,
        project=asked.project,
        notification=asked.notification,
    )
    return asked, run
