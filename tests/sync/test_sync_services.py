"""Catalog sync against the emulator: mirror, drift of every kind, the guard on Iterable's side, orphans,
failures, idempotent reruns, the command, the task and the prefill for turning an orphan into an entry."""

from __future__ import annotations

import copy

import pytest
from _sync_seed import EXPECTED_DRIFT, EXPECTED_GUARD, EXPECTED_ORPHANS, PROJECT_A, PROJECT_B, seed
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.models import Schedule

from catalog.core.forms import NotificationForm
from catalog.guard import policy
from catalog.iterable import IterableClient
from catalog.models import AuditEvent, IterableMirror, MirrorKind, SyncFinding, SyncRun, Template
from catalog.sync.selectors import findings_for_notification, guard_violations_in_iterable
from catalog.sync.services.drift import catalog_drift
from catalog.sync.services.fetch import minimum_calls
from catalog.sync.services.prefill import notification_prefill, template_prefill
from catalog.sync.services.runs import SCHEDULE_NAME, catalog_sync, catalog_sync_enqueue, catalog_sync_project


def _findings(project, category):
    return {
        (f.notification.key if f.notification else None, f.code, f.iterable_id)
        for f in SyncFinding.objects.filter(project=project, category=category).select_related("notification")
    }


def _mirror_state(project):
    return list(
        IterableMirror.objects.filter(project=project)
        .order_by("kind", "iterable_id")
        .values_list("pk", "kind", "iterable_id", "payload_hash", "changed_at", "first_seen_at")
    )


def test_sync_mirrors_every_kind(sync_catalog):
    run = catalog_sync_project(project=sync_catalog.a)

    assert run.status == "succeeded", run.errors
    assert {kind: c["seen"] for kind, c in run.counts.items()} == {
        "channel": 3,
        "message_type": 5,
        "template": 13,
        "campaign": 11,
        "journey": 4,
    }
    copy_row = IterableMirror.objects.get(project=sync_catalog.a, kind=MirrorKind.TEMPLATE, iterable_id=411)
    assert (copy_row.name, copy_row.iterable_campaign_id, copy_row.client_template_id) == (
        "Trial day 1",
        511,
        "trial-1",
    )
    assert copy_row.iterable_message_type_id == 201
    campaign = IterableMirror.objects.get(project=sync_catalog.a, kind=MirrorKind.CAMPAIGN, iterable_id=511)
    assert (campaign.iterable_template_id, campaign.iterable_workflow_id, campaign.state) == (411, 604, "Running")
    journeys = dict(
        IterableMirror.objects.filter(project=sync_catalog.a, kind=MirrorKind.JOURNEY).values_list(
            "iterable_id", "state"
        )
    )
    assert journeys == {601: "disabled", 602: "archived", 603: "enabled", 604: "enabled"}
    # Old message types come without a policy; the client reads that as OptOut, and so does the mirror.
    mt = IterableMirror.objects.get(project=sync_catalog.a, kind=MirrorKind.MESSAGE_TYPE, iterable_id=203)
    assert mt.payload["subscriptionPolicy"] == "OptOut"


def test_drift_of_every_kind_is_found(sync_catalog):
    catalog_sync_project(project=sync_catalog.a)

    assert _findings(sync_catalog.a, "drift") == EXPECTED_DRIFT
    by_key = {
        f.notification.key: f for f in SyncFinding.objects.filter(category="drift").select_related("notification")
    }
    assert "clean_digest" not in by_key and "old_thing" not in by_key  # clean; deprecated is not judged
    assert (
        "#499" in by_key["missing_template"].message
        and "does not exist in Iterable" in by_key["missing_template"].message
    )
    assert "OptOut in Iterable but OptIn in the catalog" in by_key["policy_changed"].message
    assert "channel #104 in Iterable" in by_key["channel_changed"].message
    assert "Finished" in by_key["campaign_stopped"].message
    assert "Blast" in by_key["campaign_blast"].message
    assert "'orderPlaced'" in by_key["journey_wrong_event"].message
    copy_finding = by_key["journey_copy"]
    assert copy_finding.details == {"declared_template_id": 410, "copy_template_id": 411}
    assert "Point the catalog at #411" in copy_finding.message
    assert by_key["campaign_copy"].details["copy_template_id"] == 413
    severities = {f.code: f.severity for f in by_key.values()}
    assert severities["template-missing"] == policy.ERROR and severities["template-copy"] == policy.WARNING


