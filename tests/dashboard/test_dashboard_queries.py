"""Home stays fast: the digest is built in the same number of queries with a few rows of each kind as with many
(sync runs, findings, resyncs, test sends, notifications), and a warm page stays within the page budget."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import models
from catalog.dashboard import selectors
from tests.dashboard.conftest import proof_send, resync_run, sync_run
from tests.perf.test_queries_per_page import LIMIT, grow

HOME = reverse("catalog:home")


def more(c, n: int) -> None:
    grow(c, n)
    for i in range(n // 10):
        sync_run(c.project, ago=timedelta(hours=i * 7), findings={"campaign-missing": i % 4})
        resync_run(c.project, status=["done", "failed", "running"][i % 3])
        proof_send(c.digest, outcome=["sent", "refused_guard"][i % 2], ago=timedelta(hours=i * 5))


def built_queries() -> int:
    selectors.cache.clear()
    with CaptureQueriesContext(connection) as queries:
        selectors.home_digest_built()
        selectors.home_verdicts(projects=[])
    return len(queries)


@pytest.mark.django_db
def test_the_digest_costs_the_same_whatever_the_rows(morning):
    more(morning, 10)
    few = built_queries()
    more(morning, 200)
    assert models.SyncRun.objects.count() > 20
    many = built_queries()
    assert few == many


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "engineering"])
def test_a_warm_home_stays_within_the_page_budget(morning, user_in_role, role):
    client = Client()
    client.force_login(user_in_role(role))
    more(morning, 10)
    client.get(HOME)
    with CaptureQueriesContext(connection) as few:
        assert client.get(HOME).status_code == 200
    more(morning, 200)
    selectors.cache.clear()
    client.get(HOME)
    with CaptureQueriesContext(connection) as many:
        assert client.get(HOME).status_code == 200
    assert len(few) == len(many) <= LIMIT
