"""A new catalog entry made from an Iterable object: the form's initial data and what to tell the user."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import slugify

from catalog.guard import policy
from catalog.models import (
    IterableMirror,
    IterableProject,
    Journey,
    MessageType,
    MirrorKind,
    Notification,
    Template,
    TriggerType,
)
from catalog.sync.services.drift import MirrorIndex
from catalog.sync.services.mirror import as_int

logger = logging.getLogger(__name__)


@dataclass
class Prefill:
    """Initial form data for a new catalog entry made from an Iterable object, and what to tell the user."""

    initial: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    violations: list[policy.Violation] = field(default_factory=list)


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
    channel_id = as_int(raw_type.get("channelId"))
    channel = (
        IterableMirror.objects.filter(project=project, kind=MirrorKind.CHANNEL, iterable_id=channel_id)
        .values_list("payload", flat=True)
        .first()
        if channel_id is not None
        else None
    )
    return str((channel or {}).get("messageMedium") or "")


def _guard_check(project: IterableProject, message_type_id: int | None, subject: str) -> list[policy.Violation]:
    facts = MirrorIndex.load(project, types_only=True).type_facts(message_type_id)
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
    catalog_templates = (
        list(Template.objects.filter(project=project, iterable_id=c.iterable_template_id).values_list("pk", flat=True))
        if c.iterable_template_id is not None
        else []
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
