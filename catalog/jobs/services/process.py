"""A job's run on the run engine (catalog/runs/engine.py): its rows pulled from the query if it has one, then
batch by batch: the action's handler (read, compare, paced write), and one checkpoint per batch."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from catalog.iterable import IterableError, client_for_project
from catalog.jobs.services.actions import HANDLERS, Batch, Row
from catalog.jobs.services.conf import ACTIVE, ENDPOINTS, READ, lease_seconds, max_upload_rows, slice_seconds
from catalog.jobs.services.queue import job_enqueue
from catalog.jobs.services.rows import identity_hash
from catalog.jobs.services.runs import insert_rows
from catalog.jobs.services.sources import file_rows, query_rows
from catalog.models import ContactPreference, DeletionRecord, JobAction, JobItem, JobRun
from catalog.runs import engine
from catalog.runs.engine import Result

logger = logging.getLogger(__name__)


def _acquire(run_id: int, token: str) -> bool:
    return engine.lease_acquire(JobRun, run_id, token, active=ACTIVE, seconds=lease_seconds())


def _fail(run_id: int, token: str, message: str) -> str:
    engine.lease_release(JobRun, run_id, token, status=JobRun.Status.FAILED, last_error=message[:2000],
                         finished_at=timezone.now())  # fmt: skip
    return "failed"


def job_process(*, run_id: int, slice_seconds_: float | None = None, token: str | None = None) -> str:
    """Process a run for up to ``slice_seconds_`` (default ``JOBS_SLICE_SECONDS``) under its lease. Returns
    ``"done"``, ``"continue"``, ``"busy"``, ``"stopped"``, ``"approval"`` (a pulled deletion now waits for
    its approval) or ``"failed"``."""
    token = token or uuid.uuid4().hex
    if not _acquire(run_id, token):
        return "busy"
    deadline = time.monotonic() + (slice_seconds() if slice_seconds_ is None else slice_seconds_)
    run = JobRun.objects.select_related("job", "job__project").get(pk=run_id)
    job = run.job
    if not run.listed:
        listed = _list_rows(run, token)
        if listed != "ok":
            return listed
        run.refresh_from_db()
        if job.action == JobAction.DELETE_USERS and not run.dry_run and run.approved_by_id is None:
            engine.lease_release(JobRun, run_id, token, status=JobRun.Status.AWAITING_APPROVAL)
            return "approval"
    if job.action == JobAction.DELETE_USERS and not run.dry_run and run.approved_by_id is None:
        # Never delete without a second person's approval, whatever let an unapproved run get here.
        return _fail(run_id, token, "A deletion runs only once a second person has approved it: this run was not.")
    if run.status == JobRun.Status.QUEUED:
        run.started_at = run.started_at or timezone.now()
        JobRun.objects.filter(pk=run_id, status=JobRun.Status.QUEUED).update(
            status=JobRun.Status.RUNNING, started_at=run.started_at
        )
    try:
        pending = run.items.filter(status=JobItem.Status.PENDING).exists()
        client = client_for_project(job.project) if pending else None
    except IterableError as exc:
        return _fail(run_id, token, str(exc))
    endpoint = ENDPOINTS[job.action]
    # Calls made one per row by many threads (a delete, a read) are paced here at the job's rate or else the
    # endpoint's own, started in order a window after the earlier calls ended: the client's window alone lets
    # the threads start a window's calls at once, and a late one then meets a 429 (see SpacedWindow). Bulk
    # writes are paced here only at a rate the job sets; the client keeps Iterable's.
    per_row = endpoint.rows_per_call == 1
    batch = Batch(
        run=run,
        job=job,
        client=client,
        pacer=engine.pacer(("job", job.action, job.project_id), 0 if per_row else run.rate_per_second),
        concurrency=job.read_concurrency,
        call_pacer=engine.call_pacer(
            ("job", job.action, job.project_id), run.rate_per_second or endpoint.calls_per_second
        )
        if per_row
        else None,
        read_pacer=engine.call_pacer(("job reads", job.project_id), READ.calls_per_second),
    )
    spec = engine.Slice(
        model=JobRun,
        active=ACTIVE,
        lease_seconds=lease_seconds(),
        done_status=JobRun.Status.DONE,
        failed_status=JobRun.Status.FAILED,
        next_items=_next_items,
        process_batch=lambda run, items, ahead: _process_batch(batch, run, items, ahead),
        enqueue=job_enqueue,
    )
    return engine.slice_run(spec, run, token, deadline)


def _list_rows(run: JobRun, token: str) -> str:
    """Write the run's items from its uploaded file (streamed) or its query, once: in one transaction under
    the run's row lock, so a killed worker leaves nothing half-listed. The file is deleted once listed."""
    path = Path(run.source_file) if run.source_file else None
    try:
        if path is not None:
            stream = path.open("rb")
            rows = file_rows(stream, run.filename)
            cap = max_upload_rows()
        else:
            stream = None
            rows = enumerate(query_rows(run.job), start=1)
            cap = run.job.row_cap
        try:
            with transaction.atomic():
                if not JobRun.objects.select_for_update().filter(pk=run.pk, lease_owner=token, listed=False).exists():
                    return "stopped"
                total, invalid = insert_rows(run, rows, cap=cap)
                if total == 0:
                    raise ValidationError("No rows: the file or the query held nothing to send.")
                JobRun.objects.filter(pk=run.pk).update(listed=True, total=total, invalid=invalid, source_file="")
        finally:
            if stream is not None:
                stream.close()
    except FileNotFoundError:
        return _fail(run.pk, token, "The uploaded file is gone (the server's disk was cleared): upload it again.")
    except ValidationError as exc:
        if path is not None:
            path.unlink(missing_ok=True)
        return _fail(run.pk, token, " ".join(exc.messages))
    if path is not None:
        path.unlink(missing_ok=True)
    return "ok"


