"""The seed jobs in the demo, named and worded as the source documents (shared/seeds) describe them: the daily
profile sync with its retention rule (000, and 002's "only users created in the last two months"), the user
deletion (000), the export to a list on a cron schedule (004) and the opt-out receiver for Marketo's unsubscribe
events (002). Staff find real examples on the jobs' pages instead of an empty list.

Loaded by ``manage.py seed_demo`` after the demo catalog, through ``job_save`` like every other door. Idempotent:
a job already there (by project and name) is left as it is, edits included, so a second load writes nothing.
The demo's "warehouse" is its own database: the queries make up the demo's students (the emulator holds the same
addresses), in SQLite's or PostgreSQL's words.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from catalog import demo
from catalog.jobs.services.setup import job_save
from catalog.models import Channel, IterableProject, Job, JobAction, JobSource
from catalog.types import Actor

# The demo's students, made up by the query: (SQLite, PostgreSQL). The emulator seeds the same addresses.
_STUDENTS = {
    "sqlite": (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})\n"
        "SELECT printf('student.%04d@example.com', i) AS email, {columns}\nFROM n"
    ),
    "postgresql": (
        "SELECT 'student.' || lpad(i::text, 4, '0') || '@example.com' AS email, {columns}\n"
        "FROM generate_series(1, {count}) AS i"
    ),
}
_SYNC_COLUMNS = {
    "sqlite": "'Student ' || i AS first_name, 2025 + i % 4 AS graduation_year, "
    "date('now', '-' || (i % 120) || ' days') AS created_at",
    "postgresql": "'Student ' || i AS first_name, 2025 + i % 4 AS graduation_year, "
    "(CURRENT_DATE - (i % 120))::text AS created_at",
}
_EXPORT_COLUMNS = {"sqlite": "i % 2 = 0 AS merge_nested_objects", "postgresql": "i % 2 = 0 AS merge_nested_objects"}


def _students_query(count: int, columns: dict[str, str]) -> str:
    vendor = connections["default"].vendor
    vendor = vendor if vendor in _STUDENTS else "sqlite"
    return _STUDENTS[vendor].format(count=count, columns=columns[vendor])


def demo_jobs() -> list[dict[str, Any]]:
    """The four seed jobs, as ``job_save`` takes them (``project`` and ``channel`` by name)."""
    return [
        {
            "project": demo.STUDENT,
            "name": "iterable_student_sync",
            "description": "Creates user profiles on the Student - US project and syncs most profile attributes "
            "(users/bulkUpdate) from the warehouse's iterable_student_sync model. Runs daily at 10 PM Pacific "
            "(06:00 UTC). Does not touch device arrays (how Iterable stores push tokens) or subscription "
            "preferences. Due to storage cost, only users created in the last two months are kept in sync.",
            "action": JobAction.UPDATE_PROFILES,
            "source": JobSource.QUERY,
            "db_alias": "default",
            "query": _students_query(demo.DEMO_CONTACTS[demo.STUDENT], _SYNC_COLUMNS),
            "mapping": [
                {"column": "first_name", "field": "firstName"},
                {"column": "graduation_year", "field": "graduationYear"},
            ],
            "retention": [{"column": "created_at", "rule": "within_days", "value": 60}],
            "schedule_cron": "0 6 * * *",
            "schedule_enabled": True,
        },
        {
            "project": demo.STUDENT,
            "name": "iterable_user_deletion",
            "description": "Deletes student users from Iterable: one person uploads the file of users to delete, "
            "another approves. Each deleted user leaves only a keyed hash of their address, and whether their "
            "notification preferences were resynced afterwards (the 'resynced' marker of "
            "iterable_historical_deleted_users).",
            "action": JobAction.DELETE_USERS,
            "source": JobSource.UPLOAD,
        },
        {
            "project": demo.STUDENT,
            "name": "iterable_export_task",
            "description": "Adds the query's users to the Career fair attendees list, as the export integration "
            "does (by email, or user_id; a row's own prefer_user_id and merge_nested_objects decide for it; "
            "invalid rows skipped; US region), every day at midnight (UTC).",
            "action": JobAction.LIST_ADD,
            "source": JobSource.QUERY,
            "db_alias": "default",
            "query": _students_query(40, _EXPORT_COLUMNS),
            "list_id": 7002,
            "schedule_cron": "0 0 * * *",
            "schedule_enabled": True,
        },
        {
            "project": demo.STUDENT,
            "name": "Marketo unsubscribe (via Workato)",
            "description": "Whenever an unsubscribe event occurs in Marketo, an event is sent to Workato and then "
            "here, to opt that person out of the Marketing Channel in Iterable if they exist. Workato's event id "
            "makes a repeated event change nothing.",
            "action": JobAction.OPT_OUT,
            "source": JobSource.EVENTS,
            "channel": "Marketing Channel",
        },
    ]


def jobs_demo_load(*, actor: Actor = "seed_demo") -> dict[str, int]:
    """Create the demo's seed jobs that are not there yet; returns {"seed jobs": how many} ({} when none)."""
    created = 0
    for spec in demo_jobs():
        data = dict(spec)
        project = IterableProject.objects.filter(name=data.pop("project")).first()
        if project is None or Job.objects.filter(project=project, name=data["name"]).exists():
            continue
        channel_name = data.pop("channel", None)
        if channel_name:
            channel = Channel.objects.get(project=project, name=channel_name)
            data.update(channel_id=channel.iterable_id, channel_confirmed=channel.name)
        # The demo's Iterable (the emulator) is seeded with demo.LISTS and may not be running yet.
        job_save(actor=actor, data={**data, "project": project}, lists=demo.LISTS.get(project.name, []))
        created += 1
    return {"seed jobs": created} if created else {}
