"""A careless or hostile user against the doors that take files and bodies: the preferences CSV (page and API),
the catalog import, every list with hostile paging and filters, bodies of the wrong shape, and resync runs
cancelled, retried and applied out of turn. Each ends in a clear 4xx or form error naming the problem, or in
a finished record that names what it refused: never a 500, never a record left queued or running."""

import html
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.core.views import ENTITIES
from catalog.models import (
    AuditEvent,
    CatalogImport,
    Channel,
    ContactPreference,
    Notification,
    PreferenceImport,
    ResyncItem,
    ResyncRun,
)
from catalog.resync.services.rules import resync_settings_update

HEADER = "email,unsubscribed_channel_ids\n"

# (name, the file's bytes, what happens): ("refused", words the 400 names) or ("imported", kept, {line: words}).
CSV_CASES = [
    ("bom", b"\xef\xbb\xbf" + HEADER.encode() + b"a@example.com,1\n", ("imported", 1, {})),
    ("crlf", b"email,unsubscribed_channel_ids\r\na@example.com,1\r\nb@example.com,3\r\n", ("imported", 2, {})),
    ("latin1", HEADER.encode() + "zoë@example.com,1\n".encode("latin-1"), ("refused", "not UTF-8")),
    ("header-only", HEADER.encode(), ("imported", 0, {})),
    ("empty", b"", ("refused", "empty")),
    ("open-quote", HEADER.encode() + b'"a@example.com,1\nb@example.com,2\n', ("failed", "Line 2")),
    ("stray-quote", HEADER.encode() + b'a@exa"mple.com,1\n', ("imported", 0, {2: "invalid email"})),
    ("cell-200kB", HEADER.encode() + b"a@example.com," + b"1;" * 100_000 + b"\n", ("failed", "Line 2")),
    ("superscript-id", HEADER.encode() + "a@example.com,\u00b2\n".encode(), ("imported", 0, {2: "not an id"})),
    ("negative-id", HEADER.encode() + b"a@example.com,-1\n", ("imported", 0, {2: "not an id"})),
    ("exponent-id", HEADER.encode() + b"a@example.com,1e3\n", ("imported", 0, {2: "not an id"})),
    ("20-digit-id", HEADER.encode() + b"a@example.com,12345678901234567890\n", ("imported", 0, {2: "not an id"})),
    ("nul", HEADER.encode() + b"a@example.com,1\x00\n", ("refused", "NUL")),
    ("surrogate", HEADER.encode() + b"a@example.com,\xed\xa0\x80\n", ("refused", "not UTF-8")),
    ("unknown-column", b"email,shoe_size\na@example.com,4\n", ("refused", "shoe_size")),
    ("no-email-column", b"user_id\n1\n", ("refused", "no email column")),
    (
        "email-column-twice",
        b"email,email\na@example.com,b@example.com\n",
        ("refused", "given twice in the header: email"),
    ),
    (
        "array-column-twice",
        HEADER.encode()[:-1] + b",unsubscribed_channel_ids\na@example.com,1,3\n",
        ("refused", "twice"),
    ),
    ("both-names", HEADER.encode()[:-1] + b",unsubscribedChannelIds\na@example.com,1,3\n", ("refused", "twice")),
    ("bad-email", HEADER.encode() + b"not-an-address,1\n", ("imported", 0, {2: "email"})),
    ("short-row", HEADER.encode() + b"a@example.com\n", ("imported", 0, {2: "has 1 cells"})),
    ("unmanaged-id", HEADER.encode() + b"a@example.com,2\n", ("imported", 0, {2: "not managed"})),
    ("duplicate-emails", HEADER.encode() + b"a@example.com,1\nA@example.com,3\n", ("imported", 1, {3: "line 2"})),
    ("6MB", HEADER.encode() + b"a@example.com,1\n" * 400_000, ("too-big", "5")),
]


def _import_through(door, project, data: bytes, on_commit, admin_page, api_admin):
    """Upload through the page or the API, run the queued task, and return (the answer, the import or None)."""
    before = set(PreferenceImport.objects.values_list("pk", flat=True))
    with on_commit(execute=True):
        if door == "page":
            upload = SimpleUploadedFile("prefs.csv", data, content_type="text/csv")
            response = admin_page.post("/resync/imports/", {"project": project.pk, "file": upload})
        else:
            # The body is built by hand so that bytes JSON cannot hold (latin-1, a lone surrogate) reach the server.
            body = b'{"project": %d, "csv": "' % project.pk + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            body = body.replace(b"\r", b"\\r").replace(b"\n", b"\\n").replace(b"\x00", b"\\u0000") + b'"}'
            response = api_admin.generic("POST", "/api/resync/imports/", body, content_type="application/json")
    created = PreferenceImport.objects.exclude(pk__in=before)
    return response, created.first()


