"""The surfaces that landed after the bad-input catalogue, attacked the same way: the seed jobs (uploads, rows
pushed, a query source, schedules, opt-outs, deletion approvals), users & roles, Activity and its CSV, home,
test sends and their preview, contact lookups by their audit event, htmx partials and API tokens. Every role
and anonymous; hostile ids, parameters, headers, methods and bodies. Each answer is a clear 4xx (JSON where
the API documents JSON), a form error or a page: never a 500, never a write by a refused request."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from catalog.jobs.services.setup import job_save
from catalog.models import AuditEvent, Job, JobItem, JobRun
from catalog.tokens.services import api_token_create

NEW_SURFACES = ("jobs/", "people/", "audit/", "contacts/", "test-sends/", "test-recipients/", "welcome/",
                "api/jobs", "api/tokens", "api/test-sends", "api/test-recipients", "api/contacts",
                "api/audit-events")  # fmt: skip
ROLES = [None, "norole", "viewer", "marketing", "engineering", "admin"]
HOSTILE_IDS = ["0", "2147483648", "9223372036854775808", "99999999999999999999999999", "-1", "٣", "%00", "1e9"]
HOSTILE_VALUES = [
    "\x00", "x" * 10_000, "-1", "1e9", "9223372036854775808", "٣", "²", "0001-01-01", "9999-12-31",
    "9999-12-31T23:59:59+14:00", "0000-00-00", "Mars/Olympus", "' OR 1=1 --", "[" * 500, "🙂", "%",
]  # fmt: skip
PARAMS = ["page", "q", "status", "who", "action", "object_type", "object", "since", "until", "tz", "job",
          "project", "ordering", "limit", "offset", "origin", "dry_run", "kind", "outcome", "notification",
          "recipient", "verb", "format", "mine", "state", "role", "cron", "schedule_cron", "email",
          "user_id"]  # fmt: skip


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _fill(route: str, value: str) -> str:
    """A route with every parameter given ``value`` (regex routes made plain)."""
    path = re.sub(r"<(?:\w+:)?\w+>", value, route)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", value, path)
    return "/" + path.replace("^", "").replace("$", "")


def new_surface_routes() -> list[str]:
    routes = [r for r in _routes(get_resolver().url_patterns) if r.replace("^", "").startswith(NEW_SURFACES)]
    return sorted({r for r in routes if "[\\s\\S]" not in r})


@pytest.fixture
def world(demo, user_in_role):
    """Objects of each new kind, so ids that exist are tried too: a job, its runs, a deletion waiting for
    approval, a test recipient, an audit event of a contact lookup, a token."""
    admin = user_in_role("admin", username="attack-admin")
    job = job_save(actor=admin, data={"project": demo.student, "name": "sync", "action": "update_profiles",
                                      "mapping": [{"column": "first", "field": "firstName"}]})  # fmt: skip
    deletion = job_save(actor=admin, data={"project": demo.student, "name": "deletion", "action": "delete_users"})
    run = JobRun.objects.create(
        job=job, status=JobRun.Status.DONE, dry_run=True, total=1, batch_size=100, rate_per_second=5
    )
    JobItem.objects.create(run=run, row_no=1, key="a@example.com", payload={"email": "a@example.com"})
    waiting = JobRun.objects.create(
        job=deletion, status=JobRun.Status.AWAITING_APPROVAL, dry_run=False, total=1, batch_size=100, rate_per_second=5
    )
    token, _ = api_token_create(actor=admin, user=admin, name="attack")
    return {"job": job, "deletion": deletion, "run": run, "waiting": waiting, "admin": admin, "token": token}


def _clients(user_in_role, role):
    """(page client, API client) for a role; None is anonymous."""
    from django.test import Client

    page, api = Client(), APIClient()
    if role is not None:
        user = user_in_role(None if role == "norole" else role, username=f"attack-{role}")
        page.force_login(user)
        _, raw = api_token_create(actor=user, user=user, name="attack")
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return page, api


def _writes() -> tuple:
    return (Job.objects.count(), JobRun.objects.count(), JobItem.objects.count(),
            AuditEvent.objects.exclude(action__startswith="api_token").count())  # fmt: skip


def _check(response, where, problems):
    if response.status_code >= 500:
        problems.append((where, response.status_code, response.content[-400:]))


@pytest.mark.parametrize("role", ROLES)
def test_every_new_route_survives_hostile_ids_params_headers_and_methods(world, user_in_role, role):
    page, api = _clients(user_in_role, role)
    routes = new_surface_routes()
    assert len(routes) > 25, routes
    problems: list = []
    ids = [str(world["run"].pk), str(world["job"].pk), *HOSTILE_IDS]
    for route in routes:
        for value in ids:
            path = _fill(route, value)
            client = api if path.startswith("/api/") else page
            for method in ("get", "head", "options", "put", "patch", "delete"):
                _check(getattr(client, method)(path), (method, path), problems)
            _check(client.get(path, HTTP_HX_REQUEST="true", HTTP_ACCEPT="text/x-nonsense"), ("hx", path), problems)
            _check(client.post(path, b"\x00\xff{", content_type="application/json"), ("post-bytes", path), problems)
        path = _fill(route, str(world["job"].pk))
        client = api if path.startswith("/api/") else page
        for bad in HOSTILE_VALUES:
            _check(client.get(path, dict.fromkeys(PARAMS, bad)), ("params", path, bad[:20]), problems)
        _check(client.get(path, {"page": ["1", "2"], "status": ["a", "b"]}), ("lists", path), problems)
        # Bytes no form encoder would send: a lone surrogate in UTF-8, latin-1, a bare percent sign.
        raw = "q=%ED%A0%80&who=%ff&since=%E9t%E9&page=%&tz=%00&object=%C0%AF"
        _check(client.get(f"{path}?{raw}"), ("raw-query", path), problems)
        _check(client.get(path, HTTP_COOKIE="x=" + "a" * 20_000), ("cookie", path), problems)
    assert not problems, problems[:20]


# ---------------------------------------------------------------------------------------------- the jobs' API writes

WRITING_CTE = "WITH d AS (DELETE FROM auth_user RETURNING *) SELECT * FROM d"
BIG = [2**31, 2**63, 10**30, -(2**63) - 1]


def _job_bodies(project_id: int) -> list:
    base = {"project": project_id, "name": "n", "action": "update_profiles",
            "mapping": [{"column": "first", "field": "firstName"}]}  # fmt: skip
    bodies: list = [{**base, field: n} for field in ("batch_size", "rate_per_second", "read_concurrency", "row_cap",
                                                     "query_timeout_seconds", "list_id", "channel_id", "campaign_id",
                                                     "project") for n in BIG
               if not (n == 2**31 and field.endswith("_id"))]  # fmt: skip
    bodies += [
        {**base, "name": "\ud800"}, {**base, "name": "a\x00b"}, {**base, "description": "d" * 1_000_000},
        {**base, "mapping": "x"}, {**base, "mapping": [[1]]}, {**base, "mapping": [{"column": "\ud800", "field": "f"}]},
        {**base, "mapping": [{"column": "c", "field": "f"}] * 10_000}, {**base, "mapping": None},
        {**base, "retention": [{"column": "c", "rule": "equals", "value": {"a": [{"b": "\ud800"}]}}]},
        {**base, "retention": [{"column": "c", "rule": "within_days", "value": 10**30}]},
        {**base, "retention": [{"column": "c", "rule": "within_days", "value": 1.5}]},
        {**base, "retention": [{"column": "c", "rule": "equals", "value": "\x00"}]},
        {**base, "retention": "x"}, {**base, "retention": [None]},
        {**base, "source": "query", "db_alias": "default", "query": "DELETE FROM auth_user"},
        {**base, "source": "query", "db_alias": "default", "query": WRITING_CTE},
        {**base, "source": "query", "db_alias": "default", "query": "SELECT 1; DROP TABLE auth_user"},
        {**base, "source": "query", "db_alias": "\x00", "query": "SELECT 1"},
        {**base, "source": "query", "db_alias": "default", "query": "SELECT '\ud800'"},
        {**base, "source": "query", "db_alias": "default", "query": "SELECT 1", "schedule_enabled": True,
         "schedule_cron": "0 0 31 2 *"},
        {**base, "source": "query", "db_alias": "default", "query": "SELECT 1", "schedule_enabled": True,
         "schedule_cron": "x" * 5000},
        {**base, "source": "query", "db_alias": "default", "query": "SELECT 1", "schedule_enabled": True,
         "schedule_cron": "*/0 * * * *"},
        {**base, "source": "query", "db_alias": "default", "query": "SELECT 1", "schedule_enabled": True,
         "schedule_cron": None},
        {**base, "action": "opt_out", "source": "events", "channel_id": 2**63, "channel_confirmed": "x"},
        {**base, "action": "list_add", "list_id": 2**63 - 1},
        {**base, "email_column": "", "user_id_column": ""},
        {**base, "on_invalid": "\x00"}, {**base, "shoe_size": 4}, {**base, "id": 5},
        [base], "x", None, 5, {"project": [1]}, {"project": {"id": 1}}, {"project": "1"}, {"project": True},
    ]  # fmt: skip
    return bodies


def _api_problems(response, where, problems):
    if response.status_code >= 500:
        problems.append((where, response.status_code, response.content[-300:]))
    elif response.status_code >= 400 and not response["Content-Type"].startswith("application/json"):
        problems.append((where, response.status_code, "not JSON", response["Content-Type"]))


def _raw_json(api, method, path, text: str):
    """Send JSON text as bytes (lone surrogates and all: JSON escapes them, the test client's encoder would not)."""
    return api.generic(method, path, text.encode("utf-8", "surrogatepass"), content_type="application/json")


def test_job_api_writes_refuse_hostile_bodies(world, user_in_role, demo):
    import json

    _, api = _clients(user_in_role, "admin")
    problems: list = []
    job = world["job"]
    before = _writes()
    for body in _job_bodies(demo.student.pk):
        text = json.dumps(body)
        created = _raw_json(api, "POST", "/api/jobs/", text)
        _api_problems(created, ("create", text[:120]), problems)
        if created.status_code < 300:
            problems.append(("accepted", text[:200]))
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "project"}
            text = json.dumps(body)
        _api_problems(_raw_json(api, "PATCH", f"/api/jobs/{job.pk}/", text), ("patch", text[:120]), problems)
    assert not problems, problems
    assert Job.objects.count() == before[0]


