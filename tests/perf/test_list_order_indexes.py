"""Every newest-first list (audit trail, sync runs, test sends, resync and job runs, imports, deletions, opt-out
events, alerts, tokens) is read page by page in its model's ordering, and that ordering is one index: a page is a
walk of the first rows, not a sort of the whole table (sync runs started in the same second sorted 10,000 rows
per page at 100,000 notifications)."""

import pytest
from django.apps import apps
from django.db import connection


def newest_first_models():
    return [
        model
        for model in apps.get_app_config("catalog").get_models()
        if model._meta.ordering and str(model._meta.ordering[0]).startswith("-")
    ]


def ordering_index(model):
    return next((index for index in model._meta.indexes if list(index.fields) == list(model._meta.ordering)), None)


def test_the_newest_first_lists_are_the_ones_people_page_through():
    names = {model.__name__ for model in newest_first_models()}
    assert {"AuditEvent", "SyncRun", "ProofSend", "ResyncRun", "JobRun", "HealthAlert"} <= names


@pytest.mark.parametrize("model", newest_first_models(), ids=lambda m: m.__name__)
def test_each_newest_first_ordering_has_its_own_index(model):
    assert ordering_index(model) is not None, f"{model.__name__} is ordered by {model._meta.ordering} without an index"


@pytest.mark.django_db
@pytest.mark.parametrize("model", newest_first_models(), ids=lambda m: m.__name__)
def test_a_page_reads_the_index_without_sorting(model):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # An empty test table is cheaper to scan and sort than to walk; with both priced out, a plan that still
            # sorts has no index that gives the order.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
    plan = model.objects.all()[:51].explain()
    assert ordering_index(model).name in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan  # PostgreSQL's and SQLite's words for a sort
