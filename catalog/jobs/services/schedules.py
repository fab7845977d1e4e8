"""A job's schedule: a cron expression (as the seeds write them), its next runs in plain words, and the
django-q2 Schedule that starts the job's scheduled pull (skipped while a run of the job has not finished)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from croniter import CroniterBadDateError, CroniterError, croniter  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.audit.services import audit_record
from catalog.jobs.services.conf import SCHEDULED_TASK
from catalog.models import Job, JobRun, JobSource

logger = logging.getLogger(__name__)

NAMED = {"@daily": "0 0 * * *", "@hourly": "0 * * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"}
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
# The five fields: each one's name in words and its values (a day of the week's 7 is Sunday, as 0 is).
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of the month", 1, 31), ("month", 1, 12), ("day of the week", 0, 6))
MONTH_NAMES = {name: number for number, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}  # fmt: skip
DAY_NAMES = {name: number for number, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # 29 February comes in leap years
NEVER = "This schedule never runs: no date matches it (check the day of month against the month)."
VERIFIED_RUNS = 3


class _Unreadable(ValueError):
    """A part of a field this reading leaves to croniter (L, #, a range that wraps round, a typo)."""


def _number(text: str, index: int) -> int:
    names = MONTH_NAMES if index == 3 else DAY_NAMES if index == 4 else {}
    if text in names:
        return names[text]
    if text.isascii() and text.isdigit() and len(text) <= 4:
        return int(text)
    raise _Unreadable(text)


def _single_values(field: str, index: int) -> str:
    """The field with each range of one value (2-2, feb-feb) written as that value: croniter reads such a range
    as every value of the field, so "5-5 * * * *" would run every minute and "0 0 1 2-2 *" every month."""
    parts = []
    for part in field.split(","):
        base = part.partition("/")[0].lower()
        first, dash, last = base.partition("-")
        try:
            single = bool(dash) and _number(first, index) == _number(last, index)
        except _Unreadable:
            single = False
        parts.append(first if single else part)
    return ",".join(parts)


def _field_values(field: str, index: int) -> set[int] | None:
    """The values ``field`` names, or None when croniter is left to read it. Raises ValidationError for a step
    larger than the field's range ("*/99999" minutes is once an hour, not what it says)."""
    name, low, high = FIELDS[index]
    values: set[int] = set()
    for part in field.lower().split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit()):
                return None
            if len(step_text) > 4 or int(step_text) > high - low:
                shown = step_text if len(step_text) <= 6 else f"{step_text[:6]}…"
                raise ValidationError(
                    f"The {name}'s step /{shown} is longer than its range, {low} to {high}: "
                    f"use a step of at most {high - low}."
                )
            step = int(step_text)
            if step == 0:
                return None
        try:
            if base in ("*", "?"):
                start, end = low, high
            else:
                first, dash, last = base.partition("-")
                start = _number(first, index)
                end = _number(last, index) if dash else (high if slash else start)
        except _Unreadable:
            return None
        if start > end:
            return None
        values.update(range(start, end + 1, step))
    return {value % 7 for value in values} if index == 4 else values  # Sunday is 0 and 7


def _verified(text: str, fields: list[set[int] | None]) -> str:
    """Why croniter's next runs are not what ``text`` says ("" when they are)."""
    minutes, hours, days, months, weekdays = fields
    dom, dow = text.split(" ")[2], text.split(" ")[4]
    it = croniter(text, timezone.now())
    for _ in range(VERIFIED_RUNS):
        moment = it.get_next(datetime)
        day_ok = (days is None or moment.day in days) if dow in ("*", "?") else True
        if dom in ("*", "?") and dow not in ("*", "?"):
            day_ok = weekdays is None or moment.isoweekday() % 7 in weekdays
        elif dom not in ("*", "?") and dow not in ("*", "?") and days is not None and weekdays is not None:
            day_ok = moment.day in days or moment.isoweekday() % 7 in weekdays  # either, as cron reads both
        if not (
            day_ok
            and (minutes is None or moment.minute in minutes)
            and (hours is None or moment.hour in hours)
            and (months is None or moment.month in months)
        ):
            return (
                f"This schedule is not read the way it is written (its next run would be {moment:%Y-%m-%d %H:%M} "
                "UTC): write each part more simply."
            )
    return ""


def cron_normalise(expression: str) -> str:
    text = " ".join((expression or "").split())
    text = NAMED.get(text.lower(), text)
    fields = text.split(" ")
    if len(fields) != 5:
        return text
    return " ".join(_single_values(field, index) for index, field in enumerate(fields))


def cron_problem(expression: str) -> str:
    """Why ``expression`` is not a schedule ("" when it is): five fields, each within its limits, steps within
    their field, on a date that comes, and read by croniter as it is written."""
    text = cron_normalise(expression)
    if len(text.split(" ")) != 5:
        return "A schedule has five parts: minute, hour, day of month, month, day of week (e.g. 0 22 * * *)."
    try:
        fields = [_field_values(field, index) for index, field in enumerate(text.split(" "))]
    except ValidationError as exc:
        return exc.messages[0]
    days, months, dow = fields[2], fields[3], text.split(" ")[4]
    if (
        days is not None
        and months is not None
        and dow in ("*", "?")
        and not any(day <= LONGEST_MONTH[month - 1] for month in months for day in days)
    ):
        return NEVER
    try:
        croniter(text).get_next(datetime)
        return _verified(text, fields)
    except CroniterBadDateError:
        # A valid-looking expression for a date that never comes (31 February) only fails when asked for a run.
        return NEVER
    except (CroniterError, ValueError, KeyError) as exc:
        return f"Not a schedule: {exc}."


