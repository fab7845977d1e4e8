"""The jobs' pages: set a job up with mapping rows, upload a file, read a dry run's changes by field name,
apply, approve a deletion as a second person, the schedule's preview in words, and refusals."""

import re

from _jobs_seed import iterable_user
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog.jobs.services.process import job_process
from catalog.models import Job, JobRun


def page_for(user):
    client = Client()
    client.force_login(user)
    return client


def form_data(project, **extra):
    data = {
        "project": project.pk, "name": "iterable_student_sync", "action": "update_profiles", "source": "upload",
        "email_column": "email", "user_id_column": "user_id", "on_invalid": "skip", "row_cap": 100000,
        "query_timeout_seconds": 60, "batch_size": 1000, "rate_per_second": 0, "read_concurrency": 8,
        "schedule_cron": "", "mapping-TOTAL_FORMS": 3, "mapping-INITIAL_FORMS": 0, "retention-TOTAL_FORMS": 1,
        "retention-INITIAL_FORMS": 0, "mapping-0-column": "first_name", "mapping-0-field": "firstName",
        "retention-0-column": "created_at", "retention-0-rule": "within_days", "retention-0-value": "60",
    }  # fmt: skip
    return {**data, **extra}


def test_set_up_upload_dry_run_then_apply(project, emulator, operator):
    page = page_for(operator)
    assert page.get(reverse("catalog:job_create")).status_code == 200
    response = page.post(reverse("catalog:job_create"), form_data(project))
    assert response.status_code == 302, response.content.decode()[:3000]
    job = Job.objects.get()
    assert job.mapping == [{"column": "first_name", "field": "firstName"}]
    assert job.retention == [{"column": "created_at", "rule": "within_days", "value": 60}]
    detail = page.get(reverse("catalog:job_detail", args=[job.pk])).content.decode()
    assert "first_name → <strong>firstName</strong>" in detail and "created_at within the last 60 days" in detail

    upload = SimpleUploadedFile("sync.csv", b"email,first_name,created_at\nada@example.com,Ada L.,2099-01-01\n")
    started = page.post(reverse("catalog:job_run_start", args=[job.pk]), {"file": upload, "dry_run": "on"})
    run = JobRun.objects.get()
    assert started.status_code == 302 and run.dry_run
    job_process(run_id=run.pk)
    shown = page.get(reverse("catalog:job_run", args=[run.pk])).content.decode()
    assert "<strong>firstName</strong>: Ada → Ada L." in shown
    assert "Apply this dry run" in shown
    page.post(reverse("catalog:job_run_action", args=[run.pk, "apply"]))
    applied = JobRun.objects.exclude(pk=run.pk).get()
    job_process(run_id=applied.pk)
    assert iterable_user(emulator, "ada@example.com")["dataFields"]["firstName"] == "Ada L."
    assert "Updated" in page.get(reverse("catalog:job_run", args=[applied.pk])).content.decode()
    listing = page.get(reverse("catalog:job_list")).content.decode()
    assert f"Run #{applied.pk}</a>: Done" in listing  # the newest run of each job


def test_refused_mapping_and_unconfirmed_channel_are_said_beside_their_fields(project, operator):
    page = page_for(operator)
    response = page.post(reverse("catalog:job_create"), form_data(project, **{"mapping-0-field": "devices"}))
    assert response.status_code == 400
    assert "may not be written by this job: devices (push tokens)" in response.content.decode()
    response = page.post(
        reverse("catalog:job_create"),
        form_data(project, action="list_remove", list_id=21, channel_unsubscribe="on", channel_id=1,
                  channel_confirmed="marketing"),
    )  # fmt: skip
    assert response.status_code == 400
    assert "Type the channel&#x27;s name, &#x27;Marketing Email&#x27;" in response.content.decode()
    response = page.post(reverse("catalog:job_create"), form_data(project, action="list_add", list_id=22))
    assert "Iterable changes only static lists" in response.content.decode()
    assert not Job.objects.exists()


def test_deletion_approval_page_two_people(project, emulator, operator, approver):
    from catalog.jobs.services.runs import job_run_start
    from catalog.jobs.services.setup import job_save
    from catalog.jobs.services.sources import rows_from_json

    job = job_save(actor=operator, data={"project": project, "name": "deletion", "action": "delete_users"})
    run = job_run_start(actor=operator, job=job, rows=rows_from_json([{"email": "bob@example.com"}]), origin="api")
    own = page_for(operator).get(reverse("catalog:job_run", args=[run.pk])).content.decode()
    assert "another person must approve" in own and "Approve: delete" not in own
    assert page_for(operator).post(reverse("catalog:job_run_action", args=[run.pk, "approve"])).status_code == 403
    boss = page_for(approver)
    assert "Approve: delete 1 user" in boss.get(reverse("catalog:job_run", args=[run.pk])).content.decode()
    boss.post(reverse("catalog:job_run_action", args=[run.pk, "approve"]))
    job_process(run_id=run.pk)
    assert iterable_user(emulator, "bob@example.com") is None
    records = boss.get(reverse("catalog:job_deletions")).content.decode()
    assert "Asked by" in records and "operator" in records and "bob@example.com" not in records


def test_cron_preview_in_plain_words(operator, db):
    page = page_for(operator)
    shown = page.get(reverse("catalog:job_cron_preview"), {"schedule_cron": "0 22 * * *"}).content.decode()
    assert "Every day at 22:00 UTC" in shown
    assert len(re.findall("<li>", shown)) == 5
    bad = page.get(reverse("catalog:job_cron_preview"), {"schedule_cron": "61 * * * *"}).content.decode()
    assert "field-errors" in bad


def test_pages_need_the_permission_and_bad_ids_are_404(project, user_in_role, operator):
    plain = page_for(user_in_role("engineering", username="plain"))
    assert plain.get(reverse("catalog:job_list")).status_code == 403
    page = page_for(operator)
    assert page.get(reverse("catalog:job_list")).status_code == 200
    assert page.get(reverse("catalog:job_run", args=[99999])).status_code == 404
    assert page.post(reverse("catalog:job_run_action", args=[99999, "nonsense"])).status_code == 404
    assert page.get(reverse("catalog:job_deletions")).status_code == 200


def test_the_form_refuses_to_change_what_a_job_does_under_a_queued_run(project, emulator, operator):
    from catalog.jobs.services.runs import job_run_start
    from catalog.jobs.services.sources import rows_from_json

    page = page_for(operator)
    assert page.post(reverse("catalog:job_create"), form_data(project)).status_code == 302
    job = Job.objects.get()
    job_run_start(actor="tests", job=job, rows=rows_from_json([{"email": "ada@example.com"}]), origin="api")
    edited = form_data(project, action="delete_users", **{"mapping-0-column": "", "mapping-0-field": ""})
    response = page.post(reverse("catalog:job_edit", args=[job.pk]), edited)
    assert response.status_code == 400
    assert "finish or cancel it" in response.content.decode()
    job.refresh_from_db()
    assert job.action == "update_profiles"
