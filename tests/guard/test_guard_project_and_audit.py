"""One project per notification in forms and the API, and every catalog write audited through every door."""

import json

import pytest
from django.core.management import call_command
from testkit.catalogs import admin_notification_form

from catalog.core.forms import NotificationForm
from catalog.io.services.export import catalog_export
from catalog.io.services.imports import catalog_import
from catalog.models import AuditEvent, Channel, IterableProject, MessageType, Notification, Template


@pytest.fixture
def twin(small_catalog):
    """A second project whose objects carry the very same names as the first one's."""
    project = IterableProject.objects.create(name="Twin", data_center="EU", api_key_env="ITERABLE_API_KEY_TWIN")
    channel = Channel.objects.create(
        project=project, iterable_id=1, name="Marketing Channel", channel_type="Marketing", medium="Email"
    )
    opt_in = MessageType.objects.create(
        project=project, iterable_id=11, name="GitLab Marketing", channel=channel, policy="OptIn"
    )
    template = Template.objects.create(
        project=project, iterable_id=501, name="Digest", medium="Email", message_type=opt_in
    )
    return type("Twin", (), {"project": project, "opt_in": opt_in, "template": template})


def offered(form, name) -> set:
    """What a picker offers (it still looks a posted value up among every project's objects, so one from another
    project gets the guard's sentence rather than Django's "not one of the available choices")."""
    return {value.instance for value, _ in form.fields[name].choices if value}


def test_form_offers_only_the_notifications_project(small_catalog, twin):
    form = NotificationForm(instance=small_catalog.digest)
    types = offered(form, "message_type")
    assert small_catalog.opt_in in types and twin.opt_in not in types
    assert twin.template not in offered(form, "templates")


def test_form_labels_name_the_project_and_mark_forbidden_types(small_catalog, twin):
    form = NotificationForm()  # a new notification: every project's objects, told apart by their project
    html = str(form["message_type"])
    options = html.split('<li class="picker-option')[1:]
    assert len(options) == 4
    assert sum("GitLab Marketing" in o and "Test project" in o for o in options) == 1
    assert sum("GitLab Marketing" in o and "Twin" in o for o in options) == 1
    forbidden = [o for o in options if "Marketing Message" in o]
    assert forbidden and all("disabled" in o and "Not allowed" in o for o in forbidden)


def test_form_refuses_a_submitted_type_of_another_project(small_catalog, twin):
    digest = small_catalog.digest
    data = {
        "key": digest.key,
        "name": digest.name,
        "audience": digest.audience,
        "project": digest.project.pk,
        "medium": digest.medium,
        "trigger_type": digest.trigger_type,
        "campaign_id": digest.campaign_id,
        "message_type": twin.opt_in.pk,
        "status": digest.status,
        "tags": "[]",
        "templates": [],
        "owners": [small_catalog.owner.pk],
    }
    form = NotificationForm(data, instance=digest)
    assert not form.is_valid()
    assert "message_type" in form.errors


def test_api_refuses_another_projects_type_and_template(small_catalog, twin, user_in_role, client):
    client.force_login(user_in_role("engineering"))
    url = f"/api/notifications/{small_catalog.digest.key}/"
    response = client.patch(url, {"message_type": twin.opt_in.pk}, content_type="application/json")
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"message_type"}
    response = client.patch(url, {"templates": [twin.template.pk]}, content_type="application/json")
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"templates"}
    assert Notification.objects.get(pk=small_catalog.digest.pk).message_type == small_catalog.opt_in


@pytest.mark.parametrize("path", ["/api/message-types/1/", "/admin/catalog/messagetype/1/change/"])
def test_an_uncaught_database_refusal_answers_409_with_the_sentence(small_catalog, rf, admin_user, path):
    """A door no service wraps (the admin, a view added later) still answers with the guard's words."""
    from django.db import IntegrityError, connection, transaction

    from catalog.middleware import GuardRefusalMiddleware

    with pytest.raises(IntegrityError) as raised, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_messagetype SET policy = 'OptOut' WHERE id = %s", [small_catalog.opt_in.pk])
    request = rf.post(path)
    request.user = admin_user
    response = GuardRefusalMiddleware(lambda r: None).process_exception(request, raised.value)
    assert response.status_code == 409
    body = response.content.decode()
    assert "never opted in" in body
    if path.startswith("/api/"):
        assert json.loads(body)["errors"][0]["code"] == "optout-marketing"
    else:
        assert "Refused by the guard" in body


