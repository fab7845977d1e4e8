"""Compare the mirror with the catalog: drift per notification, orphans, and the guard on Iterable's side."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.guard import policy
from catalog.models import (
    FindingCategory,
    IterableMirror,
    IterableProject,
    Journey,
    MessageType,
    MirrorKind,
    Notification,
    Template,
    TriggerType,
)
from catalog.sync.codes import (
    CAMPAIGN_MISSING,
    CAMPAIGN_NOT_RUNNING,
    CAMPAIGN_NOT_TRIGGERED,
    JOURNEY_ARCHIVED,
    JOURNEY_DISABLED,
    JOURNEY_MISSING,
    JOURNEY_TRIGGER_MISMATCH,
    MESSAGE_TYPE_CHANGED,
    MESSAGE_TYPE_MISSING,
    ORPHAN_CAMPAIGN,
    ORPHAN_TEMPLATE,
    TEMPLATE_COPY,
    TEMPLATE_MISSING,
    TEMPLATE_TYPE_CHANGED,
)
from catalog.sync.services.mirror import as_int, journey_state

logger = logging.getLogger(__name__)


INFO = "info"


DRIFT_CODES = {
    TEMPLATE_MISSING: policy.ERROR,
    TEMPLATE_TYPE_CHANGED: policy.WARNING,
    MESSAGE_TYPE_MISSING: policy.ERROR,
    MESSAGE_TYPE_CHANGED: policy.WARNING,
    CAMPAIGN_MISSING: policy.ERROR,
    CAMPAIGN_NOT_RUNNING: policy.ERROR,
    CAMPAIGN_NOT_TRIGGERED: policy.ERROR,
    JOURNEY_MISSING: policy.ERROR,
    JOURNEY_ARCHIVED: policy.ERROR,
    JOURNEY_DISABLED: policy.ERROR,
    JOURNEY_TRIGGER_MISMATCH: policy.ERROR,
    TEMPLATE_COPY: policy.WARNING,
}
ORPHAN_CODES = {ORPHAN_TEMPLATE: INFO, ORPHAN_CAMPAIGN: INFO}


@dataclass(frozen=True)
class Finding:
    """One finding before it is stored: see ``SyncFinding``."""

    category: str
    code: str
    severity: str
    message: str
    notification_id: int | None = None
    iterable_kind: str = ""
    iterable_id: int | None = None
    details: dict = field(default_factory=dict)


@dataclass
class MirrorIndex:
    """The project's mirror in memory, in the shapes the rules need (a few queries, no payloads for templates)."""

    channels: dict[int, dict[str, Any]]
    message_types: dict[int, dict[str, Any]]
    # Rows of .values(): read, never changed.
    templates: Mapping[int, Mapping[str, Any]]
    campaigns: Mapping[int, Mapping[str, Any]]
    journeys: dict[int, dict[str, Any]]

    @classmethod
    def load(cls, project: IterableProject, *, types_only: bool = False) -> MirrorIndex:
        rows = IterableMirror.objects.filter(project=project)
        small_kinds = [MirrorKind.CHANNEL, MirrorKind.MESSAGE_TYPE] + ([] if types_only else [MirrorKind.JOURNEY])
        small: defaultdict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
        for kind, iid, payload in rows.filter(kind__in=small_kinds).values_list("kind", "iterable_id", "payload"):
            small[kind][iid] = payload
        if types_only:
            return cls(small[MirrorKind.CHANNEL], small[MirrorKind.MESSAGE_TYPE], {}, {}, {})
        templates = {
            r["iterable_id"]: r
            for r in rows.filter(kind=MirrorKind.TEMPLATE).values(
                "iterable_id", "name", "iterable_message_type_id", "iterable_campaign_id", "client_template_id"
            )
        }
        campaigns = {
            r["iterable_id"]: r
            for r in rows.filter(kind=MirrorKind.CAMPAIGN).values(
                "iterable_id", "name", "iterable_template_id", "iterable_workflow_id", "state", "payload__type"
            )
        }
        return cls(
            channels=small[MirrorKind.CHANNEL],
            message_types=small[MirrorKind.MESSAGE_TYPE],
            templates=templates,
            campaigns=campaigns,
            journeys=small[MirrorKind.JOURNEY],
        )

    def type_facts(self, message_type_id: int | None) -> policy.MessageTypeFacts | None:
        raw = self.message_types.get(message_type_id) if message_type_id is not None else None
        if raw is None:
            return None
        channel_id = as_int(raw.get("channelId"))
        channel = (self.channels.get(channel_id) if channel_id is not None else None) or {}
        return policy.MessageTypeFacts(
            name=str(raw.get("name") or ""),
            policy=raw.get("subscriptionPolicy") or policy.OPT_OUT,
            channel_name=str(channel.get("name") or f"#{raw.get('channelId')}"),
            channel_type=channel.get("channelType"),
        )

    def attached_templates(self, campaign_ids: Iterable[int]) -> dict[int, Mapping[str, Any]]:
        """Templates Iterable attaches to these campaigns: each campaign's templateId and their campaignId."""
        campaign_ids = set(campaign_ids)
        found = {tid: t for tid, t in self.templates.items() if t["iterable_campaign_id"] in campaign_ids}
        for cid in campaign_ids:
            tid = (self.campaigns.get(cid) or {}).get("iterable_template_id")
            if tid is not None and tid in self.templates:
                found[tid] = self.templates[tid]
        return found


