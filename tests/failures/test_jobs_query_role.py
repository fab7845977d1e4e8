"""A job's query on PostgreSQL runs as a role that may only read: the deny list is a sentence for people, the
role is the wall. Whatever a query calls past the list, it has no superuser's rights and cannot write."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from catalog.jobs.services.sources import query_problem, query_rows
from catalog.models import AuditEvent, Job

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="roles are PostgreSQL's")


def job(query: str) -> Job:
    return Job(db_alias="default", query=query, row_cap=10, query_timeout_seconds=5)


@postgres_only
def test_the_query_runs_as_the_read_only_role_and_still_reads_the_tables():
    AuditEvent.objects.create(actor_label="tests", action="create", object_type="project")
    assert query_rows(job("SELECT current_user AS email")) == [{"email": "pg_read_all_data"}]
    assert query_rows(job(f"SELECT action FROM {TABLE}")) == [{"action": "create"}]
    # The role ends with the query's transaction: the app's own connection is itself again.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] != "pg_read_all_data"


@postgres_only
@pytest.mark.parametrize(
    "query",
    [
        # Past the list (no side-effect function named) but a superuser's right: the role refuses it.
        "SELECT current_setting('data_directory') AS email",
        "SELECT pg_catalog.pg_stat_file('postgresql.conf') AS email",
    ],
)
def test_what_the_list_lets_past_still_lacks_a_superusers_rights(query):
    assert query_problem("default", query) == ""
    with pytest.raises(ValidationError, match=r"permission denied|must be superuser|privileges"):
        query_rows(job(query))


@postgres_only
def test_a_role_the_database_user_may_not_take_is_said_in_words(settings):
    settings.JOBS_QUERY_ROLE = "no_such_role_for_jobs"
    with pytest.raises(ValidationError, match=r"read-only role 'no_such_role_for_jobs'.*JOBS_QUERY_ROLE"):
        query_rows(job("SELECT 1 AS email"))


@pytest.mark.parametrize(
    "query",
    [
        "SELECT \"PG_READ_FILE\"('x') AS email",
        'SELECT pg_catalog."pg_try_advisory_lock"(1) AS email',
        "SELECT u&\"pg_read_file\"('x') AS email",
        "SELECT query_to_xml('select 1', true, true, '') AS email",
        "SELECT lo_export(1, '/tmp/x') AS email",
    ],
)
def test_side_effect_functions_are_named_however_they_are_spelled(query):
    assert query_problem("default", query)
