"""Starting runs (one contact, a list, an import, everyone, changed since, scheduled), applying a dry run,
cancelling and retrying."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from catalog.audit.services import actor_label, audit_record
from catalog.models import (
    ContactPreference,
    IterableProject,
    PreferenceImport,
    ResyncItem,
    ResyncRun,
)
from catalog.resync.services.conf import ACTIVE
from catalog.resync.services.queue import lease_held, resync_enqueue
from catalog.resync.services.rules import resync_settings_get
from catalog.resync.services.supervision import resync_stalled
from catalog.types import Actor

logger = logging.getLogger(__name__)


@dataclass
class ResyncStart:
    """What starting a run returns: the run (``None`` if nothing to do for a schedule) and emails not found."""

    run: ResyncRun | None
    unknown_emails: list[str] = field(default_factory=list)


# A run's contacts are matched by address inside the request that starts it; a longer list goes through a
# preferences import, which is read in the background, and a resync of that import.
MAX_LISTED_EMAILS = 50_000
MAX_LISTED_EMAILS_MESSAGE = (
    f"At most {MAX_LISTED_EMAILS:,} addresses in one list: for more, import them as a preferences CSV (read in the "
    "background) and resync that import."
)


def resync_parse_emails(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    """A pasted list (one address per line, or separated by commas/semicolons/spaces) → (emails, errors)."""
    emails: list[str] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line_no, line in enumerate((text or "").splitlines(), start=1):
        for token in re.split(r"[,;\s]+", line.strip()):
            if not token:
                continue
            email = token.lower()
            try:
                validate_email(email)
            except ValidationError:
                errors.append({"line": line_no, "email": token, "errors": ["invalid email"]})
                continue
            if email not in seen:
                seen.add(email)
                emails.append(email)
    return emails, errors


def resync_start(
    *,
    project: IterableProject,
    actor: Actor,
    emails: list[str] | None = None,
    import_record: PreferenceImport | None = None,
    changed_since: datetime | None = None,
    everyone: bool = False,
    dry_run: bool = False,
    compare: str = ResyncRun.Compare.READ,
) -> ResyncStart:
    """Start a resync (or a dry run) of one contact / a list (``emails``), an import, the contacts changed
    since a date, or everyone. Exactly one selection. The task is enqueued when the transaction commits."""
    chosen = [emails is not None, import_record is not None, changed_since is not None, everyone]
    if sum(chosen) != 1:
        raise ValidationError("Choose exactly one of: emails, an import, changed since a date, or everyone.")
    if compare not in ResyncRun.Compare.values:
        raise ValidationError({"compare": f"use one of {', '.join(ResyncRun.Compare.values)}"})
    contacts = ContactPreference.objects.filter(project=project)
    unknown: list[str] = []
    contact_ids: list[int] | None = None  # None: the run's task lists them (LISTED_BY_TASK)
    if emails is not None:
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 2000):  # no single huge IN (SQLite's variable limit)
            found.update(contacts.filter(email__in=wanted[start : start + 2000]).values_list("email", "pk"))
        unknown = [e for e in wanted if e not in found]
        contact_ids = sorted(found.values())
        detail: dict[str, Any] = {"count": len(found), "unknown": len(unknown)}
        selection = ResyncRun.Selection.CONTACTS
        if len(found) <= 20:
            detail["emails"] = sorted(found)
    elif import_record is not None:
        if import_record.project_id != project.pk:
            raise ValidationError("That import belongs to another project.")
        if import_record.status != PreferenceImport.Status.DONE:
            raise ValidationError(f"Import #{import_record.pk} has not finished; resync its contacts once it has.")
        selection, detail = ResyncRun.Selection.IMPORT, {"import": import_record.pk}
    elif changed_since is not None:
        selection, detail = ResyncRun.Selection.SINCE, {"since": changed_since.isoformat()}
    else:
        selection, detail = ResyncRun.Selection.EVERYONE, {}
    run = _create_run(
        project=project,
        actor=actor,
        contact_ids=contact_ids,
        selection=selection,
        detail=detail,
        dry_run=dry_run,
        compare=compare,
    )
    return ResyncStart(run=run, unknown_emails=unknown)


def _create_run(
    *,
    project: IterableProject,
    actor: Actor,
    contact_ids: list[int] | None,
    selection: Any,
    detail: Any,
    dry_run: Any,
    compare: Any,
    source_run: ResyncRun | None = None,
) -> ResyncRun:
    """The run, its items and its task (queued when the transaction commits). ``contact_ids=None``: a selection
    by query, listed as items by the run's task (``_list_contacts``), so a request never writes 100,000 rows."""
    settings = resync_settings_get(project=project)
    with transaction.atomic():
        run = ResyncRun.objects.create(
            project=project,
            created_by=actor if isinstance(actor, User) and actor.pk else None,
            actor_label=actor_label(actor),
            dry_run=dry_run,
            selection=selection,
            selection_detail=detail,
            compare=compare,
            source_run=source_run,
            batch_size=settings.batch_size,
            rate_per_second=settings.rate_per_second,
            on_batch_error=settings.on_batch_error,
            total=len(contact_ids or ()),
        )
        listed = contact_ids or []
        for start in range(0, len(listed), 2000):  # no single huge IN (SQLite's variable limit)
            chunk = ContactPreference.objects.filter(pk__in=listed[start : start + 2000])
            insert_items(run, chunk.annotate(cid=F("pk")).values_list("cid", flat=True))
        counted = {} if contact_ids is None else {"total": len(contact_ids)}
        audit_record(
            actor=actor,
            action="resync_dry_run" if dry_run else "resync_start",
            instance=run,
            changes={"selection": selection, **detail, **counted},
        )
        if contact_ids == []:
            run.status = ResyncRun.Status.DONE
            run.started_at = run.finished_at = timezone.now()
            run.save(update_fields=["status", "started_at", "finished_at"])
        else:
            resync_enqueue(run.pk)
    return run