@pytest.mark.parametrize("door", ["page", "api"])
@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES])
def test_preferences_csv_ends_clearly(
    door, data, expected, small_catalog, admin_page, api_admin, django_capture_on_commit_callbacks
):
    project = small_catalog.project
    resync_settings_update(project=project, actor="tests", scope={"unsubscribedChannelIds": [1, 3]})
    response, record = _import_through(door, project, data, django_capture_on_commit_callbacks, admin_page, api_admin)
    assert response.status_code < 500
    body = response.content.decode("utf-8", "replace")
    if expected[0] in ("refused", "too-big"):
        assert response.status_code in (400, 413), body[:500]
        assert record is None
        if door == "api":
            assert response["Content-Type"].startswith("application/json")
        if expected[1] not in body and door == "api":
            # The API's JSON parser or text field refuses what the service never sees: it names why and where.
            assert any(w in body for w in ("JSON", "csv", "Null characters", "UTF-8", "utf-8", "too large")), body
        else:
            assert html.unescape(expected[1]) in html.unescape(body), body[-3000:]
        assert not ContactPreference.objects.exists()
        return
    assert response.status_code in (202, 302), body[:2000]
    record.refresh_from_db()
    assert record.status not in (PreferenceImport.Status.QUEUED, PreferenceImport.Status.RUNNING)
    if expected[0] == "failed":
        assert record.status == PreferenceImport.Status.FAILED
        assert expected[1] in record.last_error, record.last_error
        assert not ContactPreference.objects.exists()  # all or nothing: the lines before it are not kept either
        return
    _, kept, errors = expected
    assert record.status == PreferenceImport.Status.DONE, record.last_error
    assert ContactPreference.objects.filter(project=project).count() == kept
    found = {e["line"]: " ".join(e["errors"]) for e in record.errors}
    assert set(found) == set(errors), found
    for line, words in errors.items():
        assert words.lower() in found[line].lower(), found


# ---------------------------------------------------------------------------------------------- catalog import

NOTE = {
    "key": "new_one", "name": "New one", "description": "", "audience": "students", "project": "Test project",
    "medium": "Email", "trigger_type": "api_send", "campaign_id": 403, "event": None, "journey": None,
    "message_type": "GitLab Marketing", "templates": [], "owners": [], "status": "draft", "tags": [],
    "code_location": "",
}  # fmt: skip
YAML_HEAD = b"format: iterable-admin-catalog\nversion: 1\n"


def _file(*notes, **top) -> bytes:
    return json.dumps({"format": "iterable-admin-catalog", "version": 1, "notifications": list(notes), **top}).encode()


def _note(**changes) -> dict:
    return {**NOTE, **changes}


