"""The seed jobs against the emulator over loopback: set up, dry run, apply, and each action's rules."""

import io

import pytest
from _jobs_seed import iterable_user
from django.core.exceptions import ValidationError
from factories import UserFactory

from catalog.jobs.services.process import job_process
from catalog.jobs.services.rows import identity_hash
from catalog.jobs.services.runs import job_run_apply, job_run_approve, job_run_retry_failed, job_run_start
from catalog.jobs.services.setup import job_save
from catalog.jobs.services.sources import file_rows, rows_from_json
from catalog.models import AuditEvent, ContactPreference, DeletionRecord, JobItem, JobRun

BULK = "POST /api/users/bulkUpdate"


def run_to_end(run):
    assert job_process(run_id=run.pk, slice_seconds_=60) == "done"
    run.refresh_from_db()
    return run


def outcomes(run):
    return {i.key: i.outcome for i in run.items.all()}


def profile_job(project, **extra):
    data = {
        "project": project,
        "name": "iterable_student_sync",
        "action": "update_profiles",
        "mapping": [{"column": "first_name", "field": "firstName"}, {"column": "plan", "field": "plan"}],
        **extra,
    }
    return job_save(actor="tests", data=data)


def csv_rows(text):
    return file_rows(io.BytesIO(text.encode()), "rows.csv")


def test_profile_sync_dry_run_shows_field_changes_then_apply_writes_only_mapped_fields(project, emulator):
    job = profile_job(project)
    rows = csv_rows(
        "email,first_name,plan,secret\nada@example.com,Ada,pro,x\nbob@example.com,Bob,,y\ncy@example.com,Cy,free,z\n"
    )
    dry = run_to_end(job_run_start(actor="tests", job=job, rows=rows, origin="upload", dry_run=True))
    assert emulator.requests(path=BULK) == []
    assert outcomes(dry) == {"ada@example.com": "would_change", "bob@example.com": "unchanged",
                             "cy@example.com": "would_create"}  # fmt: skip
    ada = dry.items.get(key="ada@example.com")
    assert ada.diff == {"fields": {"plan": ["free", "pro"]}}

    applied = run_to_end(job_run_apply(actor="tests", run=dry))
    assert outcomes(applied) == {"ada@example.com": "updated", "cy@example.com": "updated"}
    [write] = emulator.requests(path=BULK)
    sent = {u["email"]: u for u in write["body"]["users"]}
    assert sent["ada@example.com"]["dataFields"] == {"firstName": "Ada", "plan": "pro"}  # no "secret" column
    ada_now = iterable_user(emulator, "ada@example.com")
    assert ada_now["dataFields"]["plan"] == "pro"
    assert ada_now["dataFields"]["devices"] == [{"token": "t"}]  # devices untouched
    assert ada_now["dataFields"]["emailListIds"] == [21]
    assert AuditEvent.objects.filter(action="job_run_apply", object_id=str(applied.pk)).exists()


@pytest.mark.parametrize("field", ["devices", "emailListIds", "unsubscribedChannelIds", "subscribedMessageTypeIds"])
def test_profile_sync_refuses_devices_and_subscription_arrays(project, field):
    with pytest.raises(ValidationError) as caught:
        profile_job(project, mapping=[{"column": "x", "field": field}])
    assert field in " ".join(caught.value.message_dict["mapping"])


def test_retention_rule_leaves_out_old_users(project, emulator):
    job = profile_job(project, retention=[{"column": "created_at", "rule": "within_days", "value": 60}])
    rows = csv_rows("email,first_name,created_at\nnew@example.com,New,2099-01-01\nold@example.com,Old,2001-01-01\n")
    run = run_to_end(job_run_start(actor="tests", job=job, rows=rows, origin="upload"))
    assert outcomes(run) == {"new@example.com": "updated", "old@example.com": "left_out"}
    assert iterable_user(emulator, "old@example.com") is None
    assert iterable_user(emulator, "new@example.com")["dataFields"]["firstName"] == "New"


def test_invalid_rows_are_skipped_or_fail_the_run_as_the_job_says(project, emulator):
    job = profile_job(project)
    text = "email,first_name\nnot-an-address,X\nok@example.com,Ok\n,Nobody\n"
    run = run_to_end(job_run_start(actor="tests", job=job, rows=csv_rows(text), origin="upload"))
    assert run.invalid == 2
    assert sorted(run.items.values_list("outcome", flat=True)) == ["invalid", "invalid", "updated"]
    job_save(actor="tests", job=job, data={"on_invalid": "fail"})
    before = JobRun.objects.count()
    with pytest.raises(ValidationError) as caught:
        job_run_start(actor="tests", job=job, rows=csv_rows(text), origin="upload")
    assert "Row 2" in " ".join(caught.value.messages)
    assert JobRun.objects.count() == before  # nothing kept


