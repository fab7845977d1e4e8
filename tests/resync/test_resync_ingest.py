"""Taking in the source of truth: good rows kept, bad rows reported with line and reason; a CSV upload is
queued by its request and imported by a worker, ending done or failed with the reason."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import AuditEvent, ContactPreference, PreferenceImport
from catalog.resync.services import ingest as resync_ingest
from catalog.resync.services.ingest import (
    MAX_IMPORT_ATTEMPTS,
    preference_import_progress,
    preference_import_run,
    preference_import_start,
    preference_import_task_name,
    preference_imports_supervise,
    preference_upsert,
)


def preference_import_csv(*, project, actor, file, filename=""):
    """What a worker does with an upload, here and now: queued by the request's door, then run."""
    record = preference_import_start(project=project, actor=actor, file=file, filename=filename)
    assert record.status == PreferenceImport.Status.QUEUED
    assert preference_import_run(import_id=record.pk) == "done"
    record.refresh_from_db()
    return record


def test_upsert_keeps_good_rows_and_reports_bad_ones(project, django_user_model):
    user = django_user_model.objects.create_user("ops", password="a long test password")
    record = preference_upsert(
        project=project,
        actor=user,
        rows=[
            {"email": "Ada@Example.com", "unsubscribed_channel_ids": [3], "subscribedMessageTypeIds": [11]},
            {"email": "not-an-email"},
            {"email": "bob@example.com", "unsubscribed_channel_ids": [2]},  # channel 2 is not managed
            {"email": "cy@example.com", "subscribed_message_type_ids": [13]},  # not in scope, opt-out type
            {"email": "dee@example.com", "unsubscribed_channel_ids": [1], "subscribed_message_type_ids": [12]},
            {"email": "ada@example.com", "email_list_ids": [21]},
            {"email": "eve@example.com", "unsubscribed_channels": [1]},
            "not a row",
        ],
    )
    assert (record.total_rows, record.accepted, record.rejected) == (8, 1, 7)
    by_line = {e["line"]: e for e in record.errors}
    assert "invalid email" in by_line[2]["errors"][0]
    assert "not managed" in by_line[3]["errors"][0]
    assert any("not managed" in m for m in by_line[4]["errors"])
    assert any("channel is unsubscribed" in m for m in by_line[5]["errors"])
    assert by_line[6]["errors"] == ["duplicate of line 1"]
    assert "unknown field" in by_line[7]["errors"][0]
    assert by_line[8]["errors"] == ["a row must be an object"]
    ada = ContactPreference.objects.get(project=project, email="ada@example.com")
    assert ada.unsubscribed_channel_ids == [3] and ada.subscribed_message_type_ids == [11]
    assert ada.email_list_ids is None  # never mentioned: the truth says nothing
    assert ada.changed_by_label == "ops" and ada.source.startswith("API upsert #")
    assert list(record.contacts.all()) == [ada]
    assert AuditEvent.objects.filter(action="preferences_import", object_id=str(record.pk)).exists()


def test_omitted_keeps_null_clears_and_unchanged_rows_do_not_bump(project):
    preference_upsert(
        project=project,
        actor="t",
        rows=[{"email": "a@example.com", "unsubscribed_channel_ids": [1], "email_list_ids": [21]}],
    )
    first = ContactPreference.objects.get(email="a@example.com")
    again = preference_upsert(project=project, actor="t", rows=[{"email": "a@example.com", "email_list_ids": [21]}])
    assert again.changed == 0
    assert ContactPreference.objects.get(pk=first.pk).changed_at == first.changed_at
    preference_upsert(project=project, actor="t", rows=[{"email": "a@example.com", "email_list_ids": None}])
    contact = ContactPreference.objects.get(pk=first.pk)
    assert contact.email_list_ids is None and contact.unsubscribed_channel_ids == [1]
    assert contact.changed_at > first.changed_at


def test_csv_lines_and_cells(project):
    text = (
        "email,unsubscribed_channel_ids,subscribed_message_type_ids,email_list_ids\n"
        "a@example.com,3 ; ,11,21|22\n"
        "b@example.com,,,\n"
        "\n"
        "c@example.com,x,,\n"
        "d@example.com,1\n"
    )
    record = preference_import_csv(project=project, actor="t", file=text.encode(), filename="prefs.csv")
    assert (record.accepted, record.rejected) == (2, 2)
    assert [(e["line"], e["email"]) for e in record.errors] == [(5, "c@example.com"), (6, "")]
    assert "not an id: x" in record.errors[0]["errors"][0]
    a = ContactPreference.objects.get(email="a@example.com")
    assert (a.unsubscribed_channel_ids, a.subscribed_message_type_ids, a.email_list_ids) == ([3], [11], [21, 22])
    b = ContactPreference.objects.get(email="b@example.com")
    assert b.unsubscribed_channel_ids == [] and b.unsubscribed_message_type_ids is None  # column absent
    assert "prefs.csv" in a.source


