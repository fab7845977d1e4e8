"""POST /api/contacts/lookup/: the same service as the page, for scripts."""

import pytest

from catalog.models import AuditEvent

URL = "/api/contacts/lookup/"


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("norole", 403), ("viewer", 403), ("marketing", 200), ("engineering", 200), ("admin", 200)],
)
def test_permissions(demo, client_for, role, status):
    response = client_for(role).post(URL, {"email": "qa.student@example.com"}, format="json")
    assert response.status_code == status


def test_lookup_result(demo, client_for):
    response = client_for("marketing").post(
        URL, {"email": "qa.student@example.com", "project": demo.student.pk}, format="json"
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (lookup,) = response.json()
    assert lookup["found"] and lookup["project"] == "Student - US" and lookup["user_id"] == "qa-student-1"
    reach = {r["notification"]: r for r in lookup["reach"]}
    assert reach["student_activity_weekly_digest"]["allowed"] is True
    assert reach["student_activity_weekly_digest"]["rule"] == "opted-in"
    assert {row["state"] for row in lookup["subscriptions"]} >= {"subscribed", "receiving by default"}
    assert AuditEvent.objects.get(action="contact_lookup").object_repr == "qa.student@example.com"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"email": "foo@"}, "email", "'foo@' is not a valid email address."),
        ({}, "email", "Give an email address or a userId"),
        ({"email": "a@example.com", "notification": "nope"}, "notification", "does not exist"),
    ],
)
def test_errors_in_the_one_format(demo, client_for, body, field, message):
    response = client_for("marketing").post(URL, body, format="json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == field and message in error["message"]


def test_iterable_errors_come_back_per_project(demo, client_for, monkeypatch):
    monkeypatch.setenv("ITERABLE_API_KEY_EMPLOYER_US", "wrong")
    response = client_for("marketing").post(URL, {"email": "qa.student@example.com"}, format="json")
    by_project = {lookup["project"]: lookup for lookup in response.json()}
    assert by_project["Student - US"]["found"]
    assert "refused the API key" in by_project["Employer - US"]["error"]


def test_control_characters_are_a_400_not_a_database_error(demo, client_for):
    response = client_for("marketing").post(URL, {"email": "a@example.com", "notification": "x\x00y"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "notification"
