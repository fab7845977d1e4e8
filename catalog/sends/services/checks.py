"""The guard before a test send: the catalog's verdict, then Iterable's live data, failing closed."""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q

from catalog.contacts.services import contact_subscriptions
from catalog.guard import policy
from catalog.guard.enforcement import message_type_facts
from catalog.iterable import IterableError, client_for_project
from catalog.models import (
    IterableProject,
    Notification,
    ProofMode,
    RecipientStatus,
    Template,
)
from catalog.sends.services.data import proof_plan, proof_templates, recipient_check
from catalog.sends.services.recipients import proof_recipient_allowlisted, proof_recipients_visible
from catalog.sends.services.rendering import RenderedMessage, proof_render
from catalog.sends.services.results import (
    LIVE_CHECK_FAILED,
    NOT_ALLOWLISTED,
    RECIPIENT_INELIGIBLE,
    TYPE_MISSING,
    ProofPlan,
    ProofPreview,
    ProofVerdict,
)
from catalog.services.iterable_support import explain_iterable_error, fan_out, first_error
from catalog.types import RequestUser


def _judged_templates(plan: ProofPlan) -> list[Template]:
    if plan.mode == ProofMode.TEMPLATE_PROOF and plan.template is not None:  # proof_plan requires one for a proof
        return [plan.template]
    return proof_templates(plan.notification)


def _catalog_verdict(plan: ProofPlan) -> ProofVerdict | None:
    """The guard on what the catalog declares, before anything is asked of Iterable."""
    subject = f"Notification '{plan.notification.key}'"
    found = policy.message_type_violations(message_type_facts(plan.notification.message_type), subject=subject)
    for template in _judged_templates(plan):
        if template.message_type is not None:
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
    calls: dict[str, Callable[[], Any]] = {"message_types": client.get_message_types, "channels": client.get_channels}
    for template_id, medium in templates:
        getter = client.get_push_template if medium == "Push" else client.get_email_template
        calls[f"template:{template_id}"] = partial(getter, template_id)
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


class _Refused(Exception):
    """A live check that refuses the send; carries the verdict to return."""

    def __init__(self, verdict: ProofVerdict):
        super().__init__(verdict.message)
        self.verdict = verdict


def _live_verdict(plan: ProofPlan) -> ProofVerdict:
    return _live_check(plan)[0]


def _live_check(plan: ProofPlan) -> tuple[ProofVerdict, dict | None]:
    """The live verdict, and what was read from Iterable for it (None when the read failed)."""
    notification = plan.notification
    templates = _judged_templates(plan)
    check_reach = plan.mode != ProofMode.TEMPLATE_PROOF
    checks: dict = {"templates": [], "message_type": None, "eligibility": [], "campaigns": []}
    campaign_id = event_name = journey_id = None
    if plan.mode == ProofMode.CAMPAIGN:
        campaign_id = notification.campaign_id
    elif plan.mode == ProofMode.EVENT and notification.event is not None:  # proof_modes offers it only then
        event_name = notification.event.name
        journey_id = notification.journey.iterable_id if notification.journey is not None else None
    try:
        live = _live_read(
            notification.project,
            [(t.iterable_id, t.medium) for t in templates],
            plan.email,
            plan.user_id,
            True,  # the profile, for the reach check and for the preview's merge fields
            campaign_id=campaign_id,
            journey_id=journey_id,
            event_name=event_name,
        )
    except IterableError as error:
        return ProofVerdict(
            False,
            LIVE_CHECK_FAILED,
            "Refused: the guard could not read the message type, its policy and channel from Iterable just now, "
            f"so it cannot vouch for this send. {explain_iterable_error(error, notification.project)}",
            checks,
        ), None
    try:
        judged = _live_facts(plan, templates, live, checks)
        _guard_on_live_facts(notification, judged, checks)
        if check_reach:
            _reach_check(plan, live, checks)
    except _Refused as refusal:
        return refusal.verdict, live
    return ProofVerdict(True, "", "The guard and the recipient's subscriptions allow this test send.", checks), live


