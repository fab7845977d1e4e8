"""The jobs over the API: set up, rows pushed, dry run, apply, the two-person rule, and the opt-out endpoint."""

import pytest
from _jobs_seed import iterable_user

from catalog.jobs.services.process import job_process
from catalog.models import ContactPreference, Job, JobRun, OptOutEvent


def process(run_id):
    assert job_process(run_id=run_id, slice_seconds_=60) == "done"


def test_profile_sync_set_up_dry_run_and_apply_through_the_api(project, emulator, operator, api_for):
    api = api_for(operator)
    body = {"project": project.pk, "name": "student sync", "action": "update_profiles",
            "mapping": [{"column": "first", "field": "firstName"}]}  # fmt: skip
    created = api.post("/api/jobs/", body, format="json")
    assert created.status_code == 201, created.json()
    job_id = created.json()["id"]
    refused = api.post("/api/jobs/", {**body, "name": "bad", "mapping": [{"column": "d", "field": "devices"}]},
                       format="json")  # fmt: skip
    assert refused.status_code == 400
    assert "devices" in str(refused.json())

    started = api.post(f"/api/jobs/{job_id}/rows/", {"rows": [{"email": "ada@example.com", "first": "Ada L."}]},
                       format="json")  # fmt: skip
    assert started.status_code == 201, started.json()
    run_id = started.json()["id"]
    assert started.json()["dry_run"] is True
    process(run_id)
    changes = api.get(f"/api/jobs/runs/{run_id}/changes/").json()["results"]
    assert changes[0]["changes"] == [{"field": "firstName", "before": "Ada", "after": "Ada L."}]
    applied = api.post(f"/api/jobs/runs/{run_id}/apply/")
    assert applied.status_code == 201
    process(applied.json()["id"])
    shown = api.get(f"/api/jobs/runs/{applied.json()['id']}/").json()
    assert shown["status"] == "done" and shown["progress"]["outcomes"] == {"updated": 1}
    assert iterable_user(emulator, "ada@example.com")["dataFields"]["firstName"] == "Ada L."


def test_a_role_without_the_permission_is_refused(project, api_for, user_in_role):
    api = api_for(user_in_role("engineering", username="plain-engineer"))
    assert api.get("/api/jobs/").status_code == 403
    assert api.get("/api/jobs/runs/").status_code == 403


def test_deletion_through_the_api_needs_another_person(project, emulator, operator, approver, api_for):
    ops, boss = api_for(operator), api_for(approver)
    job = ops.post("/api/jobs/", {"project": project.pk, "name": "deletion", "action": "delete_users"}, format="json")
    run = ops.post(f"/api/jobs/{job.json()['id']}/rows/", {"rows": [{"email": "bob@example.com"}], "dry_run": False},
                   format="json").json()  # fmt: skip
    assert run["status"] == "approval"
    assert ops.post(f"/api/jobs/runs/{run['id']}/approve/").status_code == 403  # no approver permission
    assert boss.post(f"/api/jobs/runs/{run['id']}/approve/").status_code == 200
    process(run["id"])
    assert iterable_user(emulator, "bob@example.com") is None
    records = ops.get("/api/jobs/deletions/").json()
    rows = records["results"] if isinstance(records, dict) else records
    assert len(rows) == 1 and "bob" not in str(rows)


@pytest.fixture
def opt_out_job(project, operator):
    from catalog.jobs.services.setup import job_save

    data = {"project": project, "name": "Marketo unsubscribes", "action": "opt_out", "source": "events",
            "channel_id": 1, "channel_confirmed": "Marketing Email"}  # fmt: skip
    return job_save(actor=operator, data=data)


def test_opt_out_event_is_applied_once_through_the_engine(project, emulator, opt_out_job, sender, api_for,
                                                          django_capture_on_commit_callbacks, settings):  # fmt: skip
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}  # the queued task runs at once, as a worker would
    ContactPreference.objects.create(project=project, email="ada@example.com", unsubscribed_channel_ids=[],
                                     changed_at="2026-01-01T00:00:00Z", changed_by_label="t", source="t")  # fmt: skip
    api = api_for(sender)
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/jobs/{opt_out_job.pk}/opt-outs/", {"event_id": "mkto-1", "email": "ada@example.com"},
                         format="json")  # fmt: skip
    assert first.status_code == 202, first.json()
    ada = iterable_user(emulator, "ada@example.com")["dataFields"]
    assert ada["unsubscribedChannelIds"] == [1]
    assert ada["emailListIds"] == [21]  # nothing else touched
    run = JobRun.objects.get(pk=first.json()["id"])
    assert run.status == "done" and run.items.get().outcome == "opted_out"
    # The source of truth learns it, so the next preference resync keeps the person opted out.
    assert ContactPreference.objects.get(email="ada@example.com").unsubscribed_channel_ids == [1]
    writes = len(emulator.requests(path="POST /api/users/bulkUpdateSubscriptions"))
    again = api.post(f"/api/jobs/{opt_out_job.pk}/opt-outs/", {"event_id": "mkto-1", "email": "ada@example.com"},
                     format="json")  # fmt: skip
    assert again.status_code == 200 and again.json()["id"] == run.pk
    assert OptOutEvent.objects.count() == 1 and JobRun.objects.count() == 1
    assert len(emulator.requests(path="POST /api/users/bulkUpdateSubscriptions")) == writes
    # The sender's token may send opt-outs and nothing else.
    assert api.get("/api/jobs/").status_code == 403
    assert api.post(f"/api/jobs/{opt_out_job.pk}/rows/", {"rows": [{"email": "x@example.com"}]},
                    format="json").status_code == 403  # fmt: skip