def resync_apply(*, run: ResyncRun, actor: Actor) -> ResyncRun:
    """Apply a finished dry run: a new run over the contacts it found different (or could not read).
    It reads again before writing, so what is sent is what differs *now*."""
    if not run.dry_run:
        raise ValidationError("Only a dry run can be applied.")
    if run.status != ResyncRun.Status.DONE:
        raise ValidationError("The dry run has not finished.")
    return _create_run(
        project=run.project,
        actor=actor,
        contact_ids=None,
        selection=ResyncRun.Selection.DRY_RUN,
        detail={"dry_run": run.pk},
        dry_run=False,
        compare=ResyncRun.Compare.READ,
        source_run=run,
    )


def resync_start_scheduled(*, project: IterableProject) -> ResyncRun | None:
    """The scheduled resync: every contact whose desired state changed since it was last resynced (or never
    was). Nothing is lost to a cancelled or failed run: those contacts stay "changed" and come back next time.
    Returns ``None`` (and nudges it) when a scheduled run of the project is still active."""
    active = ResyncRun.objects.filter(project=project, status__in=ACTIVE, selection=ResyncRun.Selection.SCHEDULED)
    for run in active:
        resync_resume(run=run)
    if active:
        return None
    contact_ids = list(
        ContactPreference.objects.filter(project=project)
        .filter(Q(resynced_at__isnull=True) | Q(changed_at__gt=F("resynced_at")))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not contact_ids:
        return None
    return _create_run(
        project=project,
        actor="schedule",
        contact_ids=contact_ids,
        selection=ResyncRun.Selection.SCHEDULED,
        detail={},
        dry_run=False,
        compare=ResyncRun.Compare.READ,
    )


def resync_resume(*, run: ResyncRun) -> None:
    """Enqueue the run's task again (harmless if one is already running: the lease keeps it single)."""
    if run.status in ACTIVE:
        resync_enqueue(run.pk)


def resync_cancel(*, run: ResyncRun, actor: Actor) -> ResyncRun:
    """Cancel a queued or running run: its pending contacts become skipped ("cancelled"); a batch already on
    its way to Iterable finishes and is recorded as what it was."""
    with transaction.atomic():
        updated = ResyncRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(
            status=ResyncRun.Status.CANCELLED, finished_at=timezone.now()
        )
        if updated:
            run.items.filter(status=ResyncItem.Status.PENDING).update(
                status=ResyncItem.Status.SKIPPED, outcome="cancelled", processed_at=timezone.now()
            )
            audit_record(actor=actor, action="resync_cancel", instance=run)
    run.refresh_from_db()
    return run


def resync_retry_failed(*, run: ResyncRun, actor: Actor) -> int:
    """Put the run's failed contacts back to pending and run it again. Returns how many."""
    run.refresh_from_db()
    if run.status in ACTIVE and lease_held(run):
        raise ValidationError("The run is being processed right now; retry its failures when it has finished.")
    # Active, yet nobody holds it: its task died, overran or was lost. A queued run whose task was queued
    # within the stall time is waiting for a worker (a second person retrying at once): not stalled, so it is
    # neither queued twice nor recorded as retried again.
    stalled = run.status in ACTIVE and (run.status != ResyncRun.Status.QUEUED or resync_stalled(run))
    with transaction.atomic():
        count = run.items.filter(status=ResyncItem.Status.FAILED).update(
            status=ResyncItem.Status.PENDING, error_code="", error_message="", outcome=""
        )
        if not count and run.status != ResyncRun.Status.FAILED and not stalled:
            return 0
        ResyncRun.objects.filter(pk=run.pk).update(
            status=ResyncRun.Status.QUEUED,
            finished_at=None,
            last_error="",
            lease_owner="",
            lease_until=None,
            resumes=0,
            resumed_at_batch=F("batches_done"),
        )
        audit_record(actor=actor, action="resync_retry_failed", instance=run, changes={"items": count})
        resync_enqueue(run.pk)
    run.refresh_from_db()
    return count


def insert_items(run: ResyncRun, contacts: QuerySet) -> int:
    """One pending item per selected contact, written by one INSERT ... SELECT: the database copies the ids,
    so 100,000 items cost one statement rather than 100,000 rows through Python. Returns how many."""
    meta = ResyncItem._meta
    pending = {
        "run_id": run.pk,
        "status": ResyncItem.Status.PENDING,
        "outcome": "",
        "diff": meta.get_field("diff").get_db_prep_save({}, connection),
        "error_code": "",
        "error_message": "",
        "attempts": 0,
    }
    select_sql, select_params = contacts.order_by("cid").query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in [*pending, "contact_id"])
    # Only quoted model names and Django's own compiled query are in the text; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {', '.join(['%s'] * len(pending))}, chosen.cid FROM ({select_sql}) chosen"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*pending.values(), *select_params])
        return cursor.rowcount
