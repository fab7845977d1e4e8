"""Kill -9 a real qcluster in the middle of a resync, start another, and check nothing was lost.

The emulator runs in this process (a thread on 127.0.0.1) with its rate limits on; the workers are real
``manage.py qcluster`` processes on a file SQLite database with the ORM broker
(iterable_admin/settings_qcluster_test.py). Every process started here is killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _resync_seed import CHANNELS, LISTS, MESSAGE_TYPES

from iterable_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
KEY = "kill-test-key-0000000000000000"
CONTACTS = 1500
BATCH = 50


def _env(db_path: Path, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="iterable_admin.settings_qcluster_test",
        DATABASE_URL=f"sqlite:///{db_path}",
        DATA_DIR=str(tmp_path),
        SECRET_KEY="kill-test-secret-key-not-used-anywhere-else-000000",
        ITERABLE_API_KEY_RESYNC_KILL=KEY,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def _counts(db_path: Path, run_id: int) -> tuple[str, dict[str, int]]:
    with sqlite3.connect(db_path, timeout=10) as conn:
        status = conn.execute("SELECT status FROM catalog_resyncrun WHERE id = ?", (run_id,)).fetchone()[0]
        rows = conn.execute(
            "SELECT status, count(*) FROM catalog_resyncitem WHERE run_id = ? GROUP BY status", (run_id,)
        ).fetchall()
    return status, dict(rows)


def _start_cluster(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: kill -9 reaches the sentinel and every worker
    )


def _kill(proc: subprocess.Popen | None) -> None:
    if proc is None or not _group_alive(proc.pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _group_alive(pgid: int) -> bool:
    """Any live (non-zombie) process left in the group? Orphans are reaped by PID 1, which in a container
    may never happen, so a signal-0 probe would see zombies as alive."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


@pytest.mark.qcluster
def test_kill_nine_mid_run_then_another_cluster_finishes_it(tmp_path):
    seed = {
        "projects": [
            {
                "id": 77,
                "name": "Kill",
                "api_keys": [KEY],
                "features": {"opt_in_message_types": True},
                "channels": CHANNELS,
                "message_types": MESSAGE_TYPES,
                "lists": LISTS,
                # Arrays the truth does not own: the resync must leave them alone.
                "users": [
                    {"email": f"k{i}@example.com", "dataFields": {"unsubscribedMessageTypeIds": [13]}}
                    for i in range(0, CONTACTS, 7)
                ],
            }
        ]
    }
    db_path = tmp_path / "kill.sqlite3"
    env = _env(db_path, tmp_path)
    log = tmp_path / "qcluster.log"
    first = second = None
    with EmulatorServer(seed, rate_limits_enabled=True) as emu:
        setup = subprocess.run(
            [sys.executable, "tests/resync/qcluster_helper.py", "setup", emu.us_url, str(CONTACTS), str(BATCH)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stderr[-3000:]
        run_id = int(setup.stdout.strip().splitlines()[-1])
        try:
            first = _start_cluster(env, log)
            deadline = time.monotonic() + 60
            while True:
                status, counts = _counts(db_path, run_id)
                if counts.get("done", 0) >= 8 * BATCH:
                    break
                assert time.monotonic() < deadline, f"the first cluster made no progress: {log.read_text()[-2000:]}"
                time.sleep(0.1)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            time.sleep(0.5)
            assert not _group_alive(first.pid)
            status, counts = _counts(db_path, run_id)
            assert status == "running" and 0 < counts.get("done", 0) < CONTACTS, counts
            writes_at_kill = len(emu.requests(path="POST /api/users/bulkUpdateSubscriptions"))

            second = _start_cluster(env, log)
            deadline = time.monotonic() + 90
            while status != "done":
                assert time.monotonic() < deadline, f"not finished: {counts} {log.read_text()[-2000:]}"
                time.sleep(0.25)
                status, counts = _counts(db_path, run_id)
        finally:
            _kill(first)
            _kill(second)

        assert counts == {"done": CONTACTS}, counts  # no batch lost, nothing failed
        writes = emu.requests(path="POST /api/users/bulkUpdateSubscriptions")
        assert len(writes) > writes_at_kill
        assert all(w["status"] == 200 for w in writes if w["status"] != 429)
        with emu.state.lock:
            project = emu.state.projects[77]
            for i in range(CONTACTS):
                fields = project.get_user(f"k{i}@example.com")["dataFields"]
                assert fields["emailListIds"] == [21 + i % 3]
                assert fields["unsubscribedChannelIds"] == [1 + i % 2]
                if i % 7 == 0:
                    assert fields["unsubscribedMessageTypeIds"] == [13]  # not owned: untouched
    with sqlite3.connect(db_path) as conn:
        marked = conn.execute(
            "SELECT count(*) FROM catalog_contactpreference WHERE resynced_run_id = ? AND resynced_at IS NOT NULL",
            (run_id,),
        ).fetchone()[0]
    assert marked == CONTACTS
