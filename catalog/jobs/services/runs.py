"""Starting a job's run (from a file, rows pushed through the API, a query, an event), applying a dry run,
the two-person rule for deletions, cancelling, and retrying failed rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.audit.services import actor_label, audit_record
from catalog.jobs.services.actions import CHANGES
from catalog.jobs.services.conf import ACTIVE, max_upload_bytes, max_upload_rows, upload_dir
from catalog.jobs.services.queue import job_enqueue
from catalog.jobs.services.rows import RowBuilder, RowProblem
from catalog.models import InvalidRows, Job, JobAction, JobItem, JobRun
from catalog.runs import engine
from catalog.types import Actor

CHUNK = 1000
PROBLEMS_SHOWN = 20
Rows = Iterable[tuple[int, "dict[str, Any] | RowProblem"]]


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) and actor.pk else None


def _needs_approval(job: Job, dry_run: bool) -> bool:
    return job.action == JobAction.DELETE_USERS and not dry_run


def _new_run(*, actor: Actor, job: Job, origin: str, dry_run: bool, **fields: Any) -> JobRun:
    status = JobRun.Status.AWAITING_APPROVAL if _needs_approval(job, dry_run) else JobRun.Status.QUEUED
    return JobRun.objects.create(
        job=job,
        created_by=_user(actor),
        actor_label=actor_label(actor),
        status=status,
        dry_run=dry_run,
        origin=origin,
        batch_size=job.batch_size,
        rate_per_second=job.rate_per_second,
        **fields,
    )


_ITEM_COLUMNS = ("run_id", "row_no", "key", "payload", "status", "outcome", "diff", "error_code", "error_message",
                 "attempts")  # fmt: skip


def _write_items(values: list[tuple]) -> None:
    """One multi-row statement per chunk (the ORM's bulk_create costs more than the rows' own work here)."""
    meta = JobItem._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in _ITEM_COLUMNS)  # the fields' own column names
    # Only quoted model names are in the text; every value is a parameter.
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(_ITEM_COLUMNS))})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def insert_rows(run: JobRun, rows: Rows, *, cap: int) -> tuple[int, int]:
    """Write one item per row, in chunks (the rows are never held whole). A row that cannot be sent is kept
    as skipped with its reason, or, when the job says invalid rows fail the run, raises ValidationError naming
    the first ones (the caller's transaction then keeps nothing). Returns (rows, invalid rows)."""
    builder = RowBuilder(run.job)
    fail = run.job.on_invalid == InvalidRows.FAIL
    as_json = JobItem._meta.get_field("payload").get_db_prep_save
    empty = as_json({}, connection)
    pending, skipped = JobItem.Status.PENDING, JobItem.Status.SKIPPED
    chunk: list[tuple] = []
    problems: list[str] = []
    total = invalid = 0
    for number, row in rows:
        total += 1
        if total > cap:
            raise ValidationError(f"More than {cap:,} rows: split the file, or raise the job's row cap.")
        try:
            if isinstance(row, RowProblem):
                raise row
            built = builder.build(row)
        except RowProblem as problem:
            invalid += 1
            if fail:
                if len(problems) < PROBLEMS_SHOWN:
                    problems.append(f"Row {number}: {problem}.")
                continue
            chunk.append((run.pk, number, "", empty, skipped, "invalid", empty, "", str(problem)[:500], 0))
        else:
            if built.left_out:
                message = f"Left out: not {built.left_out}."
                chunk.append((run.pk, number, built.key, empty, skipped, "left_out", empty, "", message, 0))
            else:
                payload = as_json(built.payload, connection)
                chunk.append((run.pk, number, built.key, payload, pending, "", empty, "", "", 0))
        if len(chunk) >= CHUNK:
            _write_items(chunk)
            chunk = []
    if problems:
        more = invalid - len(problems)
        raise ValidationError(
            [f"{invalid} invalid row(s); this job fails the run on invalid rows, so nothing was sent.", *problems]
            + ([f"… and {more} more."] if more > 0 else [])
        )
    if chunk:
        _write_items(chunk)
    return total, invalid


def job_run_start(
    *, actor: Actor, job: Job, rows: Rows, origin: str, dry_run: bool = False, filename: str = ""
) -> JobRun:
    """A run of ``job`` over ``rows`` ((line, row) pairs, streamed). Deletions that are not a dry run wait for
    a second person's approval; the others are queued when the transaction commits."""
    with transaction.atomic():
        run = _new_run(actor=actor, job=job, origin=origin, dry_run=dry_run, filename=(filename or "")[:255])
        total, invalid = insert_rows(run, rows, cap=max_upload_rows())
        if total == 0:
            raise ValidationError("No rows: the file or the request held nothing to send.")
        JobRun.objects.filter(pk=run.pk).update(total=total, invalid=invalid)
        run.total, run.invalid = total, invalid
        audit_record(
            actor=actor,
            action="job_run_start",
            instance=run,
            changes={"job": job.name, "dry_run": dry_run, "rows": total, "invalid": invalid, "origin": origin},
        )
        if run.status == JobRun.Status.QUEUED:
            job_enqueue(run.pk)
    return run


def job_run_start_file(*, actor: Actor, job: Job, stream: IO[bytes], filename: str, dry_run: bool = False) -> JobRun:
    """A run over an uploaded file: the request only keeps the file (copied to disk in chunks) and queues the
    run; its task reads the rows as a stream. A deletion is listed first, then waits for its approval."""
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{Path(filename or '').suffix[:10]}"
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > max_upload_bytes():
                    raise ValidationError(f"The file is larger than {max_upload_bytes() // 2**20} MB: split it.")
                out.write(chunk)
        if size == 0:
            raise ValidationError("The file is empty.")
        with transaction.atomic():
            run = _new_run(actor=actor, job=job, origin=JobRun.Origin.UPLOAD, dry_run=dry_run, listed=False,
                           filename=(filename or "")[:255], source_file=str(path))  # fmt: skip
            JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.QUEUED)
            run.status = JobRun.Status.QUEUED
            changes = {"job": job.name, "dry_run": dry_run, "file": run.filename, "bytes": size}
            audit_record(actor=actor, action="job_run_start", instance=run, changes=changes)
            job_enqueue(run.pk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return run


def job_run_start_query(*, actor: Actor, job: Job, origin: str = JobRun.Origin.QUERY, dry_run: bool = False) -> JobRun:
    """A run whose task pulls its rows from the job's query (a scheduled pull, or one started by hand)."""
    if not job.query:
        raise ValidationError("This job has no query to pull rows from.")
    with transaction.atomic():
        run = _new_run(actor=actor, job=job, origin=origin, dry_run=dry_run, listed=False)
        # A deletion pulled by its query is listed first, then waits for approval with its rows known.
        JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.QUEUED)
        run.status = JobRun.Status.QUEUED
        audit_record(actor=actor, action="job_run_start", instance=run, changes={"job": job.name, "origin": origin})
        job_enqueue(run.pk)
    return run


