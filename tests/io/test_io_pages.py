"""Import and export of the whole catalog: a round trip loses nothing; import is all-or-nothing and names
every problem with its place in the file."""

import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from catalog import models
from catalog.io.services.export import catalog_export, catalog_export_data, catalog_yaml_dump
from catalog.io.services.imports import catalog_import

CATALOG_MODELS = [
    models.Notification,
    models.Template,
    models.MessageType,
    models.Channel,
    models.EventField,
    models.CustomEvent,
    models.Journey,
    models.Owner,
    models.Job,  # the demo's seed jobs hang on its projects; they are no part of a catalog file
    models.IterableProject,
]


def wipe_catalog():
    for model in CATALOG_MODELS:
        model.objects.all().delete()


def locations(result) -> set[str]:
    return {e.location for e in result.errors}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip_loses_nothing(db, fmt):
    call_command("seed_demo")
    exported = catalog_export(fmt=fmt)
    before = catalog_export_data()
    assert len(before["notifications"]) > 10
    wipe_catalog()
    result = catalog_import(actor="test", content=exported.encode(), fmt=fmt)
    assert result.ok, result.errors
    assert result.created["notifications"] == len(before["notifications"])
    assert catalog_export_data() == before
    # A second import of the same file changes nothing and writes no audit events.
    audits = models.AuditEvent.objects.count()
    again = catalog_import(actor="test", content=exported, fmt=fmt)
    assert again.ok and not again.created and not again.updated
    assert models.AuditEvent.objects.count() == audits


def test_import_updates_and_audits(small_catalog):
    data = catalog_export_data()
    data["notifications"][0]["name"] = "Renamed"
    result = catalog_import(actor="importer", content=json.dumps(data), fmt="json")
    assert result.ok and result.updated == {"notifications": 1}
    event = models.AuditEvent.objects.get(action="update", object_type="notification")
    assert event.actor_label == "importer"
    assert event.changes["name"]["after"] == "Renamed"


def bad_file(catalog_data: dict) -> dict:
    """A file with one good new notification and several bad ones."""
    good = dict(catalog_data["notifications"][0], key="brand_new", campaign_id=777)
    forbidden = dict(good, key="forbidden", message_type="Marketing Message")
    unknown = dict(good, key="unknown_refs", message_type="No such type", templates=[501, 999], journey=42)
    wrong_types = dict(good, key="wrong_types", campaign_id="abc", tags="not a list", surprise=1)
    missing = {k: v for k, v in good.items() if k != "name"} | {"key": "missing_name"}
    bad_choice = dict(good, key="bad_choice", audience="martians")
    return {**catalog_data, "notifications": [good, forbidden, unknown, wrong_types, missing, bad_choice]}


def test_import_with_errors_lists_every_problem_and_keeps_nothing(small_catalog):
    data = bad_file(catalog_export_data())
    # Shape problems are found before anything is written.
    result = catalog_import(actor="test", content=catalog_yaml_dump(data), fmt="yaml")
    assert not result.ok
    assert locations(result) == {
        "notifications[3].campaign_id",
        "notifications[3].tags",
        "notifications[3].surprise",
        "notifications[4].name",
    }
    # With the shape fixed, the references, the guard and the model's own validation speak.
    del data["notifications"][3:5]
    audits = models.AuditEvent.objects.count()
    result = catalog_import(actor="test", content=catalog_yaml_dump(data), fmt="yaml")
    assert not result.ok
    assert locations(result) == {
        "notifications[1].message_type",
        "notifications[2].message_type",
        "notifications[2].templates[1]",
        "notifications[2].journey",
        "notifications[3].audience",
    }
    messages = " ".join(e.message for e in result.errors)
    assert "Marketing Message" in messages and "No such type" in messages
    assert not models.Notification.objects.filter(key="brand_new").exists()
    assert models.AuditEvent.objects.count() == audits
    assert not result.created


@pytest.mark.parametrize(
    ("content", "fmt", "where", "says"),
    [
        (b"projects: [\n  - name: x\n  bad", "yaml", "line", "Invalid YAML"),
        (b'{"projects": [}', "json", "line 1, column 15", "Invalid JSON"),
        (b"\xff\xfe\x00bad", "yaml", "file", "not UTF-8"),
        (b"   ", "yaml", "file", "empty"),
        (b"- a\n- b\n", "yaml", "file", "mapping"),
        (b"notifications: 3\n", "yaml", "notifications", "list"),
        (b"version: 2\n", "yaml", "version", "version 1"),
        (
            b"channels:\n  - project: Nope\n    iterable_id: 1\n    name: C\n"
            b"    channel_type: Marketing\n    medium: Email\n",
            "yaml",
            "channels[0].project",
            "Unknown project",
        ),
    ],
)
def test_malformed_files_get_a_clear_error(db, content, fmt, where, says):
    result = catalog_import(actor="test", content=content, fmt=fmt)
    assert not result.ok
    assert result.errors[0].location.startswith(where)
    assert says in result.errors[0].message


