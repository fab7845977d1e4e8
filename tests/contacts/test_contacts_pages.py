"""The contact lookup page: permission, never cached, explained results, clear errors."""

import pytest
from django.urls import reverse

from catalog.models import AuditEvent

URL = reverse("catalog:contact_lookup")


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("marketing", 200), ("engineering", 200), ("admin", 200)]
)
def test_lookup_needs_the_lookup_permission(demo, client, user_in_role, role, status):
    client.force_login(user_in_role(role))
    assert client.get(URL).status_code == status
    response = client.post(URL, {"email": "qa.student@example.com"})
    assert response.status_code == status
    assert AuditEvent.objects.filter(action="contact_lookup").exists() == (status == 200)


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_lookup_shows_reach_subscriptions_and_is_not_cached(demo, client, user_in_role):
    client.force_login(user_in_role("marketing"))
    response = client.post(URL, {"email": "qa.student@example.com", "project": demo.student.pk})
    page = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "Weekly activity digest" in page
    assert "opted in to it" in page
    assert "GitLab Marketing" in page and "Marketing Channel" in page
    assert "Employer - US <span" not in page  # only the chosen project is looked up


def test_lookup_of_one_notification_across_projects(demo, client, user_in_role):
    client.force_login(user_in_role("marketing"))
    page = client.post(
        URL, {"email": "qa.employer@example.com", "notification": "employer_trial_welcome"}
    ).content.decode()
    assert "No contact &#x27;qa.employer@example.com&#x27; in Iterable project &#x27;Student - US&#x27;." in page
    assert "Trial: welcome" in page
    assert "Weekly activity digest" not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "foo@"}, "&#x27;foo@&#x27; is not a valid email address."),
        ({}, "Give an email address or a userId"),
        ({"email": "a@example.com", "project": "999"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_shown_beside_the_field(demo, client, user_in_role, data, message):
    client.force_login(user_in_role("marketing"))
    response = client.post(URL, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action="contact_lookup").exists()


def test_iterable_down_is_a_message_not_a_500(demo, client, user_in_role):
    demo.emulator.configure(faults=[{"endpoint": "*", "kind": "error503", "count": 100}])
    client.force_login(user_in_role("marketing"))
    response = client.post(URL, {"email": "qa.student@example.com", "project": demo.student.pk})
    assert response.status_code == 200
    assert "Iterable had an error (503" in response.content.decode()


def test_control_characters_in_the_form_are_an_invalid_choice(demo, client, user_in_role):
    client.force_login(user_in_role("marketing"))
    response = client.post(URL, {"email": "a@example.com", "notification": "x\x00y"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
