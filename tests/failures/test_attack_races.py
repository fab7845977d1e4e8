"""Double submits and racing writes on the new surfaces, over the API, on two connections at once: apply,
approve, cancel and retry of a job's run; the same opt-out event twice; a test recipient patched while deleted;
the same person invited twice. One wins, the other gets a clear 4xx (JSON), nothing is done twice."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from factories import ProjectFactory
from rest_framework.test import APIClient

from catalog.jobs.services.setup import job_save
from catalog.models import Job, JobItem, JobRun, OptOutEvent, ProofRecipient
from catalog.tokens.services import api_token_create

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _api(user) -> APIClient:
    client = APIClient()
    _, raw = api_token_create(actor=user, user=user, name="race")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _at_once(*requests) -> list:
    """Each (client, method, path, body) sent from its own thread, released together; the responses in order."""
    barrier = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def run(index, client, method, path, body):
        try:
            barrier.wait()
            answers[index] = getattr(client, method)(path, body, format="json")
        except Exception as error:  # said in the assertion, not lost in a thread
            answers[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for answer in answers:
        assert not isinstance(answer, Exception), answer
        assert answer.status_code < 500, answer.content[:500]
        if answer.status_code >= 400:
            assert answer["Content-Type"].startswith("application/json"), answer.content[:200]
    return answers


@pytest.fixture
def people(user_in_role):
    from django.contrib.auth.models import Permission

    operator = user_in_role("admin", username="race-operator")
    approver = user_in_role("admin", username="race-approver")
    perms = Permission.objects.filter(codename__in=["run_jobs", "approve_deletions", "receive_opt_outs"])
    for user in (operator, approver):
        user.user_permissions.add(*perms)
    return operator, approver


def _dry_run(job: Job, status=JobRun.Status.DONE) -> JobRun:
    run = JobRun.objects.create(job=job, status=status, dry_run=True, total=2, batch_size=10, rate_per_second=1)
    for n, email in enumerate(["a@example.com", "b@example.com"], start=1):
        JobItem.objects.create(run=run, row_no=n, key=email, payload={"email": email}, outcome="would_change",
                               status=JobItem.Status.DONE)  # fmt: skip
    return run


@pytest.mark.parametrize("rounds", range(2))
def test_applying_one_dry_run_twice_at_once_makes_one_run(people, rounds):
    operator, _ = people
    project = ProjectFactory()
    job = job_save(actor=operator, data={"project": project, "name": "sync", "action": "update_profiles",
                                         "mapping": [{"column": "first", "field": "firstName"}]})  # fmt: skip
    run = _dry_run(job)
    a, b = _api(operator), _api(operator)
    answers = _at_once((a, "post", f"/api/jobs/runs/{run.pk}/apply/", None),
                       (b, "post", f"/api/jobs/runs/{run.pk}/apply/", None))  # fmt: skip
    assert sorted(r.status_code for r in answers) == [201, 400], [r.content for r in answers]
    assert JobRun.objects.filter(source_run=run).count() == 1
    assert "already been applied" in str([r.json() for r in answers])


def test_approving_a_deletion_twice_at_once_queues_it_once(people):
    operator, approver = people
    project = ProjectFactory()
    job = job_save(actor=operator, data={"project": project, "name": "deletion", "action": "delete_users"})
    run = JobRun.objects.create(job=job, status=JobRun.Status.AWAITING_APPROVAL, dry_run=False, total=1,
                                batch_size=10, rate_per_second=1, created_by=operator)  # fmt: skip
    a, b = _api(approver), _api(approver)
    answers = _at_once((a, "post", f"/api/jobs/runs/{run.pk}/approve/", None),
                       (b, "post", f"/api/jobs/runs/{run.pk}/approve/", None))  # fmt: skip
    assert sorted(r.status_code for r in answers) == [200, 400]
    from catalog.models import AuditEvent

    assert AuditEvent.objects.filter(action="job_run_approve").count() == 1


def test_approve_racing_cancel_ends_in_one_state(people):
    operator, approver = people
    project = ProjectFactory()
    job = job_save(actor=operator, data={"project": project, "name": "deletion", "action": "delete_users"})
    run = JobRun.objects.create(job=job, status=JobRun.Status.AWAITING_APPROVAL, dry_run=False, total=1,
                                batch_size=10, rate_per_second=1, created_by=operator)  # fmt: skip
    answers = _at_once((_api(approver), "post", f"/api/jobs/runs/{run.pk}/approve/", None),
                       (_api(operator), "post", f"/api/jobs/runs/{run.pk}/cancel/", None))  # fmt: skip
    run.refresh_from_db()
    codes = [r.status_code for r in answers]
    # Either order is fine; both "winning" is not: a cancelled run is never approved, an approved one is cancelled.
    assert run.status in (JobRun.Status.QUEUED, JobRun.Status.CANCELLED), run.status
    if run.status == JobRun.Status.CANCELLED and codes[0] == 200:
        assert run.approved_by_id is not None  # approved first, then cancelled: both answers true in order


def test_the_same_opt_out_event_twice_at_once_is_applied_once(people):
    operator, _ = people
    from factories import ChannelFactory

    project = ProjectFactory()
    ChannelFactory(project=project, iterable_id=1, name="Marketing Email")
    job = job_save(actor=operator, data={"project": project, "name": "optouts", "action": "opt_out",
                                         "source": "events", "channel_id": 1,
                                         "channel_confirmed": "Marketing Email"})  # fmt: skip
    body = {"event_id": "mkto-9", "email": "ada@example.com"}
    answers = _at_once((_api(operator), "post", f"/api/jobs/{job.pk}/opt-outs/", body),
                       (_api(operator), "post", f"/api/jobs/{job.pk}/opt-outs/", body))  # fmt: skip
    assert sorted(r.status_code for r in answers) in ([200, 202], [202, 202]) or 409 in [r.status_code for r in answers]
    assert OptOutEvent.objects.count() == 1
    assert JobRun.objects.filter(job=job).count() == 1


@pytest.mark.parametrize("rounds", range(4))
def test_a_test_recipient_patched_while_deleted_stays_deleted(user_in_role, rounds):
    """A PATCH that read the row before a DELETE and saved after it used to insert the row again."""
    admin = user_in_role("admin", username="race-admin")
    project = ProjectFactory()
    recipient = ProofRecipient.objects.create(project=project, email="qa@example.com", owner=admin)
    answers = _at_once((_api(admin), "patch", f"/api/test-recipients/{recipient.pk}/", {"label": "x"}),
                       (_api(admin), "delete", f"/api/test-recipients/{recipient.pk}/", None))  # fmt: skip
    assert answers[1].status_code == 204
    assert answers[0].status_code in (200, 404), answers[0].content
    assert not ProofRecipient.objects.filter(pk=recipient.pk).exists()


def test_the_same_person_invited_twice_at_once_gets_one_account(client, user_in_role):
    from django.contrib.auth.models import User
    from django.test import Client

    admin = user_in_role("admin", username="race-admin")
    pages = [Client(), Client()]
    for page in pages:
        page.force_login(admin)
    barrier = threading.Barrier(2)
    codes: list = []

    def invite(page):
        try:
            barrier.wait()
            codes.append(page.post("/people/", {"email": "New.Person@example.com", "role": "viewer"}).status_code)
        except Exception as error:
            codes.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=invite, args=(p,)) for p in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes, key=str) == [200, 400], codes
    assert User.objects.filter(email__iexact="new.person@example.com").count() == 1
