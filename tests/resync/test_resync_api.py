"""The resync API: bulk upsert with per-row errors, runs (dry run, report, apply, failures, cancel, retry) and
settings; who may call it; bad input is a 400 in the one error format, never a 500.

Runs are processed by django-q in sync mode when the request's transaction commits
(django_capture_on_commit_callbacks), against the demo emulator over loopback."""

import json

import pytest
from django_q.models import Schedule

from catalog.models import AuditEvent, ContactPreference, PreferenceImport, ResyncItem, ResyncRun
from catalog.resync.services.rules import resync_settings_update
from catalog.resync.services.runs import resync_start

WRITE = "POST /api/users/bulkUpdateSubscriptions"
ROWS = [
    {"email": "qa.student@example.com", "email_list_ids": [7001]},
    {"email": "New.Person@example.com", "emailListIds": [7002]},
    {"email": "student.0001@example.com", "email_list_ids": []},
]


@pytest.fixture
def student(demo):
    resync_settings_update(project=demo.student, actor="tests", scope={"emailListIds": [7001, 7002]}, rate_per_second=0)
    return demo.student


@pytest.fixture
def truth(student, engineer):
    response = engineer.post("/api/resync/preferences/", {"project": student.pk, "rows": ROWS}, format="json")
    assert response.status_code == 201, response.json()
    return PreferenceImport.objects.get(pk=response.json()["id"])


ENDPOINTS = [
    ("get", "/api/resync/runs/"),
    ("post", "/api/resync/runs/"),
    ("get", "/api/resync/runs/{run}/"),
    ("get", "/api/resync/runs/{run}/failures/"),
    ("get", "/api/resync/runs/{run}/report/"),
    ("post", "/api/resync/runs/{run}/cancel/"),
    ("post", "/api/resync/runs/{run}/retry-failed/"),
    ("post", "/api/resync/runs/{run}/apply/"),
    ("post", "/api/resync/preferences/"),
    ("get", "/api/resync/imports/"),
    ("post", "/api/resync/imports/"),
    ("get", "/api/resync/contacts/"),
    ("get", "/api/resync/imports/{import}/"),
    ("get", "/api/resync/settings/{project}/"),
    ("patch", "/api/resync/settings/{project}/"),
]


@pytest.mark.parametrize("role", [None, "norole", "viewer", "marketing"], ids=lambda r: r or "anonymous")
@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_only_resync_roles_may_call(small_catalog, client_for, role, method, path):
    run = resync_start(project=small_catalog.project, actor="tests", everyone=True).run
    record = PreferenceImport.objects.create(project=small_catalog.project, actor_label="t", source="api")
    url = path.format(run=run.pk, project=small_catalog.project.pk, **{"import": record.pk})
    response = getattr(client_for(role), method)(url, {}, format="json")
    assert response.status_code == (401 if role is None else 403)
    assert response.json()["errors"][0]["code"]


@pytest.mark.parametrize("role", ["engineering", "admin"])
def test_engineering_and_admin_may(small_catalog, client_for, role):
    client = client_for(role)
    assert client.get("/api/resync/runs/").status_code == 200
    assert client.get(f"/api/resync/settings/{small_catalog.project.pk}/").status_code == 200


