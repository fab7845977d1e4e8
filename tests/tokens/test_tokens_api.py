"""API tokens: hashed storage, Bearer/Token headers, expiry and revocation, no Basic auth, the token pages."""

import base64
import hashlib
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import ApiToken, AuditEvent
from catalog.tokens.services import api_token_create, api_token_revoke


@pytest.fixture
def viewer_token(user_in_role):
    user = user_in_role("viewer")
    token, raw = api_token_create(actor=user, user=user, name="script")
    return user, token, raw


def _get(header: str | None, path="/api/notifications/"):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(path)


def test_only_a_hash_is_stored(viewer_token):
    _, token, raw = viewer_token
    assert raw.startswith(f"ia_{token.prefix}_")
    secret = raw.split("_", 2)[2]
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values()[0]
    assert not any(secret in str(value) for value in stored.values())
    assert not any(secret in str(event.changes) for event in AuditEvent.objects.all())


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_bearer_and_token_keywords(viewer_token, keyword):
    _, token, raw = viewer_token
    assert _get(f"{keyword} {raw}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer", "Malformed Authorization header: use 'Bearer <token>'."),
        ("Bearer ia_nothing_here", "Invalid token."),
        ("Bearer not-a-token", "Invalid token."),
    ],
)
def test_bad_credentials_are_401(db, header, message):
    response = _get(header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    [error] = response.json()["errors"]
    assert error["field"] is None
    assert error["message"] == message


def test_wrong_secret_with_a_real_prefix_is_401(viewer_token):
    _, token, _ = viewer_token
    assert _get(f"Bearer ia_{token.prefix}_{'x' * 43}").status_code == 401


def test_expired_token_is_401_with_a_clear_message(user_in_role):
    user = user_in_role("viewer")
    token, raw = api_token_create(actor=user, user=user, name="s", expires_at=timezone.now() + timedelta(hours=1))
    assert _get(f"Bearer {raw}").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _get(f"Bearer {raw}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "This token has expired. Create a new one."


def test_revoked_token_is_401_with_a_clear_message(viewer_token):
    user, token, raw = viewer_token
    api_token_revoke(actor=user, token=token)
    response = _get(f"Bearer {raw}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "This token has been revoked. Create a new one."
    assert AuditEvent.objects.filter(object_type="apitoken", action="revoke").count() == 1


def test_inactive_user_token_is_401(viewer_token):
    user, _, raw = viewer_token
    user.is_active = False
    user.save()
    assert _get(f"Bearer {raw}").status_code == 401


def test_basic_auth_is_not_accepted(user_in_role):
    user_in_role("admin")
    basic = base64.b64encode(b"admin-user:a long test password").decode()
    assert _get(f"Basic {basic}").status_code == 401


def test_session_auth_works_and_needs_csrf_for_writes(small_catalog, user_in_role):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user_in_role("engineering"))
    assert client.get("/api/notifications/").status_code == 200
    response = client.patch(f"/api/owners/{small_catalog.owner.pk}/", {"slack_channel": "#x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["errors"][0]["message"]


def test_token_is_never_logged(viewer_token, caplog):
    _, _, raw = viewer_token
    with caplog.at_level(logging.DEBUG):
        _get(f"Bearer {raw}", "/api/nothing-here/")
        _get(f"Bearer {raw}x")
        _get(f"Bearer {raw}", "/api/audit-events/0/")
    assert raw not in caplog.text
    assert raw.split("_", 2)[2] not in caplog.text


def test_token_pages_create_show_once_and_revoke(client, user_in_role):
    user = user_in_role("viewer")
    assert client.get("/api/tokens/").status_code == 302  # login first
    client.force_login(user)
    page = client.get("/api/tokens/")
    assert page.status_code == 200
    response = client.post("/api/tokens/", {"name": "nightly export", "expires_on": ""})
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw in response.content.decode()
    token = ApiToken.objects.get(user=user)
    assert token.name == "nightly export"
    assert token.expires_at.date() == (timezone.now() + timedelta(days=90)).date()  # every token expires
    assert raw not in client.get("/api/tokens/").content.decode()  # shown once
    assert _get(f"Bearer {raw}").status_code == 200
    assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 302
    assert _get(f"Bearer {raw}").status_code == 401


def test_token_page_sets_expiry_and_refuses_the_past(client, user_in_role):
    user = user_in_role("viewer")
    client.force_login(user)
    today = timezone.localdate()
    response = client.post("/api/tokens/", {"name": "old", "expires_on": (today - timedelta(days=1)).isoformat()})
    assert "Pick today or a later day." in response.content.decode()
    client.post("/api/tokens/", {"name": "short", "expires_on": today.isoformat()})
    assert ApiToken.objects.get(user=user).expires_at > timezone.now()


def test_cannot_revoke_someone_elses_token(client, user_in_role, viewer_token):
    _, token, _ = viewer_token
    client.force_login(user_in_role("admin"))
    assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
