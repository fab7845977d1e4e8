"""A real qcluster and a resync whose task overruns its timeout (Iterable slower than the task's limit), or
whose task is lost from the queue: the run resumes from its checkpoint and finishes, with Iterable equal to
the desired state. Settings: iterable_admin/settings_qcluster_test.py (task timeout 6 s)."""

from __future__ import annotations

import sqlite3
import time

import pytest
from _resync_seed import CHANNELS, LISTS, MESSAGE_TYPES
from test_resync_qcluster import KEY, _counts, _env
from testkit.qcluster import kill as _kill
from testkit.qcluster import setup_run
from testkit.qcluster import start_cluster as _start_cluster

from iterable_emulator.testing import EmulatorServer

CONTACTS = 300
BATCH = 50
WRITE = "POST /api/users/bulkUpdateSubscriptions"


def _seed() -> dict:
    project = {
        "id": 78,
        "name": "Overrun",
        "api_keys": [KEY],
        "features": {"opt_in_message_types": True},
        "channels": CHANNELS,
        "message_types": MESSAGE_TYPES,
        "lists": LISTS,
        "users": [],
    }
    return {"projects": [project]}


def _setup(emu, env) -> int:
    return setup_run("resync", env, emu.us_url, CONTACTS, BATCH, timeout=120)


def _wait_done(db_path, run_id, log, seconds: float) -> tuple[str, dict]:
    deadline = time.monotonic() + seconds
    status, counts = _counts(db_path, run_id)
    while status != "done":
        assert status in ("queued", "running"), (status, counts, log.read_text()[-3000:])
        assert time.monotonic() < deadline, f"not finished: {status} {counts} {log.read_text()[-3000:]}"
        time.sleep(0.25)
        status, counts = _counts(db_path, run_id)
    return status, counts


def _assert_iterable_has_the_desired_state(emu, project_id: int) -> None:
    with emu.state.lock:
        project = emu.state.projects[project_id]
        for i in range(CONTACTS):
            fields = project.get_user(f"k{i}@example.com")["dataFields"]
            assert fields["emailListIds"] == [21 + i % 3]
            assert fields["unsubscribedChannelIds"] == [1 + i % 2]


@pytest.mark.qcluster
def test_a_task_that_overruns_its_timeout_is_resumed_with_smaller_batches(tmp_path):
    db_path = tmp_path / "overrun.sqlite3"
    env = _env(db_path, tmp_path)
    log = tmp_path / "qcluster.log"
    cluster = None
    with EmulatorServer(_seed(), rate_limits_enabled=True) as emu:
        run_id = _setup(emu, env)
        # The first bulk write answers after 8 s: longer than the task's 6 s timeout.
        emu.configure(faults=[{"endpoint": WRITE, "kind": "slow", "seconds": 8, "count": 1}])
        try:
            cluster = _start_cluster(env, log)
            _, counts = _wait_done(db_path, run_id, log, 90)
        finally:
            _kill(cluster)
        assert counts == {"done": CONTACTS}, counts
        _assert_iterable_has_the_desired_state(emu, 78)
    with sqlite3.connect(db_path) as conn:
        batch_size, resumes, last_error = conn.execute(
            "SELECT batch_size, resumes, last_error FROM catalog_resyncrun WHERE id = ?", (run_id,)
        ).fetchone()
        overran = conn.execute(
            "SELECT count(*) FROM django_q_task WHERE name = ? AND success = 0",  # result: pickled
            (f"resync-run-{run_id}",),
        ).fetchone()[0]
    assert overran == 1  # django-q recorded the overrun and acknowledged that task: it is never delivered again
    assert batch_size == BATCH // 2 and resumes == 1
    assert "overran its 6 s time limit" in last_error


@pytest.mark.qcluster
def test_a_run_whose_task_was_lost_is_resumed_by_the_supervisor(tmp_path):
    db_path = tmp_path / "lost.sqlite3"
    env = _env(db_path, tmp_path)
    log = tmp_path / "qcluster.log"
    cluster = None
    with EmulatorServer(_seed(), rate_limits_enabled=True) as emu:
        run_id = _setup(emu, env)
        with sqlite3.connect(db_path, timeout=10) as conn:
            assert conn.execute("DELETE FROM django_q_ormq").rowcount == 1  # the queue lost the run's task
        time.sleep(5)  # RESYNC_STALL_SECONDS: from now on the run counts as stalled
        try:
            cluster = _start_cluster(env, log)
            _, counts = _wait_done(db_path, run_id, log, 90)  # django-q checks schedules every 30 s
        finally:
            _kill(cluster)
        assert counts == {"done": CONTACTS}, counts
        _assert_iterable_has_the_desired_state(emu, 78)
    with sqlite3.connect(db_path) as conn:
        resumes, last_error = conn.execute(
            "SELECT resumes, last_error FROM catalog_resyncrun WHERE id = ?", (run_id,)
        ).fetchone()
    assert resumes == 1 and "task was lost" in last_error