def test_upsert_keeps_good_rows_and_reports_bad_ones_by_row(student, engineer):
    rows = [
        *ROWS,
        {"email": "not-an-email", "email_list_ids": [7001]},
        {"email": "x@example.com", "email_list_ids": [9999]},
        {"email": "y@example.com", "colour": "red"},
        "not an object",
        {"email": "qa.student@example.com", "email_list_ids": [7002]},
    ]
    response = engineer.post("/api/resync/preferences/", {"project": student.pk, "rows": rows}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["total_rows"], body["accepted"], body["rejected"], body["source"]) == (8, 3, 5, "api")
    assert body["actor_label"] == "engineering-api"
    errors = {e["line"]: e for e in body["errors"]}
    assert set(errors) == {4, 5, 6, 7, 8}
    assert errors[4]["errors"] == ["invalid email 'not-an-email'"]
    assert "not managed" in errors[5]["errors"][0]
    assert errors[6]["errors"] == ["unknown field 'colour'"]
    assert errors[7]["errors"] == ["a row must be an object"]
    assert errors[8]["errors"] == ["duplicate of line 1"]
    assert ContactPreference.objects.get(email="new.person@example.com").email_list_ids == [7002]
    detail = engineer.get(f"/api/resync/imports/{body['id']}/").json()
    assert detail["errors"] == body["errors"]
    listing = engineer.get("/api/resync/imports/", {"project": student.pk}).json()
    assert listing["count"] == 1 and "errors" not in listing["results"][0]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rows": [{"email": "a@example.com"}]}, "project"),
        ({"project": 999999, "rows": [{"email": "a@example.com"}]}, "project"),
        ({"project": "abc", "rows": []}, "project"),
        ({"project": None, "rows": "x"}, "project"),
        ("PROJECT", None),
    ],
)
def test_upsert_bad_requests(student, engineer, body, field):
    response = engineer.post("/api/resync/preferences/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in {e["field"] for e in errors}
    assert not PreferenceImport.objects.exists()


def test_upsert_bad_rows_shapes(student, engineer):
    for rows, message in [
        ([], "This list may not be empty."),
        ([{"email": "a\x00@example.com"}], "NUL"),
        ([{"email": "a@example.com", "user_id": "\ud800"}], "surrogate"),
        ("x", "Expected a list"),
    ]:
        body = json.dumps({"project": student.pk, "rows": rows})  # ASCII: a lone surrogate travels escaped
        response = engineer.post("/api/resync/preferences/", body, content_type="application/json")
        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["field"] == "rows" and message in error["message"]


def test_malformed_json_and_wrong_content_type(student, engineer):
    response = engineer.post("/api/resync/preferences/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "parse_error"
    response = engineer.post("/api/resync/runs/", "email=a", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_too_long_email_is_a_row_error(student, engineer):
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"
    assert len(email) > 254
    response = engineer.post(
        "/api/resync/preferences/", {"project": student.pk, "rows": [{"email": email}]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["errors"][0]["errors"] == ["email is longer than 254 characters"]


def test_dry_run_report_apply_and_progress(truth, student, engineer, django_capture_on_commit_callbacks, demo):
    with django_capture_on_commit_callbacks(execute=True):
        response = engineer.post(
            "/api/resync/runs/",
            {"project": student.pk, "emails": [*(r["email"] for r in ROWS), "nobody@example.com"]},
            format="json",
        )
    assert response.status_code == 201, response.json()
    started = response.json()
    assert started["dry_run"] is True  # the default
    assert started["unknown_emails"] == ["nobody@example.com"]
    run_id = started["id"]

    run = engineer.get(f"/api/resync/runs/{run_id}/").json()
    assert run["status"] == "done" and run["total"] == 3 and run["pending"] == 0
    assert run["can_apply"] is True and "unknown_emails" not in run
    report = engineer.get(f"/api/resync/runs/{run_id}/report/", {"samples": 1}).json()
    assert report["contacts_by_change"]["emailListIds:add"] >= 1
    assert len(report["samples"]) == 1 and report["run"]["id"] == run_id
    assert demo.emulator.requests(path=WRITE) == []

    with django_capture_on_commit_callbacks(execute=True):
        response = engineer.post(f"/api/resync/runs/{run_id}/apply/")
    assert response.status_code == 201
    applied = response.json()
    assert applied["source_run"] == run_id and applied["selection"] == "dry_run" and not applied["dry_run"]
    applied = engineer.get(f"/api/resync/runs/{applied['id']}/").json()
    assert applied["status"] == "done" and applied["done"] == applied["total"] == run["outcomes"]["would_change"]
    [write] = demo.emulator.requests(path=WRITE)
    assert len(write["body"]["updateSubscriptionsRequests"]) == applied["total"]
    assert ContactPreference.objects.get(email="new.person@example.com").resynced_run_id == applied["id"]

    contacts = engineer.get("/api/resync/contacts/", {"resynced_run": applied["id"]}).json()
    assert {c["email"] for c in contacts["results"]} >= {"new.person@example.com"}
    assert all(c["resynced_at"] for c in contacts["results"])
    runs = engineer.get("/api/resync/runs/", {"project": student.pk, "dry_run": "true"}).json()
    assert [r["id"] for r in runs["results"]] == [run_id]
    # Applying twice is allowed (it reads again); applying a real run is refused.
    response = engineer.post(f"/api/resync/runs/{applied['id']}/apply/")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": None, "code": "invalid", "message": "Only a dry run can be applied."}
    ]


def test_everyone_import_and_since(truth, student, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for body in [
            {"everyone": True, "dry_run": False, "compare": "auto"},
            {"import_id": truth.pk},
            {"changed_since": "2000-01-01T00:00:00Z"},
        ]:
            response = engineer.post("/api/resync/runs/", {"project": student.pk, **body}, format="json")
            assert response.status_code == 201, response.json()
    runs = list(ResyncRun.objects.order_by("id"))
    assert [(r.selection, r.dry_run, r.total, r.status) for r in runs] == [
        ("everyone", False, 3, "done"),
        ("import", True, 3, "done"),
        ("since", True, 3, "done"),
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, None),
        ({"everyone": True, "emails": ["a@example.com"]}, None),
        ({"emails": []}, "emails"),
        ({"emails": ["ok@example.com", "foo@"]}, "emails.1"),
        ({"changed_since": "yesterday"}, "changed_since"),
        ({"import_id": 999999}, "import_id"),
        ({"everyone": True, "compare": "sometimes"}, "compare"),
        ({"everyone": "maybe"}, "everyone"),
    ],
)
def test_start_bad_requests(student, engineer, body, field):
    response = engineer.post("/api/resync/runs/", {"project": student.pk, **body}, format="json")
    assert response.status_code == 400, response.json()
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not ResyncRun.objects.exists()


def test_a_started_everyone_run_answers_at_once_and_its_task_lists_the_contacts(
    truth, student, engineer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = engineer.post("/api/resync/runs/", {"project": student.pk, "everyone": True}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["total"], body["listing"]) == ("queued", 0, True)
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()
    body = engineer.get(f"/api/resync/runs/{body['id']}/").json()
    assert (body["status"], body["total"], body["listing"]) == ("done", 3, False)


def test_a_csv_upload_is_queued_then_imported_and_polled(student, engineer, django_capture_on_commit_callbacks):
    csv = "email,email_list_ids\nok@example.com,7001\nnot-an-email,7001\n"
    with django_capture_on_commit_callbacks() as queued:
        response = engineer.post(
            "/api/resync/imports/", {"project": student.pk, "csv": csv, "filename": "p.csv"}, format="json"
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["status"], body["accepted"], body["filename"]) == ("queued", 0, "p.csv")
    assert response["Location"] == f"/api/resync/imports/{body['id']}/"
    assert not ContactPreference.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()
    done = engineer.get(response["Location"])
    assert "no-cache" in done["Cache-Control"]
    body = done.json()
    assert (body["status"], body["accepted"], body["rejected"], body["processed"]) == ("done", 1, 1, 2)
    assert body["errors"][0]["line"] == 3 and "invalid email" in body["errors"][0]["errors"][0]
    listed = engineer.get("/api/resync/imports/", {"status": "done"}).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"csv": "mail\na@example.com\n"}, "The header has no email column."),
        ({"csv": ""}, "This field may not be blank."),
        ({"csv": "email\na\x00@example.com\n"}, "Null characters are not allowed."),
        ({"csv": "email\n\ud800@example.com\n"}, "Surrogate characters are not allowed"),
    ],
)
def test_a_csv_upload_with_a_bad_file_is_a_400_naming_it(student, engineer, body, message):
    raw = json.dumps({"project": student.pk, **body})  # ASCII: a lone surrogate travels escaped, as JSON allows
    response = engineer.post("/api/resync/imports/", raw, content_type="application/json")
    assert response.status_code == 400, response.json()
    assert message in response.json()["errors"][0]["message"]
    assert not PreferenceImport.objects.exists()


