"""The jobs' constants: task names, timings (settings with defaults), each action's endpoint and its ceiling."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from catalog.models import JobAction, JobRun

TASK = "catalog.jobs.tasks.job_run_task"
SCHEDULED_TASK = "catalog.jobs.tasks.job_scheduled_task"
ACTIVE = (JobRun.Status.QUEUED, JobRun.Status.RUNNING)
RUN_JOBS = "catalog.run_jobs"
APPROVE_DELETIONS = "catalog.approve_deletions"
RECEIVE_OPT_OUTS = "catalog.receive_opt_outs"

# Iterable-managed profile fields a profile sync must never write: devices (push tokens) and the
# subscription arrays belong to other jobs (the resync), and the rest are Iterable's own.
REFUSED_FIELDS = {
    "devices": "devices (push tokens) are written by the apps, never by a profile sync",
    "emailListIds": "list membership is changed by an 'add to a list' or 'remove from a list' job",
    "subscribedMessageTypeIds": "subscriptions are written by the preference resync",
    "unsubscribedChannelIds": "subscriptions are written by the preference resync",
    "unsubscribedMessageTypeIds": "subscriptions are written by the preference resync",
    "signupDate": "Iterable sets it",
    "signupSource": "Iterable sets it",
    "profileUpdatedAt": "Iterable sets it",
    "itblInternal": "Iterable's internal field",
    "email": "the address is the row's identity, chosen as the email column",
    "userId": "the user id is the row's identity, chosen as the user id column",
}


@dataclass(frozen=True)
class Endpoint:
    name: str  # in people's words
    calls_per_second: float  # Iterable's documented (or the client's chosen) limit
    rows_per_call: int  # 1 for a call per row; else the most rows one call may carry


# The list endpoints' limit is not documented (BEHAVIOUR.md: "not documented"): 100/s is the client's choice, and
# the emulator states the same number as its chosen limit, so the list benches measure against it.
ENDPOINTS: dict[str, Endpoint] = {
    JobAction.UPDATE_PROFILES: Endpoint("bulk profile update (users/bulkUpdate)", 5, 10_000),
    JobAction.LIST_ADD: Endpoint("list subscribe (lists/subscribe)", 100, 10_000),
    JobAction.LIST_REMOVE: Endpoint("list unsubscribe (lists/unsubscribe)", 100, 10_000),
    JobAction.DELETE_USERS: Endpoint("user delete (DELETE users/{email})", 100, 1),
    JobAction.OPT_OUT: Endpoint("bulk subscription update (users/bulkUpdateSubscriptions)", 5, 10_000),
}
# A dry run (and an opt-out) reads each row's person first: one call per row.
READ = Endpoint("user read (users/getByEmail, users/byUserId)", 100, 1)


def slice_seconds() -> float:
    return float(getattr(settings, "JOBS_SLICE_SECONDS", 60))


def lease_seconds() -> float:
    return float(getattr(settings, "JOBS_LEASE_SECONDS", 120))


def task_timeout() -> int:
    return int(getattr(settings, "JOBS_TASK_TIMEOUT", 300))


def stall_seconds() -> float:
    return float(getattr(settings, "JOBS_STALL_SECONDS", lease_seconds() + 60))


def max_resumes() -> int:
    return int(getattr(settings, "JOBS_MAX_RESUMES", 5))


def max_upload_rows() -> int:
    return int(getattr(settings, "JOBS_MAX_UPLOAD_ROWS", 1_000_000))


def upload_dir():
    from pathlib import Path

    return Path(getattr(settings, "JOBS_UPLOAD_DIR", Path(settings.DATA_DIR) / "job-uploads"))


def max_upload_bytes() -> int:
    return int(getattr(settings, "JOBS_MAX_UPLOAD_BYTES", 200 * 1024 * 1024))


def deletion_hash_key() -> bytes:
    return str(getattr(settings, "JOBS_DELETION_HASH_KEY", settings.SECRET_KEY)).encode()