def _next_items(run: JobRun, after: int) -> list[Row]:
    # Plain rows, not model instances: building a thousand instances per batch cost more than the batch's send.
    pending = run.items.filter(status=JobItem.Status.PENDING, id__gt=after).order_by("id")[: run.batch_size]
    return [Row(*values) for values in pending.values_list("id", "row_no", "key", "payload", "attempts")]


def _process_batch(batch: Batch, run: JobRun, items: list[Row], ahead: engine.ReadAhead) -> str:
    batch.ahead = ahead
    outcome, results = HANDLERS[batch.job.action](batch, items)
    if outcome == "retry":
        # Iterable found the body too large: halve and send the same rows again (they are still pending).
        JobRun.objects.filter(pk=run.pk).update(batch_size=max(1, len(items) // 2))
        return "retry"
    _checkpoint(batch, run, items, results)
    return "ok"


def _checkpoint(batch: Batch, run: JobRun, items: list[Row], results: dict[int, Result]) -> None:
    """Record one batch atomically: the rows' outcomes, the deleted people's records (their rows keep only a
    hash), the source of truth's opt-outs, and the run's batch count."""
    now = timezone.now()
    batch_no = run.batches_done + 1
    job = batch.job
    deleted = [i for i in items if not run.dry_run and results[i.pk].outcome == "deleted"]
    opted_out = [i for i in items if not run.dry_run and results[i.pk].outcome == "opted_out"]
    records: list[DeletionRecord] = []
    if deleted:
        emails = [i.payload["email"] for i in deleted if i.payload.get("email")]
        contacts = dict(
            ContactPreference.objects.filter(project_id=job.project_id, email__in=emails).values_list("email", "pk")
        )
        for item in deleted:
            email = item.payload.get("email") or ""
            records.append(
                DeletionRecord(
                    project_id=job.project_id,
                    run=run,
                    identity_hash=identity_hash(_identity(item)),
                    by_user_id=not email,
                    deleted_at=now,
                    requested_by_label=run.actor_label,
                    approved_by_label=run.approved_by_label,
                    contact_id=contacts.get(email),
                )
            )
    groups: dict[tuple[str, str], list[int]] = {}
    detailed: list[tuple[int, int, Result]] = []
    for item in items:
        result = results[item.pk]
        if result.diff or result.error_code or result.error_message:
            detailed.append((item.pk, item.attempts, result))
        else:
            groups.setdefault((result.status, result.outcome), []).append(item.pk)
    with transaction.atomic():
        engine.items_write(JobItem, groups, detailed, batch_no=batch_no, now=now)
        if records:
            DeletionRecord.objects.bulk_create(records, ignore_conflicts=True)
            _forget(run, deleted)
        if opted_out:
            _truth_opt_out(job, [str(i.payload["email"]) for i in opted_out if i.payload.get("email")], now)
        JobRun.objects.filter(pk=run.pk).update(batches_done=F("batches_done") + 1)


def _forget(run: JobRun, deleted: list[Row]) -> None:
    """Nothing of the deleted people stays in the run, nor in the dry run that listed them: their rows keep only
    the hash. One statement for the payloads and one prepared statement for the keys (the ORM's bulk update
    of a thousand rows cost more than the batch's own deletes)."""
    hashes = {item.row_no: identity_hash(_identity(item)) for item in deleted}
    rows = {item.pk: item.row_no for item in deleted}
    if run.source_run_id:
        listed = JobItem.objects.filter(run_id=run.source_run_id, row_no__in=list(hashes))
        rows.update(dict(listed.values_list("pk", "row_no")))
    JobItem.objects.filter(pk__in=list(rows)).update(payload={})
    quote = connection.ops.quote_name
    # Only quoted model names are in the text; every value is a parameter.
    meta = JobItem._meta
    key, pk = quote(meta.get_field("key").column), quote(meta.pk.column)
    sql = f"UPDATE {quote(meta.db_table)} SET {key} = %s WHERE {pk} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(hashes[no], item) for item, no in rows.items()])


def _identity(item: Row) -> str:
    return str(item.payload.get("email") or item.payload.get("userId", ""))


def _truth_opt_out(job, emails: list[str], now) -> None:
    """The source of truth learns the opt-out too, so the next preference resync does not undo it."""
    channel = int(job.channel_id or 0)
    for contact in ContactPreference.objects.filter(project_id=job.project_id, email__in=emails):
        current = list(contact.unsubscribed_channel_ids or [])
        if channel in current:
            continue
        contact.unsubscribed_channel_ids = [*current, channel]
        contact.changed_at = now
        contact.changed_by_label = "opt-out event"
        contact.source = f"Opt-out job: {job.name}"[:255]
        contact.save(update_fields=["unsubscribed_channel_ids", "changed_at", "changed_by_label", "source"])