def _finding(code: str, message: str, **kwargs) -> Finding:
    category = FindingCategory.ORPHAN if code in ORPHAN_CODES else FindingCategory.DRIFT
    severity = ORPHAN_CODES.get(code) or DRIFT_CODES[code]
    return Finding(category=category, code=code, severity=severity, message=message, **kwargs)


def _same_template(declared: Template, declared_mirror: Mapping[str, Any] | None, candidate: Mapping[str, Any]) -> bool:
    client_ids = {declared.client_template_id, (declared_mirror or {}).get("client_template_id") or ""} - {""}
    if client_ids or candidate["client_template_id"]:
        return candidate["client_template_id"] in client_ids
    names = {policy.normalise_name(declared.name), policy.normalise_name((declared_mirror or {}).get("name") or "")}
    return policy.normalise_name(candidate["name"]) in names - {""}


def _message_type_drift(n: Notification, mt: MessageType, mirror: MirrorIndex, subject: str) -> Finding | None:
    raw = mirror.message_types.get(mt.iterable_id)
    details = {"message_type": mt.name, "iterable_message_type_id": mt.iterable_id}
    if raw is None:
        return _finding(
            MESSAGE_TYPE_MISSING,
            f"{subject} uses message type '{mt.name}' (#{mt.iterable_id}), which does not exist in Iterable.",
            notification_id=n.pk,
            iterable_kind=MirrorKind.MESSAGE_TYPE,
            iterable_id=mt.iterable_id,
            details=details,
        )
    changes = []
    iterable_policy = policy.effective_policy(raw.get("subscriptionPolicy"))
    if iterable_policy != mt.policy:
        changes.append(f"its policy is {iterable_policy} in Iterable but {mt.policy} in the catalog")
    channel_id = as_int(raw.get("channelId"))
    if channel_id != mt.channel.iterable_id:
        changes.append(
            f"it is on channel #{channel_id} in Iterable but on '{mt.channel.name}' (#{mt.channel.iterable_id}) "
            "in the catalog"
        )
    else:
        channel_type = (mirror.channels.get(channel_id) or {}).get("channelType")
        if channel_type and channel_type != mt.channel.channel_type:
            changes.append(
                f"its channel '{mt.channel.name}' is {channel_type} in Iterable but "
                f"{mt.channel.channel_type} in the catalog"
            )
    if not changes:
        return None
    details.update({"iterable_policy": iterable_policy, "iterable_channel_id": channel_id})
    return _finding(
        MESSAGE_TYPE_CHANGED,
        f"Message type '{mt.name}' of {subject} changed in Iterable: {'; '.join(changes)}. "
        "Update the catalog (the guard judges the catalog's facts) or fix Iterable.",
        notification_id=n.pk,
        iterable_kind=MirrorKind.MESSAGE_TYPE,
        iterable_id=mt.iterable_id,
        details=details,
    )