# (name, file name, bytes, where the refusal points, words it says); where None: the file imports.
CATALOG_CASES = [
    ("valid", "c.json", _file(_note()), None, None),
    ("yaml-alias", "c.yaml", YAML_HEAD + b"notifications:\n- &n {key: a1, name: A}\n- *n\n", "line 5", "aliases"),
    ("yaml-bomb", "c.yaml", b"a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n", "line 2", "aliases"),
    ("yaml-deep", "c.yaml", b"a: " + b"[" * 200 + b"]" * 200 + b"\n", "line 1", "deeper than 32"),
    ("json-deep", "c.json", b'{"a": ' + b"[" * 2000 + b"]" * 2000 + b"}", "line 1", "deeper than 32"),
    ("json-1e400", "c.json", _file(_note()).replace(b"403", b"1e400"), "notifications[0].campaign_id", "got inf"),
    ("json-nan", "c.json", _file(_note(campaign_id=float("nan"))), "notifications[0].campaign_id", "got nan"),
    ("json-huge-int", "c.json", _file(_note(campaign_id=10**30)), "notifications[0].campaign_id", "less than"),
    ("json-key-twice", "c.json", _file(_note())[:-3] + b', "key": "other_one"}]}', "file", "'key' is given twice"),
    (
        "json-section-twice",
        "c.json",
        b'{"format": "iterable-admin-catalog", "version": 1, "notifications": [], "notifications": []}',
        "file",
        "'notifications' is given twice",
    ),
    (
        "yaml-key-twice",
        "c.yaml",
        YAML_HEAD + b"notifications:\n- {key: a1, key: a2, name: A}\n",
        "line 4",
        "'key' is given twice",
    ),
    ("yaml-section-twice", "c.yaml", YAML_HEAD + b"notifications: []\nnotifications: []\n", "line 4", "twice"),
    ("top-list", "c.json", b"[1, 2]", "file", "must hold a mapping"),
    ("top-string", "c.yaml", b"just words\n", "file", "must hold a mapping"),
    ("top-null", "c.yaml", b"~\n", "file", "must hold a mapping"),
    ("notifications-string", "c.json", _file().replace(b"[]", b'"x"'), "notifications", "Must be a list"),
    ("notifications-scalars", "c.json", _file(1, None, "x", []), "notifications[0]", "Must be a mapping"),
    ("key-list", "c.json", _file(_note(key=[1])), "notifications[0].key", "Must be text"),
    ("tags-dict", "c.json", _file(_note(tags={"a": 1})), "notifications[0].tags", "Must be a list"),
    ("tags-nested", "c.json", _file(_note(tags=[[["x"]]])), "notifications[0].tags", "Must be text"),
    ("tags-number", "c.json", _file(_note(tags=[1])), "notifications[0].tags", "Must be text"),
    ("status-int", "c.json", _file(_note(status=5)), "notifications[0].status", "Must be text"),
    ("owners-string", "c.json", _file(_note(owners="x")), "notifications[0].owners", "Must be a list"),
    ("templates-huge", "c.json", _file(_note(templates=[10**30])), "notifications[0].templates[0]", "Unknown"),
    ("unknown-project", "c.json", _file(_note(project="Nope")), "notifications[0].project", "Unknown project"),
    ("project-int", "c.json", _file(_note(project=1)), "notifications[0].project", "Must be text"),
    ("same-key-twice", "c.json", _file(_note(), _note(name="Other")), "notifications[1].key", "also used by"),
    ("json-nul-escape", "c.json", _file(_note(name="a\x00b")), "notifications[0].name", "NUL"),
    ("json-nul-in-tag", "c.json", _file(_note(tags=["a\x00b"])), "notifications[0].tags[0]", "NUL"),
    ("json-surrogate", "c.json", _file(_note(tags=["\ud800"])), "notifications[0].tags[0]", "surrogate"),
    ("yaml-nul-escape", "c.yaml", YAML_HEAD + b'notifications:\n- {key: "a\\0b"}\n', "notifications[0].key", "NUL"),
    ("yaml-python-tag", "c.yaml", b"a: !!python/object/apply:os.system ['true']\n", "line 1", "constructor"),
    ("yaml-date-key", "c.yaml", YAML_HEAD + b"notifications:\n- key: 2024-01-01\n", "notifications[0].key", "text"),
    ("wrong-format", "c.json", json.dumps({"format": "other", "version": 1}).encode(), "format", "Expected"),
    (
        "10MB-description",
        "c.json",
        _file(_note(description="d" * 10_000_000)),
        "notifications[0].description",
        "10,000",
    ),
    ("10MB-tags", "c.json", _file(_note(tags=["t" * 100] * 100_000)), "notifications[0].tags", "At most 200"),
    (
        "channel-twice",
        "c.json",
        json.dumps(
            {
                "format": "iterable-admin-catalog",
                "version": 1,
                "channels": [
                    {
                        "project": "Test project",
                        "iterable_id": 7,
                        "name": "A",
                        "channel_type": "Marketing",
                        "medium": "Email",
                    },
                    {
                        "project": "Test project",
                        "iterable_id": 7,
                        "name": "B",
                        "channel_type": "Marketing",
                        "medium": "Email",
                    },
                ],
            }
        ).encode(),
        "channels[1]",
        "as channels[0]",
    ),
]
# Refused by the request itself (the form or the file's text), before anything is queued.
CATALOG_REFUSED_AT_ONCE = [
    ("21MB", "c.json", b" " * (21 * 1024 * 1024) + b"{}", "larger than 20 MB"),
    ("latin-1", "c.yaml", YAML_HEAD + "name: zoë\n".encode("latin-1"), "not UTF-8"),
    ("empty", "c.yaml", b"", "empty"),
    ("blank", "c.yaml", b"  \n\n", "empty"),
    ("nul-byte", "c.yaml", YAML_HEAD + b"a: \x00\n", "NUL"),
]


def _catalog_state():
    return sorted(Notification.objects.values_list("key", "name", "tags", "campaign_id")), Channel.objects.count()


