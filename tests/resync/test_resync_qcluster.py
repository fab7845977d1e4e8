"""Kill -9 a real qcluster in the middle of a resync, start another, and check nothing was lost.

The emulator runs in this process (a thread on 127.0.0.1) with its rate limits on; the workers are real
``manage.py qcluster`` processes on a file SQLite database with the ORM broker
(iterable_admin/settings_qcluster_test.py), driven by tests/testkit/qcluster.py. Every process started here is
killed in ``finally``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from _resync_seed import CHANNELS, LISTS, MESSAGE_TYPES
from testkit.qcluster import cluster_env, kill_mid_run_then_finish, run_counts, setup_run

from iterable_emulator.testing import EmulatorServer

KEY = "kill-test-key-0000000000000000"
CONTACTS = 1500
BATCH = 50
WRITE = "POST /api/users/bulkUpdateSubscriptions"


def _env(db_path: Path, tmp_path: Path) -> dict:
    return cluster_env(
        db_path,
        tmp_path,
        settings="iterable_admin.settings_qcluster_test",
        secret_key="kill-test-secret-key-not-used-anywhere-else-000000",
        keys={"ITERABLE_API_KEY_RESYNC_KILL": KEY},
    )


def _counts(db_path: Path, run_id: int) -> tuple[str, dict[str, int]]:
    return run_counts("resync", db_path, run_id)


def _setup(emu, env) -> int:
    return setup_run("resync", env, emu.us_url, CONTACTS, BATCH, timeout=120)


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
    with EmulatorServer(seed, rate_limits_enabled=True) as emu:
        run_id = _setup(emu, env)
        counts, writes_at_kill = kill_mid_run_then_finish(
            "resync", env, log, db_path, run_id, total=CONTACTS, kill_after=8 * BATCH,
            at_kill=lambda: len(emu.requests(path=WRITE)), first_seconds=60, finish_seconds=90,
        )  # fmt: skip

        assert counts == {"done": CONTACTS}, counts  # no batch lost, nothing failed
        writes = emu.requests(path=WRITE)
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