def test_import_of_another_project_is_refused(truth, demo, engineer):
    response = engineer.post("/api/resync/runs/", {"project": demo.employer.pk, "import_id": truth.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "That import belongs to another project."


def test_failures_cancel_and_retry(truth, student, engineer, django_capture_on_commit_callbacks):
    emails = [row["email"] for row in ROWS]
    run = resync_start(project=student, actor="tests", emails=emails).run  # queued: nothing committed
    assert engineer.get(f"/api/resync/runs/{run.pk}/").json()["can_cancel"] is True
    response = engineer.post(f"/api/resync/runs/{run.pk}/cancel/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["skipped"] == 3 and body["outcomes"] == {"cancelled": 3}
    assert AuditEvent.objects.filter(action="resync_cancel").count() == 1

    run.items.update(status=ResyncItem.Status.FAILED, error_code="validEmailFailure", error_message="Refused.")
    failures = engineer.get(f"/api/resync/runs/{run.pk}/failures/", {"limit": 2, "offset": 1}).json()
    assert failures["count"] == 3 and len(failures["results"]) == 2
    assert failures["results"][0]["code"] == "validEmailFailure"
    for params in [{"limit": 0}, {"limit": "x"}, {"offset": -1}, {"limit": 5000}]:
        response = engineer.get(f"/api/resync/runs/{run.pk}/failures/", params)
        assert response.status_code == 400 and response.json()["errors"][0]["field"] in {"limit", "offset"}

    with django_capture_on_commit_callbacks(execute=True):
        response = engineer.post(f"/api/resync/runs/{run.pk}/retry-failed/")
    assert response.status_code == 200
    run.refresh_from_db()
    assert run.status == "done" and not run.items.filter(status="failed").exists()


def test_unknown_objects_are_404s(small_catalog, engineer):
    for method, path in ENDPOINTS:
        if "{" not in path:
            continue
        url = path.format(run=999999, project=999999, **{"import": 999999})
        response = getattr(engineer, method)(url, {}, format="json")
        assert response.status_code == 404, url
        assert response.json()["errors"][0]["code"] == "not_found"


def test_settings_read_and_change_with_the_schedule(small_catalog, engineer):
    url = f"/api/resync/settings/{small_catalog.project.pk}/"
    body = engineer.get(url).json()
    assert body["scope"] == {} and body["schedule_enabled"] is False and body["project"] == small_catalog.project.pk
    response = engineer.patch(
        url,
        {"scope": {"unsubscribedChannelIds": "all"}, "schedule_enabled": True, "schedule_minutes": 15},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["scope"] == {"unsubscribedChannelIds": "all"}
    assert Schedule.objects.get(name=f"resync-project-{small_catalog.project.pk}").minutes == 15
    for bad, field in [
        ({"scope": {"colours": "all"}}, "scope"),
        ({"scope": {"emailListIds": ["x"]}}, "scope"),
        ({"scope": []}, "scope"),
        ({"batch_size": 0}, "batch_size"),
        ({"rate_per_second": -1}, "rate_per_second"),
        ({"on_batch_error": "explode"}, "on_batch_error"),
        ({"schedule_minutes": 0}, "schedule_minutes"),
    ]:
        response = engineer.patch(url, bad, format="json")
        assert response.status_code == 400, (bad, response.json())
        assert response.json()["errors"][0]["field"] == field
    assert engineer.put(url, {}, format="json").status_code == 405
    response = engineer.patch(url, {"schedule_enabled": False}, format="json")
    assert response.status_code == 200
    assert not Schedule.objects.filter(name=f"resync-project-{small_catalog.project.pk}").exists()


def test_lists_too_long_for_a_request_are_refused_with_the_way_round(engineer, project):
    """What a request must match or write itself is bounded; longer lists go through a background import."""
    from catalog.resync.api import MAX_ROWS
    from catalog.resync.services.runs import MAX_LISTED_EMAILS

    rows = [{"email": f"row{i}@example.com"} for i in range(MAX_ROWS + 1)]
    response = engineer.post("/api/resync/preferences/", {"project": project.pk, "rows": rows}, format="json")
    assert response.status_code == 400
    emails = [f"a{i}@example.com" for i in range(MAX_LISTED_EMAILS + 1)]
    response = engineer.post("/api/resync/runs/", {"project": project.pk, "emails": emails}, format="json")
    assert response.status_code == 400
    assert "preferences CSV" in str(response.json())