@pytest.mark.parametrize(
    ("filename", "data", "where", "words"), [c[1:] for c in CATALOG_CASES], ids=[c[0] for c in CATALOG_CASES]
)
def test_catalog_import_ends_clearly(
    filename, data, where, words, small_catalog, admin_page, django_capture_on_commit_callbacks
):
    before = _catalog_state()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_page.post("/catalog/import/", {"file": SimpleUploadedFile(filename, data)})
    assert response.status_code == 302, response.content.decode()[-2000:]
    record = CatalogImport.objects.get()
    assert response["Location"] == f"/catalog/import/{record.pk}/"
    page = html.unescape(admin_page.get(response["Location"]).content.decode())
    if where is None:
        assert record.status == CatalogImport.Status.DONE, record.errors
        assert Notification.objects.filter(key="new_one").exists()
        return
    assert record.status == CatalogImport.Status.REFUSED, record.errors
    assert _catalog_state() == before  # all or nothing
    first = record.errors[0]
    assert first["location"].startswith(where), record.errors
    assert words in first["message"], record.errors
    assert first["message"] in page


@pytest.mark.parametrize(
    ("filename", "data", "words"),
    [c[1:] for c in CATALOG_REFUSED_AT_ONCE],
    ids=[c[0] for c in CATALOG_REFUSED_AT_ONCE],
)
def test_catalog_import_refuses_what_is_not_a_text_file_at_once(filename, data, words, small_catalog, admin_page):
    before = _catalog_state()
    response = admin_page.post("/catalog/import/", {"file": SimpleUploadedFile(filename, data)})
    assert response.status_code == 400
    assert words in html.unescape(response.content.decode())
    assert not CatalogImport.objects.exists()
    assert _catalog_state() == before


# ---------------------------------------------------------------------------------------------- lists and bodies

HOSTILE_QUERIES = [
    {"page": "-1"},
    {"page": "0"},
    {"page": str(10**30)},
    {"page": "1e3"},
    {"page": "last"},
    {"page_size": str(10**9), "limit": str(10**9)},
    {"limit": "-5", "offset": "-5"},
    {"offset": str(10**30)},
    {"limit": str(10**30)},
    {"ordering": "password"},
    {"ordering": "-" + "x" * 10_000},
    {"status": "no-such-choice", "state": "no-such-choice", "kind": "no-such-choice"},
    {"project": "a\x00b", "q": "a\x00b", "email": "a\x00b"},
    {"q": "x" * 10_000, "project": "9" * 10_000},
    {"since": "9999-99-99", "changed_since": "-1"},
]


def _list_paths(api_admin) -> list[str]:
    spec = api_admin.get("/api/schema/", {"format": "json"}).json()
    return sorted(p for p, ops in spec["paths"].items() if "get" in ops and "{" not in p and "schema" not in p)


LIST_PAGES = [
    "/", "/notifications/", "/audit/", "/resync/", "/resync/imports/", "/resync/contacts/", "/resync/settings/",
    "/test-sends/", "/test-recipients/", "/sync/", "/sync/findings/", "/sync/guard/", "/sync/orphans/",
    "/api/tokens/", "/contacts/", *(f"/{entity.slug}/" for entity in ENTITIES.values()),
]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
def test_every_api_list_answers_hostile_paging_and_filters_with_a_page_or_a_json_400(api_admin, small_catalog, query):
    paths = _list_paths(api_admin)
    assert len(paths) > 15
    for path in paths:
        response = api_admin.get(path, query)
        assert response.status_code < 500, (path, query, response.status_code)
        assert response["Content-Type"].startswith("application/json"), (path, response["Content-Type"])
        body = response.json()
        if response.status_code >= 400:
            assert response.status_code in (400, 404), (path, query, response.status_code)
            assert body["errors"], (path, body)
        elif isinstance(body, dict) and "results" in body:
            assert len(body["results"]) <= 1000, path  # a page is bounded whatever limit is asked for


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
def test_every_list_page_answers_hostile_paging_and_filters(admin_page, small_catalog, query):
    for path in LIST_PAGES:
        assert admin_page.get(path).status_code == 200, path
        response = admin_page.get(path, query)
        assert response.status_code in (200, 302, 400, 404), (path, query, response.status_code)
        if response.status_code == 200:
            assert b"<html" in response.content[:500].lower() or b"<!doctype" in response.content[:200].lower()


