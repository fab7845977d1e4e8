"""/healthz stays anonymous and cheap; the deep check (project names, Iterable calls) needs a login with a role
or an API token, and is rate limited per caller."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from catalog.tokens.services import api_token_create


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()  # rate-limit counts are keyed by user id, and ids repeat across rolled-back tests
    yield
    cache.clear()


def test_anonymous_gets_the_cheap_check_only(client, demo):
    shallow = client.get("/healthz")
    assert shallow.status_code == 200 and shallow.json() == {"database": shallow.json()["database"], "ok": True}
    deep = client.get("/healthz?deep=1")
    assert deep.status_code == 401
    assert "Student" not in deep.content.decode()
    assert demo.emulator.requests(path="/api/channels") == []  # nothing was called on anyone's behalf


def test_a_user_without_a_role_or_a_bad_token_gets_nothing_deep(client, demo, user_in_role):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer ia_nothing_here")
    assert api.get("/healthz?deep=1").status_code == 401
    client.force_login(user_in_role(None))
    assert client.get("/healthz?deep=1").status_code == 401
    assert demo.emulator.requests(path="/api/channels") == []


@override_settings(HEALTH_DEEP_RATE_LIMIT=(2, 60))
def test_a_token_runs_the_deep_check_within_its_rate(demo, user_in_role):
    user = user_in_role("viewer")
    _, raw = api_token_create(actor=user, user=user, name="monitoring")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    first = api.get("/healthz?deep=1")
    assert first.status_code == 200
    assert {p["project"] for p in first.json()["iterable"].values()} == {"Student - US", "Employer - US"}
    assert api.get("/healthz?deep=1").status_code == 200
    calls = len(demo.emulator.requests(path="/api/channels"))
    refused = api.get("/healthz?deep=1")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert len(demo.emulator.requests(path="/api/channels")) == calls  # the refused check called nobody
    assert APIClient().get("/healthz").status_code == 200  # the load balancer's check is never limited
