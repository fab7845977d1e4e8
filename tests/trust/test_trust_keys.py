"""Where a key may go: Iterable's data centres, or a host the deployment lists; never to a host an insider
picks, from a variable an insider names. Changing a project's connection is the admin's, and audited."""

import json
import os

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from catalog.contacts.services import contact_lookup
from catalog.io.services.imports import catalog_import
from catalog.iterable import IterableClient, IterableError, clear_client_cache, client_for_project
from catalog.iterable.client import base_url_refusal
from catalog.models import AuditEvent, IterableProject


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.iterable.com", True),
        ("https://api.eu.iterable.com/", True),
        ("https://api.iterable.com:443", True),
        ("http://api.iterable.com", False),  # the key in clear text
        ("https://api.iterable.com.attacker.example", False),
        ("https://api.iterable.com@attacker.example", False),
        ("https://attacker.example", False),
        ("https://api.iterable.com/prefix", True),  # a path on Iterable's host is still Iterable
        ("https://attacker.example/api.iterable.com", False),
        ("http://127.0.0.1:8765", False),  # the emulator, unless listed
    ],
)
def test_only_iterables_data_centres_by_default(url, allowed):
    assert (base_url_refusal(url, []) is None) is allowed


def test_a_listed_origin_is_allowed_with_its_port_or_any_port():
    assert base_url_refusal("http://127.0.0.1:8765", ["http://127.0.0.1:8765"]) is None
    assert base_url_refusal("http://127.0.0.1:8766", ["http://127.0.0.1:8765"]) is not None
    assert base_url_refusal("http://127.0.0.1:9999", ["http://127.0.0.1"]) is None
    assert base_url_refusal("https://127.0.0.1:9999", ["http://127.0.0.1"]) is not None


def test_the_client_refuses_before_any_request(listener, monkeypatch):
    monkeypatch.setenv("ITERABLE_ALLOWED_HOSTS", "http://127.0.0.1:1")
    with pytest.raises(IterableError) as refused:
        IterableClient("the-real-key", base_url=listener.url)
    assert refused.value.code == "HostNotAllowed"
    assert "ITERABLE_ALLOWED_HOSTS" in refused.value.msg
    assert listener.received == []
    # Listed, the same host is fine (what the demo and the tests do for the emulator).
    monkeypatch.setenv("ITERABLE_ALLOWED_HOSTS", listener.url)
    with IterableClient("the-real-key", base_url=listener.url, max_attempts=1) as client:
        client.get_channels()
    assert listener.received[0]["headers"]["Api-Key"] == "the-real-key"


def test_a_tampered_project_row_sends_nothing_on_a_lookup(db, listener, monkeypatch, django_user_model):
    """A row written past every form (raw SQL, an old backup) still cannot send a key to a host."""
    monkeypatch.setenv("ITERABLE_API_KEY_TAMPERED", "a-real-project-key")
    monkeypatch.setenv("ITERABLE_ALLOWED_HOSTS", "http://127.0.0.1:1")
    clear_client_cache()
    IterableProject.objects.create(name="Tampered", api_key_env="ITERABLE_API_KEY_TAMPERED", api_base_url=listener.url)
    actor = django_user_model.objects.create_user("someone")
    [result] = contact_lookup(actor=actor, email="anyone@example.com")
    assert "not listed in ITERABLE_ALLOWED_HOSTS" in result.error
    assert listener.received == []
    with pytest.raises(IterableError):
        client_for_project(IterableProject.objects.get(name="Tampered"))


BAD_VARIABLES = ["SECRET_KEY", "DATABASE_URL", "ITERABLE_API_KEY_", "iterable_api_key_x", "KEY", "ITERABLE_API_KEY_X\n"]


@pytest.mark.parametrize("name", BAD_VARIABLES)
def test_the_key_variable_must_be_an_iterable_key(db, name):
    with pytest.raises(ValidationError) as refused:
        IterableProject(name="P", api_key_env=name).full_clean()
    assert "ITERABLE_API_KEY_<NAME>" in str(refused.value.message_dict["api_key_env"])


