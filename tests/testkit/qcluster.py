"""Real ``manage.py qcluster`` processes for the engine's kill tests (the resync's and the seed jobs'): their
environment on a file SQLite database, the run set up by ``qcluster_setup.py`` in a subprocess, the run's
counts read straight from the file, and the kill -9 of a cluster's whole process group. Every test that starts
a cluster kills it in ``finally`` with ``kill``."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SETUP = Path(__file__).resolve().parent / "qcluster_setup.py"

# kind -> (the run table, the item table), as the setup helper knows them.
TABLES = {"resync": ("catalog_resyncrun", "catalog_resyncitem"), "jobs": ("catalog_jobrun", "catalog_jobitem")}


def cluster_env(
    db_path: Path, tmp_path: Path, *, settings: str, secret_key: str, keys: dict[str, str], path: tuple[Path, ...] = ()
) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        DATABASE_URL=f"sqlite:///{db_path}",
        DATA_DIR=str(tmp_path),
        SECRET_KEY=secret_key,
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(str(p) for p in (ROOT, *path)),
        **keys,
    )
    return env


def setup_run(kind: str, env: dict, url: str, rows: int, batch: int, timeout: float = 180) -> int:
    """Migrate the file database and start a run of ``kind`` over ``rows`` rows; returns the run's id."""
    setup = subprocess.run(
        [sys.executable, str(SETUP), kind, url, str(rows), str(batch)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr[-3000:]
    return int(setup.stdout.strip().splitlines()[-1])


def run_counts(kind: str, db_path: Path, run_id: int) -> tuple[str, dict[str, int]]:
    """The run's status and its items counted by status."""
    runs, items = TABLES[kind]
    with sqlite3.connect(db_path, timeout=10) as conn:
        status = conn.execute(f"SELECT status FROM {runs} WHERE id = ?", (run_id,)).fetchone()[0]
        rows = conn.execute(
            f"SELECT status, count(*) FROM {items} WHERE run_id = ? GROUP BY status",
            (run_id,),
        ).fetchall()
    return status, dict(rows)


def start_cluster(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: kill -9 reaches the sentinel and every worker
    )


def group_alive(pgid: int) -> bool:
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


def kill(proc: subprocess.Popen | None) -> None:
    if proc is None or not group_alive(proc.pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def kill_mid_run_then_finish(
    kind: str,
    env: dict,
    log: Path,
    db_path: Path,
    run_id: int,
    *,
    total: int,
    kill_after: int,
    at_kill: Callable[[], Any],
    first_seconds: float,
    finish_seconds: float,
) -> tuple[dict[str, int], Any]:
    """Start a cluster, kill -9 its whole group once ``kill_after`` items are done, check the run was caught
    mid-way, note ``at_kill()``, then start another cluster and wait for the run to finish. Returns the final
    counts and what ``at_kill`` said."""
    first = second = None
    try:
        first = start_cluster(env, log)
        deadline = time.monotonic() + first_seconds
        while run_counts(kind, db_path, run_id)[1].get("done", 0) < kill_after:
            assert time.monotonic() < deadline, f"the first cluster made no progress: {log.read_text()[-2000:]}"
            time.sleep(0.1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        time.sleep(0.5)
        assert not group_alive(first.pid)
        status, counts = run_counts(kind, db_path, run_id)
        assert status == "running" and 0 < counts.get("done", 0) < total, counts
        noted = at_kill()

        second = start_cluster(env, log)
        deadline = time.monotonic() + finish_seconds
        while status != "done":
            assert time.monotonic() < deadline, f"not finished: {counts} {log.read_text()[-2000:]}"
            time.sleep(0.25)
            status, counts = run_counts(kind, db_path, run_id)
    finally:
        kill(first)
        kill(second)
    return counts, noted
