"""Scheduled pulls: a job's query run read-only with a row cap, its cron schedule as a django-q2 Schedule."""

import pytest
from _jobs_seed import iterable_user
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_q.models import Schedule

from catalog.jobs.services.process import job_process
from catalog.jobs.services.schedules import cron_next_runs, cron_words, schedule_name
from catalog.jobs.services.setup import job_save
from catalog.jobs.tasks import job_scheduled_task
from catalog.models import JobRun


@pytest.fixture
def warehouse(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE warehouse_students (email varchar(254), first_name varchar(50), created date)")
        cursor.execute(
            "INSERT INTO warehouse_students VALUES ('ada@example.com', 'Ada Q.', '2099-01-01'), "
            "('old@example.com', 'Old', '2001-01-01'), ('cy@example.com', 'Cy', '2099-01-01')"
        )
    yield "warehouse_students"


def sync_job(project, **extra):
    data = {
        "project": project, "name": "iterable_student_sync", "action": "update_profiles", "source": "query",
        "db_alias": "default", "query": "SELECT email, first_name, created FROM warehouse_students",
        "mapping": [{"column": "first_name", "field": "firstName"}],
        "retention": [{"column": "created", "rule": "within_days", "value": 60}],
        "schedule_enabled": True, "schedule_cron": "0 22 * * *", **extra,
    }  # fmt: skip
    return job_save(actor="tests", data=data)


def test_scheduled_pull_runs_the_query_and_applies_its_rows(project, emulator, warehouse):
    job = sync_job(project)
    schedule = Schedule.objects.get(name=schedule_name(job.pk))
    assert (schedule.schedule_type, schedule.cron, schedule.func) == (
        Schedule.CRON, "0 22 * * *", "catalog.jobs.tasks.job_scheduled_task"
    )  # fmt: skip
    assert cron_words(job.schedule_cron) == "Every day at 22:00 UTC"
    assert all(m.hour == 22 and m.minute == 0 for m in cron_next_runs(job.schedule_cron))

    run = JobRun.objects.get(pk=job_scheduled_task(job.pk))
    assert not run.listed and run.origin == "schedule"
    assert job_process(run_id=run.pk) == "done"
    run.refresh_from_db()
    assert {i.key: i.outcome for i in run.items.all()} == {
        "ada@example.com": "updated", "old@example.com": "left_out", "cy@example.com": "updated",
    }  # fmt: skip
    assert iterable_user(emulator, "ada@example.com")["dataFields"]["firstName"] == "Ada Q."
    assert iterable_user(emulator, "old@example.com") is None

    job_save(actor="tests", job=job, data={"schedule_enabled": False})
    assert not Schedule.objects.filter(name=schedule_name(job.pk)).exists()


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM warehouse_students",
        "SELECT 1; DROP TABLE warehouse_students",
        "UPDATE warehouse_students SET email = ''",
    ],
)
def test_only_one_select_may_be_set_up(project, warehouse, query):
    with pytest.raises(ValidationError) as caught:
        sync_job(project, query=query)
    assert "query" in caught.value.message_dict


def test_a_bad_schedule_and_an_unknown_database_are_refused(project):
    with pytest.raises(ValidationError) as caught:
        sync_job(project, schedule_cron="0 25 * * *", db_alias="warehouse")
    assert set(caught.value.message_dict) == {"schedule_cron", "query"}


