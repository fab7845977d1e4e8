"""The demo catalog: what the seeds describe, loaded idempotently through the guarded door."""

from django.core.management import call_command

from catalog.guard.verdicts import notification_verdict
from catalog.models import (
    AuditEvent,
    Channel,
    CustomEvent,
    Journey,
    MessageType,
    Notification,
    Owner,
)


def test_seed_demo_loads_the_seeds_catalog(db):
    call_command("seed_demo")
    types = {(m.project.name, m.name): m for m in MessageType.objects.select_related("channel", "project")}
    marketing_message = types[("Student - US", "Marketing Message")]
    assert (marketing_message.policy, marketing_message.channel.name, marketing_message.deprecated) == (
        "OptOut",
        "Marketing Channel",
        True,
    )
    assert types[("Student - US", "GitLab Marketing")].policy == "OptIn"
    assert types[("Employer - US", "Transactional")].channel.channel_type == "Transactional"
    assert not Notification.objects.filter(message_type__name="Marketing Message").exists()
    assert not Notification.objects.filter(templates__message_type__name="Marketing Message").exists()

    assert set(Journey.objects.values_list("name", flat=True)) == {
        "SaaS Trial Onboarding + Post",
        "Free User + Invited Onboarding",
    }
    trials = CustomEvent.objects.get(name="SaaS Trials")
    assert trials.example_payload()["companyNamespace"] is True
    assert trials.example_payload()["employeeBucket"] == "1-99"
    assert CustomEvent.objects.get(name="SaaS Free Registration").fields.count() == 10
    assert set(Owner.objects.values_list("role", flat=True)) == {"business", "technical", "campaigns"}
    assert all(email.endswith("@example.com") for email in Owner.objects.values_list("email", flat=True))

    combos = set(Notification.objects.values_list("audience", "medium", "trigger_type"))
    assert {
        ("students", "Email", "api_send"),
        ("students", "Push", "api_send"),
        ("students", "Email", "custom_event"),
        ("employers", "Email", "api_send"),
        ("employers", "Email", "custom_event"),
    } <= combos
    assert Notification.objects.filter(audience="employers", trigger_type="api_send").count() == 1
    assert 24 <= Notification.objects.count() <= 48
    assert Channel.objects.filter(medium="Push").exists()
    # No demo notification breaks the guard; the warnings the demo shows are the intended ones.
    verdicts = {n.key: {v.code for v in notification_verdict(n)} for n in Notification.objects.all()}
    assert not any({"optout-marketing", "marketing-message-type"} & codes for codes in verdicts.values())
    assert "no-owner" in verdicts["student_free_onboarding_day7"]
    assert "trigger-incomplete" in verdicts["student_activity_saved_job_closing"]


def test_second_run_changes_nothing(db, capsys):
    call_command("seed_demo")
    audit_count = AuditEvent.objects.count()
    stamps = dict(Notification.objects.values_list("key", "updated_at"))
    capsys.readouterr()
    call_command("seed_demo")
    assert "nothing changed" in capsys.readouterr().out
    assert AuditEvent.objects.count() == audit_count
    assert dict(Notification.objects.values_list("key", "updated_at")) == stamps


def test_seed_demo_repairs_drift(db):
    call_command("seed_demo")
    Notification.objects.filter(key="student_push_new_message").update(name="Edited by hand")
    call_command("seed_demo")
    assert Notification.objects.get(key="student_push_new_message").name == "Push: new message"
