"""Reads for the pages and the API: the latest findings, orphans, mirrored names."""

from __future__ import annotations

import logging

from django.db.models import Q

from catalog.models import (
    FindingCategory,
    IterableMirror,
    IterableProject,
    MirrorKind,
    Notification,
    SyncFinding,
)
from catalog.sync.services import drift
from catalog.sync.words import code_words

logger = logging.getLogger(__name__)

# Findings about an object Iterable does not have: there is nothing in Iterable to link to.
MISSING_IN_ITERABLE = {
    drift.TEMPLATE_MISSING,
    drift.MESSAGE_TYPE_MISSING,
    drift.CAMPAIGN_MISSING,
    drift.JOURNEY_MISSING,
}
TRIGGER_WORDS = {"manual": "Started by hand", "schedule": "On the schedule", "command": "From the command line"}


def finding_title(code: str) -> str:
    """A finding's title (catalog/sync/words.py: the one source of a code's words)."""
    return code_words(code)


def guard_violations_in_iterable(*, project: IterableProject) -> list[dict]:
    """The latest sync's Iterable templates on forbidden types, one per (template, code), with the notifications
    they affect (a notification's own type found forbidden in Iterable is in that notification's verdict)."""
    return _guard_violations_by_project([project]).get(project.pk, [])


def _guard_violations_by_project(projects) -> dict[int, list[dict]]:
    """guard_violations_in_iterable of each of `projects` (a list or a queryset), read in one query."""
    grouped: dict[int, dict[tuple[int | None, str], dict]] = {}
    templates = SyncFinding.objects.filter(
        project__in=projects, category=FindingCategory.GUARD, iterable_kind=MirrorKind.TEMPLATE
    )
    for f in templates.select_related("notification"):
        entry = grouped.setdefault(f.project_id, {}).setdefault(
            (f.iterable_id, f.code),
            {"template_id": f.iterable_id, "code": f.code, "message": f.message, "notifications": []},
        )
        if f.notification is not None:
            entry["notifications"].append(f.notification)
    return {pk: [found[k] for k in sorted(found)] for pk, found in grouped.items()}


def findings_for_notification(*, notification: Notification) -> list[SyncFinding]:
    """The latest sync's findings about one notification (drift and guard), each with its run (a guard finding's
    words name the sync that found it)."""
    findings = SyncFinding.objects.filter(Q(notification=notification)).select_related("run")
    return list(findings.order_by("category", "code", "id"))


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
    found = _guard_violations_by_project(projects)
    rows = [{"project": project, **violation} for project in projects for violation in found.get(project.pk, [])]
    names = mirror_names((r["project"].pk, MirrorKind.TEMPLATE, r["template_id"]) for r in rows)
    for row in rows:
        row["template_name"] = names.get((row["project"].pk, MirrorKind.TEMPLATE, row["template_id"]), "")
    return rows
