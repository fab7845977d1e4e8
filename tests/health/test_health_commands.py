"""Commands: a project's webhook secret printed once, and the demo's webhooks written into the emulator's files."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.health.ingest import _digest
from catalog.health.models import WebhookSecret

pytestmark = pytest.mark.django_db


def test_health_webhook_secret_prints_a_new_secret_once_and_stores_its_hash(small_catalog):
    out = StringIO()
    call_command("health_webhook_secret", "Test project", "--base-url", "https://admin.example.com", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Webhook URL: https://admin.example.com/api/health/webhooks/{small_catalog.project.pk}/"
    secret = lines[1].removeprefix("Secret (shown once): ")
    assert WebhookSecret.objects.get().secret_hash == _digest(secret) != secret
    with pytest.raises(CommandError, match=r"No project named 'Nope'\. Projects: Test project\."):
        call_command("health_webhook_secret", "Nope")


def test_the_demo_points_the_emulators_webhooks_at_the_dashboard_and_keeps_its_secret(
    small_catalog, tmp_path, settings
):
    settings.DATA_DIR = tmp_path
    small_catalog.project.iterable_project_id = 2158
    small_catalog.project.save()
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps({"projects": [{"id": 2158, "webhooks": [{"id": 7, "endpoint": "http://x/"}]}, {"id": 9}]})
    )
    for _ in range(2):  # a restart reuses the saved secret
        call_command(
            "health_demo",
            "webhooks",
            "--file",
            str(seed),
            "--file",
            str(tmp_path / "absent.json"),
            "--dashboard-url",
            "http://127.0.0.1:8000",
            stdout=StringIO(),
        )
    project = json.loads(seed.read_text())["projects"][0]
    hook = project["webhooks"][1]
    assert [h["id"] for h in project["webhooks"]] == [7, 1]
    assert hook["endpoint"] == f"http://127.0.0.1:8000/api/health/webhooks/{small_catalog.project.pk}/"
    secret = hook["headers"][0]["value"]
    assert WebhookSecret.objects.get().secret_hash == _digest(secret)
    assert (tmp_path / "health-webhook-secrets.json").stat().st_mode & 0o777 == 0o600
    with pytest.raises(CommandError, match="Name the emulator's seed"):
        call_command("health_demo", "webhooks")
