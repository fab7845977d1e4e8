"""Behind gunicorn, a slow Iterable never gets a worker killed: the request's Iterable budget ends the wait
and the answer says why. Real gunicorn (the README's sync workers, a short --timeout so the test is quick),
a file database, and the emulator with every answer held back far past both."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from catalog.services.emulator_seed import emulator_seed_build
from iterable_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).with_name("budget_helper.py")
GUNICORN_TIMEOUT = 4
SLOW_MS = 8000
KEYS = {"ITERABLE_API_KEY_STUDENT_US": "budget-student", "ITERABLE_API_KEY_EMPLOYER_US": "budget-employer"}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def slow_iterable(monkeypatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    with EmulatorServer(emulator_seed_build(), rate_limits_enabled=False) as emulator:
        yield emulator


def _lookup_behind_gunicorn(tmp_path, emulator, budget: float) -> tuple[requests.Response | None, float, str]:
    """Start gunicorn with this Iterable budget, look a contact up through the API, stop it; returns the
    response (None if the connection died), the seconds it took and gunicorn's log."""
    env = {
        **os.environ,
        **KEYS,
        "DJANGO_SETTINGS_MODULE": "iterable_admin.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path}/budget.sqlite3",
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "budget-test-secret-key-" + "x" * 40,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "ITERABLE_ALLOWED_HOSTS": "http://127.0.0.1",
        "ITERABLE_REQUEST_BUDGET_SECONDS": str(budget),
        "LOG_LEVEL": "ERROR",
    }
    if not (tmp_path / "budget.sqlite3").exists():
        setup = subprocess.run(
            [sys.executable, str(HELPER), "setup", emulator.us_url],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert setup.returncode == 0, setup.stderr[-3000:]
        (tmp_path / "token").write_text(setup.stdout.strip().splitlines()[-1])
    token = (tmp_path / "token").read_text()
    port = _free_port()
    log = tmp_path / f"gunicorn-{budget}.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "iterable_admin.wsgi", "--workers", "1",
             "--timeout", str(GUNICORN_TIMEOUT), "--bind", f"127.0.0.1:{port}", "--log-level", "info"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        emulator.configure(latency_ms={"*": SLOW_MS})
        started = time.monotonic()
        try:
            response = requests.post(
                f"{base}/api/contacts/lookup/",
                json={"email": "qa.student@example.com"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=SLOW_MS / 1000 + 5,
            )
        except requests.ConnectionError:
            response = None
        took = time.monotonic() - started
    finally:
        emulator.configure(latency_ms={})
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return response, took, log.read_text()


def test_a_slow_iterable_gets_an_answer_within_the_budget_not_a_killed_worker(tmp_path, slow_iterable):
    response, took, log = _lookup_behind_gunicorn(tmp_path, slow_iterable, budget=1.5)
    assert response is not None and response.status_code == 200, log[-3000:]
    assert took < GUNICORN_TIMEOUT, took
    assert "WORKER TIMEOUT" not in log
    lookups = response.json()
    assert len(lookups) == 2  # every project, each with the sentence
    for lookup in lookups:
        assert "within the 1.5 s a page may wait" in lookup["error"], lookup["error"]

    # The same request with a budget above gunicorn's timeout: the worker is killed mid-request.
    response, took, log = _lookup_behind_gunicorn(tmp_path, slow_iterable, budget=30)
    assert "WORKER TIMEOUT" in log
    assert response is None or response.status_code >= 500