# ---------------------------------------------------------------------------------------------- uploaded files

HEAD = b"email,user_id,first\n"
# (name, file name, bytes, what the run ends as: "done" with (rows, invalid) or "failed" with words)
FILES = [
    ("bom", "a.csv", b"\xef\xbb\xbf" + HEAD + b"a@example.com,,Ada\n", ("done", 1, 0)),
    ("utf16", "a.csv", HEAD.decode().encode("utf-16") + "a@example.com,,Ada\n".encode("utf-16"), ("failed", "UTF-8")),
    ("latin1", "a.csv", HEAD + "zoë@example.com,,Zoë\n".encode("latin-1"), ("failed", "UTF-8")),
    ("nul-in-header", "a.csv", b"em\x00ail,user_id,first\na@example.com,,Ada\n", ("done", 1, 1)),
    ("1MB-line", "a.csv", HEAD + b"a@example.com,," + b"x" * 1_000_000 + b"\n", ("failed", "CSV")),
    ("header-twice", "a.csv", b"email,email\na@example.com,b@example.com\n", ("failed", "twice")),
    ("empty-header", "a.csv", b"\n\n", ("failed", "No rows")),
    ("header-only", "a.csv", HEAD, ("failed", "No rows")),
    ("jsonl-bad-line", "a.jsonl", b'{"email": "a@example.com", "first": "A"}\n{oops\n', ("done", 2, 1)),
    ("jsonl-surrogate-key", "a.jsonl", b'{"email": "a@example.com", "\\ud800": 1}\n', ("done", 1, 0)),
    ("jsonl-deep", "a.jsonl", b'{"email": "a@example.com", "first": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
     ("done", 1, 1)),
    ("jsonl-huge-int", "a.jsonl", b'{"email": "a@example.com", "first": 1' + b"0" * 5000 + b"}\n", ("done", 1, 1)),
    ("jsonl-nan", "a.jsonl", b'{"email": "a@example.com", "first": NaN}\n', ("done", 1, 1)),
    ("jsonl-array", "a.jsonl", b"[1, 2]\n", ("done", 1, 1)),
    ("idn-email", "a.csv", HEAD + " Ada@BÜCHER.example ,,Ada\n".encode(), ("done", 1, 0)),
    ("email-with-space", "a.csv", HEAD + b"a b@example.com,,Ada\n", ("done", 1, 1)),
    ("traversal-name", "../../../etc/passwd.csv", HEAD + b"a@example.com,,Ada\n", ("done", 1, 0)),
    ("dotfile-name", ".csv", HEAD + b"a@example.com,,Ada\n", ("done", 1, 0)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "expected"), [c[1:] for c in FILES], ids=[c[0] for c in FILES])
