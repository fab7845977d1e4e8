"""A project's resync settings and the rules they make: what the source of truth owns, pacing, schedule."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.audit.services import audit_record
from catalog.models import (
    IterableProject,
    MessageType,
    ResyncSettings,
)
from catalog.resync.services.conf import ALL, ARRAYS, SCHEDULED_TASK
from catalog.types import Actor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rules:
    """What the resync may write in one project: scope per array, opt-in, and the catalog's type→channel map."""

    scope: dict[str, Any]  # array -> ALL | frozenset[int]
    opt_in_enabled: bool
    type_channel: dict[int, int] = field(default_factory=dict)
    type_policy: dict[int, str] = field(default_factory=dict)


def resync_settings_get(*, project: IterableProject) -> ResyncSettings:
    settings, _ = ResyncSettings.objects.get_or_create(project=project)
    settings.project = project  # already read: its form and pages need not read it again
    return settings


def resync_settings_of(projects: list[IterableProject]) -> dict[int, ResyncSettings]:
    """resync_settings_get of each project, by project id: one read for them all (and one write for each project
    that has none yet)."""
    found = {settings.project_id: settings for settings in ResyncSettings.objects.filter(project__in=projects)}
    for project in projects:
        if project.pk in found:
            found[project.pk].project = project
        else:
            found[project.pk] = resync_settings_get(project=project)
    return found


def clean_scope(scope: Any) -> dict[str, Any]:
    """Validate a scope dict: keys are Iterable array names, values ``"all"`` or a list of ids."""
    if not isinstance(scope, dict):
        raise ValidationError({"scope": "must be an object keyed by array name"})
    out: dict[str, Any] = {}
    for key, value in scope.items():
        if key not in ARRAYS:
            raise ValidationError({"scope": f"unknown array {key!r}; use one of {', '.join(ARRAYS)}"})
        if value == ALL:
            out[key] = ALL
        elif isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            out[key] = sorted(set(value))
        else:
            raise ValidationError({"scope": f'{key}: use "all" or a list of integer ids'})
    return out


# What staff may change in a project's resync settings (the page, the API and this service share the list).
SETTINGS_FIELDS = (
    "scope",
    "opt_in_enabled",
    "batch_size",
    "rate_per_second",
    "read_concurrency",
    "on_batch_error",
    "schedule_enabled",
    "schedule_minutes",
)


def resync_settings_update(*, project: IterableProject, actor: Actor, **changes: Any) -> ResyncSettings:
    """Change a project's resync settings (validated, audited) and keep its django-q Schedule in line."""
    settings = resync_settings_get(project=project)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}")
    if "scope" in changes:
        changes["scope"] = clean_scope(changes["scope"])
    before = {name: getattr(settings, name) for name in changes}
    for name, value in changes.items():
        setattr(settings, name, value)
    settings.full_clean(exclude=["project"])  # the model's validators: the one definition of every bound
    with transaction.atomic():
        settings.save()
        _sync_schedule(settings)
        audit_record(
            actor=actor,
            action="resync_settings_update",
            instance=settings,
            changes={k: {"before": before[k], "after": v} for k, v in changes.items() if before[k] != v},
        )
    return settings


def _schedule_name(project_id: int) -> str:
    return f"resync-project-{project_id}"


def _sync_schedule(settings: ResyncSettings) -> None:
    from django_q.models import Schedule

    name = _schedule_name(settings.project_id)
    if not settings.schedule_enabled:
        Schedule.objects.filter(name=name).delete()
        return
    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": SCHEDULED_TASK,
            "args": repr(settings.project_id),
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.schedule_minutes,
            "repeats": -1,
        },
    )


def resync_rules(*, project: IterableProject) -> Rules:
    settings = ResyncSettings.objects.filter(project=project).first()
    raw = clean_scope(settings.scope) if settings else {}
    scope = {k: (ALL if v == ALL else frozenset(v)) for k, v in raw.items()}
    types = MessageType.objects.filter(project=project).values_list("iterable_id", "channel__iterable_id", "policy")
    return Rules(
        scope=scope,
        opt_in_enabled=bool(settings and settings.opt_in_enabled),
        type_channel={t: c for t, c, _ in types},
        type_policy={t: p for t, _, p in types},
    )