def test_a_query_past_its_row_cap_fails_the_run_and_sends_nothing(project, emulator, warehouse):
    job = sync_job(project, row_cap=2)
    run = JobRun.objects.get(pk=job_scheduled_task(job.pk))
    assert job_process(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and "more than its cap of 2 rows" in run.last_error
    assert not run.items.exists()
    assert emulator.requests(path="POST /api/users/bulkUpdate") == []


def test_the_query_runs_read_only(project, emulator, warehouse):
    # A SELECT that would write (PostgreSQL: a data-modifying CTE; SQLite: refused by query_only) fails.
    if connection.vendor == "postgresql":
        sneaky = "WITH gone AS (DELETE FROM warehouse_students RETURNING email) SELECT email FROM gone"
    else:
        sneaky = "SELECT email FROM warehouse_students"
    job = sync_job(project, query=sneaky, schedule_enabled=False)
    from catalog.jobs.services.runs import job_run_start_query

    run = job_run_start_query(actor="tests", job=job)
    outcome = job_process(run_id=run.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM warehouse_students")
        assert cursor.fetchone()[0] == 3  # nothing deleted
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA query_only")
            assert cursor.fetchone()[0] == 0  # the connection writes again afterwards
    assert outcome == ("failed" if connection.vendor == "postgresql" else "done")


def test_a_schedule_for_a_date_that_never_comes_is_refused_in_words(project, operator):
    with pytest.raises(ValidationError) as caught:
        sync_job(project, schedule_cron="0 0 31 2 *")
    assert "never runs" in " ".join(caught.value.message_dict["schedule_cron"])
    assert cron_next_runs("0 0 31 2 *") == []
    page = Client()
    page.force_login(operator)
    shown = page.get(reverse("catalog:job_cron_preview"), {"schedule_cron": "0 0 31 2 *"})
    assert shown.status_code == 200 and "never runs" in shown.content.decode()


def test_a_scheduled_deletion_is_not_approved_by_who_set_the_job_up(project, emulator, warehouse):
    from factories import UserFactory

    from catalog.jobs.services.runs import job_run_approve

    creator, editor, other = UserFactory(username="creator"), UserFactory(username="editor"), UserFactory()
    job = job_save(actor=creator, data={
        "project": project, "name": "nightly deletion", "action": "delete_users", "source": "query",
        "db_alias": "default", "query": "SELECT email FROM warehouse_students", "schedule_enabled": True,
        "schedule_cron": "0 22 * * *",
    })  # fmt: skip
    job_save(actor=editor, job=job, data={"description": "every night"})
    run = JobRun.objects.get(pk=job_scheduled_task(job.pk))
    assert job_process(run_id=run.pk) == "approval"
    run.refresh_from_db()
    for who in (creator, editor):
        with pytest.raises(ValidationError) as caught:
            job_run_approve(actor=who, run=run)
        assert "another person must approve it" in caught.value.messages[0]
    assert job_run_approve(actor=other, run=run).status == JobRun.Status.QUEUED


def test_a_query_date_column_is_sent_as_text(project, emulator, warehouse):
    # On PostgreSQL the column comes back as a date object, which the run's rows could not store as it is.
    job = sync_job(project, mapping=[{"column": "created", "field": "signedUp"}], retention=[],
                   query="SELECT email, created FROM warehouse_students WHERE email = 'ada@example.com'")  # fmt: skip
    run = JobRun.objects.get(pk=job_scheduled_task(job.pk))
    assert job_process(run_id=run.pk) == "done"
    assert run.items.get().payload["dataFields"] == {"signedUp": "2099-01-01"}
    assert iterable_user(emulator, "ada@example.com")["dataFields"]["signedUp"] == "2099-01-01"


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 0 31 2-2 *", "never runs"),  # croniter reads a range of one month as every month
        ("0 0 31 4,6,9,11 *", "never runs"),
        ("0 0 30 feb *", "never runs"),
        ("*/99999999999999999999 * * * *", "The minute's step /999999… is longer than its range, 0 to 59"),
        ("*/60 * * * *", "use a step of at most 59"),
        ("0 */24 * * *", "The hour's step /24"),
        ("0 0 1-31/40 * *", "The day of the month's step /40"),
        ("0 0 1 */12 *", "The month's step /12"),
        ("0 0 * * */7", "The day of the week's step /7"),
    ],
)
def test_a_schedule_that_never_comes_or_steps_past_its_field_is_refused_in_words(project, expression, words):
    with pytest.raises(ValidationError) as caught:
        sync_job(project, schedule_cron=expression)
    assert words in caught.value.message_dict["schedule_cron"][0]
    assert cron_next_runs(expression) == [] and cron_words(expression) == ""


