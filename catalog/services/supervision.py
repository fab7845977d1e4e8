"""The supervisor: background work that stopped half-way is noticed within a bounded time and ends in a
clear state, never "running" or "pending" for good.

django-q2 acknowledges a task that overran its timeout (it is never delivered again), a killed worker's
task comes back only after Q_CLUSTER ``retry`` (and not at all past ``max_attempts``), and a web worker
killed by gunicorn's timeout leaves whatever it was doing. So, every minute (a django-q Schedule made by
migration 0011, also ensured by ``supervise_schedule_ensure``):

* a resync run that nobody holds and whose task is no longer queued is resumed from its checkpoint, or
  fails with the reason once resuming stops getting it further (the run engine, catalog/runs/engine.py);
  so is a seed job's run (catalog/jobs/);
* a catalog import or a preferences upload whose task is gone is queued again (each writes all or nothing,
  so it starts over), or fails with the reason;
* a catalog sync still "running" long after its task's timeout failed with the reason;
* a test send still "pending" past its deadline becomes "unknown": it may or may not have reached
  Iterable, so it is never sent again automatically.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.audit.services import audit_record
from catalog.models import ProofOutcome, ProofSend, SyncRun, SyncStatus

logger = logging.getLogger(__name__)

SCHEDULE_NAME = "supervise-runs"
SCHEDULE_FUNC = "catalog.tasks.runs_supervise_task"
# Past this many queued tasks the queue is not read whole: no run is resumed on a guess that its task is lost.
MAX_QUEUE_SCAN = 5000


def proof_pending_seconds() -> float:
    """A test send's deadline: well past any request that could still be making it (gunicorn: --timeout 120)."""
    return float(getattr(settings, "PROOF_PENDING_SECONDS", 300))


def sync_stall_seconds() -> float:
    from catalog.sync.services.runs import SYNC_TASK_OPTIONS

    return float(getattr(settings, "SYNC_STALL_SECONDS", SYNC_TASK_OPTIONS["timeout"] + 60))


def queued_task_names() -> set[str] | None:
    """Names of the tasks waiting (or being worked on) in django-q's ORM broker; None when unknowable."""
    from django_q.models import OrmQ

    rows = list(OrmQ.objects.all()[: MAX_QUEUE_SCAN + 1])
    if len(rows) > MAX_QUEUE_SCAN:
        return None
    return {str(row.name()) for row in rows}


def proof_sends_expire(*, now: datetime | None = None) -> int:
    """Test sends still pending past their deadline become "unknown" (never re-sent). Returns how many."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=proof_pending_seconds())
    count = 0
    for attempt in ProofSend.objects.filter(outcome=ProofOutcome.PENDING, created_at__lt=deadline).order_by("pk"):
        with transaction.atomic():
            updated = ProofSend.objects.filter(pk=attempt.pk, outcome=ProofOutcome.PENDING).update(
                outcome=ProofOutcome.UNKNOWN,
                error_code="Abandoned",
                finished_at=now,
                message=(
                    "Unknown: the request making this test send stopped before Iterable's answer was recorded "
                    "(the web server timed out or restarted), so it may or may not have gone out. It was not "
                    "resent; check the recipient's inbox or the contact's history before sending again."
                ),
            )
            if updated:
                audit_record(
                    actor="supervisor",
                    action="proof_send",
                    instance=attempt,
                    changes={"outcome": ProofOutcome.UNKNOWN, "reason": "pending past its deadline"},
                )
                count += 1
    return count


def sync_runs_expire(*, now: datetime | None = None) -> int:
    """Catalog syncs still "running" long after their task's timeout: failed, saying why."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=sync_stall_seconds())
    count = 0
    for run in SyncRun.objects.filter(status=SyncStatus.RUNNING, started_at__lt=deadline):
        error = {
            "code": "TaskStopped",
            "msg": "The sync's task stopped before finishing (it timed out or its worker died); run it again.",
            "status": None,
            "endpoint": "",
        }
        count += SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
            status=SyncStatus.FAILED, finished_at=now, errors=[*run.errors, error]
        )
    return count


def runs_supervise(*, now: datetime | None = None) -> dict[str, int]:
    """One pass of the supervisor over every kind of background work; returns what it did."""
    from catalog.io.services.runs import catalog_imports_supervise
    from catalog.jobs.services.supervision import jobs_supervise
    from catalog.resync.services.ingest import preference_imports_supervise
    from catalog.resync.services.supervision import resync_supervise

    now = now or timezone.now()
    queued = queued_task_names()
    resync = resync_supervise(queued_names=queued, now=now)
    imports = catalog_imports_supervise(queued_names=queued, now=now)
    uploads = preference_imports_supervise(queued_names=queued, now=now)
    jobs = jobs_supervise(queued_names=queued, now=now)
    done = {
        "resync_resumed": resync["resumed"],
        "resync_failed": resync["failed"],
        "imports_resumed": imports["resumed"],
        "imports_failed": imports["failed"],
        "preference_imports_resumed": uploads["resumed"],
        "preference_imports_failed": uploads["failed"],
        "job_runs_resumed": jobs["resumed"],
        "job_runs_failed": jobs["failed"],
        "syncs_failed": sync_runs_expire(now=now),
        "test_sends_unknown": proof_sends_expire(now=now),
    }
    if any(done.values()):
        logger.warning("Supervisor: %s", done)
    return done


def supervise_schedule_ensure() -> None:
    """The supervisor's Schedule (every minute), recreated if someone deleted it."""
    from django_q.models import Schedule

    Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
