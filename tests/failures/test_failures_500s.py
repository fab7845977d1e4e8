"""Inputs that used to end in a 500, each now a clear answer: the activity page with a change named "items",
JSON nested a thousand deep (every JSON operation and the catalog import), NUL in the test-send filter, a
schedule longer than django-q can store, "²" where an id goes, a huge CSV cell, a PATCH racing a DELETE, and
the message for an Iterable 5xx on a test send."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.api.parsers import BoundedJSONParser  # noqa: F401 (the settings name it; it must import)
from catalog.audit.services import audit_record
from catalog.models import AuditEvent, ContactPreference, Notification, PreferenceImport, ProofOutcome, ProofRecipient
from catalog.resync.models import MAX_SCHEDULE_MINUTES
from catalog.resync.services.rules import resync_settings_get, resync_settings_update
from catalog.sends.services.dispatch import proof_send
from catalog.services.input_limits import MAX_CSV_CELL_CHARS, MAX_JSON_DEPTH

DEEP = "[" * 1000 + "]" * 1000


def _schema_operations(api_admin):
    spec = api_admin.get("/api/schema/", {"format": "json"}).json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                yield method, path


def test_activity_page_shows_a_change_named_items(admin_page, small_catalog):
    audit_record(actor="tester", action="resync_retry_failed", instance=small_catalog.digest, changes={"items": 3})
    audit_record(
        actor="tester", action="update", instance=small_catalog.digest, changes={"name": {"before": "A", "after": "B"}}
    )
    response = admin_page.get(reverse("catalog:audit_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r"<dt>Contacts retried</dt><dd>3</dd>", body), body
    assert '<span class="before">A</span> → <span class="after">B</span>' in body


def test_json_nested_a_thousand_deep_is_a_400_naming_the_limit_everywhere(api_admin, small_catalog):
    operations = list(_schema_operations(api_admin))
    assert len(operations) >= 15
    refused = 0
    for method, path in operations:
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = getattr(api_admin, method)(url, data=DEEP, content_type="application/json")
        assert response.status_code < 500, (method, path, response.status_code)
        errors = response.json()["errors"]
        if response.status_code == 400:
            assert f"nested deeper than {MAX_JSON_DEPTH} levels" in errors[0]["message"], (method, path, errors)
            refused += 1
    assert refused >= 10


def test_json_within_the_depth_limit_still_parses(api_admin, small_catalog):
    nested = {"a": [[["x"]]]}
    response = api_admin.post(
        "/api/notifications/", data=json.dumps({"key": "deep_ok", "tags": nested}), content_type="application/json"
    )
    assert response.status_code == 400  # refused by the serializer for what it says, not by the parser
    assert all("nested deeper" not in e["message"] for e in response.json()["errors"])


def test_an_oversized_api_body_is_refused_naming_the_limit(api_admin, small_catalog):
    body = json.dumps({"project": small_catalog.project.pk, "rows": ["x" * 1024] * 6000})
    response = api_admin.post("/api/resync/preferences/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "larger than 2.5 MB (the limit)" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("deep.json", DEEP.encode(), f"nested deeper than {MAX_JSON_DEPTH} levels"),
        ("deep.yaml", DEEP.encode(), "nested deeper than 32 levels"),
        ("deep-block.yaml", "".join(f"{'  ' * i}a{i}:\n" for i in range(500)).encode(), "nested deeper than 32"),
        (
            "bomb.yaml",
            b'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b]\n',
            "aliases (*name) are not accepted",
        ),
    ],
)
def test_catalog_import_refuses_deep_files_and_aliases(
    admin_page, small_catalog, name, content, expected, django_capture_on_commit_callbacks
):
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_page.post(reverse("catalog:catalog_import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302
    page = admin_page.get(response["Location"])
    assert expected in page.content.decode()
    assert Notification.objects.count() == before


def test_nul_in_the_test_send_filter(admin_page, api_admin, small_catalog):
    assert admin_page.get(reverse("catalog:proof_send_list"), {"notification": "a\x00b"}).status_code == 200
    response = api_admin.get("/api/test-sends/", {"notification": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "notification"


def test_schedule_longer_than_django_q_stores_is_refused_everywhere(api_admin, admin_page, small_catalog):
    project = small_catalog.project
    response = api_admin.patch(
        f"/api/resync/settings/{project.pk}/", {"schedule_minutes": 40_000, "schedule_enabled": True}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "schedule_minutes"
    form = {
        "batch_size": 100,
        "rate_per_second": 1,
        "read_concurrency": 4,
        "on_batch_error": "continue",
        "schedule_enabled": "on",
        "schedule_minutes": 40_000,
    }
    page = admin_page.post(reverse("catalog:resync_settings", args=[project.pk]), form)
    assert page.status_code == 400 and "32767" in page.content.decode()
    with pytest.raises(Exception, match="between 1 and 32767"):
        resync_settings_update(project=project, actor="t", schedule_minutes=MAX_SCHEDULE_MINUTES + 1)
    resync_settings_update(project=project, actor="t", schedule_minutes=MAX_SCHEDULE_MINUTES, schedule_enabled=True)
    assert resync_settings_get(project=project).schedule_minutes == MAX_SCHEDULE_MINUTES


@pytest.fixture
def upload_preferences(admin_page, django_capture_on_commit_callbacks):
    """Upload a preferences CSV on its page; its import task runs when the request commits (Q_CLUSTER sync)."""

    def upload(project, text: str):
        with django_capture_on_commit_callbacks(execute=True):
            return admin_page.post(
                reverse("catalog:resync_imports"),
                {"project": project.pk, "file": SimpleUploadedFile("prefs.csv", text.encode())},
            )

    return upload


def _failed_import_page(admin_page, response) -> str:
    """The import page an upload redirected to, once its task ended it as failed: nothing was imported."""
    assert response.status_code == 302
    record = PreferenceImport.objects.get()
    assert record.status == PreferenceImport.Status.FAILED and record.accepted == 0
    assert not ContactPreference.objects.exists()
    page = admin_page.get(response["Location"])
    assert page.status_code == 200 and "Refresh" not in page
    return page.content.decode()


def test_superscript_two_in_an_id_column_is_a_row_error(upload_preferences, small_catalog):
    project = small_catalog.project
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"})
    response = upload_preferences(project, "email,email_list_ids\na@example.com,²\nb@example.com,7\n")
    assert response.status_code == 302
    record = PreferenceImport.objects.get()
    assert (record.accepted, record.rejected) == (1, 1)
    assert record.errors[0]["line"] == 2 and "not an id: ²" in record.errors[0]["errors"][0]


def test_superscript_two_in_query_parameters(admin_page, small_catalog):
    assert admin_page.get(reverse("catalog:notification_list"), {"q": "²"}).status_code == 200
    assert admin_page.get(reverse("catalog:resync_runs"), {"project": "²"}).status_code == 200
    assert admin_page.get(reverse("catalog:resync_imports"), {"project": "¹²"}).status_code == 200


@pytest.mark.parametrize("size", [MAX_CSV_CELL_CHARS + 1, 200 * 1024])
def test_a_csv_cell_over_the_limit_names_its_line(admin_page, upload_preferences, small_catalog, size):
    project = small_catalog.project
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"})
    text = "email,email_list_ids\na@example.com,1\nb@example.com," + "1;" * (size // 2 + 1) + "\n"
    body = _failed_import_page(admin_page, upload_preferences(project, text))
    assert "Line 3" in body and f"longer than {MAX_CSV_CELL_CHARS:,} characters (the limit)" in body
    # In the header, the request itself refuses the file.
    response = upload_preferences(project, "email," + "x" * size + "\na@example.com,1\n")
    assert response.status_code == 400 and "Line 1" in response.content.decode()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('email,email_list_ids\na@example.com,"1;2\nb@example.com,3\nc@example.com,4\n', "is never closed"),
        ('email,email_list_ids\na@example.com,"1;2\nb@example.com,3"\nc@example.com,4\n', "is closed only on line 3"),
    ],
)
def test_an_unterminated_quote_names_its_line_and_swallows_nothing(
    admin_page, upload_preferences, small_catalog, text, reason
):
    project = small_catalog.project
    resync_settings_update(project=project, actor="t", scope={"emailListIds": "all"})
    body = _failed_import_page(admin_page, upload_preferences(project, text))
    assert f"Line 2: a quote (&quot;) opened on this line {reason}" in body


def test_a_file_of_addresses_with_a_huge_cell_is_a_form_error(admin_page, small_catalog):
    upload = SimpleUploadedFile("a.csv", ("email,name\na@example.com," + "x" * 200_000 + "\n").encode())
    response = admin_page.post(
        reverse("catalog:resync_start"),
        {"project": small_catalog.project.pk, "selection": "file", "file": upload, "compare": "read"},
    )
    assert response.status_code == 400
    assert "Line 2: a cell is longer than" in response.content.decode()


def _delete_before_query(number: int, key: str):
    """A database wrapper that deletes the notification just before the request's ``number``-th query, as a
    concurrent DELETE would land between two of the PATCH's statements."""
    state = {"seen": 0, "inside": False}

    def wrapper(execute, sql, params, many, context):
        if not state["inside"]:
            state["seen"] += 1
            if state["seen"] == number:
                state["inside"] = True
                try:
                    Notification.objects.filter(key=key).delete()
                    state["deleted"] = True
                finally:
                    state["inside"] = False
        return execute(sql, params, many, context)

    wrapper.state = state
    return wrapper


