"""SIGTERM to a real ``manage.py qcluster`` (catalog/workers/management/commands/qcluster.py): it stops
within QCLUSTER_STOP_SECONDS (5 s in iterable_admin/settings_qcluster_test.py). A resync slice ends at its
next checkpoint and queues its continuation (its task is acknowledged); a task that cannot stop is killed at
the deadline and stays in the queue, to be delivered again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from _resync_seed import CHANNELS, LISTS, MESSAGE_TYPES
from test_resync_qcluster import KEY, _counts, _env, _setup
from testkit.qcluster import ROOT
from testkit.qcluster import group_alive as _group_alive
from testkit.qcluster import kill as _kill
from testkit.qcluster import start_cluster as _start_cluster

from iterable_emulator.testing import EmulatorServer

STOP_SECONDS = 5
CONTACTS = 1500
BATCH = 50


def _stop(proc: subprocess.Popen) -> float:
    """SIGTERM to the cluster's main process only (what a process manager sends); seconds until the whole
    process group is gone."""
    started = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    while _group_alive(proc.pid):
        assert time.monotonic() - started < 60, "qcluster ignored SIGTERM"
        time.sleep(0.1)
    proc.wait(timeout=10)
    return time.monotonic() - started


def _queue(db_path) -> list[tuple[int, bool]]:
    """(id, taken) per queued task: the ORM broker sets ``lock`` to when the task may next be handed out, so
    a task a worker took is locked until its retry time, a waiting one is not."""
    with sqlite3.connect(db_path, timeout=10) as conn:
        rows = conn.execute("SELECT id, lock FROM django_q_ormq").fetchall()
    now = datetime.now(UTC).replace(tzinfo=None)
    return [(pk, datetime.fromisoformat(lock) > now) for pk, lock in rows]


@pytest.mark.qcluster
def test_sigterm_mid_resync_stops_at_a_checkpoint_and_queues_the_rest(tmp_path):
    seed = {
        "projects": [
            {
                "id": 79,
                "name": "Stop",
                "api_keys": [KEY],
                "features": {"opt_in_message_types": True},
                "channels": CHANNELS,
                "message_types": MESSAGE_TYPES,
                "lists": LISTS,
                "users": [],
            }
        ]
    }
    db_path = tmp_path / "stop.sqlite3"
    env = {**_env(db_path, tmp_path), "LOG_LEVEL": "INFO"}
    log = tmp_path / "qcluster.log"
    first = second = None
    with EmulatorServer(seed, rate_limits_enabled=True) as emu:
        run_id = _setup(emu, env)
        try:
            first = _start_cluster(env, log)
            deadline = time.monotonic() + 60
            while _counts(db_path, run_id)[1].get("done", 0) < 4 * BATCH:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)
            took = _stop(first)
            assert took < STOP_SECONDS, f"took {took:.1f} s: {log.read_text()[-3000:]}"
            assert "stopped in" in log.read_text()
            status, counts = _counts(db_path, run_id)
            assert status == "running" and 0 < counts["done"] < CONTACTS and counts.get("failed", 0) == 0
            with sqlite3.connect(db_path) as conn:
                lease = conn.execute("SELECT lease_owner FROM catalog_resyncrun WHERE id = ?", (run_id,)).fetchone()
            assert lease == ("",)  # released at the checkpoint
            queued = _queue(db_path)
            assert len(queued) == 1 and not queued[0][1]  # its continuation, waiting for the next cluster

            second = _start_cluster(env, log)
            deadline = time.monotonic() + 90
            while status != "done":
                assert time.monotonic() < deadline, f"not finished: {counts} {log.read_text()[-2000:]}"
                time.sleep(0.25)
                status, counts = _counts(db_path, run_id)
            assert _stop(second) < STOP_SECONDS
        finally:
            _kill(first)
            _kill(second)
    assert counts == {"done": CONTACTS}


@pytest.mark.qcluster
def test_sigterm_with_a_task_that_cannot_stop_kills_it_at_the_deadline_and_keeps_it_queued(tmp_path):
    db_path = tmp_path / "sleep.sqlite3"
    env = {**_env(db_path, tmp_path), "LOG_LEVEL": "INFO"}
    log = tmp_path / "qcluster.log"
    queue = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.management import call_command; "
            "call_command('migrate', verbosity=0); from django_q.tasks import async_task; "
            "async_task('time.sleep', 60, timeout=300)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert queue.returncode == 0, queue.stderr[-3000:]
    cluster = None
    try:
        cluster = _start_cluster(env, log)
        deadline = time.monotonic() + 30
        while not any(taken for _, taken in _queue(db_path)):  # a worker took it
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        took = _stop(cluster)
    finally:
        _kill(cluster)
    assert STOP_SECONDS - 0.5 < took < STOP_SECONDS + 3, took
    assert "killing" in log.read_text()
    assert len(_queue(db_path)) == 1  # never acknowledged: the broker delivers it again after its retry time