def test_a_row_holding_nul_or_a_lone_surrogate_is_invalid_and_never_sent(project, emulator):
    # PostgreSQL cannot store such text in the run's rows; SQLite can, and Iterable would then be sent it.
    job = profile_job(project, mapping=[{"column": "prefs", "field": "prefs"}])
    rows = rows_from_json([
        {"email": "ok@example.com", "prefs": {"tone": "warm"}},
        {"email": "nested@example.com", "prefs": {"tone": ["warm", "\x00"]}},
        {"email": "lone@example.com", "prefs": "\ud800"},
        # Columns the job does not read are never stored nor sent: they may hold anything.
        {"email": "other@example.com", "pre\x00fs": "x", "note": "\x00"},
    ])  # fmt: skip
    run = run_to_end(job_run_start(actor="tests", job=job, rows=rows, origin="api"))
    assert (run.total, run.invalid) == (4, 2)
    refused = run.items.filter(outcome="invalid").order_by("row_no")
    assert [i.error_message for i in refused] == [
        "prefs holds a NUL or a lone surrogate character, which cannot be stored",
        "prefs holds a NUL or a lone surrogate character, which cannot be stored",
    ]
    sent = [u for r in emulator.requests(path=BULK) for u in r["body"]["users"]]
    assert [u["email"] for u in sent] == ["ok@example.com", "other@example.com"]
    assert "\x00" not in str(sent)
    job_save(actor="tests", job=job, data={"on_invalid": "fail"})
    with pytest.raises(ValidationError) as caught:
        job_run_start(actor="tests", job=job, rows=rows_from_json([{"email": "a@example.com\x00"}]), origin="api")
    assert "Row 1: email holds a NUL" in " ".join(caught.value.messages)


def test_jsonl_upload_merges_nested_objects_when_asked(project, emulator):
    job = profile_job(project, mapping=[{"column": "prefs", "field": "prefs"}], merge_nested_objects=True)
    emulator_rows = [{"email": "ada@example.com", "prefs": {"a": 1}}]
    run_to_end(job_run_start(actor="tests", job=job, rows=rows_from_json(emulator_rows), origin="api"))
    later = file_rows(io.BytesIO(b'{"email": "ada@example.com", "prefs": {"b": 2}}\n'), "rows.jsonl")
    run_to_end(job_run_start(actor="tests", job=job, rows=later, origin="upload"))
    assert iterable_user(emulator, "ada@example.com")["dataFields"]["prefs"] == {"a": 1, "b": 2}


def list_job(project, action="list_add", **extra):
    return job_save(actor="tests", data={"project": project, "name": f"{action} job", "action": action,
                                         "list_id": 21, **extra})  # fmt: skip


def test_lists_must_be_static(project):
    with pytest.raises(ValidationError) as caught:
        list_job(project, list_id=22)
    assert "static" in " ".join(caught.value.message_dict["list_id"])
    assert list_job(project).list_name == "Beta testers"


def test_add_to_list_then_remove_with_channel_unsubscribe_confirmed_by_name(project, emulator):
    add = list_job(project)
    rows = rows_from_json([{"email": "bob@example.com"}, {"email": "ada@example.com"}])
    dry = run_to_end(job_run_start(actor="tests", job=add, rows=rows, origin="api", dry_run=True))
    assert outcomes(dry) == {"bob@example.com": "would_add", "ada@example.com": "already_on_list"}
    run_to_end(job_run_apply(actor="tests", run=dry))
    assert 21 in iterable_user(emulator, "bob@example.com")["dataFields"]["emailListIds"]

    with pytest.raises(ValidationError) as caught:
        list_job(project, "list_remove", channel_unsubscribe=True, channel_id=1, channel_confirmed="yes")
    assert "Marketing Email" in " ".join(caught.value.message_dict["channel_confirmed"])
    remove = list_job(project, "list_remove", channel_unsubscribe=True, channel_id=1,
                      channel_confirmed="marketing email")  # fmt: skip
    run = run_to_end(job_run_start(actor="tests", job=remove, rows=rows_from_json([{"email": "bob@example.com"}]),
                                   origin="api"))  # fmt: skip
    assert outcomes(run) == {"bob@example.com": "removed"}
    bob = iterable_user(emulator, "bob@example.com")["dataFields"]
    assert 21 not in bob["emailListIds"]
    assert sorted(bob["unsubscribedChannelIds"]) == [1, 2]