def test_a_range_of_one_value_is_read_as_that_value(project):
    # croniter reads "2-2" as every month and "5-5" as every minute: the schedule keeps what was written.
    job = sync_job(project, schedule_cron="5-5 3 1 2-2 *")
    schedule = Schedule.objects.get(name=schedule_name(job.pk))
    assert schedule.cron == "5 3 1 2 *"
    runs = cron_next_runs(job.schedule_cron, 3)
    assert [(m.month, m.day, m.hour, m.minute) for m in runs] == [(2, 1, 3, 5)] * 3
    assert [m.year for m in runs] == sorted({m.year for m in runs})
    assert cron_next_runs("0 0 29 2 *", 2)[0].month == 2  # a leap day comes, every four years
    assert {m.weekday() for m in cron_next_runs("0 9 * * 0-7", 7)} == set(range(7))  # 0 and 7 are both Sunday


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("* * * * *", "Every minute"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("*/7 * * * *", "On a custom schedule"),  # 0, 7, … 56, then 0 again: not every 7 minutes
        ("1 * * * *", "Every hour at 1 minute past"),
        ("0 22 * * 7-7", "Every Sunday at 22:00 UTC"),
    ],
)
def test_a_schedule_is_said_in_words_only_when_the_words_are_true(expression, words):
    assert cron_words(expression) == words


def _open_job(project):
    return sync_job(project, schedule_cron="*/5 * * * *", retention=[])


def test_a_tick_while_the_last_run_has_not_finished_is_skipped_and_said(project, emulator, warehouse, operator,
                                                                        api_for):  # fmt: skip
    from catalog.models import AuditEvent

    job = _open_job(project)
    first = JobRun.objects.get(pk=job_scheduled_task(job.pk))
    assert job_scheduled_task(job.pk) is None and job_scheduled_task(job.pk) is None
    assert JobRun.objects.filter(job=job).count() == 1
    job.refresh_from_db()
    assert job.schedule_skipped_at is not None
    assert f"run #{first.pk} of this job" in job.schedule_skip_reason and "was still queued" in job.schedule_skip_reason
    # Said once in the activity for the run that held the schedule up, not at every tick.
    skips = AuditEvent.objects.filter(action="job_schedule_skip", object_id=str(job.pk))
    assert skips.count() == 1 and "was still queued" in skips.get().changes["reason"]
    shown = api_for(operator).get(f"/api/jobs/{job.pk}/").json()
    assert shown["schedule_skip_reason"] == job.schedule_skip_reason and shown["schedule_skipped_at"]
    # The job's page says it too, and the activity in words.
    from django.test import Client
    from django.urls import reverse

    page = Client()
    page.force_login(operator)
    assert "Last skipped" in page.get(reverse("catalog:job_detail", args=[job.pk])).content.decode()
    assert "Skipped a scheduled pull of" in page.get(reverse("catalog:audit_list")).content.decode()

    assert job_process(run_id=first.pk) == "done"
    second = JobRun.objects.get(pk=job_scheduled_task(job.pk))
    assert second.pk != first.pk and second.origin == "schedule"


def test_a_dry_run_does_not_hold_the_schedule_up_and_a_deletion_waiting_for_approval_does(project, warehouse):
    from catalog.jobs.services.runs import job_run_start_query

    job = _open_job(project)
    job_run_start_query(actor="tests", job=job, dry_run=True)
    assert job_scheduled_task(job.pk) is not None

    deletion = job_save(actor="tests", data={
        "project": project, "name": "nightly deletion", "action": "delete_users", "source": "query",
        "db_alias": "default", "query": "SELECT email FROM warehouse_students", "schedule_enabled": True,
        "schedule_cron": "0 22 * * *",
    })  # fmt: skip
    listed = JobRun.objects.get(pk=job_scheduled_task(deletion.pk))
    assert job_process(run_id=listed.pk) == "approval"
    assert job_scheduled_task(deletion.pk) is None
    deletion.refresh_from_db()
    assert "waiting for a second person's approval" in deletion.schedule_skip_reason
