"""A killed worker loses no event and counts none twice: a gunicorn worker SIGKILLed while webhook requests
are in flight (the sender retries what failed, as Iterable does), and a counting worker SIGKILLed after
writing its counters but before its transaction commits. Real processes on a file database."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from kill_helper import gunicorn_env

ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).with_name("kill_helper.py")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _helper(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HELPER), *args], env=env, capture_output=True, text=True, timeout=120)


def _events(batch: int) -> list[dict]:
    return [
        {"email": f"c{batch}-{n}@example.com", "eventName": "emailSend" if n % 3 else "emailOpen",
         "dataFields": {"campaignId": 400 + n % 5, "messageId": f"{batch}-{n}"}}
        for n in range(50)
    ]  # fmt: skip


def test_killed_workers_lose_no_event_and_count_none_twice(tmp_path):
    env = gunicorn_env(tmp_path, f"sqlite:///{tmp_path}/kill.sqlite3")
    setup = _helper(env, "setup")
    assert setup.returncode == 0, setup.stderr
    project = json.loads(setup.stdout.strip().splitlines()[-1])
    port = _free_port()
    server = subprocess.Popen(
        # The README's production worker class: a killed worker takes every thread's request with it.
        [sys.executable, "-m", "gunicorn", "iterable_admin.wsgi", "--workers", "2", "--worker-class", "gthread",
         "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level", "critical"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/health/webhooks/{project['project']}/"
    batches = [_events(b) for b in range(40)]
    work = list(batches) + batches[:5]  # five batches redelivered
    lock = threading.Lock()
    sent = []

    def sender():
        session = requests.Session()
        while True:
            with lock:
                if not work:
                    return
                batch = work.pop()
            for _ in range(50):
                try:
                    response = session.post(
                        url, json=batch, headers={"X-Webhook-Secret": project["secret"]}, timeout=10
                    )
                    if response.status_code == 200:
                        break
                except requests.RequestException:
                    session = requests.Session()
                time.sleep(0.1)
            else:
                raise AssertionError("a batch was never accepted")
            with lock:
                sent.append(len(batch))

    try:
        deadline = time.monotonic() + 30
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
        while len(sent) < 10:
            time.sleep(0.01)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        os.kill(int(children[0]), signal.SIGKILL)
        for t in threads:
            t.join(timeout=120)
        assert len(sent) == 45
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    died = _helper(env, "count-and-die")
    assert died.returncode == -signal.SIGKILL
    first = _helper(env, "count")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {"stored": 2000, "uncounted": 0, "counted": 2000}
    again = _helper(env, "count")
    assert json.loads(again.stdout.strip().splitlines()[-1]) == {"stored": 2000, "uncounted": 0, "counted": 2000}
