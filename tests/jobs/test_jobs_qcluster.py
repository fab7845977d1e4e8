"""Kill -9 a real qcluster in the middle of a profile sync, start another, and check nothing was lost and every
row was applied (the resync's kill test, for a seed job on the same engine). Every process started here is
killed in ``finally``."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iterable_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
KEY = "jobs-kill-key-00000000000000000"
ROWS = 1500
BATCH = 50
WRITE = "POST /api/users/bulkUpdate"


def _env(db_path: Path, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="jobs_qcluster_settings",
        DATABASE_URL=f"sqlite:///{db_path}",
        DATA_DIR=str(tmp_path),
        SECRET_KEY="jobs-kill-test-secret-key-not-used-anywhere-else-00",
        ITERABLE_API_KEY_JOBS_KILL=KEY,
        LOG_LEVEL="WARNING",
        PYTHONPATH=f"{ROOT}{os.pathsep}{HERE}",
    )
    return env


def _counts(db_path: Path, run_id: int) -> tuple[str, dict[str, int]]:
    with sqlite3.connect(db_path, timeout=10) as conn:
        status = conn.execute("SELECT status FROM catalog_jobrun WHERE id = ?", (run_id,)).fetchone()[0]
        rows = conn.execute(
            "SELECT status, count(*) FROM catalog_jobitem WHERE run_id = ? GROUP BY status", (run_id,)
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
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait(timeout=10)


@pytest.mark.qcluster
def test_kill_nine_mid_profile_sync_then_another_cluster_finishes_it(tmp_path):
    seed = {"projects": [{"id": 78, "name": "Kill", "api_keys": [KEY], "users": [
        {"email": f"k{i}@example.com", "dataFields": {"firstName": "old", "devices": [{"token": f"t{i}"}]}}
        for i in range(0, ROWS, 7)
    ]}]}  # fmt: skip
    db_path = tmp_path / "kill.sqlite3"
    env = _env(db_path, tmp_path)
    log = tmp_path / "qcluster.log"
    first = second = None
    with EmulatorServer(seed, rate_limits_enabled=True) as emu:
        setup = subprocess.run(
            [sys.executable, str(HERE / "jobs_qcluster_helper.py"), "setup", emu.us_url, str(ROWS), str(BATCH)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert setup.returncode == 0, setup.stderr[-3000:]
        run_id = int(setup.stdout.strip().splitlines()[-1])
        try:
            first = _start_cluster(env, log)
            deadline = time.monotonic() + 90
            while True:
                status, counts = _counts(db_path, run_id)
                if counts.get("done", 0) >= 8 * BATCH:
                    break
                assert time.monotonic() < deadline, f"the first cluster made no progress: {log.read_text()[-2000:]}"
                time.sleep(0.1)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            status, counts = _counts(db_path, run_id)
            assert status == "running" and 0 < counts.get("done", 0) < ROWS, counts
            writes_at_kill = len(emu.requests(path=WRITE))

            second = _start_cluster(env, log)
            deadline = time.monotonic() + 120
            while status != "done":
                assert time.monotonic() < deadline, f"not finished: {counts} {log.read_text()[-2000:]}"
                time.sleep(0.25)
                status, counts = _counts(db_path, run_id)
        finally:
            _kill(first)
            _kill(second)

        assert counts == {"done": ROWS}, counts  # no row lost, nothing failed
        writes = emu.requests(path=WRITE)
        assert len(writes) > writes_at_kill
        sent = [u["email"] for w in writes if w["status"] == 200 for u in w["body"]["users"]]
        # At most the one batch in flight at the kill is sent again (an idempotent merge); no other row twice.
        assert len(sent) - len(set(sent)) <= BATCH
        with emu.state.lock:
            project = emu.state.projects[78]
            for i in range(ROWS):
                fields = project.get_user(f"k{i}@example.com")["dataFields"]
                assert fields["firstName"] == f"Name {i}"
                if i % 7 == 0:
                    assert fields["devices"] == [{"token": f"t{i}"}]  # never touched
