"""The resync's constants and timings (settings with their defaults)."""

from __future__ import annotations

import logging

from django.conf import settings as django_settings

from catalog.iterable.client import MAX_BODY_BYTES
from catalog.models import (
    SUBSCRIPTION_ARRAY_FIELDS,
    ResyncRun,
)

logger = logging.getLogger(__name__)


ALL = "all"
ARRAYS = tuple(SUBSCRIPTION_ARRAY_FIELDS.values())
SUBSCRIBED = "subscribedMessageTypeIds"
UNSUB_CHANNELS = "unsubscribedChannelIds"
TASK = "catalog.resync.tasks.resync_run_task"
SCHEDULED_TASK = "catalog.resync.tasks.resync_scheduled_task"
ACTIVE = (ResyncRun.Status.QUEUED, ResyncRun.Status.RUNNING)
BODY_BUDGET = MAX_BODY_BYTES - 64 * 1024  # envelope and safety margin


def default_slice_seconds() -> float:
    return float(getattr(django_settings, "RESYNC_SLICE_SECONDS", 60))


def lease_seconds() -> float:
    return float(getattr(django_settings, "RESYNC_LEASE_SECONDS", 120))


def task_timeout() -> int:
    return int(getattr(django_settings, "RESYNC_TASK_TIMEOUT", 300))


def stall_seconds() -> float:
    """How long an active run may sit with nobody holding its lease and no task queued before it counts as
    stalled (a died, overrun or lost task): a lease outlives a slice, so this is the lease plus a margin."""
    return float(getattr(django_settings, "RESYNC_STALL_SECONDS", lease_seconds() + 60))


def max_resumes() -> int:
    return int(getattr(django_settings, "RESYNC_MAX_RESUMES", 5))