def test_patch_racing_a_delete_is_never_a_500(api_admin, small_catalog):
    key = small_catalog.receipt.key
    with CaptureQueriesContext(connection) as queries:
        assert api_admin.patch(f"/api/notifications/{key}/", {"name": "Renamed"}, format="json").status_code == 200
    total = len(queries)
    assert total > 5
    for number in range(1, total + 1):
        Notification.objects.filter(key=key).delete()
        Notification.objects.create(
            key=key,
            name="Receipt",
            audience="employers",
            project=small_catalog.project,
            medium="Email",
            trigger_type="api_send",
            campaign_id=402,
            message_type=small_catalog.transactional_type,
            status="active",
        )
        deleting = _delete_before_query(number, key)
        with connection.execute_wrapper(deleting):
            response = api_admin.patch(f"/api/notifications/{key}/", {"name": "Renamed"}, format="json")
        assert response.status_code in (200, 404, 409), (number, response.status_code, response.content)
        if response.status_code == 200:
            if deleting.state.get("deleted"):
                # The delete ran during the request and was not undone: a 200 must not have re-created the row.
                assert not Notification.objects.filter(key=key).exists(), number
        else:
            assert response.json()["errors"][0]["code"] in ("not_found", "conflict"), response.json()


def test_an_iterable_5xx_on_a_test_send_is_not_called_a_timeout(demo, user_in_role):
    mia = user_in_role("marketing", username="mia")
    own = ProofRecipient.objects.create(project=demo.student, owner=mia, email="qa.student@example.com")
    digest = Notification.objects.get(key="student_activity_weekly_digest")
    demo.emulator.configure(faults=[{"endpoint": "POST /api/email/target", "kind": "error500", "count": 1}])
    attempt = proof_send(actor=mia, notification=digest, recipient=own)
    assert attempt.outcome == ProofOutcome.UNKNOWN
    assert "server error (500" in attempt.message and "did not answer in time" not in attempt.message
    assert AuditEvent.objects.filter(action="proof_send").exists()