def test_guard_on_iterable_side_uses_the_policy(sync_catalog):
    catalog_sync_project(project=sync_catalog.a)

    assert _findings(sync_catalog.a, "guard") == EXPECTED_GUARD
    facts = policy.MessageTypeFacts(
        name="Marketing Message", policy="OptOut", channel_name="Marketing Channel", channel_type="Marketing"
    )
    expected = {
        v.code: v.message
        for v in policy.message_type_violations(facts, subject="Iterable template 'Old newsletter' (#420)")
    }
    stored = {f.code: f.message for f in SyncFinding.objects.filter(category="guard", iterable_id=420)}
    assert stored == expected
    grouped = guard_violations_in_iterable(project=sync_catalog.a)
    assert [(g["template_id"], g["code"], [n.key for n in g["notifications"]]) for g in grouped] == [
        (404, "optout-marketing", ["policy_changed"]),
        (420, "marketing-message-type", []),
        (420, "optout-marketing", []),
    ]
    assert all(f.severity == policy.ERROR for f in SyncFinding.objects.filter(category="guard"))


def test_orphans(sync_catalog):
    catalog_sync_project(project=sync_catalog.a)

    orphans = {(code, iid) for _, code, iid in _findings(sync_catalog.a, "orphan")}
    # Copies attached to claimed campaigns/journeys (411, 413) are reported as template-copy drift, not orphans;
    # blast campaign 531 is a one-off send, not a catalog notification.
    assert orphans == EXPECTED_ORPHANS


def test_findings_per_notification_and_counts(sync_catalog):
    run = catalog_sync_project(project=sync_catalog.a)

    found = findings_for_notification(notification=sync_catalog.notifications["policy_changed"])
    assert {f.code for f in found} == {"message-type-changed", "optout-marketing"}
    assert run.findings["template-copy"] == 2
    assert sum(run.findings.values()) == SyncFinding.objects.filter(project=sync_catalog.a).count()
    assert catalog_drift(project=sync_catalog.a)  # the same rules, callable any time


def test_calls_are_the_minimum_pages(sync_catalog):
    run = catalog_sync_project(project=sync_catalog.a)

    assert run.calls == {
        "GET /api/channels": 1,
        "GET /api/messageTypes": 1,
        "GET /api/templates": 1,
        "GET /api/campaigns": 1,
        "GET /api/journeys": 2,  # live and archived
    }
    assert run.call_total == minimum_calls(templates=13, campaigns=11, journeys=3, archived_journeys=1)


def test_pages_at_maximum_size(sync_catalog, sync_emulator):
    big = seed()
    big["projects"][1]["templates"] = [
        {"templateId": 10_000 + i, "name": f"T{i}", "messageTypeId": 211, "messageMedium": "Email"} for i in range(2001)
    ]
    big["projects"][1]["journeys"] = [{"id": 7000 + i, "name": f"J{i}"} for i in range(51)]
    sync_emulator.load_seed(big)
    sync_emulator.clear_requests()

    run = catalog_sync_project(project=sync_catalog.b)

    assert run.counts["template"]["seen"] == 2001 and run.counts["journey"]["seen"] == 51
    assert run.calls["GET /api/templates"] == 3 and run.calls["GET /api/journeys"] == 3
    sizes = [r["query"].get("pageSize") for r in sync_emulator.requests(path="/api/templates")]
    assert sizes == [["1000"]] * 3
    journey_sizes = {r["query"]["pageSize"][0] for r in sync_emulator.requests(path="/api/journeys")}
    assert journey_sizes == {"50"}
    assert run.call_total == minimum_calls(templates=2001, campaigns=1, journeys=51)


def test_failing_project_is_recorded_and_others_still_sync(sync_catalog):
    runs = catalog_sync()

    status = {run.project.name: run.status for run in runs}
    assert status == {"Sync A": "succeeded", "Sync B": "succeeded", "Sync C broken": "failed"}
    broken = next(run for run in runs if run.status == "failed")
    assert broken.errors[0]["code"] == "BadApiKey" and broken.errors[0]["status"] == 401
    assert broken.errors[0]["msg"] == "Invalid API key"
    assert broken.calls == {"GET /api/channels": 1} and broken.finished_at is not None
    assert not IterableMirror.objects.filter(project=sync_catalog.c).exists()
    assert IterableMirror.objects.filter(project=sync_catalog.b, kind="template").count() == 1
    assert not SyncFinding.objects.filter(project=sync_catalog.b).exclude(category="orphan").exists()
    assert AuditEvent.objects.filter(action="sync", object_type="syncrun").count() == 3


def test_missing_key_variable_is_recorded(sync_catalog, monkeypatch):
    monkeypatch.delenv("ITERABLE_API_KEY_SYNC_B")

    run = catalog_sync_project(project=sync_catalog.b)

    assert run.status == "failed" and run.errors[0]["code"] == "MissingApiKey"
    assert "ITERABLE_API_KEY_SYNC_B" in run.errors[0]["msg"]