BODIES = [
    ("array", b"[]"),
    ("array-of-junk", b'[1, "x", null]'),
    ("string", b'"x"'),
    ("null", b"null"),
    ("number", b"1e400"),
    ("nan", b"NaN"),
    ("deep", b"[" * 5000 + b"]" * 5000),
    ("not-json", b"{'a': 1}"),
    ("5MB", b'{"name": "' + b"x" * (5 * 1024 * 1024 + 10) + b'"}'),
    ("nul-key", b'{"\\u0000": 1, "name": "a\\u0000"}'),
    ("latin-1", '{"name": "zoë"}'.encode("latin-1")),
]


def _write_operations(api_admin, small_catalog) -> list[tuple[str, str]]:
    spec = api_admin.get("/api/schema/", {"format": "json"}).json()
    operations = []
    for path, ops in spec["paths"].items():
        for method in ("post", "put", "patch"):
            if method in ops:
                filled = path.replace("{key}", small_catalog.digest.key)
                filled = filled.replace("{id}", "1").replace("{pk}", "1").replace("{project_pk}", "1")
                operations.append((method, filled))
    return operations


@pytest.mark.parametrize(("body",), [(b[1],) for b in BODIES], ids=[b[0] for b in BODIES])
def test_every_write_refuses_a_body_of_the_wrong_shape_with_a_json_4xx(api_admin, small_catalog, body):
    operations = _write_operations(api_admin, small_catalog)
    assert len(operations) > 15
    before = _catalog_state(), ResyncRun.objects.count(), PreferenceImport.objects.count()
    for method, path in operations:
        response = api_admin.generic(method.upper(), path, body, content_type="application/json")
        assert response.status_code < 500, (method, path, response.status_code, response.content[:300])
        assert response["Content-Type"].startswith("application/json"), (method, path, response["Content-Type"])
        if response.status_code < 400:
            continue  # an action that takes no body (cancel, rotate...) may go through; what it wrote is checked below
        assert response.json()["errors"], (method, path)
    assert (_catalog_state(), ResyncRun.objects.count(), PreferenceImport.objects.count()) == before


# ---------------------------------------------------------------------------------------------- resync runs out of turn

RESYNC_ROWS = [
    {"email": "qa.student@example.com", "email_list_ids": [7001]},
    {"email": "New.Person@example.com", "emailListIds": [7002]},
]
RESYNC_WRITE = "POST /api/users/bulkUpdateSubscriptions"


def test_a_run_cancelled_retried_and_applied_by_two_clients_ends_clearly_and_writes_each_contact_once(
    demo, client_for, django_capture_on_commit_callbacks
):
    student = demo.student
    resync_settings_update(project=student, actor="tests", scope={"emailListIds": [7001, 7002]}, rate_per_second=0)
    first, second = client_for("engineering"), client_for("admin")
    response = first.post("/api/resync/preferences/", {"project": student.pk, "rows": RESYNC_ROWS}, format="json")
    assert response.status_code == 201, response.json()
    emails = [row["email"] for row in RESYNC_ROWS]

    # A real run, queued (its task not run yet), cancelled by both clients one after the other.
    body = {"project": student.pk, "emails": emails, "dry_run": False}
    response = first.post("/api/resync/runs/", body, format="json")
    assert response.status_code == 201, response.json()
    run_id = response.json()["id"]
    answers = [client.post(f"/api/resync/runs/{run_id}/cancel/") for client in (second, first)]
    assert [a.status_code for a in answers] == [200, 200]
    assert all(a.json()["status"] == "cancelled" for a in answers)
    assert AuditEvent.objects.filter(action="resync_cancel").count() == 1  # the second cancel changed nothing

    # Applying a real run is refused, saying why, from either client.
    for client in (first, second):
        response = client.post(f"/api/resync/runs/{run_id}/apply/")
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"] == "Only a dry run can be applied."

    # Its contacts failed (as if Iterable refused them), then both clients retry at once: sent once each.
    ResyncItem.objects.filter(run_id=run_id).update(status=ResyncItem.Status.FAILED, error_code="x")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post(f"/api/resync/runs/{run_id}/retry-failed/") for client in (first, second)]
    assert all(a.status_code in (200, 400) for a in answers), [a.content for a in answers]
    # The second found the run queued by the first, its task waiting: nothing to retry, so nothing recorded.
    assert AuditEvent.objects.filter(action="resync_retry_failed").count() == 1
    run = ResyncRun.objects.get(pk=run_id)
    assert run.status == ResyncRun.Status.DONE, (run.status, run.last_error)
    assert not run.items.exclude(status=ResyncItem.Status.DONE).exists()
    written = [
        update["email"]
        for request in demo.emulator.requests(path=RESYNC_WRITE)
        for update in request["body"]["updateSubscriptionsRequests"]
    ]
    assert sorted(written) == sorted(e.lower() for e in emails)

    # A dry run applied by both clients: two real runs, each finished, nothing left queued or running.
    with django_capture_on_commit_callbacks(execute=True):
        response = first.post("/api/resync/runs/", {"project": student.pk, "emails": emails}, format="json")
    dry = response.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post(f"/api/resync/runs/{dry}/apply/") for client in (first, second)]
    assert [a.status_code for a in answers] == [201, 201]
    assert not ResyncRun.objects.filter(status__in=["queued", "running"]).exists()


