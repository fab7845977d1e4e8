"""Fixtures for the failure tests: API clients carrying a real token, and a staff browser session."""

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
def api_admin(user_in_role):
    user = user_in_role("admin", username="admin-api")
    _, raw = api_token_create(actor=user, user=user, name="failures")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.user = user
    return client


@pytest.fixture
def admin_page(client, user_in_role):
    """Django's test client logged in as an admin (the dashboard's pages)."""
    user = user_in_role("admin", username="admin-page")
    client.force_login(user)
    client.user = user
    return client
