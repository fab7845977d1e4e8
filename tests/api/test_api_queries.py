"""A list request costs the same number of SQL queries for 1 row as for 1,000 (a full page)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from testkit.catalogs import bulk_notifications

from catalog import models


def _notifications(c, count, start):
    bulk_notifications(c, count, start, verdict_codes=["no-owner"], verdict_warnings=1)


def _custom_events(c, count, start):
    events = models.CustomEvent.objects.bulk_create(
        models.CustomEvent(project=c.project, name=f"event_{i}") for i in range(start, start + count)
    )
    models.EventField.objects.bulk_create(
        models.EventField(event=e, name=name, data_type="String") for e in events for name in ("a", "b")
    )


def _simple(model, **fields):
    def make(c, count, start):
        model.objects.bulk_create(
            model(**{k: v(c, i) if callable(v) else v for k, v in fields.items()}) for i in range(start, start + count)
        )

    return make


MAKERS = {
    "notifications": _notifications,
    "violations": _notifications,
    "custom-events": _custom_events,
    "projects": _simple(models.IterableProject, name=lambda c, i: f"P{i}", api_key_env="ITERABLE_API_KEY_P"),
    "channels": _simple(
        models.Channel,
        project=lambda c, i: c.project,
        iterable_id=lambda c, i: i,
        name=lambda c, i: f"C{i}",
        channel_type="Transactional",
        medium="Push",
    ),
    "message-types": _simple(
        models.MessageType,
        project=lambda c, i: c.project,
        iterable_id=lambda c, i: i,
        name=lambda c, i: f"T{i}",
        channel=lambda c, i: c.transactional,
    ),
    "templates": _simple(
        models.Template,
        project=lambda c, i: c.project,
        iterable_id=lambda c, i: i,
        name=lambda c, i: f"T{i}",
        medium="Email",
        message_type=lambda c, i: c.opt_in,
    ),
    "journeys": _simple(
        models.Journey, project=lambda c, i: c.project, iterable_id=lambda c, i: i, name=lambda c, i: f"J{i}"
    ),
    "event-fields": _simple(
        models.EventField,
        event=lambda c, i: models.CustomEvent.objects.get_or_create(project=c.project, name="e")[0],
        name=lambda c, i: f"f{i}",
    ),
    "owners": _simple(models.Owner, name=lambda c, i: f"O{i}", role="technical", email="o@example.com"),
    "audit-events": _simple(models.AuditEvent, actor_label="x", action="update", object_type="owner"),
}


def _count_queries(user_pk, path):
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get(pk=user_pk))  # a fresh user: no cached permissions
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, {"limit": 1000})
        data = response.json()  # a streamed page reads its rows while it is sent: counted too
    assert response.status_code == 200, data
    return len(queries), data


@pytest.mark.parametrize("name", list(MAKERS))
def test_list_queries_do_not_grow_with_rows(small_catalog, user_in_role, django_assert_num_queries, name):
    path = f"/api/{name}/"
    user = user_in_role("viewer")
    MAKERS[name](small_catalog, 1, 100_000)
    few, data = _count_queries(user.pk, path)
    assert data["count"] >= 1
    MAKERS[name](small_catalog, 1000, 200_000)
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get(pk=user.pk))
    with django_assert_num_queries(few):
        results = client.get(path, {"limit": 1000}).json()["results"]
    assert len(results) == 1000
    # Permissions (2), count, page, one per prefetched relation, and for notifications the projects' last
    # syncs (the verdict says "not checked" when Iterable has not been read lately).
    assert few <= 8, f"{name}: {few} queries"