def test_a_stalled_run_can_be_retried_by_two_clients_and_ends_done(
    demo, client_for, django_capture_on_commit_callbacks
):
    student = demo.student
    resync_settings_update(project=student, actor="tests", scope={"emailListIds": [7001, 7002]}, rate_per_second=0)
    first, second = client_for("engineering"), client_for("admin")
    first.post("/api/resync/preferences/", {"project": student.pk, "rows": RESYNC_ROWS}, format="json")
    body = {"project": student.pk, "emails": [row["email"] for row in RESYNC_ROWS], "dry_run": False}
    run_id = first.post("/api/resync/runs/", body, format="json").json()["id"]
    # Its task was lost half-way: "running", nobody holding it.
    ResyncRun.objects.filter(pk=run_id).update(status=ResyncRun.Status.RUNNING, lease_owner="", lease_until=None)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post(f"/api/resync/runs/{run_id}/retry-failed/") for client in (first, second)]
    assert all(a.status_code in (200, 400) for a in answers), [a.content for a in answers]
    assert answers[0].status_code == 200
    run = ResyncRun.objects.get(pk=run_id)
    assert run.status == ResyncRun.Status.DONE, (run.status, run.last_error)
    written = [
        update["email"]
        for request in demo.emulator.requests(path=RESYNC_WRITE)
        for update in request["body"]["updateSubscriptionsRequests"]
    ]
    assert len(written) == len(set(written)) == 2


# (rows, the one rejected row's words); every row here is rejected by line, none is kept, the request is a 201.
UPSERT_ROWS = [
    ([{"email": "a@example.com", "unsubscribed_channel_ids": [10**30]}], "are not ma"),
    ([{"email": "a@example.com", "unsubscribed_channel_ids": [True]}], "not an id: True"),
    ([{"email": "a@example.com", "unsubscribed_channel_ids": [1.0]}], "not an id: 1.0"),
    ([{"email": "a@example.com", "unsubscribed_channel_ids": "1"}], "must be a list"),
    ([{"email": "a@example.com", "unsubscribed_channel_ids": {"a": 1}}], "must be a list"),
    ([{"email": ["a@example.com"]}], "email is required"),
    ([{"email": None}], "email is required"),
    ([{"email": "a@example.com", "user_id": ["x"]}], "user_id must be text"),
    ([{"email": "a@example.com", "user_id": "x" * 10_000}], "at most 200 characters"),
    ([{"email": "a" * 300 + "@example.com"}], "email"),
    ([{"email": "a@example.com", "unsubscribed_channel_ids": [1], "unsubscribedChannelIds": [3]}], "given twice"),
    ([[1]], "a row must be an object"),
    (["x"], "a row must be an object"),
    ([{}], "email is required"),
    ([{"email": "a@example.com", "shoe_size": 4}], "unknown field 'shoe_size'"),
]


@pytest.mark.parametrize(("rows", "words"), UPSERT_ROWS, ids=range(len(UPSERT_ROWS)))
def test_preference_upsert_rejects_each_bad_row_by_line(small_catalog, api_admin, rows, words):
    project = small_catalog.project
    resync_settings_update(project=project, actor="tests", scope={"unsubscribedChannelIds": [1, 3]})
    body = {"project": project.pk, "rows": [*rows, {"email": "kept@example.com", "unsubscribed_channel_ids": [3]}]}
    response = api_admin.post("/api/resync/preferences/", body, format="json")
    assert response.status_code == 201, response.content
    result = response.json()
    assert result["status"] == "done" and result["accepted"] == 1 and result["rejected"] == 1
    [error] = result["errors"]
    assert error["line"] == 1 and words in " ".join(error["errors"]), error
    assert list(ContactPreference.objects.values_list("email", flat=True)) == ["kept@example.com"]
