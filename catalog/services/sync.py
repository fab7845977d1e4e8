"""Catalog sync: read a project's catalog from Iterable, mirror it, and say where the catalog has drifted.

A run per project (``catalog_sync_project``):

1. **Fetch** channels, message types, templates and campaigns (every page at the maximum page size, 1000) and
   journeys (max 50; live and archived, because Iterable hides archived journeys unless asked for them),
   through the project's client. Nothing is written while Iterable is being read, so no database lock is
   held during HTTP, and a fetch that fails part-way leaves the mirror as it was: a half-read project would
   show every unread template as "missing in Iterable".
2. **Write the mirror** (``IterableMirror``) in one transaction, per kind as a diff on a content hash: the new
   rows bulk-created, the changed ones bulk-updated, the gone ones deleted; unchanged rows are not touched.
   The same Iterable data therefore leaves the same mirror and writes nothing (a rerun is idempotent, and so
   is a redelivered task).
3. **Judge**: ``catalog_drift`` compares the mirror with the catalog and returns findings (drift per
   notification, orphans in Iterable, and Iterable-side guard violations judged by
   ``catalog.guard.policy.message_type_violations``); they replace the project's previous ``SyncFinding`` rows.
4. **Record** the ``SyncRun`` (status, counts per kind, calls per endpoint, Iterable's error code and msg)
   and an audit event.

``catalog_sync`` runs several projects; a failing one (bad key, Iterable down, a bug) is recorded and the
others still run. Views, the API, the command and the django-q2 tasks all call these functions.

Drift rules (codes in ``DRIFT_CODES``), checked for draft and active notifications (deprecated ones are
expected to point at stopped campaigns and are skipped):

- a declared template does not exist in Iterable; its message type there differs from the catalog's;
- a message type the notification uses (its own or a template's) is missing in Iterable, or its
  subscription policy, its channel or that channel's type differs from the catalog;
- an API send's campaign is missing, not ``Running``, or not ``Triggered``;
- a custom-event notification's journey is missing, archived, disabled, or not triggered by the declared event;
- **template copy**: Iterable copies a template when it is attached to a campaign or a journey, so the catalog
  may hold the base template's id while sends use the copy. The rule: take the templates Iterable attaches to
  the notification (API send: its campaign's ``templateId`` and templates whose ``campaignId`` is that campaign;
  custom event: the same for every campaign whose ``workflowId`` is the journey). If a declared template is not
  among them but one of them has the same ``clientTemplateId`` (when either side has one) or the same name
  (case and spacing folded) as the declared template, that one is a copy and is named.

Orphans: an Iterable template no catalog entry claims (no catalog template has its id, and its campaign is
not claimed), and a *Triggered* campaign no catalog entry claims (no notification or catalog template names
it, and it is not in a catalog journey). Blast campaigns are one-off sends, not catalog notifications.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from catalog.guard import policy
from catalog.guard.verdicts import refresh_verdicts
from catalog.iterable import IterableError, client_for_project
from catalog.iterable.client import CAMPAIGNS_MAX_PAGE_SIZE, JOURNEYS_MAX_PAGE_SIZE, TEMPLATES_MAX_PAGE_SIZE
from catalog.models import (
    FindingCategory,
    IterableMirror,
    IterableProject,
    Journey,
    MessageType,
    MirrorKind,
    Notification,
    SyncFinding,
    SyncRun,
    SyncStatus,
    Template,
    TriggerType,
)
from catalog.services.audit import actor_label, audit_record

logger = logging.getLogger(__name__)

SCHEDULE_NAME = "catalog-sync-all"  # also in migration 0006_sync_mirror
WRITE_BATCH = 1000
INFO = "info"

TEMPLATE_MISSING = "template-missing"
TEMPLATE_TYPE_CHANGED = "template-type-changed"
MESSAGE_TYPE_MISSING = "message-type-missing"
MESSAGE_TYPE_CHANGED = "message-type-changed"
CAMPAIGN_MISSING = "campaign-missing"
CAMPAIGN_NOT_RUNNING = "campaign-not-running"
CAMPAIGN_NOT_TRIGGERED = "campaign-not-triggered"
JOURNEY_MISSING = "journey-missing"
JOURNEY_ARCHIVED = "journey-archived"
JOURNEY_DISABLED = "journey-disabled"
JOURNEY_TRIGGER_MISMATCH = "journey-trigger-mismatch"
TEMPLATE_COPY = "template-copy"
ORPHAN_TEMPLATE = "orphan-template"
ORPHAN_CAMPAIGN = "orphan-campaign"

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


# ---------------------------------------------------------------------------------------------------------
# Plain results


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
class Prefill:
    """Initial form data for a new catalog entry made from an Iterable object, and what to tell the user."""

    initial: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    violations: list[policy.Violation] = field(default_factory=list)


@dataclass
class _Fetched:
    items: dict[str, list[dict]] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)


class _SyncFailed(Exception):
    def __init__(self, error: IterableError, calls: Counter):
        super().__init__(str(error))
        self.error = error
        self.calls = calls


# ---------------------------------------------------------------------------------------------------------
# Fetch


def _pages(fetch: Callable[..., Any], calls: Counter, endpoint: str, page_size: int, **kwargs) -> list[dict]:
    """Every item of a paginated listing, at ``page_size``, counting the calls (our own walk, to count them)."""
    items: list[dict] = []
    number = 1
    while True:
        calls[endpoint] += 1
        page = fetch(page=number, page_size=page_size, **kwargs)
        items += page.items
        if not page.has_next:
            return items
        number += 1


def _fetch(client) -> _Fetched:
    fetched = _Fetched()
    calls = fetched.calls
    try:
        calls["GET /api/channels"] += 1
        fetched.items[MirrorKind.CHANNEL] = client.get_channels()
        calls["GET /api/messageTypes"] += 1
        fetched.items[MirrorKind.MESSAGE_TYPE] = client.get_message_types()
        fetched.items[MirrorKind.TEMPLATE] = _pages(
            client.get_templates_page, calls, "GET /api/templates", TEMPLATES_MAX_PAGE_SIZE
        )
        fetched.items[MirrorKind.CAMPAIGN] = _pages(
            client.get_campaigns_page, calls, "GET /api/campaigns", CAMPAIGNS_MAX_PAGE_SIZE
        )
        live = _pages(client.get_journeys_page, calls, "GET /api/journeys", JOURNEYS_MAX_PAGE_SIZE)
        archived = _pages(
            client.get_journeys_page, calls, "GET /api/journeys", JOURNEYS_MAX_PAGE_SIZE, state="Archived"
        )
        fetched.items[MirrorKind.JOURNEY] = live + [{**j, "isArchived": True} for j in archived]
    except IterableError as error:
        raise _SyncFailed(error, calls) from error
    return fetched


def minimum_calls(*, templates: int, campaigns: int, journeys: int = 0, archived_journeys: int = 0) -> int:
    """The fewest calls a sync can make: one per listing page at the maximum page size (at least one each)."""
    return (
        2
        + max(1, math.ceil(templates / TEMPLATES_MAX_PAGE_SIZE))
        + max(1, math.ceil(campaigns / CAMPAIGNS_MAX_PAGE_SIZE))
        + max(1, math.ceil(journeys / JOURNEYS_MAX_PAGE_SIZE))
        + max(1, math.ceil(archived_journeys / JOURNEYS_MAX_PAGE_SIZE))
    )


# ---------------------------------------------------------------------------------------------------------
# Mirror


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _journey_state(raw: dict) -> str:
    if raw.get("isArchived"):
        return "archived"
    return "enabled" if raw.get("enabled", True) else "disabled"


def _mirror_columns(kind: str, raw: dict) -> dict[str, Any] | None:
    """The indexed columns of one Iterable object, or None if it has no usable id."""
    iterable_id = _int(raw.get("templateId") if kind == MirrorKind.TEMPLATE else raw.get("id"))
    if iterable_id is None:
        return None
    columns: dict[str, Any] = {
        "iterable_id": iterable_id,
        "name": str(raw.get("name") or "")[:500],
        "iterable_message_type_id": None,
        "iterable_campaign_id": None,
        "iterable_template_id": None,
        "iterable_workflow_id": None,
        "client_template_id": "",
        "state": "",
    }
    if kind == MirrorKind.TEMPLATE:
        columns["iterable_message_type_id"] = _int(raw.get("messageTypeId"))
        columns["iterable_campaign_id"] = _int(raw.get("campaignId"))
        columns["client_template_id"] = str(raw.get("clientTemplateId") or "")[:200]
    elif kind == MirrorKind.CAMPAIGN:
        columns["iterable_template_id"] = _int(raw.get("templateId"))
        columns["iterable_workflow_id"] = _int(raw.get("workflowId"))
        columns["state"] = str(raw.get("campaignState") or "")[:20]
    elif kind == MirrorKind.JOURNEY:
        columns["state"] = _journey_state(raw)
    return columns


def _hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _write_kind(project: IterableProject, kind: str, items: list[dict], now) -> dict[str, int]:
    """Make the mirror of one kind equal ``items`` with bulk writes; return what changed."""
    wanted: dict[int, tuple[dict, dict, str]] = {}
    for raw in items:
        columns = _mirror_columns(kind, raw)
        if columns is not None:
            wanted[columns["iterable_id"]] = (columns, raw, _hash(raw))
    existing = {
        iid: (pk, digest)
        for iid, pk, digest in IterableMirror.objects.filter(project=project, kind=kind).values_list(
            "iterable_id", "pk", "payload_hash"
        )
    }
    create, update = [], []
    for iid, (columns, raw, digest) in wanted.items():
        row = IterableMirror(project=project, kind=kind, payload=raw, payload_hash=digest, changed_at=now, **columns)
        if iid not in existing:
            row.first_seen_at = now
            create.append(row)
        elif existing[iid][1] != digest:
            row.pk = existing[iid][0]
            update.append(row)
    gone = [pk for iid, (pk, _) in existing.items() if iid not in wanted]
    IterableMirror.objects.bulk_create(create, batch_size=WRITE_BATCH)
    IterableMirror.objects.bulk_update(
        update,
        [
            "name",
            "iterable_message_type_id",
            "iterable_campaign_id",
            "iterable_template_id",
            "iterable_workflow_id",
            "client_template_id",
            "state",
            "payload",
            "payload_hash",
            "changed_at",
        ],
        batch_size=WRITE_BATCH,
    )
    for start in range(0, len(gone), WRITE_BATCH):
        IterableMirror.objects.filter(pk__in=gone[start : start + WRITE_BATCH]).delete()
    return {
        "seen": len(wanted),
        "created": len(create),
        "updated": len(update),
        "deleted": len(gone),
        "unchanged": len(wanted) - len(create) - len(update),
    }


# ---------------------------------------------------------------------------------------------------------
# Drift


@dataclass
class _Mirror:
    """The project's mirror in memory, in the shapes the rules need (a few queries, no payloads for templates)."""

    channels: dict[int, dict]
    message_types: dict[int, dict]
    templates: dict[int, dict]
    campaigns: dict[int, dict]
    journeys: dict[int, dict]

    @classmethod
    def load(cls, project: IterableProject, *, types_only: bool = False) -> _Mirror:
        rows = IterableMirror.objects.filter(project=project)
        small_kinds = [MirrorKind.CHANNEL, MirrorKind.MESSAGE_TYPE] + ([] if types_only else [MirrorKind.JOURNEY])
        small = defaultdict(dict)
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
        channel = self.channels.get(_int(raw.get("channelId"))) or {}
        return policy.MessageTypeFacts(
            name=str(raw.get("name") or ""),
            policy=raw.get("subscriptionPolicy") or policy.OPT_OUT,
            channel_name=str(channel.get("name") or f"#{raw.get('channelId')}"),
            channel_type=channel.get("channelType"),
        )

    def attached_templates(self, campaign_ids: Iterable[int]) -> dict[int, dict]:
        """Templates Iterable attaches to these campaigns: each campaign's templateId and their campaignId."""
        campaign_ids = set(campaign_ids)
        found = {tid: t for tid, t in self.templates.items() if t["iterable_campaign_id"] in campaign_ids}
        for cid in campaign_ids:
            tid = (self.campaigns.get(cid) or {}).get("iterable_template_id")
            if tid in self.templates:
                found[tid] = self.templates[tid]
        return found


