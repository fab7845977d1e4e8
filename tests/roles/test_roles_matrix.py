"""Every URL pattern, pages and API, tried as anonymous, no role, viewer, marketing, engineering and admin.

The expected minimum role of each route is written here, independently of the views' own declarations:
a route that drifts to a looser permission, or a new route nobody classified, fails this test.
"""

import re

import pytest
from testkit.routes import HTML_UNDER_API, routes

ROLES = ["viewer", "marketing", "engineering", "admin"]
RANK = {None: -2, "norole": -1, **{role: i for i, role in enumerate(ROLES)}, "nobody": 99}

PUBLIC = {"health", "login", "logout", "password_reset", "password_reset_done", "password_reset_confirm",
          "password_reset_complete", "catalog:people_set_password"}  # fmt: skip
ANY_USER = {"password_change", "password_change_done", "api:tokens", "api:token-revoke", "api:token-rotate"}
# Called by Iterable, not people: a per-project secret, never a login or a token, opens them.
WEBHOOKS = {"api:health-webhook"}
# Another system's service account alone (a permission given to that account, in no role).
NOBODY = {"api:job-opt-outs"}

# First match wins (on the route's name, or its path for the entity pages); everything else needs at least
# the viewer role.
MINIMUM_ROLE = [
    (r"^/projects/.+/$", "admin"),  # a project's connection: where its key goes
    (r"^catalog:people_", "admin"),  # users and roles
    (r"^catalog:job_|^api:job-", "admin"),  # seed jobs write and delete people in Iterable
    (r"recipient.approve", "admin"),  # a second person with the manage permission approves a test recipient
    (r"acknowledge", "marketing"),  # health alerts: the roles that act on notifications
    (r"contact.lookup|contact_lookup", "marketing"),
    (r"proof|test-send", "marketing"),
    (r"resync", "engineering"),
    (r"health-backfill", "engineering"),  # reads Iterable's campaign metrics, like a sync
    (r"sync_start|sync_orphan_add", "engineering"),
    (r"_create$|_edit$|_delete$|catalog_import", "engineering"),
]


def minimum_role(name: str, path: str = "") -> str | None:
    if name in PUBLIC:
        return None
    if name in ANY_USER:
        return "norole"
    if name in NOBODY:
        return "nobody"
    if path.startswith("/projects/") and not re.search(r"_create$|_edit$|_delete$", name):
        return "viewer"
    return next(
        (
            role
            for pattern, role in MINIMUM_ROLE
            if re.search(pattern, name) or (pattern.startswith("^/") and re.search(pattern, path))
        ),
        "viewer",
    )


def test_every_route_is_classified_and_found():
    found = routes()
    assert len(found) > 100
    unnamed = [path for path, name in found if not name or name.endswith(":")]
    assert unnamed == []


@pytest.mark.parametrize("role", [None, "norole", *ROLES])
def test_permission_matrix(demo, client, user_in_role, role):
    from rest_framework.test import APIClient

    from catalog.tokens.services import api_token_create

    api = APIClient()
    if role is not None:
        user = user_in_role(None if role == "norole" else role, username=f"matrix-{role}")
        client.force_login(user)
        _, token = api_token_create(actor=user, user=user, name="matrix")
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    problems = []
    for path, name in routes():
        if name in WEBHOOKS:
            status = (api.get(path).status_code, api.post(path, {}, format="json").status_code)
            if status != (405, 401):
                problems.append(f"{path} ({name}): {role} got {status}, not 405 for GET and 401 without the secret")
            continue
        needed = minimum_role(name, path)
        is_api = path.startswith("/api/") and name not in HTML_UNDER_API
        response = (api if is_api else client).get(path)
        status = response.status_code
        post_only = status == 405 and needed is not None and (role is None or RANK[role] < RANK[needed])
        if post_only:
            # A POST-only route answers GET with 405 whoever asks: what matters is that the POST is refused.
            response = (api if is_api else client).post(path, {})
            status = response.status_code
        to_login = status == 302 and "/login/" in response.get("Location", "")
        if status >= 500:
            problems.append(f"{path} ({name}): {status} for {role}")
        elif needed is None:
            continue
        elif role is None:
            if not (to_login or (path.startswith("/api/") and status == 401) or (post_only and status == 403)):
                problems.append(f"{path} ({name}): anonymous got {status}, not the login")
        elif RANK[role] < RANK[needed]:
            if status != 403:
                problems.append(f"{path} ({name}): {role} got {status}, needs {needed}")
            write = (api if is_api else client).post(path, {})
            if write.status_code not in {403, 405}:
                problems.append(f"{path} ({name}): {role} POST got {write.status_code}, needs {needed}")
        elif status in {401, 403} or to_login:
            problems.append(f"{path} ({name}): {role} got {status}, but {needed} may")
    assert problems == []


def test_each_role_holds_exactly_the_permissions_roles_py_lists(db):
    from django.contrib.auth.models import Group

    from catalog.roles import ROLE_PERMISSIONS

    for role, names in ROLE_PERMISSIONS.items():
        held = Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")
        assert {f"{app}.{codename}" for app, codename in held} == set(names), role
