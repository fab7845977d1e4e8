"""A row's own prefer_user_id and merge_nested_objects columns (the export integration's preserved columns)
override the job's setting for that row: validated with the row named, shown in the dry run, sent as chosen."""

import io

import pytest
from _jobs_seed import iterable_user
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from catalog.iterable import client_for_project
from catalog.jobs.selectors import job_run_changes, job_run_failures
from catalog.jobs.services.process import job_process
from catalog.jobs.services.runs import job_run_apply, job_run_start
from catalog.jobs.services.setup import job_save
from catalog.jobs.services.sources import file_rows, rows_from_json
from catalog.models import JobItem, JobRun


def run_to_end(run):
    assert job_process(run_id=run.pk, slice_seconds_=60) == "done"
    run.refresh_from_db()
    return run


def prefs_job(project, **extra):
    data = {"project": project, "name": "iterable_student_sync", "action": "update_profiles",
            "mapping": [{"column": "prefs", "field": "prefs"}], **extra}  # fmt: skip
    return job_save(actor="tests", data=data)


def test_a_rows_merge_choice_overrides_the_job_and_the_dry_run_shows_it(project, emulator, operator):
    client_for_project(project).bulk_update_users(
        [{"email": e, "dataFields": {"prefs": {"a": 1}}} for e in ("ada@example.com", "bob@example.com")]
    )
    job = prefs_job(project)  # the job replaces objects whole by default
    rows = [
        {"email": "ada@example.com", "prefs": {"b": 2}, "merge_nested_objects": "TRUE"},
        {"email": "bob@example.com", "prefs": {"b": 2}},
    ]
    dry = run_to_end(job_run_start(actor="tests", job=job, rows=rows_from_json(rows), origin="api", dry_run=True))
    changes = {c["who"]: c for c in job_run_changes(run=dry)}
    assert changes["ada@example.com"]["changes"] == [{"field": "prefs", "before": {"a": 1}, "after": {"a": 1, "b": 2}}]
    assert changes["ada@example.com"]["choices"] == ["merges nested objects"]
    assert changes["bob@example.com"]["changes"] == [{"field": "prefs", "before": {"a": 1}, "after": {"b": 2}}]
    assert changes["bob@example.com"]["choices"] == []
    page = Client()
    page.force_login(operator)
    shown = page.get(reverse("catalog:job_run", args=[dry.pk])).content.decode()
    assert "(sent as: merges nested objects)" in shown

    run_to_end(job_run_apply(actor="tests", run=dry))
    assert iterable_user(emulator, "ada@example.com")["dataFields"]["prefs"] == {"a": 1, "b": 2}
    assert iterable_user(emulator, "bob@example.com")["dataFields"]["prefs"] == {"b": 2}


def test_a_rows_false_overrides_a_job_that_merges_and_prefers_the_user_id(project, emulator):
    job = prefs_job(project, merge_nested_objects=True, prefer_user_id=True)
    rows = file_rows(
        io.BytesIO(
            b"email,user_id,prefs,merge_nested_objects,prefer_user_id\n"
            b"ada@example.com,u-ada,x,0,no\n"
            b"bob@example.com,u-bob,y,,\n"
        ),
        "rows.csv",
    )
    run = job_run_start(actor="tests", job=job, rows=rows, origin="upload", dry_run=True)
    payloads = {i.key: i.payload for i in run.items.all()}
    assert "mergeNestedObjects" not in payloads["ada@example.com"] and "preferUserId" not in payloads["ada@example.com"]
    assert payloads["bob@example.com"]["mergeNestedObjects"] is True  # an empty cell: the job's setting
    assert payloads["bob@example.com"]["preferUserId"] is True


def test_a_choice_that_is_not_true_or_false_names_the_row(project, emulator):
    rows = [{"email": "ada@example.com", "prefs": {"b": 2}}, {"email": "bob@example.com", "prefer_user_id": "maybe"}]
    failing = prefs_job(project, on_invalid="fail")
    with pytest.raises(ValidationError) as caught:
        job_run_start(actor="tests", job=failing, rows=rows_from_json(rows), origin="api", dry_run=True)
    words = " ".join(caught.value.messages)
    assert "Row 2: prefer_user_id must be true or false" in words and "'maybe'" in words
    assert not JobRun.objects.exists()  # nothing kept, nothing sent

    skipping = prefs_job(project, name="skips invalid rows")
    dry = run_to_end(job_run_start(actor="tests", job=skipping, rows=rows_from_json(rows), origin="api", dry_run=True))
    [failure] = job_run_failures(run=dry)
    assert failure["row"] == 2 and failure["outcome"] == "invalid"
    assert failure["message"].startswith("prefer_user_id must be true or false")
    assert dry.items.get(row_no=1).status == JobItem.Status.DONE


def test_list_add_rows_carry_their_own_choices(project, emulator):
    job = job_save(actor="tests", data={"project": project, "name": "export to Beta testers", "action": "list_add",
                                        "list_id": 21})  # fmt: skip
    rows = [{"email": "new@example.com", "user_id": "u-new", "prefer_user_id": True}]
    dry = run_to_end(job_run_start(actor="tests", job=job, rows=rows_from_json(rows), origin="api", dry_run=True))
    [change] = job_run_changes(run=dry)
    assert change["choices"] == ["prefers the user id over the email"]
    run_to_end(job_run_apply(actor="tests", run=dry))
    sent = emulator.requests(path="POST /api/lists/subscribe")[-1]["body"]["subscribers"]
    assert sent == [{"email": "new@example.com", "userId": "u-new", "dataFields": {}, "preferUserId": True}]