def test_opt_out_of_someone_not_in_iterable_is_skipped(project, emulator, opt_out_job, sender, api_for):
    api = api_for(sender)
    answer = api.post(f"/api/jobs/{opt_out_job.pk}/opt-outs/", {"event_id": "e2", "email": "nobody@example.com"},
                      format="json")  # fmt: skip
    process(answer.json()["id"])
    assert JobRun.objects.get(pk=answer.json()["id"]).items.get().outcome == "not_found"
    assert iterable_user(emulator, "nobody@example.com") is None
    assert api.post(f"/api/jobs/{opt_out_job.pk}/opt-outs/", {"email": "x@example.com"},
                    format="json").status_code == 400  # fmt: skip
    assert Job.objects.count() == 1


def test_changing_what_a_job_does_under_a_queued_run_is_a_400(project, emulator, operator, api_for):
    api = api_for(operator)
    body = {"project": project.pk, "name": "sync", "action": "update_profiles",
            "mapping": [{"column": "first", "field": "firstName"}]}  # fmt: skip
    job_id = api.post("/api/jobs/", body, format="json").json()["id"]
    rows = {"rows": [{"email": "ada@example.com", "first": "A"}], "dry_run": False}
    assert api.post(f"/api/jobs/{job_id}/rows/", rows, format="json").status_code == 201
    refused = api.patch(f"/api/jobs/{job_id}/", {"action": "delete_users", "mapping": []}, format="json")
    assert refused.status_code == 400 and "finish or cancel it" in str(refused.json())


def _upload_job(api, project):
    body = {"project": project.pk, "name": "file sync", "action": "update_profiles",
            "mapping": [{"column": "first", "field": "firstName"}]}  # fmt: skip
    return api.post("/api/jobs/", body, format="json").json()["id"]


def test_a_file_uploaded_through_the_api_is_read_by_the_worker_and_sent(project, emulator, operator, api_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = api_for(operator)
    job_id = _upload_job(api, project)
    upload = SimpleUploadedFile("rows.csv", b"email,first\nada@example.com,Ada F.\nnot-an-address,X\n",
                                content_type="text/csv")  # fmt: skip
    started = api.post(f"/api/jobs/{job_id}/upload/", {"file": upload, "dry_run": False}, format="multipart")
    assert started.status_code == 201, started.json()
    assert (started.json()["filename"], started.json()["dry_run"]) == ("rows.csv", False)
    process(started.json()["id"])
    shown = api.get(f"/api/jobs/runs/{started.json()['id']}/").json()
    assert (shown["status"], shown["total"], shown["invalid"]) == ("done", 2, 1)
    assert iterable_user(emulator, "ada@example.com")["dataFields"]["firstName"] == "Ada F."


def test_an_api_upload_over_the_limit_is_refused_in_words_and_json_is_not_a_file(project, operator, api_for, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api = api_for(operator)
    job_id = _upload_job(api, project)
    settings.JOBS_MAX_UPLOAD_BYTES = 1024 * 1024
    line = b"ada@example.com,Ada\n"
    # Just past the limit: read, then refused by the file field's check.
    over = SimpleUploadedFile("over.csv", b"email,first\n" + line * (1024 * 1024 // len(line) + 10))
    refused = api.post(f"/api/jobs/{job_id}/upload/", {"file": over}, format="multipart")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["errors"][0]["field"] == "file"
    assert "larger than 1 MB (the limit); split it" in refused.json()["errors"][0]["message"]
    # A body that says it is far past the limit is refused before it is read, in the same words.
    big = SimpleUploadedFile("big.csv", b"email,first\n" + line * 100_000)
    early = api.post(f"/api/jobs/{job_id}/upload/", {"file": big}, format="multipart")
    assert early.status_code == 400
    assert early.json()["errors"][0]["field"] != "file" and early.json()["errors"][0]["code"] == "too_large"
    assert "larger than 1 MB (the limit); split it" in early.json()["errors"][0]["message"]
    assert api.post(f"/api/jobs/{job_id}/upload/", {"file": "email\n"}, format="json").status_code == 415
    assert api.post(f"/api/jobs/{job_id}/upload/", {"dry_run": True}, format="multipart").status_code == 400
    assert not JobRun.objects.exists()
