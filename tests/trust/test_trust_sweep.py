"""An insider's sweep: every route, as every role, looking for secrets, customers and other people's data.

Every page and endpoint of the permission matrix (with its sample ids) plus the pages that hold the planted
data is fetched as each role; no answer may carry the Django secret key or an Iterable API key, another
person's private test recipient (admins, who approve recipients, excepted) or, below the roles that may look
contacts up, a contact's address.
"""

import os

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient
from testkit.routes import HTML_UNDER_API, routes

from catalog.audit.services import audit_event
from catalog.models import Notification, ProofRecipient
from catalog.sends.services.dispatch import proof_send
from catalog.tokens.services import api_token_create

PRIVATE = "qa.student@example.com"  # mia's own test recipient
CUSTOMER = "student.0042@example.com"  # a contact mia looked up


@pytest.fixture
def planted(demo, user_in_role):
    mia = user_in_role("marketing", username="mia")
    own = ProofRecipient.objects.create(project=demo.student, owner=mia, email=PRIVATE)
    attempt = proof_send(actor=mia, notification=Notification.objects.get(key="student_activity_weekly_digest"),
                         recipient=own)  # fmt: skip
    audit_event(actor=mia, action="contact_lookup", object_type="contact", object_repr=CUSTOMER)
    secrets = [settings.SECRET_KEY, *(os.environ[p.api_key_env] for p in (demo.student, demo.employer))]
    return attempt, secrets


def _everything(role_user, attempt) -> dict[str, str]:
    from django.test import Client

    page, api = Client(), APIClient()
    page.force_login(role_user)
    _, raw = api_token_create(actor=role_user, user=role_user, name="sweep")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    extra = [
        (reverse("catalog:proof_send_detail", args=[attempt.pk]), "page"),
        (reverse("catalog:notification_detail", args=["student_activity_weekly_digest"]), "page"),
        (reverse("catalog:proof_send_list"), "page"),
        ("/healthz?deep=1", "page"),
        (f"/api/test-sends/{attempt.pk}/", "api"),
        ("/api/test-sends/", "api"),
        ("/api/audit-events/?page_size=100", "api"),
        ("/api/test-recipients/", "api"),
    ]
    found = [(path, "api" if path.startswith("/api/") and name not in HTML_UNDER_API else "page")
             for path, name in routes()] + extra  # fmt: skip
    return {path: _body((api if how == "api" else page).get(path)) for path, how in found}


def _body(response) -> str:
    """The whole body, streamed (exports) or not."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode(errors="replace")


@pytest.mark.parametrize("role", ["viewer", "marketing", "engineering", "admin"])
def test_no_role_reaches_secrets_customers_or_other_peoples_recipients(planted, user_in_role, role):
    attempt, secrets = planted
    bodies = _everything(user_in_role(role, username=f"sweep-{role}"), attempt)
    leaks = []
    for path, body in bodies.items():
        leaks += [f"{path}: a secret" for secret in secrets if secret in body]
        if role != "admin" and PRIVATE in body:
            leaks.append(f"{path}: mia's private test recipient")
        if role == "viewer" and CUSTOMER in body:
            leaks.append(f"{path}: a looked-up contact")
    assert leaks == []
    if role == "admin":
        assert PRIVATE in bodies[f"/api/test-sends/{attempt.pk}/"]  # the sweep does see what it looks for
