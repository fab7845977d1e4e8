"""The guard on real sends with a real worker: a send on "Marketing Message" stored by the webhook door is
judged and its owner emailed by a running `manage.py qcluster` within a minute (file SQLite, ORM broker)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).with_name("kill_helper.py")


def test_a_forbidden_send_alerts_its_owner_within_a_minute_through_a_real_worker(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="iterable_admin.settings_qcluster_test",
        DATABASE_URL=f"sqlite:///{tmp_path}/guard.sqlite3",
        DATA_DIR=str(tmp_path),
        SECRET_KEY="guard-test-secret-key-not-used-anywhere-else-0000000",
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    setup = subprocess.run(
        [sys.executable, str(HELPER), "guard-setup"], env=env, capture_output=True, text=True, timeout=120
    )
    assert setup.returncode == 0, setup.stderr
    log = tmp_path / "qcluster.log"
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        sent = subprocess.run(
            [sys.executable, str(HELPER), "forbidden-send"], env=env, capture_output=True, text=True, timeout=150
        )
        assert sent.returncode == 0, sent.stderr
        result = json.loads(sent.stdout.strip().splitlines()[-1])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(timeout=10)
    assert result["seconds"] is not None and result["seconds"] < 60, result
    assert result["kind"] == "forbidden-type"
    assert result["deliveries"] == [{"channel": "email", "to": ["lifecycle-owner@example.com"], "ok": True}]
    assert "To: lifecycle-owner@example.com" in log.read_text()