def _finding(code: str, message: str, **kwargs) -> Finding:
    category = FindingCategory.ORPHAN if code in ORPHAN_CODES else FindingCategory.DRIFT
    severity = ORPHAN_CODES.get(code) or DRIFT_CODES[code]
    return Finding(category=category, code=code, severity=severity, message=message, **kwargs)


def _same_template(declared: Template, declared_mirror: dict | None, candidate: dict) -> bool:
    client_ids = {declared.client_template_id, (declared_mirror or {}).get("client_template_id") or ""} - {""}
    if client_ids or candidate["client_template_id"]:
        return candidate["client_template_id"] in client_ids
    names = {policy.normalise_name(declared.name), policy.normalise_name((declared_mirror or {}).get("name") or "")}
    return policy.normalise_name(candidate["name"]) in names - {""}


def _message_type_drift(n: Notification, mt: MessageType, mirror: _Mirror, subject: str) -> Finding | None:
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
    channel_id = _int(raw.get("channelId"))
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


def _notification_drift(n: Notification, mirror: _Mirror) -> list[Finding]:
    subject = f"Notification '{n.key}'"
    found: list[Finding] = []
    declared = list(n.templates.all())
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

    types = {n.message_type.pk: n.message_type} if n.message_type_id else {}
    types.update({t.message_type.pk: t.message_type for t in declared if t.message_type is not None})
    for mt in types.values():
        drift = _message_type_drift(n, mt, mirror, subject)
        if drift is not None:
            found.append(drift)

    campaign_ids: list[int] = []
    if n.trigger_type == TriggerType.API_SEND and n.campaign_id is not None:
        campaign_ids = [n.campaign_id]
        campaign = mirror.campaigns.get(n.campaign_id)
        where = {"notification_id": n.pk, "iterable_kind": MirrorKind.CAMPAIGN, "iterable_id": n.campaign_id}
        if campaign is None:
            found.append(
                _finding(
                    CAMPAIGN_MISSING,
                    f"{subject} is sent with campaign {n.campaign_id}, which does not exist in Iterable: "
                    "every send is refused as an invalid campaign id.",
                    **where,
                )
            )
        else:
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
    elif n.trigger_type == TriggerType.CUSTOM_EVENT and n.journey_id is not None:
        journey = n.journey
        raw = mirror.journeys.get(journey.iterable_id)
        where = {"notification_id": n.pk, "iterable_kind": MirrorKind.JOURNEY, "iterable_id": journey.iterable_id}
        label = f"journey '{journey.name}' ({journey.iterable_id})"
        campaign_ids = [cid for cid, c in mirror.campaigns.items() if c["iterable_workflow_id"] == journey.iterable_id]
        if raw is None:
            found.append(
                _finding(JOURNEY_MISSING, f"{subject} runs through {label}, which does not exist in Iterable.", **where)
            )
        else:
            state = _journey_state(raw)
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
            if n.event_id is not None and n.event.name not in triggers:
                found.append(
                    _finding(
                        JOURNEY_TRIGGER_MISMATCH,
                        f"{subject} posts the event '{n.event.name}', but {label} is triggered by "
                        f"{', '.join(repr(e) for e in triggers) or 'no event'} in Iterable: the event starts nothing.",
                        details={"event": n.event.name, "iterable_trigger_event_names": triggers},
                        **where,
                    )
                )

    attached = mirror.attached_templates(campaign_ids)
    if attached:
        for t in declared:
            if t.iterable_id in attached:
                continue
            copies = [
                a for aid, a in sorted(attached.items()) if _same_template(t, mirror.templates.get(t.iterable_id), a)
            ]
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