STALE_MESSAGE = (
    "The job was changed after this dry run, so its rows may no longer be what the job would send: dry-run it "
    "again, then apply the new dry run."
)


def job_run_stale(run: JobRun, changed_at=None) -> bool:
    """A dry run older than its job's last change no longer shows what applying would do."""
    changed_at = changed_at if changed_at is not None else run.job.changed_at
    return bool(run.dry_run and changed_at and run.created_at and changed_at > run.created_at)


def job_run_apply(*, actor: Actor, run: JobRun) -> JobRun:
    """Apply a finished dry run: a new run of the rows it found would change (and those it could not read).
    Refused once the job was changed after the dry run (its rows were built by the job as it was then)."""
    if not run.dry_run:
        raise ValidationError("Only a dry run can be applied.")
    if run.status != JobRun.Status.DONE:
        raise ValidationError("Wait until the dry run is done, then apply it.")
    chosen = run.items.filter(Q(outcome__in=CHANGES) | Q(status=JobItem.Status.FAILED)).order_by("id")
    with transaction.atomic():
        # Two apply requests at once (a double click, two tabs) would otherwise make two runs that both send.
        JobRun.objects.select_for_update().filter(pk=run.pk).first()
        if JobRun.objects.filter(source_run=run).exists():
            raise ValidationError("This dry run has already been applied: open the run it started.")
        # The job as it is now (an edit saved since the page was read counts), locked against one being saved.
        changed_at = Job.objects.select_for_update().filter(pk=run.job_id).values_list("changed_at", flat=True).first()
        if job_run_stale(run, changed_at):
            raise ValidationError(STALE_MESSAGE)
        applied = _new_run(actor=actor, job=run.job, origin=JobRun.Origin.DRY_RUN, dry_run=False, source_run=run)
        total = 0
        batch: list[JobItem] = []
        for item in chosen.only("row_no", "key", "payload").iterator(chunk_size=2000):
            batch.append(JobItem(run=applied, row_no=item.row_no, key=item.key, payload=item.payload))
            total += 1
            if len(batch) >= CHUNK:
                JobItem.objects.bulk_create(batch)
                batch = []
        JobItem.objects.bulk_create(batch)
        if total == 0:
            raise ValidationError("The dry run found nothing to change: there is nothing to apply.")
        JobRun.objects.filter(pk=applied.pk).update(total=total)
        applied.total = total
        audit_record(actor=actor, action="job_run_apply", instance=applied, changes={"dry_run": run.pk, "rows": total})
        if applied.status == JobRun.Status.QUEUED:
            job_enqueue(applied.pk)
    return applied


