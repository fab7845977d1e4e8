"""The API's audit trail counts at most CappedCountPagination.count_cap rows: past that `count` stops at the cap
and says so (`count_capped`), and `next` still walks the list to its end."""

import pytest
from rest_framework.test import APIClient

from catalog import models
from catalog.api.pagination import CappedCountPagination
from catalog.tokens.services import api_token_create


@pytest.fixture
def api(user_in_role):
    user = user_in_role("engineering")
    client = APIClient()
    _, token = api_token_create(actor=user, user=user, name="audit count")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def events(n: int) -> None:
    models.AuditEvent.objects.bulk_create(
        models.AuditEvent(actor_label="bulk", action="update", object_type="notification", object_repr=f"n{i}")
        for i in range(n)
    )


@pytest.mark.django_db
def test_count_is_exact_under_the_cap(api, monkeypatch):
    monkeypatch.setattr(CappedCountPagination, "count_cap", 30)
    events(30 - models.AuditEvent.objects.count())
    body = api.get("/api/audit-events/?limit=20").json()
    assert (body["count"], body["count_capped"], len(body["results"])) == (30, False, 20)
    last = api.get(body["next"]).json()
    assert (len(last["results"]), last["next"]) == (10, None)


@pytest.mark.django_db
def test_count_stops_at_the_cap_and_next_walks_past_it(api, monkeypatch):
    monkeypatch.setattr(CappedCountPagination, "count_cap", 30)
    events(75 - models.AuditEvent.objects.count())
    url, seen = "/api/audit-events/?limit=20", []
    while url:
        body = api.get(url).json()
        assert (body["count"], body["count_capped"]) == (30, True)
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(models.AuditEvent.objects.values_list("pk", flat=True))
    assert len(seen) == 75


@pytest.mark.django_db
def test_the_schema_documents_count_capped(api):
    schema = api.get("/api/schema/?format=json").json()
    page = schema["components"]["schemas"]["PaginatedAuditEventList"]
    assert page["properties"]["count_capped"]["type"] == "boolean"
    assert "count_capped" in page["required"]