def _guard_findings(project: IterableProject, mirror: _Mirror, notifications: list[Notification]) -> list[Finding]:
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
        if n.trigger_type == TriggerType.CUSTOM_EVENT and n.journey_id is not None:
            for campaign in mirror.campaigns.values():
                if campaign["iterable_workflow_id"] == n.journey.iterable_id and campaign["iterable_template_id"]:
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
        subject = f"Iterable template '{t['name']}' (#{tid})"
        affected = sorted(by_template.get(tid, set()) | by_campaign.get(t["iterable_campaign_id"], set()))
        for violation in policy.errors(policy.message_type_violations(facts, subject=subject)):
            details = {
                "message_type": facts.name,
                "iterable_message_type_id": t["iterable_message_type_id"],
                "notifications": [keys[pk] for pk in affected],
            }
            for notification_id in affected or [None]:
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


def _orphans(project: IterableProject, mirror: _Mirror) -> list[Finding]:
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
    mirror = _Mirror.load(project)
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


# ---------------------------------------------------------------------------------------------------------
# Runs


def _error_record(error: IterableError) -> dict:
    return {"code": error.code, "msg": error.msg, "status": error.status, "endpoint": error.endpoint}


def catalog_sync_project(*, project: IterableProject, actor=None, trigger: str = "manual", client=None) -> SyncRun:
    """Sync one project from Iterable (see the module docstring). Never raises for Iterable's or our failures:
    the returned run says ``failed`` with the error; the mirror and findings are then left as they were."""
    run = SyncRun.objects.create(
        project=project, trigger=trigger, actor_label=actor_label(actor), started_at=timezone.now()
    )
    try:
        fetched = _fetch(client or client_for_project(project))
        with transaction.atomic():
            # Serialise concurrent runs of one project (a schedule and a click; a redelivered task).
            IterableProject.objects.select_for_update().filter(pk=project.pk).first()
            now = timezone.now()
            run.counts = {kind: _write_kind(project, kind, items, now) for kind, items in fetched.items.items()}
            found = catalog_drift(project=project)
            SyncFinding.objects.filter(project=project).delete()
            SyncFinding.objects.bulk_create(
                [
                    SyncFinding(
                        project=project,
                        run=run,
                        category=f.category,
                        code=f.code,
                        severity=f.severity,
                        notification_id=f.notification_id,
                        iterable_kind=f.iterable_kind,
                        iterable_id=f.iterable_id,
                        message=f.message,
                        details=f.details,
                    )
                    for f in found
                ],
                batch_size=WRITE_BATCH,
            )
            # The one verdict: every notification of the project is judged again with these findings.
            refresh_verdicts(Notification.objects.filter(project=project))
            run.calls = dict(fetched.calls)
            run.findings = dict(sorted(Counter(f.code for f in found).items()))
            run.status = SyncStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.save()
            audit_record(actor=actor, action="sync", instance=run, changes=_audit_changes(run))
    except _SyncFailed as failure:
        _fail(run, actor, _error_record(failure.error), failure.calls)
    except IterableError as error:  # building the client: missing key variable, bad configuration
        _fail(run, actor, _error_record(error), Counter())
    except Exception as error:  # a bug or a database failure must not stop the other projects
        logger.exception("Catalog sync of project %s failed", project)
        _fail(run, actor, {"code": "InternalError", "msg": f"{type(error).__name__}: {error}"[:500]}, Counter())
    return run