def test_csv_header_problems_refuse_the_file_in_the_request(project):
    with pytest.raises(ValidationError, match="no email column"):
        preference_import_start(project=project, actor="t", file="mail,x\n")
    with pytest.raises(ValidationError, match="Unknown column"):
        preference_import_start(project=project, actor="t", file="email,unsubscribed\n")
    with pytest.raises(ValidationError, match="empty"):
        preference_import_start(project=project, actor="t", file="")
    with pytest.raises(ValidationError, match="NUL"):
        preference_import_start(project=project, actor="t", file="email\na\x00@example.com\n")
    assert not PreferenceImport.objects.exists()


def test_the_request_only_queues_the_upload_and_the_task_imports_it(project, django_capture_on_commit_callbacks):
    text = "email,unsubscribed_channel_ids\n" + "".join(f"p{i}@example.com,1\n" for i in range(30))
    with django_capture_on_commit_callbacks() as queued:
        record = preference_import_start(project=project, actor="t", file=text, filename="prefs.csv")
    assert (record.status, record.accepted, record.total_rows) == ("queued", 0, 0)
    assert not ContactPreference.objects.exists()  # nothing written by the request
    assert preference_import_progress(record)["active"]
    assert len(queued) == 1
    queued[0]()  # the task (Q_CLUSTER sync in the tests): catalog.resync.tasks.preference_import_task
    record.refresh_from_db()
    assert (record.status, record.accepted, record.processed, record.total_rows) == ("done", 30, 30, 30)
    assert record.content == "" and record.finished_at is not None and record.attempts == 1
    assert ContactPreference.objects.filter(project=project).count() == 30
    progress = preference_import_progress(record)
    assert (progress["active"], progress["percent"]) == (False, 100)
    assert preference_import_run(import_id=record.pk) == "skipped"  # a second delivery does nothing


def test_a_broken_csv_ends_failed_naming_the_line_and_imports_nothing(project):
    text = 'email,unsubscribed_channel_ids\na@example.com,1\n"b@example.com,1\nc@example.com,1\n'
    record = preference_import_start(project=project, actor="t", file=text)
    assert preference_import_run(import_id=record.pk) == "failed"
    record.refresh_from_db()
    assert record.status == PreferenceImport.Status.FAILED and record.finished_at is not None
    assert "Line 3" in record.last_error and "Nothing was imported" in record.last_error
    assert not ContactPreference.objects.exists()


def test_an_unexpected_error_ends_failed_with_the_reason_and_writes_nothing(project, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(resync_ingest, "_upsert_contacts", broken)
    record = preference_import_start(project=project, actor="t", file="email\na@example.com\n")
    with pytest.raises(RuntimeError):
        preference_import_run(import_id=record.pk)
    record.refresh_from_db()
    assert record.status == PreferenceImport.Status.FAILED
    assert "RuntimeError" in record.last_error and "nothing was imported" in record.last_error
    assert not ContactPreference.objects.exists() and record.accepted == 0


def test_an_upload_whose_task_was_lost_starts_over_then_fails_saying_why(project, django_capture_on_commit_callbacks):
    record = preference_import_start(project=project, actor="t", file="email\na@example.com\n")
    later = timezone.now() + timedelta(hours=1)
    name = preference_import_task_name(record.pk)
    assert preference_imports_supervise(queued_names={name}, now=later) == {"resumed": 0, "failed": 0}
    assert preference_imports_supervise(queued_names=None, now=later) == {"resumed": 0, "failed": 0}
    # A worker claimed it, then died: running long past its task's time limit, and no task queued.
    PreferenceImport.objects.filter(pk=record.pk).update(status="running", started_at=timezone.now(), attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert preference_imports_supervise(queued_names=set(), now=later)["resumed"] == 1
    record.refresh_from_db()
    assert record.status == PreferenceImport.Status.DONE and record.accepted == 1  # queued again, then imported
    stuck = preference_import_start(project=project, actor="t", file="email\nb@example.com\n")
    PreferenceImport.objects.filter(pk=stuck.pk).update(
        status="running", started_at=timezone.now(), attempts=MAX_IMPORT_ATTEMPTS
    )
    assert preference_imports_supervise(queued_names=set(), now=later)["failed"] == 1
    stuck.refresh_from_db()
    assert stuck.status == PreferenceImport.Status.FAILED and "stopped 3 times" in stuck.last_error


def test_opt_in_rows_refused_where_the_project_does_not_allow_them(project):
    from catalog.resync.services.rules import resync_settings_update

    resync_settings_update(project=project, actor="t", opt_in_enabled=False)
    record = preference_upsert(
        project=project, actor="t", rows=[{"email": "a@example.com", "subscribed_message_type_ids": [11]}]
    )
    assert record.rejected == 1 and "not enabled" in record.errors[0]["errors"][0]