@pytest.mark.parametrize("name", BAD_VARIABLES)
def test_the_database_refuses_a_row_naming_another_variable(db, name):
    """Past the forms and the API (a raw save, loaddata), the database's own check refuses the row."""
    with pytest.raises(IntegrityError), transaction.atomic():
        IterableProject.objects.create(name="Tampered", api_key_env=name)
    IterableProject.objects.create(name="Fine", api_key_env="ITERABLE_API_KEY_FINE")


def test_the_client_reads_no_variable_but_an_iterable_key(db, listener, monkeypatch):
    """A row from before the check (an old backup restored without it) names SECRET_KEY and a host the deployment
    lists: the client neither reads the variable nor calls the host."""
    monkeypatch.setenv("SECRET_KEY", "the-django-secret-value")
    monkeypatch.setenv("ITERABLE_ALLOWED_HOSTS", listener.url)
    clear_client_cache()
    restored = IterableProject(pk=41, name="Restored", api_key_env="SECRET_KEY", api_base_url=listener.url)
    with pytest.raises(IterableError) as refused:
        client_for_project(restored).get_channels()
    assert refused.value.code == "ApiKeyVariableRefused"
    assert "ITERABLE_API_KEY_<NAME>" in refused.value.msg and "the-django-secret-value" not in str(refused.value)
    assert listener.received == []
    monkeypatch.setenv("ITERABLE_API_KEY_RESTORED", "the-project-key")
    restored.api_key_env = "ITERABLE_API_KEY_RESTORED"
    with client_for_project(restored) as client:
        client.get_channels()
    assert [r["headers"]["Api-Key"] for r in listener.received] == ["the-project-key"]
    clear_client_cache()


def test_the_migration_stops_and_names_rows_that_break_the_check(tmp_path):
    """An existing database with a project naming SECRET_KEY: migrating stops before adding the check and names
    the row; once the row is corrected it migrates."""
    import sqlite3
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}"}

    def migrate(*target):
        command = [sys.executable, "manage.py", "migrate", "catalog", *target, "--no-input"]
        return subprocess.run(command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)

    assert migrate("0012").returncode == 0
    with sqlite3.connect(tmp_path / "old.sqlite3") as db:
        db.execute(
            "INSERT INTO catalog_iterableproject (name, data_center, api_key_env, api_base_url) "
            "VALUES ('Old backup', 'US', 'SECRET_KEY', '')"
        )
    stopped = migrate()
    assert stopped.returncode != 0
    assert "1 project(s) name a variable that is not ITERABLE_API_KEY_<NAME>: #1 'Old backup' names 'SECRET_KEY'" in (
        stopped.stderr
    )
    with sqlite3.connect(tmp_path / "old.sqlite3") as db:
        db.execute("UPDATE catalog_iterableproject SET api_key_env = 'ITERABLE_API_KEY_OLD'")
    assert migrate().returncode == 0


@pytest.fixture
def project(db):
    return IterableProject.objects.create(name="Students", api_key_env="ITERABLE_API_KEY_STUDENTS")


def test_engineering_cannot_change_a_connection_by_page_or_api(project, client, user_in_role):
    from rest_framework.test import APIClient

    engineer = user_in_role("engineering")
    client.force_login(engineer)
    edit = reverse("catalog:entity_edit", kwargs={"entity": "iterableproject", "pk": project.pk})
    assert client.get(edit).status_code == 403
    response = client.post(edit, {"name": "Students", "data_center": "US", "api_key_env": "ITERABLE_API_KEY_X"})
    assert response.status_code == 403
    api = APIClient()
    api.force_authenticate(engineer)
    patched = api.patch(f"/api/projects/{project.pk}/", {"api_base_url": "https://x.example"}, format="json")
    assert patched.status_code == 403
    created = api.post("/api/projects/", {"name": "New", "api_key_env": "ITERABLE_API_KEY_NEW"}, format="json")
    assert created.status_code == 403
    project.refresh_from_db()
    assert (project.api_key_env, project.api_base_url) == ("ITERABLE_API_KEY_STUDENTS", "")