def _audit_changes(run: SyncRun) -> dict:
    return {
        "status": run.status,
        "counts": run.counts,
        "calls": run.calls,
        "findings": run.findings,
        "errors": run.errors,
    }


def _fail(run: SyncRun, actor, error: dict, calls: Counter) -> None:
    run.status = SyncStatus.FAILED
    run.errors = [error]
    run.calls = dict(calls)
    run.finished_at = timezone.now()
    run.save()
    audit_record(actor=actor, action="sync", instance=run, changes=_audit_changes(run))


def catalog_sync(*, project_ids: Iterable[int] | None = None, actor=None, trigger: str = "manual") -> list[SyncRun]:
    """Sync these projects (all when None), one after another; each is recorded, none stops the others."""
    projects = IterableProject.objects.all()
    if project_ids is not None:
        projects = projects.filter(pk__in=list(project_ids))
    return [catalog_sync_project(project=p, actor=actor, trigger=trigger) for p in projects]


def catalog_sync_enqueue(*, project_ids: Iterable[int] | None = None, actor=None, trigger: str = "manual") -> None:
    """Queue one django-q2 task per project once the current transaction commits (ids only in the task)."""
    projects = IterableProject.objects.all()
    if project_ids is not None:
        projects = projects.filter(pk__in=list(project_ids))
    ids = list(projects.values_list("pk", flat=True))
    actor_id = getattr(actor, "pk", None)

    def enqueue() -> None:
        from catalog.tasks import enqueue_project_sync  # tasks imports this module

        for project_id in ids:
            enqueue_project_sync(project_id, actor_id=actor_id, trigger=trigger)

    transaction.on_commit(enqueue)


