"""A job's query is read-only: no second statement slips past the checks, whatever the quoting, on either
database."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from catalog.jobs.services.sources import _fetch, query_problem, query_rows
from catalog.models import AuditEvent, Job

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def audit_event():
    return AuditEvent.objects.create(actor_label="tests", action="create", object_type="project")


def job(query: str) -> Job:
    return Job(db_alias="default", query=query, row_cap=10, query_timeout_seconds=5)


def test_a_backslash_quote_cannot_hide_a_second_statement(audit_event):
    # sqlparse reads \' as an escaped quote; PostgreSQL ends the string there and runs what follows.
    query = f"SELECT '\\'; COMMIT; DELETE FROM {TABLE}; -- '"
    assert query_problem("default", query)
    with pytest.raises(ValidationError, match="';'"):
        query_rows(job(query))
    assert AuditEvent.objects.filter(pk=audit_event.pk).exists()


def test_a_cte_that_deletes_is_refused(audit_event):
    # PostgreSQL: refused by the read-only transaction; SQLite: not SQL it accepts.
    query = f"WITH gone AS (DELETE FROM {TABLE} RETURNING id) SELECT id FROM gone"
    with pytest.raises(ValidationError):
        query_rows(job(query))
    assert AuditEvent.objects.filter(pk=audit_event.pk).exists()


@pytest.mark.parametrize("call", ["pg_terminate_backend(1)", "set_config('statement_timeout', '0', false)"])
def test_functions_acting_outside_the_query_are_refused(call):
    assert "may not be called" in query_problem("default", f"SELECT {call}")


def test_a_plain_select_runs_with_one_trailing_semicolon(audit_event):
    rows = query_rows(job(f"SELECT action, 'x' AS odd FROM {TABLE} WHERE action LIKE 'cr%' ;  "))
    assert rows == [{"action": "create", "odd": "x"}]


def test_a_plain_select_returns_its_rows(audit_event):
    assert query_rows(job(f"SELECT action FROM {TABLE} WHERE action LIKE 'cr%'")) == [{"action": "create"}]


def test_the_server_itself_refuses_two_statements(audit_event):
    """Past the checks, the query still goes as one statement the database will not split."""
    with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
        _fetch(cursor, f"SELECT 1; DELETE FROM {TABLE}", 10)
    assert AuditEvent.objects.filter(pk=audit_event.pk).exists()
