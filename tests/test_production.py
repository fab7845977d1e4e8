"""Production readiness: CSP without inline script, login throttling, idle sessions, password rules,
request ids in logs and tasks, the health endpoint."""

import logging

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings

from catalog.observability import current_request_id, enqueue

PASSWORD = "a long test password"


def test_csp_header_allows_no_inline_script(client, user_in_role):
    client.force_login(user_in_role("viewer"))
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert b"<script>" not in response.content and b" style=" not in response.content


def test_api_docs_load_their_script_from_a_file(client, user_in_role):
    client.force_login(user_in_role("viewer"))
    page = client.get("/api/docs/").content.decode()
    assert "<script src=" in page
    assert "<script>" not in page


def test_login_is_throttled_after_repeated_failures(client, user_in_role):
    user_in_role("viewer", username="vic")
    for _ in range(4):
        response = client.post("/accounts/login/", {"username": "vic", "password": "wrong"})
        assert response.status_code == 200
    assert client.post("/accounts/login/", {"username": "vic", "password": "wrong"}).status_code == 429
    # Locked out: even the right password is refused for the cool-off time.
    response = client.post("/accounts/login/", {"username": "vic", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    # Another username from the same address is not locked.
    user_in_role("marketing", username="mia")
    assert client.post("/accounts/login/", {"username": "mia", "password": PASSWORD}).status_code == 302


def test_a_good_login_works_and_sessions_expire_when_idle(client, user_in_role, settings):
    user_in_role("viewer", username="vic")
    response = client.post("/accounts/login/", {"username": "vic", "password": PASSWORD})
    assert response.status_code == 302
    assert "catalog.middleware.SessionIdleMiddleware" in settings.MIDDLEWARE and settings.SESSION_COOKIE_AGE == 3600
    assert client.session.get_expiry_age() <= 3600


def test_password_rules(db, django_user_model):
    user = django_user_model(username="pat")
    for weak in ["short1", "password1234", "123456789012", "patpatpat"]:
        with pytest.raises(ValidationError):
            validate_password(weak, user)
    validate_password("correct horse battery staple", user)


def test_request_id_in_response_logs_and_tasks(client, user_in_role, caplog):
    client.force_login(user_in_role("viewer"))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/notifications/nope/")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert [r.request_id for r in caplog.records if "Not Found" in r.getMessage()] == [request_id]
    # A spoofed id is ignored unless a proxy is trusted to set it.
    assert client.get("/", HTTP_X_REQUEST_ID="forged")["X-Request-ID"] != "forged"
    with override_settings(TRUST_REQUEST_ID_HEADER=True):
        assert client.get("/", HTTP_X_REQUEST_ID="lb-123")["X-Request-ID"] == "lb-123"


def remember_request_id():
    return current_request_id()


def test_enqueued_task_runs_with_the_request_id(db):
    from catalog.observability import request_id_var

    token = request_id_var.set("req-42")
    try:
        task_id = enqueue("tests.test_production.remember_request_id")
    finally:
        request_id_var.reset(token)
    from django_q.models import Task

    assert Task.objects.get(id=task_id).result == "req-42"  # settings_tests runs tasks inline


def test_health(client, demo, user_in_role):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"]["ok"]
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    client.force_login(user_in_role("viewer"))  # the deep check needs a login or a token
    deep = client.get("/healthz?deep=1").json()
    assert deep["broker"]["ok"]
    assert all(project["ok"] for project in deep["iterable"].values())
    demo.emulator.configure(faults=[{"endpoint": "GET /api/channels", "kind": "error503", "count": 1}])
    deep = client.get("/healthz?deep=1").json()
    assert [p["ok"] for p in deep["iterable"].values()].count(False) == 1
    assert client.get("/healthz?deep=1").status_code == 200  # Iterable trouble is reported, not fatal


def test_health_is_503_when_the_database_is_gone(client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise connection.Database.OperationalError("server closed the connection")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "database": {"ok": False, "ms": response.json()["database"]["ms"], "error": "OperationalError"},
        "ok": False,
    }


def test_admin_pages_have_no_inline_script(admin_client, small_catalog):
    import re

    for url in [
        "/admin/",
        "/admin/catalog/notification/",
        f"/admin/catalog/notification/{small_catalog.digest.pk}/change/",
    ]:
        page = admin_client.get(url).content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page) == [], url
