"""Clients for each door: API clients carrying a real token per role, and the dashboard logged in per role."""

import pytest
from rest_framework.test import APIClient

from catalog.tokens.services import api_token_create


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


@pytest.fixture
def client_in_role(client, user_in_role):
    """A test client logged in as a user in `role` (None: a user in no role)."""

    def make(role):
        client.force_login(user_in_role(role))
        return client

    return make
