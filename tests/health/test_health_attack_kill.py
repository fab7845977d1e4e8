"""Killed workers attacked at the moments that matter, on the database the suite runs on (SQLite, or a database of
its own beside the PostgreSQL one): one event per request as Iterable sends them, a gunicorn worker SIGKILLed
right before a request reaches Django and right after Django stored its event but before the answer left
(the sender cannot know and retries: the redelivery must be dropped), and a counting worker SIGKILLed before
its commit. Each planned kill is checked to have really broken its request; every event ends stored and
counted exactly once."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from kill_helper import gunicorn_env

ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).with_name("kill_helper.py")
EVENTS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url(tmp_path) -> str:
    """SQLite in a file, or on PostgreSQL a database of this test's own, made afresh."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp_path}/kill.sqlite3"
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_kill"
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _helper(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HELPER), *args], env=env, capture_output=True, text=True, timeout=300)


def _event(n: int) -> dict:
    # One event, as Iterable's system webhook posts it.
    return {
        "email": f"k{n}@example.com",
        "eventName": ("emailSend", "emailOpen", "emailSendSkip")[n % 3],
        "dataFields": {"campaignId": 400 + n % 4, "templateId": 500 + n % 4, "messageId": f"kill-{n}",
                       "createdAt": "2026-11-29 10:00:00 +00:00"},
    }  # fmt: skip


def test_workers_killed_before_and_after_storing_lose_nothing_and_count_nothing_twice(tmp_path):
    env = gunicorn_env(tmp_path, _database_url(tmp_path))
    setup = _helper(env, "setup")
    assert setup.returncode == 0, setup.stderr
    project = json.loads(setup.stdout.strip().splitlines()[-1])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tests.health.kill_wsgi:application", "--workers", "2",
         "--worker-class", "gthread", "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level", "critical"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/health/webhooks/{project['project']}/"
    plan = {n: ("after" if n % 24 == 5 else "before" if n % 24 == 17 else None) for n in range(EVENTS)}
    work = list(range(EVENTS))
    lock = threading.Lock()
    broken: dict[int, int] = {}
    accepted: list[int] = []

    def sender():
        session = requests.Session()
        while True:
            with lock:
                if not work:
                    return
                n = work.pop(0)
            die = plan[n]
            for _ in range(100):
                headers = {"X-Webhook-Secret": project["secret"], **({"X-Test-Die": die} if die else {})}
                try:
                    response = session.post(url, json=_event(n), headers=headers, timeout=10)
                    if response.status_code == 200:
                        break
                except requests.RequestException:
                    session = requests.Session()
                with lock:
                    broken[n] = broken.get(n, 0) + 1
                die = None  # Iterable's retry: the same body, sent again
                time.sleep(0.1)
            else:
                raise AssertionError(f"event {n} was never accepted")
            with lock:
                accepted.append(n)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url, timeout=2)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        threads = [threading.Thread(target=sender) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=400)
        assert sorted(accepted) == list(range(EVENTS))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    # Every planned kill broke its own request: the sender saw it fail and sent it again.
    planned = {n for n, die in plan.items() if die}
    assert len(planned) == 10
    assert planned <= set(broken), sorted(planned - set(broken))

    died = _helper(env, "count-and-die")
    assert died.returncode == -signal.SIGKILL, died.stderr
    first = _helper(env, "count")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {"stored": EVENTS, "uncounted": 0, "counted": EVENTS}
    again = _helper(env, "count")
    assert json.loads(again.stdout.strip().splitlines()[-1]) == {"stored": EVENTS, "uncounted": 0, "counted": EVENTS}
