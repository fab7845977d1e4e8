"""Every endpoint by every role: anonymous 401, no role 403, viewer and marketing read, engineering and admin
write; the audit trail and the guard's violations are read-only for everyone."""

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from catalog import models
from catalog.core import serializers

EVERYONE = [None, "norole", "viewer", "marketing", "engineering", "admin"]  # None: anonymous
_counter = itertools.count(1000)


def _n() -> int:
    return next(_counter)


@dataclass
class Resource:
    path: str
    make: Any  # (catalog) -> an object the API can show, change and delete
    create: Any  # (catalog) -> a valid POST body
    patch: dict
    serializer: Any = None
    lookup: str = "pk"
    writable: bool = True
    # Read-only endpoints: 405 where the role has the model's write permission (violations are notifications),
    # 403 where nobody has it (the audit trail).
    refused_write: int = 405


def _project(c):
    n = _n()
    return models.IterableProject.objects.create(name=f"Project {n}", api_key_env=f"ITERABLE_API_KEY_{n}")


def _channel(c):
    n = _n()
    return models.Channel.objects.create(
        project=c.project, iterable_id=n, name=f"Channel {n}", channel_type="Transactional", medium="Push"
    )


def _message_type(c):
    n = _n()
    return models.MessageType.objects.create(
        project=c.project, iterable_id=n, name=f"Type {n}", channel=c.transactional, policy="OptOut"
    )


def _template(c):
    n = _n()
    return models.Template.objects.create(
        project=c.project, iterable_id=n, name=f"Template {n}", medium="Email", message_type=c.opt_in
    )


def _journey(c):
    n = _n()
    return models.Journey.objects.create(project=c.project, iterable_id=n, name=f"Journey {n}")


def _event(c):
    n = _n()
    return models.CustomEvent.objects.create(project=c.project, name=f"event_{n}")


def _event_field(c):
    n = _n()
    event = models.CustomEvent.objects.create(project=c.project, name=f"event_{n}")
    return models.EventField.objects.create(event=event, name=f"field_{n}", data_type="String")


def _owner(c):
    n = _n()
    return models.Owner.objects.create(name=f"Team {n}", role="technical", email=f"team{n}@example.com")


def _notification(c):
    n = _n()
    return models.Notification.objects.create(
        key=f"note_{n}",
        name=f"Note {n}",
        audience="students",
        project=c.project,
        medium="Email",
        trigger_type="api_send",
        campaign_id=n,
        message_type=c.opt_in,
    )


def _audit_event(c):
    return models.AuditEvent.objects.create(actor_label="someone", action="update", object_type="owner")


RESOURCES = {
    "projects": Resource(
        "/api/projects/",
        _project,
        lambda c: {"name": f"New {_n()}", "data_center": "EU", "api_key_env": "ITERABLE_API_KEY_NEW"},
        {"name": "Renamed project"},
        serializers.ProjectSerializer,
    ),
    "channels": Resource(
        "/api/channels/",
        _channel,
        lambda c: {
            "project": c.project.pk,
            "iterable_id": _n(),
            "name": f"New {_n()}",
            "channel_type": "Transactional",
            "medium": "SMS",
        },
        {"name": "Renamed channel"},
        serializers.ChannelSerializer,
    ),
    "message-types": Resource(
        "/api/message-types/",
        _message_type,
        lambda c: {"project": c.project.pk, "iterable_id": _n(), "name": f"New {_n()}", "channel": c.transactional.pk},
        {"notes": "Changed"},
        serializers.MessageTypeSerializer,
    ),
    "templates": Resource(
        "/api/templates/",
        _template,
        lambda c: {
            "project": c.project.pk,
            "iterable_id": _n(),
            "name": "New",
            "medium": "Email",
            "message_type": c.opt_in.pk,
        },
        {"name": "Renamed template"},
        serializers.TemplateSerializer,
    ),
    "journeys": Resource(
        "/api/journeys/",
        _journey,
        lambda c: {"project": c.project.pk, "iterable_id": _n(), "name": "New", "trigger_event_names": ["signup"]},
        {"state": "disabled"},
        serializers.JourneySerializer,
    ),
    "custom-events": Resource(
        "/api/custom-events/",
        _event,
        lambda c: {"project": c.project.pk, "name": f"new_event_{_n()}"},
        {"description": "Changed"},
        serializers.CustomEventSerializer,
    ),
    "event-fields": Resource(
        "/api/event-fields/",
        _event_field,
        lambda c: {"event": _event(c).pk, "name": "user_id", "data_type": "Long", "example": "42"},
        {"required": True},
        serializers.EventFieldSerializer,
    ),
    "owners": Resource(
        "/api/owners/",
        _owner,
        lambda c: {"name": f"New team {_n()}", "role": "business", "email": "new@example.com"},
        {"slack_channel": "#new"},
        serializers.OwnerSerializer,
    ),
    "notifications": Resource(
        "/api/notifications/",
        _notification,
        lambda c: {
            "key": f"new_{_n()}",
            "name": "New",
            "audience": "all",
            "project": c.project.pk,
            "medium": "Email",
            "trigger_type": "api_send",
            "campaign_id": _n(),
            "message_type": c.opt_in.pk,
            "owners": [c.owner.pk],
            "templates": [c.template.pk],
        },
        {"description": "Changed"},
        serializers.NotificationSerializer,
        lookup="key",
    ),
    "violations": Resource("/api/violations/", lambda c: c.receipt, lambda c: {}, {}, writable=False),
    "audit-events": Resource("/api/audit-events/", _audit_event, lambda c: {}, {}, writable=False, refused_write=403),
}