def cron_next_runs(expression: str, count: int = 5, start: datetime | None = None) -> list[datetime]:
    if cron_problem(expression):
        return []
    it = croniter(cron_normalise(expression), start or timezone.now())
    return [it.get_next(datetime) for _ in range(count)]


def cron_words(expression: str) -> str:
    """The schedule in words for the common shapes; the next runs say the rest."""
    text = cron_normalise(expression)
    if cron_problem(text):
        return ""
    minute, hour, dom, month, dow = text.split(" ")
    at = f"{int(hour):02d}:{int(minute):02d} UTC" if minute.isdigit() and hour.isdigit() else ""
    if at and dom == "*" and month == "*" and dow == "*":
        return f"Every day at {at}"
    if at and dom == "*" and month == "*" and dow.isdigit():
        return f"Every {DAYS[int(dow) % 7]} at {at}"
    if at and dom.isdigit() and month == "*" and dow == "*":
        return f"On day {dom} of every month at {at}"
    if minute.isdigit() and hour == "*" and dom == month == dow == "*":
        return f"Every hour at {int(minute)} minute{'s' if int(minute) != 1 else ''} past"
    if minute in ("*", "*/1") and hour == dom == month == dow == "*":
        return "Every minute"
    # */7 runs at 0, 7, … 56 and again at 0: only a step that divides the hour runs every so many minutes.
    step = minute[2:] if minute.startswith("*/") and minute[2:].isdigit() else ""
    if step and 60 % int(step) == 0 and hour == dom == month == dow == "*":
        return f"Every {int(step)} minutes"
    return "On a custom schedule"


def schedule_name(job_id: int) -> str:
    return f"job-{job_id}"


def job_schedule_sync(job: Job) -> None:
    """The job's django-q2 Schedule matches the job: there when it is scheduled, gone when it is not."""
    from django_q.models import Schedule

    name = schedule_name(job.pk)
    if not (job.schedule_enabled and job.schedule_cron):
        Schedule.objects.filter(name=name).delete()
        return
    if cron_problem(job.schedule_cron):
        raise ValidationError({"schedule_cron": cron_problem(job.schedule_cron)})
    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": SCHEDULED_TASK,
            "args": repr(job.pk),  # django-q2 evaluates args with ast.literal_eval: only the id travels
            "schedule_type": Schedule.CRON,
            "cron": cron_normalise(job.schedule_cron),
            "repeats": -1,
            "next_run": cron_next_runs(job.schedule_cron, 1)[0],
        },
    )


# A run that may still send (or, for a deletion, be approved and send): a scheduled pull waits for it to end.
UNFINISHED: dict[str, str] = {
    JobRun.Status.QUEUED: "queued",
    JobRun.Status.RUNNING: "running",
    JobRun.Status.AWAITING_APPROVAL: "waiting for a second person's approval",
}


def _schedule_skip(job: Job, unfinished: JobRun) -> None:
    """Record on the job why its schedule's tick started nothing; audited once per run that held it up."""
    held_by = f"The scheduled pull did not start: run #{unfinished.pk} of this job"
    started = unfinished.created_at.astimezone(UTC)
    reason = f"{held_by}, started {started:%Y-%m-%d %H:%M} UTC, was still {UNFINISHED[unfinished.status]}."
    logger.warning("Job %s: %s", job.pk, reason)
    first_for_this_run = not job.schedule_skip_reason.startswith(held_by)
    Job.objects.filter(pk=job.pk).update(schedule_skipped_at=timezone.now(), schedule_skip_reason=reason[:300])
    if first_for_this_run:
        audit_record(actor="schedule", action="job_schedule_skip", instance=job, changes={"reason": reason})


def job_scheduled_run(*, job_id: int) -> JobRun | None:
    """The scheduled pull: a run over the query's rows (a deletion then waits for its approval). Skipped while
    a run of the job that may still send has not finished: ticks closer than the job's runs take would
    otherwise pile up runs sending the same rows."""
    from catalog.jobs.services.runs import job_run_start_query

    with transaction.atomic():
        # Locked: two ticks at once (a slow worker, a clock step) see each other's run.
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or not job.schedule_enabled or job.source != JobSource.QUERY:
            return None
        unfinished = (
            JobRun.objects.filter(job=job, dry_run=False, status__in=list(UNFINISHED))
            .only("pk", "status", "created_at")
            .order_by("created_at", "pk")
            .first()
        )
        if unfinished is not None:
            _schedule_skip(job, unfinished)
            return None
        return job_run_start_query(actor="schedule", job=job, origin=JobRun.Origin.SCHEDULE)
