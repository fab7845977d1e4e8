"""Unsubscribe events from another marketing system (Marketo through Workato, in the seeds): each is applied
through the run engine as a run of one row, queued at once, and received once per sender's event id."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.audit.services import actor_label
from catalog.jobs.services.runs import job_run_start
from catalog.models import Job, JobAction, JobRun, OptOutEvent
from catalog.types import Actor


def opt_out_receive(
    *, actor: Actor, job: Job, event_id: str, email: str = "", user_id: str = ""
) -> tuple[JobRun | None, bool]:
    """Apply one unsubscribe event. Returns (its run, True) the first time, (the first run, False) when the
    sender sends the same event again (nothing is applied twice)."""
    if job.action != JobAction.OPT_OUT:
        raise ValidationError("This job does not receive unsubscribe events.")
    event_id = (event_id or "").strip()
    if not event_id:
        raise ValidationError({"event_id": "Give the sender's event id (a repeated id is applied once)."})
    existing = OptOutEvent.objects.filter(job=job, event_id=event_id).select_related("run").first()
    if existing:
        return existing.run, False
    row = {job.email_column or "email": email, job.user_id_column or "user_id": user_id}
    try:
        with transaction.atomic():
            event = OptOutEvent.objects.create(job=job, event_id=event_id, received_by_label=actor_label(actor))
            run = job_run_start(actor=actor, job=job, rows=[(1, row)], origin=JobRun.Origin.EVENT)
            if run.invalid:
                item = run.items.first()
                raise ValidationError(item.error_message if item else "The event names nobody.")
            OptOutEvent.objects.filter(pk=event.pk).update(run=run)
    except IntegrityError:  # the same event, received twice at once: the other one applies it
        existing = OptOutEvent.objects.filter(job=job, event_id=event_id).select_related("run").first()
        return (existing.run if existing else None), False
    return run, True
