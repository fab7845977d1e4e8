"""Activity costs the same few queries with 5 events as with 300 (but the one count a list past its first page
needs), filtered and searched or not, and its CSV
reads the trail in batches: the queries grow with the batches, not the rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import models
from catalog.audit import selectors
from tests.perf.test_queries_per_page import LIMIT

AUDIT = reverse("catalog:audit_list")
EXPORT = reverse("catalog:audit_export")
PAGES = [
    {},
    {"page": "2"},
    {"who": "bulk", "action": "update", "object_type": "notification"},
    {"q": "bulk", "since": "2020-01-01", "until": "2099-12-31"},
    {"object": "key 3"},
]


def grow(total: int) -> None:
    start = models.AuditEvent.objects.count()
    models.AuditEvent.objects.bulk_create(
        models.AuditEvent(
            actor_label="bulk",
            action=["update", "proof_send", "contact_lookup"][i % 3],
            object_type=["notification", "notification", "contact"][i % 3],
            object_id=str(i),
            object_repr=f"key {i}",
            changes={"attempt": i, "recipient": "x@example.com"}
            if i % 3 == 1
            else {"name": {"before": "a", "after": "b"}},
        )
        for i in range(start, total)
    )


def counts(client) -> list[int]:
    found = []
    for params in PAGES:
        assert client.get(AUDIT, params).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            assert client.get(AUDIT, params).status_code == 200
        found.append(len(queries))
    return found


@pytest.mark.parametrize("role", ["viewer", "marketing"])
def test_activity_costs_the_same_whatever_the_events(small_catalog, client_in_role, role):
    client = client_in_role(role)
    grow(5)
    few = counts(client)
    grow(300)
    many = counts(client)
    # A page that holds the whole list is its own count; past a page, one capped count, whatever the events; a
    # page past the end (page 2 of 5 events) counts and reads the last page instead (tests/perf/test_paging_counts.py).
    assert all(abs(m - f) <= 1 for f, m in zip(few, many, strict=True)), (few, many)
    assert max(many) <= LIMIT


def test_the_csv_reads_in_batches(small_catalog, client_in_role, monkeypatch):
    monkeypatch.setattr(selectors, "CSV_BATCH", 50)
    client = client_in_role("viewer")
    grow(120)
    with CaptureQueriesContext(connection) as small:
        rows = b"".join(client.get(EXPORT).streaming_content).decode().splitlines()
    assert len(rows) == 121
    grow(420)
    with CaptureQueriesContext(connection) as large:
        rows = b"".join(client.get(EXPORT).streaming_content).decode().splitlines()
    assert len(rows) == 421
    # SQLite reads an iterator's rows in one query; PostgreSQL's cursor fetches them in chunks of the batch.
    assert len(large) - len(small) <= (420 - 120) // 50 + 1