def _upload_in_background(client, upload, django_capture_on_commit_callbacks):
    """Upload on the import page (which queues the import), let the worker run it (django-q runs tasks in
    process in the tests), and open the import's page."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("catalog:catalog_import"), {"file": upload})
    assert response.status_code == 302, response.content[:2000]
    return client.get(response["Location"])


def test_import_page_shows_every_error_and_imports_nothing(
    small_catalog, client_in_role, django_capture_on_commit_callbacks
):
    client = client_in_role("engineering")
    data = bad_file(catalog_export_data())
    del data["notifications"][3:5]
    upload = SimpleUploadedFile("catalog.yaml", catalog_yaml_dump(data).encode(), content_type="application/yaml")
    response = _upload_in_background(client, upload, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "Refresh" not in response
    page = response.content.decode()
    assert "Nothing was imported: 6 problems" in page
    assert "notifications[2].templates[1]" in page
    assert not models.Notification.objects.filter(key="brand_new").exists()


def test_import_page_imports_a_good_file(small_catalog, client_in_role, django_capture_on_commit_callbacks):
    client = client_in_role("admin")
    data = catalog_export_data()
    data["notifications"] = [dict(data["notifications"][0], key="from_upload", campaign_id=778)]
    upload = SimpleUploadedFile("catalog.json", json.dumps(data).encode(), content_type="application/json")
    response = _upload_in_background(client, upload, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert b"Imported." in response.content
    assert models.Notification.objects.filter(key="from_upload").exists()


def test_import_page_without_a_file_says_so(db, client_in_role):
    response = client_in_role("engineering").post(reverse("catalog:catalog_import"), {})
    assert response.status_code == 400
    assert b"This field is required" in response.content


def test_export_downloads(small_catalog, client_in_role):
    client = client_in_role("viewer")
    response = client.get(reverse("catalog:catalog_export"), {"format": "json"})
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.getvalue())["notifications"][0]["key"] == "receipt"
    response = client.get(reverse("catalog:catalog_export"), {"format": "yaml"})
    assert yaml.safe_load(response.getvalue())["format"] == "iterable-admin-catalog"
    assert client.get(reverse("catalog:catalog_export"), {"format": "xml"}).status_code == 404


def test_the_upload_only_queues_and_the_page_shows_progress(small_catalog, client_in_role):
    client = client_in_role("admin")
    data = catalog_export_data()
    upload = SimpleUploadedFile("catalog.json", json.dumps(data).encode(), content_type="application/json")
    response = client.post(reverse("catalog:catalog_import"), {"file": upload})  # no commit: the task waits
    assert response.status_code == 302
    record = models.CatalogImport.objects.get()
    assert record.status == "queued" and record.fmt == "json" and record.filename == "catalog.json"
    page = client.get(response["Location"])
    assert page.status_code == 200 and page["Refresh"] == "2"
    assert b'<progress id="import-progress" max="100" value="5"' in page.content
    assert b"Recent imports" in client.get(reverse("catalog:catalog_import")).content


def test_a_file_that_is_not_text_is_refused_at_upload(db, client_in_role):
    upload = SimpleUploadedFile("catalog.yaml", b"\xff\xfe\x00bad")
    response = client_in_role("admin").post(reverse("catalog:catalog_import"), {"file": upload})
    assert response.status_code == 400
    assert b"not UTF-8 text" in response.content
    assert not models.CatalogImport.objects.exists()


def _many(data: dict, count: int, start: int = 0) -> dict:
    base = data["notifications"][0]
    return {
        **data,
        "notifications": [dict(base, key=f"many_{i:05d}", campaign_id=90_000 + i) for i in range(start, start + count)],
    }


def test_import_queries_do_not_grow_with_the_file(small_catalog):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    data = catalog_export_data()
    with CaptureQueriesContext(connection) as small:
        assert catalog_import(actor="t", content=json.dumps(_many(data, 20)), fmt="json").ok
    with CaptureQueriesContext(connection) as large:
        assert catalog_import(actor="t", content=json.dumps(_many(data, 400, start=20)), fmt="json").ok
    assert len(large) - len(small) < 60, (len(small), len(large))  # batches, not a query storm per row
    assert models.Notification.objects.filter(key__startswith="many_").count() == 420
    assert models.AuditEvent.objects.filter(object_type="notification", action="create").count() >= 420
    one = models.Notification.objects.get(key="many_00300")
    assert [t.iterable_id for t in one.templates.all()] == data["notifications"][0]["templates"]
    first = models.Notification.objects.get(key="many_00001")
    assert (one.verdict_errors, one.verdict_codes) == (0, first.verdict_codes)


def test_a_key_twice_in_one_file_is_reported(small_catalog):
    data = _many(catalog_export_data(), 2)
    data["notifications"][1]["key"] = data["notifications"][0]["key"]
    result = catalog_import(actor="t", content=json.dumps(data), fmt="json")
    assert [str(p) for p in result.errors] == [
        "notifications[1].key: The key 'many_00000' is also used by notifications[0]."
    ]


def test_import_page_title_is_only_its_title(small_catalog, client_in_role):
    import re

    client = client_in_role("engineering")
    from catalog.io.services.runs import catalog_import_start

    catalog_import_start(actor="importer", content=catalog_export(fmt="json"), filename="catalog.json")
    page = client.get("/catalog/import/").content.decode()
    assert "Recent imports" in page
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title.startswith("Import the catalog") and "<table" not in title


def test_types_are_exact_and_said_in_the_files_words(small_catalog):
    """A number in quotes is not a number and true is not 1, as in JSON; each wrong value is named."""
    data = catalog_export_data()
    data["notifications"][0]["campaign_id"] = "12"
    data["channels"][0]["iterable_id"] = True
    data["owners"][0]["name"] = 7
    data["notifications"][1]["templates"] = [True]
    result = catalog_import(actor="t", content=json.dumps(data), fmt="json")
    assert {(p.location, p.message) for p in result.errors} == {
        ("notifications[0].campaign_id", "Must be a whole number or null, got '12'."),
        ("channels[0].iterable_id", "Must be a whole number, got True."),
        ("owners[0].name", "Must be text, got 7."),
        ("notifications[1].templates[0]", "Must be a template's Iterable id, got True."),
    }


def test_the_export_writes_what_the_import_schema_reads(db):
    """One schema: every exported object has exactly its section's fields, and passes the shape check."""
    from catalog.io.services.schema import SECTIONS, catalog_file_problems, item_serializer

    call_command("seed_demo")
    data = catalog_export_data()
    for section in SECTIONS:
        assert data[section], section
        assert all(list(item) == list(item_serializer(section).fields) for item in data[section]), section
    assert catalog_file_problems(data) == []


