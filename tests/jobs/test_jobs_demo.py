"""The demo sets up the seeds' four jobs (through seed_demo, after the catalog), their queries run on the demo's
own database (SQLite or PostgreSQL), and a second load writes nothing."""

from django.core.management import call_command
from django_q.models import Schedule

from catalog.jobs.demo import jobs_demo_load
from catalog.jobs.services.conf import SCHEDULED_TASK
from catalog.jobs.services.rows import RowBuilder
from catalog.jobs.services.sources import query_rows
from catalog.models import AuditEvent, Job


def test_the_demo_sets_up_the_four_seed_jobs_once(db, capsys):
    call_command("seed_demo")
    jobs = {job.name: job for job in Job.objects.select_related("project")}
    assert set(jobs) == {
        "iterable_student_sync",
        "iterable_user_deletion",
        "iterable_export_task",
        "Marketo unsubscribe (via Workato)",
    }
    sync = jobs["iterable_student_sync"]
    assert sync.project.name == "Student - US" and sync.action == "update_profiles"
    assert sync.retention == [{"column": "created_at", "rule": "within_days", "value": 60}]
    assert sync.schedule_enabled and sync.schedule_cron == "0 6 * * *"
    assert "Does not touch device arrays" in sync.description
    export = jobs["iterable_export_task"]
    assert export.action == "list_add" and export.list_name == "Career fair attendees"
    assert export.schedule_enabled and export.schedule_cron == "0 0 * * *" and export.on_invalid == "skip"
    assert jobs["iterable_user_deletion"].action == "delete_users"
    receiver = jobs["Marketo unsubscribe (via Workato)"]
    assert receiver.action == "opt_out" and receiver.source == "events"
    assert receiver.channel_name == "Marketing Channel"
    assert Schedule.objects.filter(func=SCHEDULED_TASK).count() == 2  # the two cron schedules

    audit_count = AuditEvent.objects.count()
    capsys.readouterr()
    call_command("seed_demo")
    assert "nothing changed" in capsys.readouterr().out
    assert jobs_demo_load() == {}
    assert Job.objects.count() == 4 and AuditEvent.objects.count() == audit_count


def test_an_edited_demo_job_is_left_as_it_is(db):
    call_command("seed_demo")
    Job.objects.filter(name="iterable_export_task").update(description="Ours now")
    jobs_demo_load()
    assert Job.objects.get(name="iterable_export_task").description == "Ours now"


def test_the_demo_queries_give_rows_the_jobs_can_send(db):
    call_command("seed_demo")
    sync = Job.objects.get(name="iterable_student_sync")
    rows = query_rows(sync)
    assert len(rows) == 240 and rows[0]["email"] == "student.0001@example.com"
    builder = RowBuilder(sync)
    built = [builder.build(row) for row in rows]
    kept = [b for b in built if not b.left_out]
    assert 0 < len(kept) < len(built)  # the retention rule leaves the older students out
    assert kept[0].payload["dataFields"] == {"firstName": "Student 1", "graduationYear": 2026}

    export = Job.objects.get(name="iterable_export_task")
    builder = RowBuilder(export)
    payloads = [builder.build(row).payload for row in query_rows(export)]
    assert len(payloads) == 40
    assert [p.get("mergeNestedObjects", False) for p in payloads[:4]] == [False, True, False, True]