def test_an_uploaded_file_ends_in_a_clear_state(world, user_in_role, name, data, expected, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog.jobs.services.process import job_process

    settings.JOBS_UPLOAD_DIR = tmp_path / "uploads"
    page, _ = _clients(user_in_role, "admin")
    job = world["job"]
    before = set(JobRun.objects.values_list("pk", flat=True))
    answer = page.post(f"/jobs/{job.pk}/run/", {"file": SimpleUploadedFile(name, data), "dry_run": "on"})
    assert answer.status_code == 302, answer.content[-2000:]
    run_id = JobRun.objects.exclude(pk__in=before).get().pk
    outcome = job_process(run_id=run_id, slice_seconds_=30)
    run = JobRun.objects.get(pk=run_id)
    assert run.status not in (JobRun.Status.QUEUED, JobRun.Status.RUNNING), (outcome, run.status)
    # The uploaded copy stays inside the upload folder, and is gone once read.
    assert not list((tmp_path / "uploads").iterdir())
    if expected[0] == "failed":
        assert run.status == JobRun.Status.FAILED, (run.status, run.last_error)
        assert expected[1] in run.last_error, run.last_error
        assert not run.items.exists()
        return
    assert run.status == JobRun.Status.DONE, (run.status, run.last_error)
    assert (run.total, run.invalid) == expected[1:], [(i.row_no, i.error_message) for i in run.items.all()]


# ---------------------------------------------------------------------------------------------- the query source

QUERY_CASES = [
    # A query that never ends is stopped at the job's timeout.
    ("forever", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) AS email FROM r",
     "failed"),
    ("over-the-cap", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 50) "
     "SELECT n AS email FROM r", "cap"),
    ("no-such-table", "SELECT email FROM no_such_table", "query failed"),
    ("lock-for-update", "SELECT username AS email FROM auth_user FOR UPDATE", None),
    ("nothing", "SELECT 'a@example.com' AS email WHERE 1 = 0", "No rows"),
    ("bad-rows", "SELECT 'not an address' AS email", None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "query", "words"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
def test_a_pulled_query_ends_in_a_clear_state_and_writes_nothing(world, name, query, words):
    from django.contrib.auth.models import User

    from catalog.jobs.services.process import job_process
    from catalog.jobs.services.runs import job_run_start_query

    job = job_save(actor=world["admin"], data={"project": world["job"].project, "name": f"pull {name}",
                                               "action": "update_profiles", "source": "query", "db_alias": "default",
                                               "query": query, "row_cap": 10, "query_timeout_seconds": 1,
                                               "mapping": [{"column": "email", "field": "firstName"}]})  # fmt: skip
    users = User.objects.count()
    run = job_run_start_query(actor=world["admin"], job=job, dry_run=True)
    job_process(run_id=run.pk, slice_seconds_=30)
    run.refresh_from_db()
    assert run.status in (JobRun.Status.DONE, JobRun.Status.FAILED), run.status
    if words is not None:
        assert run.status == JobRun.Status.FAILED
        assert words.lower() in run.last_error.lower() or words == "failed", run.last_error
    assert User.objects.count() == users


# ---------------------------------------------------------------------------------------------- streamed downloads

STREAMED = ["/audit/export.csv", "/notifications/export.csv"]


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_streamed_downloads_finish_whatever_the_filters(world, user_in_role, role):
    """A streamed CSV fails while it is read, past its 200 answer: every hostile filter is read to the end here."""
    from catalog.audit.services import audit_record

    audit_record(actor=world["admin"], action="role_change", instance=world["admin"],
                 changes={"items": [1, 2], "role": {"before": "\x01", "after": "admin"},
                          "note": "=cmd|' /C calc'!A0"})  # fmt: skip
    page, _ = _clients(user_in_role, role)
    problems = []
    for path in STREAMED:
        for bad in [*HOSTILE_VALUES, ""]:
            response = page.get(path, dict.fromkeys(PARAMS, bad))
            if response.status_code >= 500:
                problems.append((path, bad[:20], response.status_code))
                continue
            try:
                body = b"".join(response.streaming_content) if response.streaming else response.content
            except Exception as error:  # the download would stop half-way in the browser
                problems.append((path, bad[:20], repr(error)[:200]))
                continue
            if response.status_code == 200 and path.endswith(".csv"):
                assert body.count(b"\n") >= 1, (path, bad)
    assert not problems, problems


@pytest.mark.parametrize("role", ROLES)
def test_home_answers_every_role_whatever_the_headers(world, user_in_role, role):
    page, _ = _clients(user_in_role, role)
    headers = [{}, {"HTTP_HX_REQUEST": "true"}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "\x00" * 10},
               {"HTTP_ACCEPT": "application/json"}, {"HTTP_ACCEPT_LANGUAGE": "x" * 5000},
               {"HTTP_COOKIE": "django_timezone=Mars/Olympus; tz=\x00"},
               {"HTTP_X_FORWARDED_FOR": "not-an-ip"}]  # fmt: skip
    for extra in headers:
        for params in ({}, dict.fromkeys(PARAMS, "9999-12-31"), {"page": "-1", "days": "99999999999"}):
            response = page.get("/", params, **extra)
            assert response.status_code in (200, 302, 403), (extra, params, response.status_code)


