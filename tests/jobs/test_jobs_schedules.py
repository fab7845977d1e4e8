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