def catalog_sync_schedule_ensure() -> tuple[Any, bool]:
    """The hourly schedule of ``catalog.tasks.catalog_sync_all_task``; created if missing, left alone if present."""
    from django_q.models import Schedule

    return Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": "catalog.tasks.catalog_sync_all_task", "schedule_type": Schedule.HOURLY, "repeats": -1},
    )


# ---------------------------------------------------------------------------------------------------------
# Reading the results


def guard_violations_in_iterable(*, project: IterableProject) -> list[dict]:
    """The latest sync's Iterable templates on forbidden types, one per (template, code), with the notifications
    they affect (a notification's own type found forbidden in Iterable is in that notification's verdict)."""
    grouped: dict[tuple[int, str], dict] = {}
    templates = SyncFinding.objects.filter(
        project=project, category=FindingCategory.GUARD, iterable_kind=MirrorKind.TEMPLATE
    )
    for f in templates.select_related("notification"):
        entry = grouped.setdefault(
            (f.iterable_id, f.code),
            {"template_id": f.iterable_id, "code": f.code, "message": f.message, "notifications": []},
        )
        if f.notification is not None:
            entry["notifications"].append(f.notification)
    return [grouped[k] for k in sorted(grouped)]


def _mirror_get(project: IterableProject, kind: str, iterable_id: int) -> IterableMirror:
    return IterableMirror.objects.get(project=project, kind=kind, iterable_id=iterable_id)