def test_admin_door_refuses_with_the_sentence(small_catalog, admin_client):
    response = admin_client.post(
        f"/admin/catalog/messagetype/{small_catalog.opt_in.pk}/change/",
        {
            "project": small_catalog.project.pk,
            "iterable_id": 11,
            "name": "GitLab Marketing",
            "channel": small_catalog.marketing.pk,
            "policy": "OptOut",
            "notes": "",
        },
    )
    assert response.status_code == 200
    assert "weekly_digest" in response.content.decode()
    assert MessageType.objects.get(pk=small_catalog.opt_in.pk).policy == "OptIn"


# -- every door audits, with before and after ----------------------------------------------------------------


def _last_update(key: str) -> AuditEvent:
    notification = Notification.objects.get(key=key)
    return AuditEvent.objects.filter(object_type="notification", object_id=str(notification.pk)).first()


def _assert_audited(key: str, field: str, before, after) -> None:
    event = _last_update(key)
    assert event is not None, f"no audit event for {key}"
    assert event.changes[field] == {"before": before, "after": after}, event.changes


def test_audit_form_door(small_catalog, user_in_role, client):
    client.force_login(user_in_role("engineering"))
    digest = small_catalog.digest
    response = client.post(
        f"/notifications/{digest.key}/edit/",
        {
            "key": digest.key,
            "name": "Digest by form",
            "audience": digest.audience,
            "project": digest.project.pk,
            "medium": digest.medium,
            "trigger_type": digest.trigger_type,
            "campaign_id": digest.campaign_id,
            "message_type": small_catalog.opt_in.pk,
            "status": digest.status,
            "tags": "[]",
            "templates": [small_catalog.template.pk],
            "owners": [small_catalog.owner.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    _assert_audited("weekly_digest", "name", "Weekly digest", "Digest by form")


def test_audit_admin_door(small_catalog, admin_client):
    digest = small_catalog.digest
    response = admin_client.post(
        f"/admin/catalog/notification/{digest.pk}/change/",
        admin_notification_form(small_catalog, name="Digest by admin"),
    )
    assert response.status_code == 302
    _assert_audited("weekly_digest", "name", "Weekly digest", "Digest by admin")


def test_audit_api_door(small_catalog, user_in_role, client):
    client.force_login(user_in_role("engineering"))
    response = client.patch(
        "/api/notifications/weekly_digest/", {"status": "deprecated"}, content_type="application/json"
    )
    assert response.status_code == 200
    _assert_audited("weekly_digest", "status", "active", "deprecated")


def test_audit_import_door(small_catalog):
    data = json.loads(catalog_export(fmt="json"))
    for item in data["notifications"]:
        if item["key"] == "weekly_digest":
            item["name"] = "Digest by import"
    result = catalog_import(actor="importer", content=json.dumps(data), fmt="json")
    assert not result.errors, result.errors
    _assert_audited("weekly_digest", "name", "Weekly digest", "Digest by import")


def test_audit_command_door(small_catalog):
    call_command("notification_set", "weekly_digest", "--status", "deprecated")
    _assert_audited("weekly_digest", "status", "active", "deprecated")
    assert _last_update("weekly_digest").actor_label == "manage.py notification_set"


def test_admin_saves_through_the_one_write_path(small_catalog, admin_client):
    """The admin writes like every door: one audit event holding the field and the many-to-many change, and a
    delete is audited with what was deleted."""
    from catalog.models import AuditEvent

    digest = small_catalog.digest
    before = AuditEvent.objects.count()
    response = admin_client.post(
        f"/admin/catalog/notification/{digest.pk}/change/",
        admin_notification_form(small_catalog, name="Digest by admin", templates=[], owners=[]),
    )
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before + 1
    event = _last_update("weekly_digest")
    assert event.actor_label == "admin" or event.actor is not None
    assert set(event.changes) >= {"name", "templates", "owners"}, event.changes

    response = admin_client.post(f"/admin/catalog/owner/{small_catalog.owner.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    deleted = AuditEvent.objects.filter(action="delete", object_type="owner").get()
    assert deleted.changes["name"]["before"] == "Lifecycle Marketing"