def _live_facts(plan: ProofPlan, templates: list[Template], live: dict, checks: dict) -> list[dict]:
    """What Iterable holds now for the declared type, each judged template and each campaign's own template
    (filled into `checks`); refuses when any of them cannot be read."""
    types = {m.get("id"): m for m in live["message_types"]}
    channels = {c.get("id"): c for c in live["channels"]}

    def describe(type_id, via: str) -> dict:
        message_type = types.get(type_id)
        if message_type is None:
            raise _Refused(
                ProofVerdict(
                    False,
                    TYPE_MISSING,
                    f"Refused: {via} uses message type #{type_id}, which Iterable does not have.",
                    checks,
                )
            )
        channel = channels.get(message_type.get("channelId"))
        if channel is None:
            raise _Refused(
                ProofVerdict(
                    False,
                    TYPE_MISSING,
                    f"Refused: message type '{message_type.get('name')}' is on channel "
                    f"#{message_type.get('channelId')}, which Iterable does not have.",
                    checks,
                )
            )
        return {
            "via": via,
            "message_type_id": type_id,
            "message_type": message_type.get("name", ""),
            "policy": policy.effective_policy(message_type.get("subscriptionPolicy")),
            "channel_id": channel.get("id"),
            "channel": channel.get("name", ""),
            "channel_type": channel.get("channelType", ""),
        }

    def unreadable(message: str) -> _Refused:
        return _Refused(ProofVerdict(False, LIVE_CHECK_FAILED, f"Refused: {message}", checks))

    declared = describe(plan.notification.message_type.iterable_id, "the notification's message type")
    checks["message_type"] = declared
    judged = [declared]
    for template in templates:
        raw = live[f"template:{template.iterable_id}"]
        type_id = raw.get("messageTypeId") if isinstance(raw, dict) else None
        if type_id is None:
            raise unreadable(f"Iterable did not say which message type template #{template.iterable_id} uses.")
        facts = describe(type_id, f"template '{template.name}' (#{template.iterable_id})")
        facts["template_id"] = template.iterable_id
        checks["templates"].append(facts)
        judged.append(facts)
    for campaign in live["campaigns"]:
        campaign_id = campaign.get("id")
        rendered = live.get(f"campaign-template:{campaign_id}")
        type_id = rendered.get("messageTypeId") if isinstance(rendered, dict) else None
        if not isinstance(rendered, dict) or type_id is None:
            raise unreadable(
                f"the guard could not read which template campaign #{campaign_id} sends, and on which "
                "message type, so it cannot vouch for what Iterable would render."
            )
        via = (
            f"campaign '{campaign.get('name', '')}' (#{campaign_id}) through its template "
            f"'{rendered.get('name', '')}' (#{campaign.get('templateId')})"
        )
        facts = describe(type_id, via)
        facts["template_id"] = campaign.get("templateId")
        facts["campaign_id"] = campaign_id
        checks["campaigns"].append(facts)
        judged.append(facts)
    return judged


def _guard_on_live_facts(notification: Notification, judged: list[dict], checks: dict) -> None:
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
            raise _Refused(ProofVerdict(False, found[0].code, f"Refused: {found[0].message}", checks))


def _reach_check(plan: ProofPlan, live: dict, checks: dict) -> None:
    """Would the recipient receive it? Judged on the rendered templates' types: the campaigns' own, else the
    catalog's templates, else the declared type."""
    user = live["user"]
    subscriptions = contact_subscriptions(user)
    checks["contact_found"] = user is not None
    for facts in checks["campaigns"] or checks["templates"] or [checks["message_type"]]:
        reach = policy.eligibility(
            subscriptions,
            message_type_id=facts["message_type_id"],
            message_type_name=facts["message_type"],
            policy=facts["policy"],
            channel_id=facts["channel_id"],
            channel_name=facts["channel"],
        )
        checks["eligibility"].append(
            {"message_type": facts["message_type"], "allowed": reach.allowed, "state": reach.state,
             "reason": reach.reason}
        )  # fmt: skip
        if not reach.allowed:
            who = plan.email or plan.user_id
            unknown = "" if user else " (Iterable has no such contact yet, so nothing is subscribed)"
            raise _Refused(
                ProofVerdict(
                    False,
                    RECIPIENT_INELIGIBLE,
                    f"{who} would not receive it{unknown}: {reach.reason} Pick another test recipient, or send a "
                    "template proof, which ignores subscriptions.",
                    checks,
                )
            )


def proof_verdict(plan: ProofPlan) -> ProofVerdict:
    return _catalog_verdict(plan) or _live_verdict(plan)


def proof_preview(*, actor: User, **given: Any) -> ProofPreview:
    """The message the recipient would get (rendered as Iterable would), the exact request a test send would
    make, and whether it would go ahead. Nothing is sent or recorded.

    Takes proof_plan's arguments. Raises ValidationError for bad input.
    """
    recipient_check(actor=actor, recipient=given.get("recipient"))
    plan = proof_plan(**given)
    notification = plan.notification
    if (
        proof_recipient_allowlisted(actor=actor, project=notification.project, email=plan.email, user_id=plan.user_id)
        is None
    ):
        # Not someone this person may send to: their profile is not read, nor shown merged into a message.
        return ProofPreview(plan, not_allowlisted(plan, actor))
    verdict = _catalog_verdict(plan)
    live = None
    if verdict is None:
        verdict, live = _live_check(plan)
    rendered, render_error = _rendered(plan, live)
    return ProofPreview(plan, verdict, rendered, render_error)


def _rendered(plan: ProofPlan, live: dict | None) -> tuple[list[RenderedMessage], str]:
    """The preview's messages from the guard's read; read now when the guard stopped before reading Iterable."""
    if live is None:
        templates = _judged_templates(plan)
        try:
            live = _live_read(
                plan.notification.project,
                [(t.iterable_id, t.medium) for t in templates],
                plan.email,
                plan.user_id,
                True,
                campaign_id=plan.notification.campaign_id if plan.mode == ProofMode.CAMPAIGN else None,
            )
        except IterableError as error:
            why = explain_iterable_error(error, plan.notification.project)
            return [], f"The message cannot be shown: Iterable could not be read just now. {why}"
    return proof_render(plan=plan, live=live), ""


def not_allowlisted(plan: ProofPlan, actor: RequestUser) -> ProofVerdict:
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