def job_run_requesters(run: JobRun) -> set[int]:
    """Who asked for ``run``: its starter, or for a run nobody started by hand (a scheduled pull) the people who
    set its job up — its creator and whoever last saved it."""
    if run.created_by_id is not None:
        return {run.created_by_id}
    job = run.job
    return {pk for pk in (job.created_by_id, job.updated_by_id) if pk is not None}


def job_run_approve(*, actor: Actor, run: JobRun) -> JobRun:
    """The second person approves a deletion: it is queued. The person who requested it may not approve it."""
    user = _user(actor)
    if user is None:
        raise ValidationError("A deletion is approved by a person, signed in.")
    if user.pk in job_run_requesters(run):
        if run.created_by_id is None:
            raise ValidationError("You set up this job's scheduled deletion: another person must approve it.")
        raise ValidationError("You requested this deletion: another person must approve it.")
    with transaction.atomic():
        updated = JobRun.objects.filter(pk=run.pk, status=JobRun.Status.AWAITING_APPROVAL).update(
            status=JobRun.Status.QUEUED,
            approved_by=user,
            approved_by_label=actor_label(actor),
            approved_at=timezone.now(),
        )
        if not updated:
            raise ValidationError("This run is not waiting for approval.")
        audit_record(actor=actor, action="job_run_approve", instance=run, changes={"rows": run.total})
        job_enqueue(run.pk)
    run.refresh_from_db()
    return run


def job_run_cancel(*, actor: Actor, run: JobRun) -> JobRun:
    """Stop a queued, running or waiting run: rows already sent stay sent; the rest are not sent."""
    waiting = (*ACTIVE, JobRun.Status.AWAITING_APPROVAL)
    with transaction.atomic():
        updated = JobRun.objects.filter(pk=run.pk, status__in=waiting).update(
            status=JobRun.Status.CANCELLED, finished_at=timezone.now()
        )
        if not updated:
            raise ValidationError("This run has already ended.")
        audit_record(actor=actor, action="job_run_cancel", instance=run)
    run.refresh_from_db()
    return run


def job_run_retry_failed(*, actor: Actor, run: JobRun) -> JobRun:
    """Send the failed rows of an ended run again (the same run, so its page tells the whole story)."""
    if run.status in ACTIVE and engine.lease_held(run):
        raise ValidationError("This run is being processed right now; wait for it to end.")
    if run.status in (JobRun.Status.AWAITING_APPROVAL, JobRun.Status.CANCELLED):
        raise ValidationError("Only a run that was sent can be retried.")
    with transaction.atomic():
        count = run.items.filter(status=JobItem.Status.FAILED).update(status=JobItem.Status.PENDING)
        pending = run.items.filter(status=JobItem.Status.PENDING).exists()
        if not count and not pending:
            raise ValidationError("Nothing failed in this run: there is nothing to retry.")
        JobRun.objects.filter(pk=run.pk).update(
            status=JobRun.Status.QUEUED, finished_at=None, last_error="", resumes=0, resumed_at_batch=run.batches_done
        )
        audit_record(actor=actor, action="job_run_retry", instance=run, changes={"rows": count})
        job_enqueue(run.pk)
    run.refresh_from_db()
    return run


def job_run_dismiss_failed(*, actor: Actor, run: JobRun) -> JobRun:
    """Give up on an ended run's failed rows (and the unsent rows of a run that stopped): they are recorded as
    given up, never sent again, and no longer keep the job's action, list or channel from changing."""
    if run.dry_run:
        raise ValidationError("A dry run sends nothing: there is nothing to give up on.")
    if run.status not in (JobRun.Status.DONE, JobRun.Status.FAILED):
        raise ValidationError("Only the failed rows of a run that has ended can be given up on.")
    with transaction.atomic():
        # Under the run's lock: a retry started at the same moment either ran first (then this finds the run
        # queued and refuses) or finds nothing left to retry.
        locked = JobRun.objects.select_for_update().filter(pk=run.pk).values_list("status", flat=True).first()
        if locked not in (JobRun.Status.DONE, JobRun.Status.FAILED):
            raise ValidationError("Only the failed rows of a run that has ended can be given up on.")
        given_up = run.items.filter(status__in=(JobItem.Status.FAILED, JobItem.Status.PENDING))
        count = given_up.update(status=JobItem.Status.SKIPPED, outcome="given_up", processed_at=timezone.now())
        if not count:
            raise ValidationError("Nothing failed in this run: there is nothing to give up on.")
        audit_record(actor=actor, action="job_run_dismiss_failed", instance=run, changes={"rows": count})
    run.refresh_from_db()
    return run
