"""The demo's emulator seed matches the demo catalog, and the emulator accepts it."""

import json

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Channel, MessageType, Notification, Template
from iterable_emulator.state import State


@pytest.fixture
def demo_keys(monkeypatch):
    monkeypatch.setenv("ITERABLE_API_KEY_STUDENT_US", "student-demo-key")
    monkeypatch.setenv("ITERABLE_API_KEY_EMPLOYER_US", "employer-demo-key")


def test_seed_matches_the_demo_catalog(db, demo_keys, tmp_path):
    call_command("seed_demo")
    target = tmp_path / "seed.json"
    call_command("emulator_seed", "--output", str(target))
    assert target.stat().st_mode & 0o777 == 0o600
    seed = json.loads(target.read_text())
    by_name = {p["name"]: p for p in seed["projects"]}
    assert by_name["Student - US"]["api_keys"] == ["student-demo-key"]

    for project in seed["projects"]:
        name = project["name"]
        assert {c["id"] for c in project["channels"]} == set(
            Channel.objects.filter(project__name=name).values_list("iterable_id", flat=True)
        )
        assert {(m["id"], m["name"], m["subscriptionPolicy"]) for m in project["message_types"]} == set(
            MessageType.objects.filter(project__name=name).values_list("iterable_id", "name", "policy")
        )
        catalog_templates = set(Template.objects.filter(project__name=name).values_list("iterable_id", flat=True))
        assert catalog_templates <= {t["templateId"] for t in project["templates"]}
        campaign_ids = set(
            Notification.objects.filter(project__name=name, campaign_id__isnull=False).values_list(
                "campaign_id", flat=True
            )
        )
        assert campaign_ids == {c["id"] for c in project["campaigns"]}
        assert len(project["users"]) > 100

    student = by_name["Student - US"]
    forbidden = [m["id"] for m in student["message_types"] if m["name"] == "Marketing Message"]
    assert [t["name"] for t in student["templates"] if t["messageTypeId"] in forbidden] == [
        "Legacy newsletter (Marketing Message)"
    ]
    states = [u["dataFields"] for u in student["users"]]
    assert any("subscribedMessageTypeIds" not in f and "unsubscribedChannelIds" not in f for f in states)
    assert any(f.get("unsubscribedChannelIds") for f in states)
    assert any(f.get("subscribedMessageTypeIds") for f in states)

    emulator = State(seed)
    assert emulator.project_for_key("student-demo-key").name == "Student - US"


def test_missing_key_is_a_clear_error(db, monkeypatch, tmp_path):
    monkeypatch.delenv("ITERABLE_API_KEY_STUDENT_US", raising=False)
    with pytest.raises(CommandError, match="Set ITERABLE_API_KEY_STUDENT_US"):
        call_command("emulator_seed", "--output", str(tmp_path / "seed.json"))
    assert not (tmp_path / "seed.json").exists()
