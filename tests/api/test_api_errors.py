"""One error format for every status: {"errors": [{"field", "code", "message"}]}."""

import pytest
from django.test import override_settings
from rest_framework.settings import api_settings

EXPECTED_KEYS = {"field", "code", "message"}


def _errors(response, status):
    assert response.status_code == status, response.content
    errors = response.json()["errors"]
    assert errors
    assert all(set(e) == EXPECTED_KEYS for e in errors)
    return errors


def test_401(db, client_for):
    [error] = _errors(client_for(None).get("/api/owners/"), 401)
    assert error["code"] == "not_authenticated"


def test_403(db, client_for):
    [error] = _errors(client_for("norole").get("/api/owners/"), 403)
    assert error["code"] == "permission_denied"


def test_404(small_catalog, viewer):
    [error] = _errors(viewer.get("/api/notifications/no_such_key/"), 404)
    assert error["code"] == "not_found"


def test_405(small_catalog, engineer):
    [error] = _errors(engineer.post("/api/violations/", {}, format="json"), 405)
    assert error["code"] == "method_not_allowed"


def test_parse_error(small_catalog, engineer):
    response = engineer.generic("POST", "/api/owners/", "{not json", content_type="application/json")
    [error] = _errors(response, 400)
    assert error["code"] == "parse_error"
    assert error["field"] is None


def test_unsupported_media_type(small_catalog, engineer):
    response = engineer.post("/api/owners/", {"name": "x"})  # multipart: only JSON is accepted
    [error] = _errors(response, 415)
    assert error["code"] == "unsupported_media_type"


def test_field_errors(small_catalog, engineer):
    errors = _errors(engineer.post("/api/owners/", {"role": "nope"}, format="json"), 400)
    assert {(e["field"], e["code"]) for e in errors} == {
        ("name", "required"),
        ("email", "required"),
        ("role", "invalid_choice"),
    }


@pytest.mark.parametrize("role", ["viewer", "engineering"])
def test_429_per_user(small_catalog, client_for, role):
    client = client_for(role)
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    with override_settings(REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}):
        for _ in range(3):
            assert client.get("/api/owners/").status_code == 200
        response = client.get("/api/owners/")
        [error] = _errors(response, 429)
        assert error["code"] == "throttled"
        assert int(response["Retry-After"]) > 0
        # Another user has their own allowance.
        assert client_for("marketing").get("/api/owners/").status_code == 200


def test_unknown_api_path_is_a_json_404_after_auth(db, client_for):
    assert client_for(None).get("/api/nothing/here").status_code == 401
    [error] = _errors(client_for("viewer").delete("/api/owners/0.5/"), 404)
    assert error["code"] == "not_found"


def test_unknown_path_with_a_newline_is_a_json_404(viewer):
    response = viewer.get("/api/notifications/a%0Ab/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