def _medium_of_type(project: IterableProject, message_type_id: int | None) -> str:
    raw_type = (
        IterableMirror.objects.filter(project=project, kind=MirrorKind.MESSAGE_TYPE, iterable_id=message_type_id)
        .values_list("payload", flat=True)
        .first()
        if message_type_id is not None
        else None
    )
    if not raw_type:
        return ""
    channel = (
        IterableMirror.objects.filter(
            project=project, kind=MirrorKind.CHANNEL, iterable_id=_int(raw_type.get("channelId"))
        )
        .values_list("payload", flat=True)
        .first()
    )
    return str((channel or {}).get("messageMedium") or "")


def _guard_check(project: IterableProject, message_type_id: int | None, subject: str) -> list[policy.Violation]:
    facts = _Mirror.load(project, types_only=True).type_facts(message_type_id)
    return policy.message_type_violations(facts, subject=subject) if facts else []


def template_prefill(*, project: IterableProject, iterable_id: int) -> Prefill:
    """Initial data for a new catalog Template from a mirrored Iterable template (raises DoesNotExist)."""
    m = _mirror_get(project, MirrorKind.TEMPLATE, iterable_id)
    prefill = Prefill(
        initial={
            "project": project.pk,
            "iterable_id": m.iterable_id,
            "name": m.name[:200],
            "medium": _medium_of_type(project, m.iterable_message_type_id),
            "message_type": None,
            "campaign_id": m.iterable_campaign_id,
            "client_template_id": m.client_template_id,
        }
    )
    _fill_message_type(prefill, project, m.iterable_message_type_id, f"Template '{m.name}' (#{m.iterable_id})")
    if Template.objects.filter(project=project, iterable_id=m.iterable_id).exists():
        prefill.notes.append(f"The catalog already has template #{m.iterable_id}.")
    return prefill


def _fill_message_type(prefill: Prefill, project: IterableProject, message_type_id: int | None, subject: str) -> None:
    if message_type_id is None:
        prefill.notes.append("Iterable names no message type: choose one.")
        return
    catalog_type = MessageType.objects.filter(project=project, iterable_id=message_type_id).first()
    if catalog_type is None:
        prefill.notes.append(f"Message type #{message_type_id} is not in the catalog yet: add it first.")
    else:
        prefill.initial["message_type"] = catalog_type.pk
    prefill.violations = _guard_check(project, message_type_id, subject)
    if prefill.violations:
        # The guard will refuse the save anyway; do not propose a forbidden type as the default.
        prefill.initial["message_type"] = None
        prefill.notes.append("Iterable has it on a message type the guard forbids: pick an allowed type.")


