"""A dry run goes stale when its job is changed after it (apply refused, in words, on the page and the API),
and an ended run's failed rows can be given up on (audited, never sent again), which frees the job's action."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from catalog.jobs.selectors import job_run_failures, job_run_progress
from catalog.jobs.services.process import job_process
from catalog.jobs.services.runs import job_run_dismiss_failed, job_run_retry_failed, job_run_start
from catalog.jobs.services.setup import job_save
from catalog.jobs.services.sources import rows_from_json
from catalog.models import AuditEvent, Job, JobItem, JobRun

SUBSCRIBE = "POST /api/lists/subscribe"
MAPPING = [{"column": "first_name", "field": "firstName"}]


def page_for(user):
    client = Client()
    client.force_login(user)
    return client


def run_to_end(run):
    assert job_process(run_id=run.pk, slice_seconds_=60) == "done"
    run.refresh_from_db()
    return run


def dry_run_of(job):
    rows = rows_from_json([{"email": "ada@example.com", "first_name": "Ada L."}])
    return run_to_end(job_run_start(actor="tests", job=job, rows=rows, origin="api", dry_run=True))


def test_an_edit_after_a_dry_run_makes_it_stale_on_the_page(project, emulator, operator):
    job = job_save(actor=operator, data={"project": project, "name": "sync", "action": "update_profiles",
                                         "mapping": MAPPING})  # fmt: skip
    dry = dry_run_of(job)
    job_save(actor=operator, data={"name": "sync"}, job=Job.objects.get(pk=job.pk))  # saved, nothing changed
    assert job_run_progress(run=dry)["can_apply"] is True

    job_save(actor=operator, data={"mapping": [*MAPPING, {"column": "plan", "field": "plan"}]},
             job=Job.objects.get(pk=job.pk))  # fmt: skip
    dry = JobRun.objects.select_related("job").get(pk=dry.pk)
    progress = job_run_progress(run=dry)
    assert progress["stale"] is True and progress["can_apply"] is False
    page = page_for(operator)
    shown = page.get(reverse("catalog:job_run", args=[dry.pk])).content.decode()
    assert "The job was changed after this dry run" in shown and "Apply this dry run" not in shown

    answer = page.post(reverse("catalog:job_run_action", args=[dry.pk, "apply"]), follow=True)
    assert "dry-run it again, then apply the new dry run" in answer.content.decode()
    assert JobRun.objects.filter(source_run=dry).count() == 0  # nothing was started, nothing sent

    fresh = dry_run_of(Job.objects.get(pk=job.pk))  # a new dry run of the job as it is now applies
    page.post(reverse("catalog:job_run_action", args=[fresh.pk, "apply"]))
    assert JobRun.objects.filter(source_run=fresh).count() == 1


def test_an_edit_after_a_dry_run_makes_it_stale_through_the_api(project, emulator, operator, api_for):
    api = api_for(operator)
    body = {"project": project.pk, "name": "sync", "action": "update_profiles", "mapping": MAPPING}
    job_id = api.post("/api/jobs/", body, format="json").json()["id"]
    dry_id = api.post(f"/api/jobs/{job_id}/rows/", {"rows": [{"email": "ada@example.com", "first_name": "A"}]},
                      format="json").json()["id"]  # fmt: skip
    assert job_process(run_id=dry_id, slice_seconds_=60) == "done"
    assert api.patch(f"/api/jobs/{job_id}/", {"merge_nested_objects": True}, format="json").status_code == 200
    shown = api.get(f"/api/jobs/runs/{dry_id}/").json()["progress"]
    assert shown["stale"] is True and shown["can_apply"] is False
    refused = api.post(f"/api/jobs/runs/{dry_id}/apply/")
    assert refused.status_code == 400
    assert "dry-run it again" in str(refused.json())
    assert not JobRun.objects.filter(source_run_id=dry_id).exists()


@pytest.fixture
def failed_list_run(project, emulator):
    job = job_save(actor="tests", data={"project": project, "name": "export to Beta testers", "action": "list_add",
                                        "list_id": 21})  # fmt: skip
    emulator.configure(faults=[{"endpoint": SUBSCRIBE, "kind": "error500", "count": 4}])
    rows = rows_from_json([{"email": "ada@example.com"}, {"email": "new@example.com"}])
    run = run_to_end(job_run_start(actor="tests", job=job, rows=rows, origin="api"))
    assert run.items.filter(status=JobItem.Status.FAILED).count() == 2
    return run


def test_giving_up_on_failed_rows_frees_the_jobs_list(project, emulator, operator, failed_list_run):
    run = failed_list_run
    with pytest.raises(ValidationError) as caught:  # the failed rows could still be retried, to be added
        job_save(actor=operator, data={"action": "list_remove"}, job=Job.objects.get(pk=run.job_id))
    assert "give up on its failed rows" in " ".join(caught.value.messages)

    page = page_for(operator)
    shown = page.get(reverse("catalog:job_run", args=[run.pk])).content.decode()
    assert "Give up on failed rows" in shown
    answer = page.post(reverse("catalog:job_run_action", args=[run.pk, "dismiss"]), follow=True)
    assert "Given up: those rows will not be sent again." in answer.content.decode()
    assert set(run.items.values_list("status", "outcome")) == {(JobItem.Status.SKIPPED, "given_up")}
    assert [f["label"] for f in job_run_failures(run=run)] == ["Given up after failing (never sent again)"] * 2
    event = AuditEvent.objects.get(action="job_run_dismiss_failed")
    assert event.changes == {"rows": 2} and event.actor_label == operator.username

    with pytest.raises(ValidationError, match="nothing to retry"):  # never sent again
        job_run_retry_failed(actor="tests", run=run)
    job_save(actor=operator, data={"action": "list_remove"}, job=Job.objects.get(pk=run.job_id))
    assert Job.objects.get(pk=run.job_id).action == "list_remove"  # the action is free to change now


def test_giving_up_through_the_api_and_only_on_an_ended_run(project, emulator, operator, api_for, failed_list_run):
    run = failed_list_run
    api = api_for(operator)
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.QUEUED)
    refused = api.post(f"/api/jobs/runs/{run.pk}/dismiss-failed/")
    assert refused.status_code == 400 and "has ended" in str(refused.json())
    assert run.items.filter(status=JobItem.Status.FAILED).count() == 2
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.DONE)
    answer = api.post(f"/api/jobs/runs/{run.pk}/dismiss-failed/")
    assert answer.status_code == 200
    assert answer.json()["progress"]["outcomes"] == {"given_up": 2}
    assert answer.json()["progress"]["can_dismiss_failed"] is False
    again = api.post(f"/api/jobs/runs/{run.pk}/dismiss-failed/")
    assert again.status_code == 400 and "nothing to give up on" in str(again.json())
    with pytest.raises(ValidationError):
        job_run_dismiss_failed(actor="tests", run=JobRun.objects.get(pk=run.pk))


def test_progress_reads_the_run_again_but_keeps_its_job(project, emulator, operator, django_assert_num_queries):
    job = job_save(actor=operator, data={"project": project, "name": "sync", "action": "update_profiles",
                                         "mapping": MAPPING})  # fmt: skip
    dry = dry_run_of(job)
    dry = JobRun.objects.select_related("job__project").get(pk=dry.pk)
    # A worker or another person moves the run on after this request read it.
    JobRun.objects.filter(pk=dry.pk).update(status=JobRun.Status.FAILED, last_error="lost", approved_by=operator)
    progress = job_run_progress(run=dry)
    assert (dry.status, dry.last_error, dry.approved_by_id) == (JobRun.Status.FAILED, "lost", operator.pk)
    assert progress["active"] is False and progress["can_apply"] is False
    with django_assert_num_queries(0):
        assert dry.job.project.pk == project.pk  # still as read: the page does not read them again
