"""The API's notification list is written from plain values (notification_list_data) rather than by the
serializer: the two must write the same rows identically, whatever the rows hold."""

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from factories import NotificationFactory, OwnerFactory, TemplateFactory
from rest_framework.renderers import JSONRenderer

from catalog import models
from catalog.core.serializers import NOTIFICATION_LIST_VALUES, NotificationSerializer, notification_list_data


@pytest.fixture
def varied(ui_catalog):
    """Notifications with several owners and templates (in an order other than their ids'), none, tags, a draft
    without a trigger, errors and warnings, and times with microseconds."""
    c = ui_catalog
    second_owner = OwnerFactory(name="Alpha team", email="alpha@example.com")
    zeta = TemplateFactory(message_type=c.opt_in, iterable_id=610, name="Zeta digest")
    alpha = TemplateFactory(message_type=c.opt_in, iterable_id=611, name="Alpha digest")
    NotificationFactory(
        key="many_related", name="Many “related” <things>", message_type=c.opt_in, templates=[zeta, alpha],
        owners=[c.owner, second_owner], tags=["b-tag", "a-tag"], description="Line one\nline two\u2028",
        code_location="app/jobs/digest.py:42",
    )  # fmt: skip
    NotificationFactory(key="a_draft", status="draft", campaign_id=None, message_type=c.transactional_type)
    models.Notification.objects.filter(key="a_draft").update(
        updated_at=timezone.now() - timedelta(days=400), verdict_errors=2, verdict_codes=["no-owner", "no-template"]
    )
    return c


def _both(queryset) -> tuple[list, list]:
    served = notification_list_data(list(queryset.values(*NOTIFICATION_LIST_VALUES)))
    serialized = NotificationSerializer(queryset.prefetch_related("templates", "owners"), many=True).data
    return served, serialized


def _assert_same(served: list, serialized: list) -> None:
    assert len(served) == len(serialized) >= 5
    for fast, slow in zip(served, serialized, strict=True):
        assert list(fast) == list(slow)  # the same fields, in the same order
        assert fast == dict(slow), fast["key"]
    renderer = JSONRenderer()
    assert renderer.render(served) == renderer.render(serialized)  # byte for byte, datetimes included


@pytest.mark.parametrize("synced", [False, True])
def test_list_data_is_the_serializers_output(varied, synced):
    if synced:
        now = timezone.now()
        models.SyncRun.objects.create(
            project=varied.project, trigger="schedule", started_at=now, finished_at=now, status="succeeded"
        )
    queryset = models.Notification.objects.order_by("key")
    served, serialized = _both(queryset)
    _assert_same(served, serialized)
    states = {row["verdict"]["state"] for row in served}
    assert ("ok" in states) if synced else ("not-checked" in states)
    assert "error" in states
    many = next(row for row in served if row["key"] == "many_related")
    assert len(many["templates"]) == 2 and len(many["owners"]) == 2


@override_settings(TIME_ZONE="America/New_York")
def test_list_data_writes_times_in_the_current_zone_as_the_serializer_does(varied):
    served, serialized = _both(models.Notification.objects.order_by("-key"))
    _assert_same(served, serialized)
    assert served[0]["created_at"].endswith(("-05:00", "-04:00"))


def test_the_api_list_serves_the_serializers_rows(varied, viewer):
    response = viewer.get("/api/notifications/", {"limit": 1000, "ordering": "-updated"})
    assert response.status_code == 200
    body = response.json()
    queryset = models.Notification.objects.order_by("-updated_at", "key")
    assert body["count"] == queryset.count()
    serialized = NotificationSerializer(queryset.prefetch_related("templates", "owners"), many=True).data
    assert body["results"] == json.loads(JSONRenderer().render(serialized))