def test_deletion_needs_a_second_person_and_keeps_only_a_hash(project, emulator):
    requester, approver = UserFactory(username="req"), UserFactory(username="appr")
    ContactPreference.objects.create(project=project, email="ada@example.com", changed_at="2026-01-01T00:00:00Z",
                                     changed_by_label="tests", source="tests")  # fmt: skip
    job = job_save(
        actor=requester, data={"project": project, "name": "iterable_user_deletion", "action": "delete_users"}
    )
    run = job_run_start(actor=requester, job=job, rows=rows_from_json([{"email": "ada@example.com"}]), origin="api")
    assert run.status == JobRun.Status.AWAITING_APPROVAL
    assert job_process(run_id=run.pk) == "busy"  # not active: nothing is deleted before approval
    assert iterable_user(emulator, "ada@example.com") is not None
    with pytest.raises(ValidationError):
        job_run_approve(actor=requester, run=run)
    job_run_approve(actor=approver, run=run)
    run_to_end(run)
    assert iterable_user(emulator, "ada@example.com") is None
    [record] = DeletionRecord.objects.all()
    assert record.requested_by_label == "req" and record.approved_by_label == "appr"
    assert record.contact.email == "ada@example.com"  # their preference resync status is traceable
    item = run.items.get()
    # Only the keyed hash stays (hex: it may well contain the letters "ada").
    assert item.outcome == "deleted" and item.key == identity_hash("ada@example.com") and item.payload == {}
    assert "ada@example.com" not in str(list(JobItem.objects.values_list("key", "payload")))


def test_retry_failed_sends_only_the_failed_rows_again(project, emulator):
    job = profile_job(project)
    emulator.configure(faults=[{"endpoint": BULK, "kind": "error500", "count": 4}])
    rows = rows_from_json([{"email": "z@example.com", "first_name": "Z"}])
    run = run_to_end(job_run_start(actor="tests", job=job, rows=rows, origin="api"))
    assert outcomes(run) == {"z@example.com": "send_failed"}
    run_to_end(job_run_retry_failed(actor="tests", run=run))
    assert outcomes(run) == {"z@example.com": "updated"}


def test_an_uploaded_file_is_read_by_the_worker_and_a_deletion_waits_for_approval_with_its_rows_known(
    project, emulator, _uploads_in_tmp
):
    from catalog.jobs.services.runs import job_run_start_file

    requester, approver = UserFactory(username="req2"), UserFactory(username="appr2")
    job = job_save(actor=requester, data={"project": project, "name": "deletion", "action": "delete_users"})
    stream = io.BytesIO(b"email\nbob@example.com\nnot-an-email\n")
    run = job_run_start_file(actor=requester, job=job, stream=stream, filename="gone.csv")
    assert (run.status, run.listed, run.total) == ("queued", False, 0)
    assert len(list(_uploads_in_tmp.iterdir())) == 1
    assert job_process(run_id=run.pk) == "approval"  # listed by the worker, then it waits
    run.refresh_from_db()
    assert (run.status, run.total, run.invalid, run.source_file) == ("approval", 2, 1, "")
    assert list(_uploads_in_tmp.iterdir()) == []  # the file is gone once its rows are in
    assert iterable_user(emulator, "bob@example.com") is not None
    job_run_approve(actor=approver, run=run)
    run_to_end(run)
    assert iterable_user(emulator, "bob@example.com") is None


def test_delete_by_user_id_and_again_is_done_once(project, emulator):
    requester, approver = UserFactory(username="r3"), UserFactory(username="a3")
    job = job_save(actor=requester, data={"project": project, "name": "by id", "action": "delete_users",
                                          "email_column": ""})  # fmt: skip
    for _ in range(2):  # the second time Iterable has nobody with that id: the row is done, not failed
        run = job_run_start(actor=requester, job=job, rows=rows_from_json([{"user_id": "u-ada"}]), origin="api")
        job_run_approve(actor=approver, run=run)
        assert outcomes(run_to_end(run)) == {next(iter(outcomes(run))): "deleted"}
    assert iterable_user(emulator, "ada@example.com") is None
    assert DeletionRecord.objects.filter(by_user_id=True).count() == 2
    assert DeletionRecord.objects.values("identity_hash").distinct().count() == 1  # the same person, one hash


def test_list_add_by_unknown_user_id_fails_that_row_alone(project, emulator):
    job = list_job(project, email_column="")
    rows = rows_from_json([{"user_id": "nobody-here"}, {"user_id": "u-ada"}])
    run = run_to_end(job_run_start(actor="tests", job=job, rows=rows, origin="api"))
    assert outcomes(run) == {"user id nobody-here": "rejected", "user id u-ada": "added"}
    assert run.items.get(key="user id nobody-here").error_message == "Iterable has no user with this user id."