# ---------------------------------------------------------------------------------------------- shared lookups

ODD_LOOKUPS = [
    ("ada@example.com", []),
    ("ada@example.com", "text"),
    ("ada@example.com", {"projects": {"Student - US": 1}, "scope": "one project"}),
    ("ada@example.com", {"projects": [None], "scope": "one project"}),
    ("ada@example.com", {"projects": [["Student - US"]], "scope": "one project"}),
    ("ada@example.com", {"projects": "Student - US"}),
    ("ada@example.com", {"notification": {"key": "x"}}),
    ("ada@example.com", {"notification": ["x"]}),
    ("ada@example.com", {"notification": 5, "looked_up_by": ["email"]}),
    ("ada@example.com", {"scope": None, "projects": ["Student - US", "x"]}),
    ("", {}),
    ("x" * 300, {"looked_up_by": "userId"}),
]


@pytest.mark.parametrize(("identifier", "changes"), ODD_LOOKUPS, ids=range(len(ODD_LOOKUPS)))
def test_a_shared_lookup_whose_record_has_an_odd_shape_is_a_page_not_a_500(demo, user_in_role, identifier, changes):
    """The shared link reads its audit event's changes back: events written by older versions (or repaired by
    hand) may hold other shapes, which must end as "cannot be opened again", never a 500."""
    from catalog.contacts.services import LOOKUP_ACTION

    event = AuditEvent.objects.create(actor_label="someone", action=LOOKUP_ACTION, object_type="contact",
                                      object_repr=identifier[:200], changes=changes)  # fmt: skip
    page, _ = _clients(user_in_role, "marketing")
    response = page.get(f"/contacts/lookups/{event.pk}/")
    assert response.status_code in (200, 404), response.status_code


