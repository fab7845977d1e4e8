"""API tokens expire (90 days unless configured), show when they were last used, and can be rotated."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import ApiToken, AuditEvent
from catalog.tokens.services import api_token_create, api_token_rotate


def _status(raw: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api.get("/api/notifications/").status_code


@pytest.fixture
def viewer(user_in_role):
    return user_in_role("viewer")


def test_a_token_without_an_expiry_gets_the_longest_life(viewer):
    token, _ = api_token_create(actor=viewer, user=viewer, name="script")
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    with override_settings(API_TOKEN_MAX_DAYS=7):
        short, _ = api_token_create(actor=viewer, user=viewer, name="short")
        assert abs(short.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
        with pytest.raises(ValueError, match="at most 7 days"):
            api_token_create(actor=viewer, user=viewer, name="long", expires_at=timezone.now() + timedelta(days=30))


def test_the_page_refuses_an_expiry_beyond_the_maximum(client, viewer):
    client.force_login(viewer)
    far = (timezone.localdate() + timedelta(days=91)).isoformat()
    response = client.post("/api/tokens/", {"name": "forever", "expires_on": far})
    assert "A token lives at most 90 days" in response.content.decode()
    assert not ApiToken.objects.filter(user=viewer).exists()


def test_a_token_from_before_expiry_was_required_stops_after_the_maximum(viewer):
    token, raw = api_token_create(actor=viewer, user=viewer, name="old script")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None, created_at=timezone.now() - timedelta(days=89))
    assert _status(raw) == 200
    ApiToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(days=91))
    assert _status(raw) == 401


def test_the_page_shows_last_use(client, viewer):
    _, raw = api_token_create(actor=viewer, user=viewer, name="script")
    client.force_login(viewer)
    assert "never" in client.get("/api/tokens/").content.decode()
    assert _status(raw) == 200
    page = client.get("/api/tokens/").content.decode()
    assert timezone.now().strftime("%Y-%m-%d") in page.split('data-testid="last-used">')[1][:20]


def test_rotating_swaps_the_secret_at_once_and_is_audited(client, viewer, user_in_role):
    token, old = api_token_create(actor=viewer, user=viewer, name="nightly export")
    client.force_login(viewer)
    response = client.post(f"/api/tokens/{token.pk}/rotate/")
    assert response.status_code == 200
    new = response.context["new_token"]
    assert new != old and new in response.content.decode()
    assert _status(old) == 401
    assert _status(new) == 200
    token.refresh_from_db()
    assert token.revoked_at is not None and token.replaced_by.name == "nightly export"
    assert AuditEvent.objects.filter(object_type="apitoken", object_id=str(token.pk), action="rotate").exists()
    assert new not in str(list(AuditEvent.objects.values()))
    # A revoked token is not rotated again; nor is someone else's.
    again = client.post(f"/api/tokens/{token.pk}/rotate/")
    assert again.status_code == 400 and "Only a live token can be rotated" in again.content.decode()
    other = user_in_role("admin")
    theirs, _ = api_token_create(actor=other, user=other, name="theirs")
    assert client.post(f"/api/tokens/{theirs.pk}/rotate/").status_code == 404


def test_an_expired_token_cannot_be_rotated(viewer):
    token, _ = api_token_create(actor=viewer, user=viewer, name="script")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    token.refresh_from_db()
    with pytest.raises(ValueError, match="revoked or expired"):
        api_token_rotate(actor=viewer, token=token)


@override_settings(API_TOKEN_FAILURE_LIMIT=(5, 60))
def test_refused_tokens_are_throttled_per_address(viewer):
    """Guessing tokens (or replaying a leaked list) from one address: after the limit every token from it gets a
    429 with Retry-After, a good one included, while another address is unaffected."""
    _token, good = api_token_create(actor=viewer, user=viewer, name="script")
    guesser = APIClient(REMOTE_ADDR="203.0.113.9")
    codes = []
    for i in range(7):
        guesser.credentials(HTTP_AUTHORIZATION=f"Bearer ia_000000000000_guess{i}")
        codes.append(guesser.get("/api/notifications/").status_code)
    assert codes == [401] * 5 + [429] * 2
    guesser.credentials(HTTP_AUTHORIZATION=f"Bearer {good}")
    throttled = guesser.get("/api/notifications/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    assert "Too many invalid API tokens from your address" in throttled.json()["errors"][0]["message"]
    # The deep health check reads tokens too: the same count, the same answer.
    assert guesser.get("/healthz?deep=1", HTTP_AUTHORIZATION=f"Bearer {good}").status_code == 429
    assert _status(good) == 200  # from another address
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.4")
    elsewhere.credentials(HTTP_AUTHORIZATION="Bearer ia_000000000000_guess")
    assert elsewhere.get("/api/notifications/").status_code == 401


@override_settings(API_TOKEN_FAILURE_LIMIT=(3, 60))
def test_good_tokens_do_not_count(viewer):
    _token, good = api_token_create(actor=viewer, user=viewer, name="script")
    assert [_status(good) for _ in range(6)] == [200] * 6