def test_dry_runs_of_a_removal_and_a_deletion_say_what_they_would_do_and_write_nothing(project, emulator):
    rows = [{"email": "ada@example.com"}, {"email": "bob@example.com"}, {"email": "nobody@example.com"}]
    remove = list_job(project, "list_remove")
    dry = run_to_end(job_run_start(actor="tests", job=remove, rows=rows_from_json(rows), origin="api", dry_run=True))
    assert outcomes(dry) == {"ada@example.com": "would_remove", "bob@example.com": "not_on_list",
                             "nobody@example.com": "not_found"}  # fmt: skip
    assert 21 in iterable_user(emulator, "ada@example.com")["dataFields"]["emailListIds"]

    deletion = job_save(actor="tests", data={"project": project, "name": "deletion", "action": "delete_users"})
    dry = job_run_start(actor="tests", job=deletion, rows=rows_from_json(rows), origin="api", dry_run=True)
    assert dry.status == JobRun.Status.QUEUED  # a dry run deletes nothing: no second person needed
    dry = run_to_end(dry)
    assert outcomes(dry) == {"ada@example.com": "would_delete", "bob@example.com": "would_delete",
                             "nobody@example.com": "not_found"}  # fmt: skip
    assert iterable_user(emulator, "ada@example.com") is not None


def test_a_dry_run_is_applied_once(project, emulator):
    job = profile_job(project)
    rows = csv_rows("email,first_name,plan\nada@example.com,Ada,pro\n")
    dry = run_to_end(job_run_start(actor="tests", job=job, rows=rows, origin="upload", dry_run=True))
    applied = job_run_apply(actor="tests", run=dry)
    with pytest.raises(ValidationError) as caught:
        job_run_apply(actor="tests", run=dry)
    assert "already been applied" in caught.value.messages[0]
    assert list(JobRun.objects.filter(source_run=dry)) == [applied]


def test_query_values_that_are_not_plain_json_are_converted_or_refused_per_row(project, emulator):
    from datetime import UTC, date, datetime
    from decimal import Decimal
    from uuid import UUID

    job = profile_job(project, mapping=[{"column": "seen", "field": "lastSeen"}, {"column": "day", "field": "day"},
                                        {"column": "spent", "field": "spent"}, {"column": "ref", "field": "ref"},
                                        {"column": "ratio", "field": "ratio"}])  # fmt: skip
    uid = UUID("12345678-1234-5678-1234-567812345678")
    rows = [
        (1, {"email": "ada@example.com", "seen": datetime(2026, 11, 30, 22, 0, tzinfo=UTC), "day": date(2026, 11, 30),
             "spent": Decimal("12"), "ref": uid, "ratio": Decimal("0.25")}),
        (2, {"email": "bob@example.com", "seen": b"\x00\x01"}),
        (3, {"email": "cy@example.com", "seen": object()}),
    ]  # fmt: skip
    run = job_run_start(actor="tests", job=job, rows=rows, origin="api", dry_run=True)
    ada = run.items.get(row_no=1)
    assert ada.payload["dataFields"] == {"lastSeen": "2026-11-30T22:00:00+00:00", "day": "2026-11-30", "spent": 12,
                                         "ref": str(uid), "ratio": 0.25}  # fmt: skip
    bob, cy = run.items.get(row_no=2), run.items.get(row_no=3)
    assert (bob.outcome, cy.outcome) == ("invalid", "invalid")
    assert "binary" in bob.error_message and "cannot be sent" in cy.error_message


def test_what_a_job_does_cannot_change_under_a_run_still_to_be_sent(project, emulator):
    from catalog.jobs.services.runs import job_run_cancel

    job = profile_job(project)
    run = job_run_start(actor="tests", job=job, rows=rows_from_json([{"email": "ada@example.com"}]), origin="api")
    assert run.status == JobRun.Status.QUEUED
    with pytest.raises(ValidationError) as caught:
        job_save(actor="tests", job=job, data={"action": "delete_users", "mapping": []})
    assert "finish or cancel it" in caught.value.message_dict["action"][0]
    job.refresh_from_db()
    assert job.action == "update_profiles"
    job_save(actor="tests", job=job, data={"description": "still fine"})  # what the run does is unchanged

    job_run_cancel(actor="tests", run=run)
    job_save(actor="tests", job=job, data={"action": "delete_users", "mapping": []})


def test_an_unapproved_deletion_is_never_sent(project, emulator):
    job = job_save(actor="tests", data={"project": project, "name": "deletion", "action": "delete_users"})
    run = job_run_start(actor="tests", job=job, rows=rows_from_json([{"email": "ada@example.com"}]), origin="api")
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.QUEUED)  # however it came to be queued
    assert job_process(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert "approved" in run.last_error
    assert iterable_user(emulator, "ada@example.com") is not None
