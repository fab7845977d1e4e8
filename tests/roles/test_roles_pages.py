"""Every page, every role: anonymous users go to the login page, users without the permission get 403."""

import pytest
from django.urls import reverse

from catalog.models import AuditEvent, Notification

ENTITIES = ["iterableproject", "channel", "messagetype", "template", "journey", "customevent", "eventfield", "owner"]


def entity_pk(catalog, entity):
    return {
        "iterableproject": catalog.project,
        "channel": catalog.marketing,
        "messagetype": catalog.opt_in,
        "template": catalog.template,
        "journey": catalog.journey,
        "customevent": catalog.event,
        "eventfield": catalog.field,
        "owner": catalog.owner,
    }[entity].pk


def view_pages(c):
    pages = [
        reverse("catalog:home"),
        reverse("catalog:notification_list"),
        reverse("catalog:notification_csv"),
        reverse("catalog:notification_detail", kwargs={"key": "weekly_digest"}),
        reverse("catalog:notification_detail", kwargs={"key": "trial_onboarding"}),
        reverse("catalog:catalog_export") + "?format=yaml",
        reverse("catalog:catalog_export") + "?format=json",
        reverse("catalog:audit_list"),
    ]
    for entity in ENTITIES:
        pages.append(reverse("catalog:entity_list", kwargs={"entity": entity}))
        pages.append(reverse("catalog:entity_detail", kwargs={"entity": entity, "pk": entity_pk(c, entity)}))
    return pages


def edit_pages(c):
    pages = [
        reverse("catalog:notification_create"),
        reverse("catalog:notification_edit", kwargs={"key": "weekly_digest"}),
        reverse("catalog:notification_delete", kwargs={"key": "weekly_digest"}),
        reverse("catalog:catalog_import"),
    ]
    for entity in ENTITIES:
        pk = entity_pk(c, entity)
        pages.append(reverse("catalog:entity_create", kwargs={"entity": entity}))
        pages.append(reverse("catalog:entity_edit", kwargs={"entity": entity, "pk": pk}))
        pages.append(reverse("catalog:entity_delete", kwargs={"entity": entity, "pk": pk}))
    return pages


EXPECTED = {
    # role: (status of viewing pages, status of editing pages)
    "viewer": (200, 403),
    "marketing": (200, 403),
    "engineering": (200, 200),
    "admin": (200, 200),
    None: (403, 403),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_sees_exactly_its_pages(ui_catalog, client_in_role, role):
    client = client_in_role(role)
    view_status, edit_status = EXPECTED[role]
    got = {url: client.get(url).status_code for url in view_pages(ui_catalog)}
    assert got == dict.fromkeys(got, view_status)
    got = {url: client.get(url).status_code for url in edit_pages(ui_catalog)}
    # A project's connection (where its API key goes) is the admin's alone.
    wanted = {url: 403 if url.startswith("/projects/") and role != "admin" else edit_status for url in got}
    assert got == wanted


def test_anonymous_users_are_sent_to_the_login_page(ui_catalog, client):
    for url in view_pages(ui_catalog) + edit_pages(ui_catalog):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


@pytest.mark.parametrize("role", ["viewer", "marketing", None])
def test_roles_without_edit_rights_cannot_write(ui_catalog, client_in_role, role):
    client = client_in_role(role)
    before = AuditEvent.objects.count()
    edit = reverse("catalog:notification_edit", kwargs={"key": "weekly_digest"})
    assert client.post(edit, {"name": "Hijacked"}).status_code == 403
    delete = reverse("catalog:notification_delete", kwargs={"key": "receipt"})
    assert client.post(delete).status_code == 403
    owner_edit = reverse("catalog:entity_edit", kwargs={"entity": "owner", "pk": ui_catalog.owner.pk})
    assert client.post(owner_edit, {"name": "x", "role": "business", "email": "x@example.com"}).status_code == 403
    upload = reverse("catalog:catalog_import")
    assert client.post(upload, {}).status_code == 403
    assert Notification.objects.get(key="weekly_digest").name == "Weekly digest"
    assert Notification.objects.filter(key="receipt").exists()
    assert AuditEvent.objects.count() == before


def test_anonymous_posts_are_sent_to_login_and_change_nothing(ui_catalog, client):
    response = client.post(reverse("catalog:notification_delete", kwargs={"key": "receipt"}))
    assert response.status_code == 302
    assert Notification.objects.filter(key="receipt").exists()


def test_login_page_logs_in_and_lands_on_the_dashboard(db, client, user_in_role):
    user_in_role("viewer", username="vera")
    response = client.post(reverse("login"), {"username": "vera", "password": "a long test password"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("catalog:home")
    assert b"The catalog at a glance" in response.content


def test_navigation_shows_edit_links_only_to_editors(ui_catalog, client_in_role):
    viewer_page = client_in_role("viewer").get(reverse("catalog:notification_list")).content.decode()
    assert "New notification" not in viewer_page
    assert reverse("catalog:catalog_import") not in viewer_page
    editor_page = client_in_role("engineering").get(reverse("catalog:notification_list")).content.decode()
    assert "New notification" in editor_page