def test_failure_mid_fetch_leaves_mirror_and_findings(sync_catalog, sync_emulator):
    first = catalog_sync_project(project=sync_catalog.a)
    before = _mirror_state(sync_catalog.a)
    findings_before = SyncFinding.objects.filter(project=sync_catalog.a).count()
    sync_emulator.configure(faults=[{"endpoint": "GET /api/campaigns", "kind": "error500", "count": 1}])
    client = IterableClient(
        "sync-a-key-DO-NOT-LEAK", base_url=sync_emulator.us_url, max_attempts=1, pacing=False, timeout=(1, 2)
    )

    run = catalog_sync_project(project=sync_catalog.a, client=client)

    assert run.status == "failed"
    assert run.errors[0]["code"] == "GenericError" and run.errors[0]["status"] == 500
    assert run.calls["GET /api/campaigns"] == 1 and "GET /api/journeys" not in run.calls
    assert _mirror_state(sync_catalog.a) == before
    assert SyncFinding.objects.filter(project=sync_catalog.a, run=first).count() == findings_before


def test_rerun_is_idempotent(sync_catalog):
    first = catalog_sync_project(project=sync_catalog.a)
    mirror, findings = _mirror_state(sync_catalog.a), _findings(sync_catalog.a, "drift")
    count = SyncFinding.objects.count()

    second = catalog_sync_project(project=sync_catalog.a)

    assert second.status == "succeeded"
    assert all(
        c["unchanged"] == c["seen"] and c["created"] == c["updated"] == c["deleted"] == 0
        for c in second.counts.values()
    )
    assert _mirror_state(sync_catalog.a) == mirror  # not even rewritten
    assert _findings(sync_catalog.a, "drift") == findings
    assert SyncFinding.objects.count() == count  # replaced, not duplicated
    assert set(SyncFinding.objects.values_list("run", flat=True)) == {second.pk}
    assert second.findings == first.findings


def test_rerun_follows_changes_in_iterable_and_catalog(sync_catalog, sync_emulator):
    catalog_sync_project(project=sync_catalog.a)
    changed = copy.deepcopy(PROJECT_A)
    kept = [t for t in changed["templates"] if t["templateId"] not in (402, 430)]  # orphan 430 deleted
    changed["templates"] = [
        *kept,
        {**PROJECT_A["templates"][1], "name": "Welcome v2"},  # 402 renamed
        {"templateId": 499, "name": "Gone welcome", "messageTypeId": 203, "messageMedium": "Email"},  # created
    ]
    next(c for c in changed["campaigns"] if c["id"] == 506)["campaignState"] = "Running"
    sync_emulator.load_seed({"projects": [changed, copy.deepcopy(PROJECT_B)]})
    sync_catalog.notifications["journey_gone"].delete()

    run = catalog_sync_project(project=sync_catalog.a)

    assert run.counts["template"] == {"seen": 13, "created": 1, "updated": 1, "deleted": 1, "unchanged": 11}
    assert run.counts["campaign"]["updated"] == 1
    drift = _findings(sync_catalog.a, "drift")
    assert ("missing_template", "template-missing", 499) not in drift
    assert ("campaign_stopped", "campaign-not-running", 506) not in drift
    assert ("journey_gone", "journey-missing", 699) not in drift
    assert ("orphan-template", 430) not in {(c, i) for _, c, i in _findings(sync_catalog.a, "orphan")}
    assert IterableMirror.objects.get(project=sync_catalog.a, kind="template", iterable_id=402).name == "Welcome v2"


def test_template_prefill_from_orphan(sync_catalog):
    catalog_sync_project(project=sync_catalog.a)

    prefill = template_prefill(project=sync_catalog.a, iterable_id=430)

    assert prefill.initial == {
        "project": sync_catalog.a.pk,
        "iterable_id": 430,
        "name": "Unclaimed",
        "medium": "Email",
        "message_type": sync_catalog.types[201].pk,
        "campaign_id": None,
        "client_template_id": "",
    }
    assert prefill.violations == []
    fields = dict(prefill.initial)
    fields["project_id"] = fields.pop("project")
    fields["message_type_id"] = fields.pop("message_type")
    Template(**fields).full_clean()  # the prefill is a valid catalog template as it stands


def test_template_prefill_of_forbidden_type_does_not_propose_it(sync_catalog):
    catalog_sync_project(project=sync_catalog.a)

    prefill = template_prefill(project=sync_catalog.a, iterable_id=420)

    assert prefill.initial["message_type"] is None
    assert {v.code for v in prefill.violations} == {"optout-marketing", "marketing-message-type"}
    assert any("guard forbids" in note for note in prefill.notes)