def test_catalog_import_caps_list_and_text_sizes(small_catalog):
    from catalog.io.services.export import catalog_export_data
    from catalog.io.services.imports import catalog_import
    from catalog.io.services.schema import MAX_LIST_ITEMS

    data = catalog_export_data()
    data["notifications"][0]["tags"] = ["t"] * (MAX_LIST_ITEMS + 1)
    data["notifications"][1]["description"] = "x" * 20_000
    result = catalog_import(actor="t", content=json.dumps(data), fmt="json")
    assert {(p.location, p.message) for p in result.errors} == {
        ("notifications[0].tags", f"At most {MAX_LIST_ITEMS} items (the limit)."),
        ("notifications[1].description", "At most 10,000 characters (the limit)."),
    }


def test_an_unexpected_error_in_the_api_is_a_json_500_and_is_logged(rf, caplog):
    from django.core.signals import got_request_exception
    from rest_framework.request import Request

    from catalog.api.exceptions import exception_handler

    signalled = []

    def receiver(sender, request, **kwargs):
        signalled.append(request.path)

    got_request_exception.connect(receiver)
    try:
        request = Request(rf.get("/api/notifications/"))
        response = exception_handler(RuntimeError("a bug"), {"request": request, "view": None})
    finally:
        got_request_exception.disconnect(receiver)
    assert response.status_code == 500
    assert response.data["errors"][0]["code"] == "server_error"
    assert signalled == ["/api/notifications/"]
    assert "Internal Server Error: /api/notifications/" in caplog.text and "a bug" in caplog.text


def test_the_admin_refuses_json_nested_too_deep(client, small_catalog, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "a long password 123"))
    form = {"project": small_catalog.project.pk, "iterable_id": 5, "name": "J", "trigger_event_names": DEEP}
    response = client.post("/admin/catalog/journey/add/", form)
    assert response.status_code == 200 and b"Enter a valid JSON" in response.content
