"""Notifications through the API: lookup by key, the shared FilterSet, guard refusals in the one error format."""

import pytest

from catalog.guard import policy
from catalog.models import AuditEvent, Notification


def _body(c, **changes):
    return {
        "key": "new_digest",
        "name": "New digest",
        "audience": "students",
        "project": c.project.pk,
        "medium": "Email",
        "trigger_type": "api_send",
        "campaign_id": 999,
        "message_type": c.opt_in.pk,
        "owners": [c.owner.pk],
        "templates": [c.template.pk],
        "tags": ["digest"],
        **changes,
    }


def test_lookup_by_key(small_catalog, viewer):
    data = viewer.get("/api/notifications/weekly_digest/").json()
    assert data["key"] == "weekly_digest"
    assert data["templates"] == [small_catalog.template.pk]
    assert data["owners"] == [small_catalog.owner.pk]
    assert data["message_type"] == small_catalog.opt_in.pk


def test_list_is_paginated_and_uses_the_shared_filterset(small_catalog, viewer):
    data = viewer.get("/api/notifications/", {"audience": "employers"}).json()
    assert data["count"] == 1
    assert [n["key"] for n in data["results"]] == ["receipt"]
    data = viewer.get("/api/notifications/", {"q": "digest", "limit": 1}).json()
    assert [n["key"] for n in data["results"]] == ["weekly_digest"]
    data = viewer.get("/api/notifications/", {"has_violations": "true"}).json()
    assert [n["key"] for n in data["results"]] == ["receipt"]  # no owner: a warning
    data = viewer.get("/api/notifications/", {"owner": small_catalog.owner.pk, "ordering": "-key"}).json()
    assert [n["key"] for n in data["results"]] == ["weekly_digest"]


def test_page_size_is_capped_at_1000(small_catalog, viewer):
    data = viewer.get("/api/notifications/", {"limit": 5000}).json()
    assert data["count"] == 2
    assert "limit=1000" in (data["next"] or "limit=1000")


def test_invalid_filter_is_a_400_in_the_error_format(small_catalog, viewer):
    response = viewer.get("/api/notifications/", {"status": "bogus"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "status"
    assert error["code"] == "invalid_choice"


def test_create_saves_through_the_service_and_audits(small_catalog, engineer):
    response = engineer.post("/api/notifications/", _body(small_catalog), format="json")
    assert response.status_code == 201, response.json()
    created = Notification.objects.get(key="new_digest")
    assert list(created.templates.all()) == [small_catalog.template]
    assert created.tags == ["digest"]
    event = AuditEvent.objects.get(object_type="notification", object_id=str(created.pk))
    assert event.action == "create"
    assert event.actor == engineer.user


@pytest.mark.parametrize(
    ("type_attr", "code"),
    [("marketing_message", policy.OPTOUT_MARKETING), ("marketing_message", policy.MARKETING_MESSAGE_TYPE)],
)
def test_guard_refusal_is_a_400_with_code_and_sentence(small_catalog, engineer, type_attr, code):
    forbidden = getattr(small_catalog, type_attr)
    response = engineer.post("/api/notifications/", _body(small_catalog, message_type=forbidden.pk), format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    match = [e for e in errors if e["code"] == code]
    assert match, errors
    assert match[0]["field"] == "message_type"
    assert "Notification 'new_digest'" in match[0]["message"]
    assert not Notification.objects.filter(key="new_digest").exists()
    assert not AuditEvent.objects.exclude(object_type="apitoken").exists()


def test_guard_refuses_a_forbidden_template_on_update(small_catalog, engineer):
    response = engineer.patch(
        "/api/notifications/weekly_digest/", {"templates": [small_catalog.forbidden_template.pk]}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {e["code"] for e in errors} >= {policy.OPTOUT_MARKETING}
    assert {e["field"] for e in errors} == {"templates"}
    assert list(small_catalog.digest.templates.all()) == [small_catalog.template]


def test_guard_refuses_a_message_type_change_that_breaks_notifications(small_catalog, engineer):
    response = engineer.patch(f"/api/message-types/{small_catalog.opt_in.pk}/", {"policy": "OptOut"}, format="json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error == {"field": "policy", "code": policy.OPTOUT_MARKETING, "message": error["message"]}
    assert "weekly_digest" in error["message"]


def test_model_constraint_is_a_non_field_error(small_catalog, engineer):
    body = _body(small_catalog, status="active", trigger_type="custom_event", campaign_id=None)
    response = engineer.post("/api/notifications/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e["field"] is None and "needs its trigger" in e["message"] for e in errors), errors


def test_field_errors_name_their_field(small_catalog, engineer):
    response = engineer.post(
        "/api/notifications/", _body(small_catalog, key="weekly_digest", tags=["ok", ""]), format="json"
    )
    assert response.status_code == 400
    fields = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert ("key", "unique") in fields
    assert ("tags.1", "blank") in fields


def test_delete_in_use_is_a_409(small_catalog, engineer):
    response = engineer.delete(f"/api/message-types/{small_catalog.opt_in.pk}/")
    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["code"] == "protected"
    assert "weekly_digest" in error["message"]
    assert not AuditEvent.objects.exclude(object_type="apitoken").exists()


def test_delete_notification_is_audited(small_catalog, engineer):
    assert engineer.delete("/api/notifications/receipt/").status_code == 204
    assert not Notification.objects.filter(key="receipt").exists()
    assert AuditEvent.objects.get(object_type="notification").action == "delete"


def test_custom_event_shows_its_schema(small_catalog, engineer):
    event = engineer.post("/api/custom-events/", {"project": small_catalog.project.pk, "name": "signup"}, format="json")
    assert event.status_code == 201
    event_id = event.json()["id"]
    for position, (name, kind) in enumerate([("user_id", "Long"), ("is_student", "Boolean")]):
        body = {"event": event_id, "name": name, "data_type": kind, "example": "1", "position": position}
        assert engineer.post("/api/event-fields/", body, format="json").status_code == 201
    data = engineer.get(f"/api/custom-events/{event_id}/").json()
    assert [(f["name"], f["data_type"]) for f in data["fields"]] == [("user_id", "Long"), ("is_student", "Boolean")]


def test_violations_filter_by_code_and_severity(small_catalog, viewer):
    data = viewer.get("/api/violations/").json()
    assert [(n["notification"], [v["code"] for v in n["violations"]]) for n in data["results"]] == [
        ("receipt", [policy.NO_OWNER])
    ]
    [violation] = data["results"][0]["violations"]
    assert violation["severity"] == policy.WARNING
    assert violation["field"] == "owners"
    assert "no owner" in violation["message"]
    assert viewer.get("/api/violations/", {"severity": "error"}).json()["count"] == 0
    assert viewer.get("/api/violations/", {"code": policy.NO_OWNER}).json()["count"] == 1
    assert viewer.get("/api/violations/", {"code": policy.OPTOUT_MARKETING}).json()["count"] == 0
    assert viewer.get("/api/violations/", {"code": "nonsense"}).status_code == 400
    # One notification, asked for directly, even without violations.
    assert viewer.get(f"/api/violations/{small_catalog.digest.pk}/").json()["violations"] == []
