"""Contacts' addresses in the activity log and the audit API are shown only to roles that may look contacts up."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.audit.services import audit_event
from catalog.models import AuditEvent

CUSTOMER = "jane.customer@example.org"


@pytest.fixture
def events(small_catalog):
    audit_event(actor="mia", action="contact_lookup", object_type="contact", object_repr=CUSTOMER,
                changes={"projects": ["Test project"]})  # fmt: skip
    audit_event(actor="mia", action="contact_lookup", object_type="contact", object_repr="user-42",
                changes={"projects": ["Test project"]})  # fmt: skip
    audit_event(actor="mia", action="proof_send", object_type="notification", object_id=str(small_catalog.digest.pk),
                object_repr="weekly_digest", changes={"recipient": "push-user-7", "outcome": "sent"})  # fmt: skip
    audit_event(actor="ops", action="resync_start", object_type="resyncrun", object_repr="Resync #1",
                changes={"selection": "emails", "emails": [CUSTOMER], "total": 1})  # fmt: skip
    audit_event(actor="ops", action="update", object_type="owner", object_repr="Lifecycle Marketing",
                changes={"email": {"before": "", "after": "lifecycle@example.com"}})  # fmt: skip
    return small_catalog


PAGES = ["catalog:audit_list", "catalog:home"]


@pytest.mark.parametrize("page", PAGES)
def test_a_viewer_sees_who_acted_but_not_whom(client, events, user_in_role, page):
    client.force_login(user_in_role("viewer"))
    html = client.get(reverse(page)).content.decode()
    assert "Looked up a contact" in html and "mia" in html
    for secret in (CUSTOMER, "user-42", "push-user-7"):
        assert secret not in html
    assert "j•••@•••" in html


def test_the_notification_history_hides_test_recipients_from_a_viewer(client, events, user_in_role):
    client.force_login(user_in_role("viewer"))
    html = client.get(reverse("catalog:notification_detail", args=["weekly_digest"])).content.decode()
    assert "Test send" in html and "push-user-7" not in html


@pytest.mark.parametrize("role", ["marketing", "engineering", "admin"])
def test_roles_that_look_contacts_up_see_them(client, events, user_in_role, role):
    client.force_login(user_in_role(role))
    html = client.get(reverse("catalog:audit_list")).content.decode()
    assert CUSTOMER in html and "user-42" in html
    # Someone else's test recipient (not known to be shared) is theirs; admins, who approve recipients, see it.
    assert ("push-user-7" in html) is (role == "admin")


@pytest.mark.parametrize(("role", "shown"), [("viewer", False), ("marketing", True), ("admin", True)])
def test_the_audit_api_masks_by_role(events, user_in_role, role, shown):
    api = APIClient()
    api.force_authenticate(user_in_role(role))
    body = str(api.get("/api/audit-events/?page_size=100").json())
    assert (CUSTOMER in body) is shown
    assert ("user-42" in body) is shown
    assert ("push-user-7" in body) is (role == "admin")
    assert "lifecycle@example.com" in body  # an owner's team address is no contact
    one = AuditEvent.objects.get(object_repr=CUSTOMER)
    detail = api.get(f"/api/audit-events/{one.pk}/").json()
    assert (detail["object_repr"] == CUSTOMER) is shown
    assert AuditEvent.objects.filter(object_repr=CUSTOMER).exists()  # masking never rewrites the record
