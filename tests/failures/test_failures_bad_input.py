"""A catalogue of bad input, tried as a careless or hostile user would, against every page and every API
read: each answer is a clear 4xx or a page, never a 500, and nothing is written by a refused request."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from catalog.models import AuditEvent, Notification

BAD = [
    "\x00",
    "a\x00b",
    "²",
    "¹²³",
    "٣",  # an Arabic-Indic digit: isdigit() and int() say yes, the database's integers do not
    "-1",
    "0",
    "99999999999999999999999999",
    "1e9",
    "NaN",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "x" * 5000,
    "%",
    "../../etc/passwd",
    "[]",
    "{}",
    "[" * 1000 + "]" * 1000,  # JSON nested a thousand deep (Python's parser recurses)
    "null",
    " ",
    "\n\r\t",
    "\uff51",  # a full-width q
    "🙂",
]
PARAMS = [
    "q", "page", "project", "status", "ordering", "format", "notification", "mine", "owner", "selection",
    "channel", "message_type", "kind", "code", "severity", "since", "outcome", "state", "dry_run", "event",
    "role", "medium", "audience", "trigger_type", "has_violations", "category", "import_record", "limit",
    "offset", "data_center", "policy", "deprecated", "required", "iterable_id", "campaign_id", "email",
]  # fmt: skip


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _paths(small_catalog) -> list[str]:
    """Every page and API route with its parameters filled in (an object that exists, or one that does not)."""
    values = {
        "int": [str(small_catalog.project.pk), "999999"],
        "slug": [small_catalog.digest.key, "no-such-key"],
        "entity": ["message-types", "channels"],
        "str": ["weekly_digest"],
    }
    paths = set()
    for route in _routes(get_resolver().url_patterns):
        if route.startswith(("admin/", "^")) or "[" in route or "(" in route:
            continue
        names = re.findall(r"<(?:(\w+):)?\w+>", route)
        for choice in range(2):
            path = route
            for converter in names:
                options = values.get(converter or "str", ["1"])
                path = re.sub(r"<(?:\w+:)?\w+>", options[min(choice, len(options) - 1)], path, count=1)
            paths.add("/" + path.lstrip("^").rstrip("$"))
    return sorted(paths)


@pytest.mark.parametrize("bad", BAD, ids=range(len(BAD)))
def test_every_page_and_api_read_survives_bad_query_parameters(admin_page, api_admin, small_catalog, bad):
    paths = _paths(small_catalog)
    assert len(paths) > 60
    before = (Notification.objects.count(), AuditEvent.objects.exclude(action__startswith="api_token").count())
    params = dict.fromkeys(PARAMS, bad)
    spec = api_admin.get("/api/schema/", {"format": "json"}).json()
    documented = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in spec["paths"]]
    for path in paths:
        if path.startswith(("/accounts/logout", "/api/docs")):
            continue
        client = api_admin if path.startswith("/api/") else admin_page
        response = client.get(path, params)
        assert response.status_code < 500, (path, repr(bad)[:40], response.status_code)
        if response.status_code >= 400 and any(d.match(path) for d in documented):  # JSON where JSON is documented
            assert response["Content-Type"].startswith("application/json"), (path, response["Content-Type"])
            assert response.json()["errors"], path
    after = (Notification.objects.count(), AuditEvent.objects.exclude(action__startswith="api_token").count())
    assert after == before  # reads wrote nothing


FORMS = {
    "/catalog/import/": ["file"],
    "/resync/new/": ["project", "selection", "emails", "import_record", "changed_since", "compare", "dry_run"],
    "/resync/imports/": ["project", "file"],
    "/resync/contact/": ["project", "email"],
    "/notifications/new/": ["key", "name", "audience", "project", "medium", "trigger_type", "campaign_id",
                            "message_type", "templates", "owners", "status", "tags", "event", "journey"],
    "/journeys/new/": ["project", "iterable_id", "name", "folder", "link", "trigger_event_names", "state"],
    "/contacts/": ["email", "user_id", "project", "notification"],
    "/sync/start/": ["project"],
    "/test-recipients/": ["project", "email", "user_id", "label"],
}  # fmt: skip


@pytest.mark.parametrize("bad", BAD, ids=range(len(BAD)))
def test_forms_refuse_bad_values_with_a_page_not_a_500(admin_page, small_catalog, bad):
    forms = dict(FORMS)
    forms[f"/resync/settings/{small_catalog.project.pk}/"] = [
        "batch_size", "rate_per_second", "read_concurrency", "on_batch_error", "schedule_minutes",
        "scope_emailListIds", "schedule_enabled",
    ]  # fmt: skip
    forms[f"/notifications/{small_catalog.digest.key}/edit/"] = FORMS["/notifications/new/"]
    forms[f"/notifications/{small_catalog.digest.key}/test-send/"] = ["recipient", "mode", "template", "data_fields"]
    before = Notification.objects.count()
    for path, fields in forms.items():
        response = admin_page.post(path, dict.fromkeys(fields, bad))
        assert response.status_code < 500, (path, repr(bad)[:40], response.status_code)
    assert Notification.objects.count() == before