def _notification_drift(n: Notification, mirror: MirrorIndex) -> list[Finding]:
    subject = f"Notification '{n.key}'"
    declared = list(n.templates.all())
    found = _template_drift(n, declared, mirror, subject)
    types = {n.message_type.pk: n.message_type} if n.message_type_id else {}
    types.update({t.message_type.pk: t.message_type for t in declared if t.message_type is not None})
    found += [d for mt in types.values() if (d := _message_type_drift(n, mt, mirror, subject)) is not None]
    campaign_ids: list[int] = []
    if n.trigger_type == TriggerType.API_SEND and n.campaign_id is not None:
        campaign_ids = [n.campaign_id]
        found += _campaign_drift(n, n.campaign_id, mirror, subject)
    elif n.trigger_type == TriggerType.CUSTOM_EVENT and (journey := n.journey) is not None:
        campaign_ids = [cid for cid, c in mirror.campaigns.items() if c["iterable_workflow_id"] == journey.iterable_id]
        found += _journey_drift(n, journey, mirror, subject)
    return found + _template_copy_drift(n, declared, mirror.attached_templates(campaign_ids), mirror, subject)


def _template_drift(n: Notification, declared: list, mirror: MirrorIndex, subject: str) -> list[Finding]:
    found = []
    for t in declared:
        m = mirror.templates.get(t.iterable_id)
        if m is None:
            found.append(
                _finding(
                    TEMPLATE_MISSING,
                    f"{subject} declares template '{t.name}' (#{t.iterable_id}), which does not exist in "
                    "Iterable: sends that use it will fail.",
                    notification_id=n.pk,
                    iterable_kind=MirrorKind.TEMPLATE,
                    iterable_id=t.iterable_id,
                )
            )
        elif t.message_type is not None and m["iterable_message_type_id"] != t.message_type.iterable_id:
            iterable_type = mirror.message_types.get(m["iterable_message_type_id"]) or {}
            found.append(
                _finding(
                    TEMPLATE_TYPE_CHANGED,
                    f"Template '{t.name}' (#{t.iterable_id}) of {subject} is on message type "
                    f"'{iterable_type.get('name', '?')}' (#{m['iterable_message_type_id']}) in Iterable, but on "
                    f"'{t.message_type.name}' (#{t.message_type.iterable_id}) in the catalog.",
                    notification_id=n.pk,
                    iterable_kind=MirrorKind.TEMPLATE,
                    iterable_id=t.iterable_id,
                    details={"iterable_message_type_id": m["iterable_message_type_id"]},
                )
            )
    return found


def _campaign_drift(n: Notification, campaign_id: int, mirror: MirrorIndex, subject: str) -> list[Finding]:
    """An API send's campaign (``n.campaign_id``): missing, not Running, or not Triggered."""
    campaign = mirror.campaigns.get(campaign_id)
    where = {"notification_id": n.pk, "iterable_kind": MirrorKind.CAMPAIGN, "iterable_id": n.campaign_id}
    if campaign is None:
        return [
            _finding(
                CAMPAIGN_MISSING,
                f"{subject} is sent with campaign {n.campaign_id}, which does not exist in Iterable: "
                "every send is refused as an invalid campaign id.",
                **where,
            )
        ]
    found = []
    if campaign["state"] != "Running":
        found.append(
            _finding(
                CAMPAIGN_NOT_RUNNING,
                f"{subject} is sent with campaign '{campaign['name']}' ({n.campaign_id}), which is "
                f"{campaign['state'] or 'in no state'} in Iterable, not Running: sends are skipped.",
                details={"campaign_state": campaign["state"]},
                **where,
            )
        )
    if campaign["payload__type"] != "Triggered":
        found.append(
            _finding(
                CAMPAIGN_NOT_TRIGGERED,
                f"{subject} is sent with campaign '{campaign['name']}' ({n.campaign_id}), which is a "
                f"{campaign['payload__type'] or 'untyped'} campaign in Iterable: an API send needs a "
                "Triggered campaign.",
                details={"campaign_type": campaign["payload__type"]},
                **where,
            )
        )
    return found