def test_an_admin_changes_it_with_the_rules_and_on_record(project, user_in_role):
    from rest_framework.test import APIClient

    admin = user_in_role("admin")
    api = APIClient()
    api.force_authenticate(admin)
    refused = api.patch(f"/api/projects/{project.pk}/", {"api_key_env": "SECRET_KEY"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "api_key_env"
    refused = api.patch(f"/api/projects/{project.pk}/", {"api_base_url": "https://attacker.example"}, format="json")
    assert refused.status_code == 400
    changed = api.patch(f"/api/projects/{project.pk}/", {"data_center": "EU"}, format="json")
    assert changed.status_code == 200
    event = AuditEvent.objects.get(object_type="iterableproject", object_id=str(project.pk), action="update")
    assert event.actor == admin
    assert event.changes == {"data_center": {"before": "US", "after": "EU"}}


def test_an_import_cannot_change_a_connection_without_the_admin_role(project, user_in_role):
    engineer = user_in_role("engineering")
    file = {
        "format": "iterable-admin-catalog",
        "version": 1,
        "projects": [{"name": "Students", "data_center": "US", "api_key_env": "ITERABLE_API_KEY_OTHER"}],
    }
    result = catalog_import(actor=engineer, content=json.dumps(file), fmt="json")
    assert not result.ok
    assert any("Only admins change a project's connection" in p.message for p in result.errors)
    new = {**file, "projects": [{"name": "Elsewhere", "data_center": "US", "api_key_env": "ITERABLE_API_KEY_ELSE"}]}
    result = catalog_import(actor=engineer, content=json.dumps(new), fmt="json")
    assert any("Only admins add Iterable projects" in p.message for p in result.errors)
    project.refresh_from_db()
    assert project.api_key_env == "ITERABLE_API_KEY_STUDENTS"
    assert not IterableProject.objects.filter(name="Elsewhere").exists()
    admin = user_in_role("admin")
    assert catalog_import(actor=admin, content=json.dumps(file), fmt="json").ok


def test_an_import_cannot_change_any_project_field_without_the_admin_role(project, user_in_role):
    """Not only the connection: a project's Iterable id is what live health and links go by."""
    engineer = user_in_role("engineering")
    row = {"name": "Students", "data_center": "US", "api_key_env": "ITERABLE_API_KEY_STUDENTS"}
    file = {"format": "iterable-admin-catalog", "version": 1, "projects": [{**row, "iterable_project_id": 999999}]}
    result = catalog_import(actor=engineer, content=json.dumps(file), fmt="json")
    assert not result.ok
    [problem] = result.errors
    assert problem.location == "projects[0]"
    assert problem.message == "Only admins change a project's details (Iterable project id of 'Students')."
    project.refresh_from_db()
    assert project.iterable_project_id is None
    assert not AuditEvent.objects.filter(object_type="iterableproject", action="update").exists()
    # The project named as it is (an export imported again) is no change, and fine.
    unchanged = {**file, "projects": [{**row, "iterable_project_id": None}]}
    assert catalog_import(actor=engineer, content=json.dumps(unchanged), fmt="json").ok


def test_the_one_save_path_refuses_projects_to_anyone_but_admins(project, user_in_role):
    from django.core.exceptions import PermissionDenied

    from catalog.services.catalog import catalog_object_delete, catalog_object_save

    engineer = user_in_role("engineering")
    project.iterable_project_id = 999999
    with pytest.raises(PermissionDenied, match="Only admins"):
        catalog_object_save(actor=engineer, instance=project)
    with pytest.raises(PermissionDenied, match="Only admins"):
        catalog_object_save(actor=engineer, instance=IterableProject(name="New", api_key_env="ITERABLE_API_KEY_NEW"))
    with pytest.raises(PermissionDenied, match="Only admins"):
        catalog_object_delete(actor=engineer, instance=project)
    project.refresh_from_db()
    assert project.iterable_project_id is None
    assert list(IterableProject.objects.values_list("name", flat=True)) == ["Students"]
    project.iterable_project_id = 2158
    catalog_object_save(actor=user_in_role("admin"), instance=project)
    project.refresh_from_db()
    assert project.iterable_project_id == 2158


def test_the_demo_loader_says_when_its_emulator_is_not_listed(db, settings):
    from django.core.management import CommandError, call_command

    settings.ITERABLE_ALLOWED_HOSTS = []
    with pytest.raises(CommandError, match="not listed in ITERABLE_ALLOWED_HOSTS"):
        call_command("seed_demo", api_base_url="http://127.0.0.1:8765")
    assert not IterableProject.objects.exists()
