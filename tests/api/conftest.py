"""Fixtures for the API tests: clients authenticated by a real token for each role."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from catalog.tokens.services import api_token_create


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Throttle counts live in the cache, keyed by user id; ids repeat across rolled-back tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client_for(user_in_role):
    """An APIClient for a role: None is anonymous, "norole" a user in no role; others carry a Bearer token."""

    def make(role: str | None) -> APIClient:
        client = APIClient()
        if role is None:
            return client
        user = user_in_role(None if role == "norole" else role, username=f"{role}-api")
        _, raw = api_token_create(actor=user, user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.user = user
        return client

    return make


@pytest.fixture
def engineer(client_for):
    return client_for("engineering")


@pytest.fixture
def viewer(client_for):
    return client_for("viewer")