def _journey_drift(n: Notification, journey: Journey, mirror: MirrorIndex, subject: str) -> list[Finding]:
    """A custom-event notification's journey (``n.journey``): missing, archived, disabled, or triggered by another
    event."""
    raw = mirror.journeys.get(journey.iterable_id)
    where = {"notification_id": n.pk, "iterable_kind": MirrorKind.JOURNEY, "iterable_id": journey.iterable_id}
    label = f"journey '{journey.name}' ({journey.iterable_id})"
    if raw is None:
        return [
            _finding(JOURNEY_MISSING, f"{subject} runs through {label}, which does not exist in Iterable.", **where)
        ]
    found = []
    state = journey_state(raw)
    if state == "archived":
        found.append(
            _finding(
                JOURNEY_ARCHIVED,
                f"{subject} runs through {label}, which is archived in Iterable: nothing is sent.",
                **where,
            )
        )
    elif state == "disabled":
        found.append(
            _finding(
                JOURNEY_DISABLED,
                f"{subject} runs through {label}, which is disabled in Iterable: events enter no journey.",
                **where,
            )
        )
    triggers = [str(e) for e in raw.get("triggerEventNames") or []]
    if (event := n.event) is not None and event.name not in triggers:
        found.append(
            _finding(
                JOURNEY_TRIGGER_MISMATCH,
                f"{subject} posts the event '{event.name}', but {label} is triggered by "
                f"{', '.join(repr(e) for e in triggers) or 'no event'} in Iterable: the event starts nothing.",
                details={"event": event.name, "iterable_trigger_event_names": triggers},
                **where,
            )
        )
    return found


def _template_copy_drift(
    n: Notification, declared: list, attached: dict, mirror: MirrorIndex, subject: str
) -> list[Finding]:
    """A declared template Iterable replaced by the copy it made when attaching it (module docstring)."""
    found = []
    for t in declared:
        if not attached or t.iterable_id in attached:
            continue
        copies = [a for aid, a in sorted(attached.items()) if _same_template(t, mirror.templates.get(t.iterable_id), a)]
        if copies:
            copy = copies[0]
            found.append(
                _finding(
                    TEMPLATE_COPY,
                    f"{subject} declares template #{t.iterable_id} '{t.name}', but its "
                    f"{'campaign' if n.trigger_type == TriggerType.API_SEND else 'journey'} in Iterable uses "
                    f"#{copy['iterable_id']} '{copy['name']}', a copy Iterable made when the template was "
                    f"attached. Point the catalog at #{copy['iterable_id']}.",
                    notification_id=n.pk,
                    iterable_kind=MirrorKind.TEMPLATE,
                    iterable_id=copy["iterable_id"],
                    details={"declared_template_id": t.iterable_id, "copy_template_id": copy["iterable_id"]},
                )
            )
    return found