def test_notification_prefill_from_orphan_campaign(sync_catalog):
    catalog_sync_project(project=sync_catalog.a)

    prefill = notification_prefill(project=sync_catalog.a, campaign_id=530)

    assert prefill.initial["key"] == "unclaimed_campaign"
    assert prefill.initial["trigger_type"] == "api_send" and prefill.initial["campaign_id"] == 530
    assert prefill.initial["status"] == "draft" and prefill.initial["medium"] == "Email"
    assert prefill.initial["message_type"] == sync_catalog.types[201].pk
    assert prefill.initial["templates"] == []
    assert any("#430 is not in the catalog" in note for note in prefill.notes)
    form = NotificationForm(data={**prefill.initial, "audience": "students", "tags": "[]"})
    assert form.is_valid(), form.errors


def test_notification_prefill_for_journey_campaign(sync_catalog):
    catalog_sync_project(project=sync_catalog.a)

    prefill = notification_prefill(project=sync_catalog.a, campaign_id=511)

    assert prefill.initial["trigger_type"] == "custom_event"
    assert prefill.initial["journey"] == sync_catalog.notifications["journey_copy"].journey_id
    assert prefill.initial["campaign_id"] is None
    assert prefill.initial["key"] == "trial_day_1"


def test_command_syncs_named_project(sync_catalog, capsys):
    call_command("sync_iterable", "--project", "Sync B")

    out = capsys.readouterr().out
    assert out.startswith("Sync B: ok, 6 calls;")
    assert SyncRun.objects.get().trigger == "command"


def test_command_reports_failures_with_exit_status(sync_catalog, capsys):
    with pytest.raises(CommandError, match="1 of 3 project syncs failed"):
        call_command("sync_iterable")

    captured = capsys.readouterr()
    assert "Sync C broken: FAILED BadApiKey: Invalid API key" in captured.err
    assert "Sync A: ok" in captured.out and "Sync B: ok" in captured.out
    assert SyncRun.objects.filter(status="succeeded").count() == 2


def test_command_unknown_project(sync_catalog):
    with pytest.raises(CommandError, match="No project named 'Nope'"):
        call_command("sync_iterable", "--project", "Nope")
    assert not SyncRun.objects.exists()


def test_schedule_exists_after_migrate_and_is_recreated(db, capsys):
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert schedule.func == "catalog.sync.tasks.catalog_sync_all_task" and schedule.schedule_type == Schedule.HOURLY
    call_command("sync_iterable", "--ensure-schedule")
    assert "already present" in capsys.readouterr().out
    schedule.delete()
    call_command("sync_iterable", "--ensure-schedule")
    assert "created" in capsys.readouterr().out
    assert Schedule.objects.filter(name=SCHEDULE_NAME).count() == 1


def test_enqueue_runs_task_on_commit(sync_catalog, django_capture_on_commit_callbacks, django_user_model):
    user = django_user_model.objects.create_user(username="syncer", password="a long test password")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        catalog_sync_enqueue(project_ids=[sync_catalog.b.pk], actor=user)
    assert not SyncRun.objects.exists()  # nothing queued before the commit

    for callback in callbacks:
        callback()  # Q_CLUSTER sync=True in tests: the task runs here

    run = SyncRun.objects.get()
    assert (run.project, run.status, run.actor_label, run.trigger) == (sync_catalog.b, "succeeded", "syncer", "manual")


def test_scheduled_task_fans_out_to_every_project(sync_catalog, django_capture_on_commit_callbacks):
    from catalog.sync.tasks import catalog_sync_all_task

    with django_capture_on_commit_callbacks(execute=True):
        assert catalog_sync_all_task() == 3

    assert sorted(SyncRun.objects.values_list("project__name", "status", "trigger")) == [
        ("Sync A", "succeeded", "schedule"),
        ("Sync B", "succeeded", "schedule"),
        ("Sync C broken", "failed", "schedule"),
    ]


def test_task_for_deleted_project_is_skipped(db):
    from catalog.sync.tasks import catalog_sync_task

    assert catalog_sync_task(987654) == {"project_id": 987654, "status": "skipped"}


def test_api_key_never_stored(sync_catalog):
    catalog_sync()

    for run in SyncRun.objects.all():
        assert "DO-NOT-LEAK" not in str(run.errors) and "sync-wrong-key" not in str(run.errors)
    assert not AuditEvent.objects.filter(changes__icontains="DO-NOT-LEAK").exists()
