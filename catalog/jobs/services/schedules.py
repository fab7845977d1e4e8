"""A job's schedule: a cron expression (as the seeds write them), its next runs in plain words, and the
django-q2 Schedule that starts the job's scheduled pull."""

from __future__ import annotations

from datetime import datetime

from croniter import CroniterBadDateError, CroniterError, croniter  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.jobs.services.conf import SCHEDULED_TASK
from catalog.models import Job, JobRun, JobSource

NAMED = {"@daily": "0 0 * * *", "@hourly": "0 * * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"}
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def cron_normalise(expression: str) -> str:
    text = " ".join((expression or "").split())
    return NAMED.get(text.lower(), text)


def cron_problem(expression: str) -> str:
    """Why ``expression`` is not a schedule ("" when it is): five fields, each within its limits."""
    text = cron_normalise(expression)
    if len(text.split(" ")) != 5:
        return "A schedule has five parts: minute, hour, day of month, month, day of week (e.g. 0 22 * * *)."
    try:
        croniter(text).get_next(datetime)
    except CroniterBadDateError:
        # A valid-looking expression for a date that never comes (31 February) only fails when asked for a run.
        return "This schedule never runs: no date matches it (check the day of month against the month)."
    except (CroniterError, ValueError, KeyError) as exc:
        return f"Not a schedule: {exc}."
    return ""


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
        return f"Every hour at {int(minute)} minutes past"
    if minute.startswith("*/") and hour == dom == month == dow == "*":
        return f"Every {minute[2:]} minutes"
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


def job_scheduled_run(*, job_id: int) -> JobRun | None:
    """The scheduled pull: a run over the query's rows (a deletion then waits for its approval)."""
    from catalog.jobs.services.runs import job_run_start_query

    job = Job.objects.filter(pk=job_id).first()
    if job is None or not job.schedule_enabled or job.source != JobSource.QUERY:
        return None
    return job_run_start_query(actor="schedule", job=job, origin=JobRun.Origin.SCHEDULE)