def notification_prefill(*, project: IterableProject, campaign_id: int) -> Prefill:
    """Initial data for a new catalog Notification (a draft) from a mirrored Iterable campaign."""
    c = _mirror_get(project, MirrorKind.CAMPAIGN, campaign_id)
    journey = (
        Journey.objects.filter(project=project, iterable_id=c.iterable_workflow_id).first()
        if c.iterable_workflow_id is not None
        else None
    )
    base_key = slugify(c.name).replace("-", "_")[:100] or f"campaign_{campaign_id}"
    key, n = base_key, 2
    while Notification.objects.filter(key=key).exists():
        key, n = f"{base_key}_{n}", n + 1
    template = (
        IterableMirror.objects.filter(
            project=project, kind=MirrorKind.TEMPLATE, iterable_id=c.iterable_template_id
        ).first()
        if c.iterable_template_id is not None
        else None
    )
    catalog_templates = list(
        Template.objects.filter(project=project, iterable_id=c.iterable_template_id).values_list("pk", flat=True)
    )
    prefill = Prefill(
        initial={
            "key": key,
            "name": c.name[:200],
            "project": project.pk,
            "medium": str(c.payload.get("messageMedium") or ""),
            "trigger_type": TriggerType.CUSTOM_EVENT if journey else TriggerType.API_SEND,
            "campaign_id": None if journey else c.iterable_id,
            "journey": journey.pk if journey else None,
            "templates": catalog_templates,
            "message_type": None,
            "status": policy.DRAFT,
        }
    )
    if journey is not None:
        prefill.notes.append(f"Campaign {campaign_id} belongs to journey '{journey.name}': choose its custom event.")
    if c.iterable_template_id is not None and not catalog_templates:
        prefill.notes.append(f"Template #{c.iterable_template_id} is not in the catalog yet: add it first.")
    if template is not None:
        _fill_message_type(prefill, project, template.iterable_message_type_id, f"Campaign '{c.name}' ({campaign_id})")
    if c.state != "Running" or c.payload.get("type") != "Triggered":
        prefill.notes.append(f"In Iterable the campaign is {c.payload.get('type')} and {c.state}.")
    return prefill


def findings_for_notification(*, notification: Notification) -> list[SyncFinding]:
    """The latest sync's findings about one notification (drift and guard)."""
    return list(SyncFinding.objects.filter(Q(notification=notification)).order_by("category", "code", "id"))


# ------------------------------------------------------------------ reads for the pages and the API


def orphan_queryset():
    return SyncFinding.objects.filter(category=FindingCategory.ORPHAN).select_related("project")


def mirror_names(pairs) -> dict[tuple[int, str, int], str]:
    """Names of mirrored Iterable objects, keyed (project id, kind, Iterable id), in one query per kind."""
    wanted: dict[str, set] = {}
    for project_id, kind, iterable_id in pairs:
        if iterable_id is not None:
            wanted.setdefault(kind, set()).add((project_id, iterable_id))
    names = {}
    for kind, keys in wanted.items():
        rows = IterableMirror.objects.filter(
            kind=kind,
            project_id__in={p for p, _ in keys},
            iterable_id__in={i for _, i in keys},
        ).values_list("project_id", "iterable_id", "name")
        names.update({(p, kind, i): name for p, i, name in rows if (p, i) in keys})
    return names


def iterable_guard_rows(projects) -> list[dict]:
    """The guard's violations on Iterable's side for these projects, with each template's mirrored name."""
    rows = [
        {"project": project, **violation}
        for project in projects
        for violation in guard_violations_in_iterable(project=project)
    ]
    names = mirror_names((r["project"].pk, MirrorKind.TEMPLATE, r["template_id"]) for r in rows)
    for row in rows:
        row["template_name"] = names.get((row["project"].pk, MirrorKind.TEMPLATE, row["template_id"]), "")
    return rows
