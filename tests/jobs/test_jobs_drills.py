"""Kill drills, one per action: the worker dies after a batch reached Iterable but before its checkpoint was
committed (the worst moment). The supervisor resumes the run from its checkpoint once the dead worker's lease
has run out; at the end every row is done once, nothing is lost, and nothing takes effect twice in Iterable.
"""

from datetime import timedelta

import pytest
from _jobs_seed import PROJECT_ID
from django.utils import timezone
from factories import UserFactory

import catalog.jobs.services.process as process
from catalog.jobs.services.process import job_process
from catalog.jobs.services.runs import job_run_approve, job_run_start
from catalog.jobs.services.setup import job_save
from catalog.jobs.services.sources import rows_from_json
from catalog.jobs.services.supervision import jobs_supervise
from catalog.models import DeletionRecord, JobItem, JobRun

ROWS = 12
BATCH = 4


class Killed(BaseException):
    """What kill -9 looks like from inside: nothing after this line runs, no lease is released."""


def kill_at_second_checkpoint(monkeypatch):
    real = process._checkpoint
    seen = {"n": 0}

    def dying(*args, **kwargs):
        seen["n"] += 1
        if seen["n"] == 2:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(process, "_checkpoint", dying)
    return lambda: monkeypatch.setattr(process, "_checkpoint", real)


def drill(monkeypatch, run):
    revive = kill_at_second_checkpoint(monkeypatch)
    with pytest.raises(Killed):
        job_process(run_id=run.pk, slice_seconds_=60)
    revive()
    run.refresh_from_db()
    assert run.status == "running" and run.lease_owner  # the dead worker's lease is still on it
    assert run.items.filter(status=JobItem.Status.PENDING).count() == ROWS - BATCH  # only batch 1 recorded
    assert job_process(run_id=run.pk) == "busy"  # nobody else takes it while the lease holds
    # Ten minutes on: the dead worker's lease has run out, and its task is in no queue.
    JobRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    later = timezone.now() + timedelta(minutes=10)
    assert jobs_supervise(queued_names=set(), now=later) == {"resumed": 1, "failed": 0}
    assert job_process(run_id=run.pk, slice_seconds_=60) == "done"
    run.refresh_from_db()
    assert run.status == "done"
    assert run.items.filter(status=JobItem.Status.PENDING).count() == 0
    assert run.items.count() == ROWS
    return run


def people(prefix):
    return [{"email": f"{prefix}{i}@example.com", "first_name": f"N{i}"} for i in range(ROWS)]


def state(emulator):
    with emulator.state.lock:
        return {
            u["email"]: dict(u["dataFields"])
            for u in emulator.state.projects[PROJECT_ID].users.values()
            if u["email"].startswith("k")
        }


def test_kill_drill_profile_sync(project, emulator, monkeypatch):
    data = {"project": project, "name": "sync", "action": "update_profiles", "batch_size": BATCH,
            "mapping": [{"column": "first_name", "field": "firstName"}]}  # fmt: skip
    job = job_save(actor="t", data=data)
    run = drill(monkeypatch, job_run_start(actor="t", job=job, rows=rows_from_json(people("k")), origin="api"))
    assert set(run.items.values_list("outcome", flat=True)) == {"updated"}
    assert {e: f["firstName"] for e, f in state(emulator).items()} == {
        f"k{i}@example.com": f"N{i}" for i in range(ROWS)
    }


def test_kill_drill_list_add_and_remove(project, emulator, monkeypatch):
    add = job_save(actor="t", data={"project": project, "name": "add", "action": "list_add", "list_id": 21,
                                    "batch_size": BATCH})  # fmt: skip
    drill(monkeypatch, job_run_start(actor="t", job=add, rows=rows_from_json(people("k")), origin="api"))
    assert all(f["emailListIds"] == [21] for f in state(emulator).values())  # once each, never twice
    remove = job_save(actor="t", data={"project": project, "name": "remove", "action": "list_remove", "list_id": 21,
                                       "batch_size": BATCH})  # fmt: skip
    drill(monkeypatch, job_run_start(actor="t", job=remove, rows=rows_from_json(people("k")), origin="api"))
    assert all(f["emailListIds"] == [] for f in state(emulator).values())


def test_kill_drill_opt_out(project, emulator, monkeypatch):
    add = job_save(actor="t", data={"project": project, "name": "add", "action": "list_add", "list_id": 21})
    first = job_run_start(actor="t", job=add, rows=rows_from_json(people("k")), origin="api")
    assert job_process(run_id=first.pk) == "done"
    data = {"project": project, "name": "opt out", "action": "opt_out", "source": "events", "channel_id": 1,
            "channel_confirmed": "Marketing Email", "batch_size": BATCH}  # fmt: skip
    job = job_save(actor="t", data=data)
    emulator.clear_requests()
    run = drill(monkeypatch, job_run_start(actor="t", job=job, rows=rows_from_json(people("k")), origin="api"))
    assert all(f["unsubscribedChannelIds"] == [1] for f in state(emulator).values())
    # The killed batch reached Iterable; resumed, its rows read as already opted out and are not written again.
    outcomes = sorted(run.items.values_list("outcome", flat=True))
    assert outcomes.count("already_opted_out") == BATCH and outcomes.count("opted_out") == ROWS - BATCH
    written = [r for w in emulator.requests(path="POST /api/users/bulkUpdateSubscriptions")
               for r in w["body"]["updateSubscriptionsRequests"]]  # fmt: skip
    assert len(written) == ROWS  # each person written exactly once


def test_kill_drill_deletion(project, emulator, monkeypatch):
    add = job_save(actor="t", data={"project": project, "name": "add", "action": "list_add", "list_id": 21})
    assert (
        job_process(run_id=job_run_start(actor="t", job=add, rows=rows_from_json(people("k")), origin="api").pk)
        == "done"
    )
    requester = UserFactory(username="asks")
    job = job_save(actor=requester, data={"project": project, "name": "delete", "action": "delete_users",
                                          "batch_size": BATCH})  # fmt: skip
    run = job_run_start(actor=requester, job=job, rows=rows_from_json(people("k")), origin="api")
    job_run_approve(actor=UserFactory(username="approves"), run=run)
    run = drill(monkeypatch, run)
    assert state(emulator) == {}
    assert set(run.items.values_list("outcome", flat=True)) == {"deleted"}
    assert DeletionRecord.objects.filter(run=run).count() == ROWS  # one record per person, none twice
    assert not any("@" in key for key in run.items.values_list("key", flat=True))
