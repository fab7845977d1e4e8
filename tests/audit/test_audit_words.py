"""Every capability's audit event reads in words: choice labels instead of stored values, lists and nested values
spelled out, codes as sentences, a creation's values without "none →", and an event's ids as links."""

from django.urls import reverse
from django.utils import timezone

from catalog import models
from catalog.audit.services import audit_event, audit_record
from catalog.audit.words import event_words, value_words
from catalog.services.catalog import catalog_object_save
from catalog.sync.services.runs import _audit_changes


def _lines(event) -> dict[str, str]:
    return {line.label: str(line).split(": ", 1)[1] for line in event_words(event).lines}


def test_a_catalog_change_says_before_and_after_with_choice_labels(small_catalog):
    digest = small_catalog.digest
    digest.status = "draft"
    catalog_object_save(actor="tester", instance=digest)
    event = models.AuditEvent.objects.filter(action="update").latest("id")
    words = event_words(event)
    assert words.what == "Changed notification weekly_digest"
    assert words.object_url == reverse("catalog:notification_detail", kwargs={"key": "weekly_digest"})
    assert _lines(event)["Status"] == "Active → Draft"


def test_a_creation_lists_the_values_set_not_the_empty_ones(small_catalog):
    owner = models.Owner(name="Growth", email="growth@example.com", role="business")
    catalog_object_save(actor="tester", instance=owner)
    event = models.AuditEvent.objects.filter(action="create", object_type="owner").latest("id")
    lines = event_words(event).lines
    assert all(not line.is_change for line in lines)
    values = {line.label: line.value for line in lines}
    assert {"Name": "Growth", "Email": "growth@example.com", "Role": "Business owner"}.items() <= values.items()
    assert not any(line.value in ("none", "(empty)") for line in lines)


def test_a_sync_says_its_outcome_counts_and_findings_in_words(small_catalog):
    run = models.SyncRun.objects.create(
        project=small_catalog.project,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        status="succeeded",
        counts={"templates": 12, "campaigns": 3},
        calls={"GET /api/templates": 1, "GET /api/campaigns": 1},
        findings={"campaign-missing": 2, "optout-marketing": 1},
        errors=[],
    )
    event = audit_record(actor="schedule", action="sync", instance=run, changes=_audit_changes(run))
    lines = _lines(event)
    assert event_words(event).what.startswith("Synced with Iterable sync run")
    assert lines["Status"] == "Succeeded"
    assert lines["Read from Iterable"] == "templates: 12, campaigns: 3"
    assert lines["Calls to Iterable"] == "2"
    assert lines["Found"] == "campaign missing in Iterable: 2, opt-out type on a Marketing channel: 1"
    assert lines["Errors"] == "none"
    assert "campaign-missing" not in event_words(event).details


def test_a_failed_sync_names_its_error(small_catalog):
    run = models.SyncRun.objects.create(
        project=small_catalog.project,
        started_at=timezone.now(),
        status="failed",
        errors=[{"code": "Unauthorized", "msg": "The API key was refused"}],
    )
    event = audit_record(actor="tester", action="sync", instance=run, changes=_audit_changes(run))
    assert _lines(event)["Errors"] == "Unauthorized — The API key was refused"
    assert _lines(event)["Status"] == "Failed"


def test_a_test_send_links_its_attempt_and_says_its_outcome(small_catalog):
    event = audit_event(
        actor="mia",
        action="proof_send",
        object_type="notification",
        object_id=str(small_catalog.digest.pk),
        object_repr="weekly_digest",
        changes={
            "attempt": 41,
            "mode": "template_proof",
            "recipient": "qa@example.com",
            "endpoint": "POST /api/email/target",
            "outcome": "refused_guard",
            "code": "",
        },
    )
    words = event_words(event)
    assert words.what == "Test send notification weekly_digest"
    lines = {line.label: line for line in words.lines}
    assert lines["Test send"].value == "#41"
    assert lines["Test send"].url == reverse("catalog:proof_send_detail", kwargs={"pk": 41})
    assert lines["How"].value == "Template proof (no campaign)"
    assert lines["Outcome"].value == "Refused by the guard"
    assert lines["Iterable's answer"].value == "(empty)"


