"""Write what Iterable reported into the mirror, per kind, as a diff on a content hash."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from catalog.models import (
    IterableMirror,
    IterableProject,
    MirrorKind,
)
from catalog.services.bulk import objects_update

logger = logging.getLogger(__name__)


WRITE_BATCH = 1000


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def journey_state(raw: dict) -> str:
    if raw.get("isArchived"):
        return "archived"
    return "enabled" if raw.get("enabled", True) else "disabled"


def _mirror_columns(kind: str, raw: dict) -> dict[str, Any] | None:
    """The indexed columns of one Iterable object, or None if it has no usable id."""
    iterable_id = as_int(raw.get("templateId") if kind == MirrorKind.TEMPLATE else raw.get("id"))
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
        columns["iterable_message_type_id"] = as_int(raw.get("messageTypeId"))
        columns["iterable_campaign_id"] = as_int(raw.get("campaignId"))
        columns["client_template_id"] = str(raw.get("clientTemplateId") or "")[:200]
    elif kind == MirrorKind.CAMPAIGN:
        columns["iterable_template_id"] = as_int(raw.get("templateId"))
        columns["iterable_workflow_id"] = as_int(raw.get("workflowId"))
        columns["state"] = str(raw.get("campaignState") or "")[:20]
    elif kind == MirrorKind.JOURNEY:
        columns["state"] = journey_state(raw)
    return columns


def _hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def mirror_write_kind(project: IterableProject, kind: str, items: list[dict], now) -> dict[str, int]:
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
    objects_update(
        IterableMirror,
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
