"""Schemathesis against the live schema, in-process over WSGI (no network), with a token in the admin role:
no 5xx, and every response matches the schema (status code, content type, body).

The schema is generated at collection time (no database yet) and checked to be the one /api/schema/ serves.

SCHEMATHESIS_MAX_EXAMPLES raises the number of examples per operation (default 15) for a longer run.
"""

import json
import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from catalog.tokens.services import api_token_create

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


def _spec() -> dict:
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


SPEC = _spec()
schema = schemathesis.openapi.from_dict(SPEC)
schema.app = get_wsgi_application()


@pytest.fixture
def _keep_test_connection():
    # Calling the WSGI app directly fires request_started/finished, whose handler would close the test
    # transaction's connection (PostgreSQL); Django's own test client disconnects it the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token_headers(small_catalog, user_in_role, _keep_test_connection):
    user = user_in_role("admin")
    _, raw = api_token_create(actor=user, user=user, name="schemathesis")
    return {"Authorization": f"Bearer {raw}"}


def test_the_served_schema_is_the_one_tested(token_headers, client):
    response = client.get("/api/schema/", {"format": "json"}, headers=token_headers)
    assert response.status_code == 200
    assert json.loads(response.content) == SPEC


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, token_headers):
    case.call_and_validate(headers=token_headers, checks=CHECKS)