def _guard_findings(project: IterableProject, mirror: MirrorIndex, notifications: list[Notification]) -> list[Finding]:
    """Iterable templates on a type the guard forbids, one finding per affected notification (or one if none)."""
    by_template: dict[int, set[int]] = defaultdict(set)
    by_campaign: dict[int, set[int]] = defaultdict(set)
    for n in notifications:
        for t in n.templates.all():
            by_template[t.iterable_id].add(n.pk)
        if n.trigger_type == TriggerType.API_SEND and n.campaign_id is not None:
            by_campaign[n.campaign_id].add(n.pk)
            # What renders is the template the campaign uses in Iterable, whatever the catalog lists.
            if (campaign := mirror.campaigns.get(n.campaign_id)) and campaign["iterable_template_id"] is not None:
                by_template[campaign["iterable_template_id"]].add(n.pk)
        if n.trigger_type == TriggerType.CUSTOM_EVENT and (journey := n.journey) is not None:
            for campaign in mirror.campaigns.values():
                if campaign["iterable_workflow_id"] == journey.iterable_id and campaign["iterable_template_id"]:
                    by_template[campaign["iterable_template_id"]].add(n.pk)
    keys = {n.pk: n.key for n in notifications}
    forbidden_types = {
        tid
        for tid in mirror.message_types
        if (facts := mirror.type_facts(tid)) and policy.errors(policy.message_type_violations(facts, subject="-"))
    }
    found: list[Finding] = []
    for tid, t in sorted(mirror.templates.items()):
        if t["iterable_message_type_id"] not in forbidden_types:
            continue
        facts = mirror.type_facts(t["iterable_message_type_id"])
        assert facts is not None  # a forbidden type has facts
        subject = f"Iterable template '{t['name']}' (#{tid})"
        affected = sorted(by_template.get(tid, set()) | by_campaign.get(t["iterable_campaign_id"], set()))
        for violation in policy.errors(policy.message_type_violations(facts, subject=subject)):
            details = {
                "message_type": facts.name,
                "iterable_message_type_id": t["iterable_message_type_id"],
                "notifications": [keys[pk] for pk in affected],
            }
            targets: list[int | None] = list(affected) or [None]
            for notification_id in targets:
                found.append(
                    Finding(
                        category=FindingCategory.GUARD,
                        code=violation.code,
                        severity=violation.severity,
                        message=violation.message,
                        notification_id=notification_id,
                        iterable_kind=MirrorKind.TEMPLATE,
                        iterable_id=tid,
                        details=details,
                    )
                )
    # A notification's own message type, as Iterable holds it now (flipped to opt-out, moved to a Marketing
    # channel, renamed), even when no template on it is known.
    for n in notifications:
        type_id = n.message_type.iterable_id
        if type_id not in forbidden_types:
            continue
        facts = mirror.type_facts(type_id)
        assert facts is not None  # a forbidden type has facts
        subject = f"Notification '{n.key}'"
        for violation in policy.errors(policy.message_type_violations(facts, subject=subject)):
            found.append(
                Finding(
                    category=FindingCategory.GUARD,
                    code=violation.code,
                    severity=violation.severity,
                    message=f"In Iterable, {violation.message[0].lower()}{violation.message[1:]}",
                    notification_id=n.pk,
                    iterable_kind=MirrorKind.MESSAGE_TYPE,
                    iterable_id=type_id,
                    details={"message_type": facts.name, "iterable_message_type_id": type_id, "notifications": [n.key]},
                )
            )
    return found


def _orphans(project: IterableProject, mirror: MirrorIndex) -> list[Finding]:
    catalog_templates = set(Template.objects.filter(project=project).values_list("iterable_id", flat=True))
    journeys = set(Journey.objects.filter(project=project).values_list("iterable_id", flat=True))
    claimed_campaigns = set(
        Notification.objects.filter(project=project, campaign_id__isnull=False).values_list("campaign_id", flat=True)
    ) | set(Template.objects.filter(project=project, campaign_id__isnull=False).values_list("campaign_id", flat=True))
    claimed_campaigns |= {cid for cid, c in mirror.campaigns.items() if c["iterable_workflow_id"] in journeys}
    found = []
    for tid, t in sorted(mirror.templates.items()):
        if tid in catalog_templates or t["iterable_campaign_id"] in claimed_campaigns:
            continue
        found.append(
            _finding(
                ORPHAN_TEMPLATE,
                f"Iterable template '{t['name']}' (#{tid}) is in no catalog entry.",
                iterable_kind=MirrorKind.TEMPLATE,
                iterable_id=tid,
            )
        )
    for cid, c in sorted(mirror.campaigns.items()):
        if (
            cid in claimed_campaigns
            or c["payload__type"] != "Triggered"
            or c["iterable_template_id"] in catalog_templates
        ):
            continue
        found.append(
            _finding(
                ORPHAN_CAMPAIGN,
                f"Iterable triggered campaign '{c['name']}' ({cid}, {c['state'] or 'no state'}) "
                "is in no catalog entry.",
                iterable_kind=MirrorKind.CAMPAIGN,
                iterable_id=cid,
            )
        )
    return found


def catalog_drift(*, project: IterableProject) -> list[Finding]:
    """Every finding for one project, from its current mirror and catalog (reads only; call it any time)."""
    mirror = MirrorIndex.load(project)
    notifications = list(
        Notification.objects.filter(project=project)
        .exclude(status=policy.DEPRECATED)
        .select_related("message_type__channel", "journey", "event")
        .prefetch_related("templates__message_type__channel")
    )
    found: list[Finding] = []
    for n in notifications:
        found += _notification_drift(n, mirror)
    found += _guard_findings(project, mirror, notifications)
    found += _orphans(project, mirror)
    return found