ACTIONS = ["list", "retrieve", "create", "partial_update", "update", "destroy"]
READERS = {"viewer", "marketing", "engineering", "admin"}
WRITERS = {"engineering", "admin"}
SUCCESS = {"list": 200, "retrieve": 200, "create": 201, "partial_update": 200, "update": 200, "destroy": 204}


def expected_status(resource: Resource, role: str | None, action: str) -> int:
    if role is None:
        return 401
    reading = action in {"list", "retrieve"}
    writers = {"admin"} if resource.path == "/api/projects/" else WRITERS  # a project's connection is the admin's
    if role not in (READERS if reading else writers):
        return 403
    if not reading and not resource.writable:
        return resource.refused_write
    return SUCCESS[action]


def _request(client, resource: Resource, action: str, catalog):
    if action == "list":
        return client.get(resource.path)
    if action == "create":
        return client.post(resource.path, resource.create(catalog), format="json")
    obj = resource.make(catalog)
    url = f"{resource.path}{getattr(obj, resource.lookup)}/"
    if action == "retrieve":
        return client.get(url)
    if action == "partial_update":
        return client.patch(url, resource.patch, format="json")
    if action == "update":
        body = dict(resource.serializer(obj).data) if resource.serializer else {}
        return client.put(url, body, format="json")
    return client.delete(url)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", EVERYONE, ids=lambda r: r or "anonymous")
@pytest.mark.parametrize("name", list(RESOURCES))
def test_endpoint_role_matrix(small_catalog, client_for, name, role, action):
    resource = RESOURCES[name]
    response = _request(client_for(role), resource, action, small_catalog)
    assert response.status_code == expected_status(resource, role, action), response.content
    if response.status_code >= 400:
        assert response.json()["errors"][0]["code"]


def test_writes_are_audited_with_the_token_user(small_catalog, client_for):
    client = client_for("engineering")
    response = client.patch(f"/api/owners/{small_catalog.owner.pk}/", {"slack_channel": "#dri"}, format="json")
    assert response.status_code == 200
    event = models.AuditEvent.objects.get(object_type="owner", action="update")
    assert event.actor == client.user
    assert event.changes == {"slack_channel": {"before": "", "after": "#dri"}}


@pytest.mark.parametrize("path", ["/api/", "/api/schema/", "/api/docs/"])
@pytest.mark.parametrize("role", EVERYONE, ids=lambda r: r or "anonymous")
def test_root_schema_and_docs_need_a_role(db, client_for, path, role):
    response = client_for(role).get(path)
    assert response.status_code == {None: 401, "norole": 403}.get(role, 200)