def test_resyncs_imports_and_lookups_read_as_sentences(small_catalog):
    start = audit_event(
        actor="erin",
        action="resync_start",
        object_type="resyncrun",
        object_id="7",
        object_repr="Resync #7 of Test project (queued)",
        changes={"selection": "import", "import": 3, "total": 120},
    )
    assert event_words(start).what == "Started a resync resync run Resync #7 of Test project (queued)"
    assert event_words(start).object_url == reverse("catalog:resync_run", kwargs={"pk": 7})
    assert _lines(start) == {"Which contacts": "An import", "Import": "#3", "Contacts": "120"}
    assert [line.url for line in event_words(start).lines if line.label == "Import"] == [
        reverse("catalog:resync_import", kwargs={"pk": 3})
    ]

    settings = audit_event(
        actor="erin",
        action="resync_settings_update",
        object_type="resyncsettings",
        object_id="1",
        object_repr="Resync settings of Test project",
        changes={"batch_size": {"before": 100, "after": 250}, "scope": {"before": [], "after": ["email", "sms"]}},
    )
    lines = _lines(settings)
    assert lines["Scope"] == "none → email, sms"
    assert any(value == "100 → 250" for value in lines.values())

    imported = audit_event(
        actor="erin",
        action="preferences_import",
        object_type="preferenceimport",
        object_id="3",
        object_repr="Upload #3 (118 kept, 2 rejected)",
        changes={"rows": 120, "accepted": 118, "changed": 40, "rejected": 2, "filename": "prefs.csv"},
    )
    assert _lines(imported) == {
        "Rows read": "120",
        "Rows accepted": "118",
        "Contacts changed": "40",
        "Rows rejected": "2",
        "File": "prefs.csv",
    }

    lookup = audit_event(
        actor="mia",
        action="contact_lookup",
        object_type="contact",
        object_repr="someone@example.com",
        changes={"projects": ["Student - US", "Employer - US"], "at": "2026-11-30T09:15:00+00:00"},
    )
    assert event_words(lookup).what == "Looked up a contact contact someone@example.com"
    assert _lines(lookup) == {"Projects": "Student - US, Employer - US", "At": "2026-11-30 09:15"}
    asked = audit_event(
        actor="mia",
        action="contact_lookup",
        object_type="contact",
        object_repr="user-42",
        changes={"projects": ["Student - US"], "looked_up_by": "userId", "scope": "one project", "notification": None},
    )
    assert _lines(asked) == {"Projects": "Student - US", "Looked up by": "user id", "Scope": "one project"}


def test_an_unknown_action_and_shape_still_reads(small_catalog):
    event = audit_event(
        actor="someone",
        action="rename_things",
        object_type="user",
        object_repr="vera",
        changes={"groups": {"before": ["viewer"], "after": ["viewer", "marketing"]}, "extra": {"nested": [1, 2]}},
    )
    words = event_words(event)
    assert words.action == "Rename things"
    assert _lines(event)["Groups"] == "viewer → viewer, marketing"
    assert _lines(event)["Extra"] == "nested: 1, 2"
    assert value_words({"a": {"b": 1}, "c": 2}) == "a (b: 1); c (2)"


def test_nested_counts_read_as_groups_without_their_zeros():
    counts = {"channel": {"seen": 4, "created": 4, "updated": 0}, "template": {"seen": 0, "created": 0}}
    assert value_words(counts) == "channel (seen: 4, created: 4); template (nothing)"


def test_values_in_words():
    assert value_words(None) == "none"
    assert value_words(True) == "yes"
    assert value_words([]) == "none"
    assert value_words(list(range(15))).endswith("and 3 more")
    assert value_words(123456) == "123,456"
    assert value_words("x" * 400).endswith("…")


def test_users_and_roles_changes_read_in_words(db, django_user_model):
    from catalog.people.services import user_deactivate, user_role_change

    admin = django_user_model.objects.create_user("ada", "ada@example.com")
    grace = django_user_model.objects.create_user("grace", "grace@example.com")
    user_role_change(actor=admin, user=grace, role="viewer")
    user_deactivate(actor=admin, user=grace)
    words = [event_words(e).what for e in models.AuditEvent.objects.filter(object_type="user").order_by("id")]
    assert words[0].startswith("Changed the role of person grace")
    assert words[-1].startswith("Deactivated person")
    assert not any("role_change" in w or "deactivate " in w for w in words)


def test_every_action_the_code_records_has_its_own_words():
    """A new audit action without words reads as a humanised code ("Job run start"): every action written in
    the code is listed in ACTIONS."""
    import re
    from pathlib import Path

    from catalog.audit.words import ACTIONS

    root = Path(__file__).resolve().parents[2] / "catalog"
    written = set()
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"audit_(?:record|event)\((.{0,400}?)\)", text, re.DOTALL):
            # The action given, written plainly or as a choice ("job_create" if creating else "job_update").
            for given in re.findall(r"action=([^,)]*)", call.group(1)):
                written.update(re.findall(r"""["']([a-z_]+)["']""", given))
    assert written, "no audit calls found: the search is wrong"
    assert {"job_schedule_skip", "job_run_start", "proof_send"} <= written
    assert sorted(written - set(ACTIONS)) == []