def test_one_upsert_creates_updates_and_leaves_alone(small_catalog):
    from catalog.services.catalog import catalog_object_upsert

    audits = models.AuditEvent.objects.count()
    lookup = {"name": "Growth", "role": "business"}
    owner, outcome = catalog_object_upsert(
        actor="t", model=models.Owner, lookup=lookup, values={"email": "growth@example.com"}
    )
    assert outcome == "created" and owner.pk
    assert catalog_object_upsert(
        actor="t", model=models.Owner, lookup=lookup, values={"email": "growth@example.com"}
    ) == (owner, "unchanged")
    _, outcome = catalog_object_upsert(actor="t", model=models.Owner, lookup=lookup, values={"email": "g@example.com"})
    assert outcome == "updated"
    assert models.AuditEvent.objects.count() == audits + 2
    digest = small_catalog.digest
    assert catalog_object_upsert(
        actor="t", model=models.Notification, lookup={"key": digest.key}, values={}, m2m={"owners": [owner]}
    ) == (digest, "updated")
    assert list(digest.owners.all()) == [owner]


def test_the_demo_loads_through_the_import_and_counts_what_it_wrote(db):
    from catalog.services.demo import demo_catalog_load

    counts = demo_catalog_load()
    assert counts["notifications"] == models.Notification.objects.count() > 10
    assert counts["event fields"] == models.EventField.objects.count()
    assert counts["iterable projects"] == 2
    assert demo_catalog_load() == {}


def test_a_refused_object_is_named_and_the_rest_of_the_file_still_checked(small_catalog):
    data = catalog_export_data()
    project, channel = small_catalog.project.name, small_catalog.marketing.iterable_id
    data["message_types"].append(
        {"project": project, "iterable_id": 99, "name": "Sometimes", "channel": channel, "policy": "Sometimes"}
    )
    data["templates"].append({"project": project, "iterable_id": 9901, "name": "New", "medium": "Email"})
    data["templates"].append(
        {"project": project, "iterable_id": 9902, "name": "On it", "medium": "Email", "message_type": "Sometimes"}
    )
    result = catalog_import(actor="t", content=json.dumps(data), fmt="json")
    where = len(data["message_types"]) - 1, len(data["templates"]) - 1
    assert locations(result) == {f"message_types[{where[0]}].policy", f"templates[{where[1]}].message_type"}
    assert "Unknown message type 'Sometimes'" in str(result.errors[-1])
    assert not models.Template.objects.filter(iterable_id=9901).exists()


def test_the_import_leaves_the_callers_data_as_it_was(db):
    import copy

    from catalog.io.services.imports import catalog_import_data
    from catalog.services.demo import demo_catalog_file

    data = demo_catalog_file()
    before = copy.deepcopy(data)
    assert catalog_import_data(actor="t", data=data).ok
    assert data == before
