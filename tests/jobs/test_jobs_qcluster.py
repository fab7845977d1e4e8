"""Kill -9 a real qcluster in the middle of a profile sync, start another, and check nothing was lost and every
row was applied (the resync's kill test, for a seed job on the same engine, driven by tests/testkit/qcluster.py).
Every process started here is killed in ``finally``."""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit.qcluster import cluster_env, kill_mid_run_then_finish, setup_run

from iterable_emulator.testing import EmulatorServer

HERE = Path(__file__).resolve().parent
KEY = "jobs-kill-key-00000000000000000"
ROWS = 1500
BATCH = 50
WRITE = "POST /api/users/bulkUpdate"


def _env(db_path: Path, tmp_path: Path) -> dict:
    return cluster_env(
        db_path,
        tmp_path,
        settings="jobs_qcluster_settings",
        secret_key="jobs-kill-test-secret-key-not-used-anywhere-else-00",
        keys={"ITERABLE_API_KEY_JOBS_KILL": KEY},
        path=(HERE,),
    )


@pytest.mark.qcluster
def test_kill_nine_mid_profile_sync_then_another_cluster_finishes_it(tmp_path):
    seed = {"projects": [{"id": 78, "name": "Kill", "api_keys": [KEY], "users": [
        {"email": f"k{i}@example.com", "dataFields": {"firstName": "old", "devices": [{"token": f"t{i}"}]}}
        for i in range(0, ROWS, 7)
    ]}]}  # fmt: skip
    db_path = tmp_path / "kill.sqlite3"
    env = _env(db_path, tmp_path)
    log = tmp_path / "qcluster.log"
    with EmulatorServer(seed, rate_limits_enabled=True) as emu:
        run_id = setup_run("jobs", env, emu.us_url, ROWS, BATCH)
        counts, writes_at_kill = kill_mid_run_then_finish(
            "jobs", env, log, db_path, run_id, total=ROWS, kill_after=8 * BATCH,
            at_kill=lambda: len(emu.requests(path=WRITE)), first_seconds=90, finish_seconds=120,
        )  # fmt: skip

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