# ---------------------------------------------------------------------------------------------- Activity

ODD_CHANGES = [
    [], "text", 5, [1, [2, [3]]], {"items": {"items": []}}, {"keys": 1, "values": 2, "get": 3},
    {"role": {"before": [1, 2], "after": {"a": {"b": None}}}}, {"role": {"before": 1}}, {"": ""},
    {"x" * 500: "y" * 5_000}, {"a": {"before": "b", "after": "c", "extra": 1}}, {"looked_up_by": ["email"]},
    {"changes": [{"field": None}]}, {"rows": 10**30}, {"rows": float("inf")}, {"a": "\x01\x02<script>"},
    {"a": [{"before": 1, "after": 2}] * 50}, {"status": {"before": "bogus", "after": None}},
]  # fmt: skip


@pytest.mark.parametrize("action", ["role_change", "contact_lookup", "no_such_action"])
def test_activity_shows_events_of_any_shape(world, user_in_role, action):
    """Events written by older versions, by other services or repaired by hand: Activity, its CSV and the API
    show each in words, never a 500."""
    import json as json_module

    for changes in ODD_CHANGES:
        try:
            json_module.dumps(changes, allow_nan=False)
        except ValueError:
            continue  # a JSON column cannot hold it
        AuditEvent.objects.create(actor_label="someone", action=action, object_type="job",
                                  object_id=str(world["job"].pk), object_repr="sync", changes=changes)  # fmt: skip
    for role in ("viewer", "admin"):
        page, api = _clients(user_in_role, role)
        for path in ("/audit/", "/audit/?object_type=job&q=sync&page=2", f"/jobs/{world['job'].pk}/"):
            response = page.get(path)
            assert response.status_code in (200, 403), (role, path, response.status_code)
        export = page.get("/audit/export.csv")
        assert export.status_code == 200
        assert b"".join(export.streaming_content).count(b"someone") >= 1
        assert api.get("/api/audit-events/", {"limit": 100}).status_code == 200
