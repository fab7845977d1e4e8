"""Load test on loopback: the catalog pages and API with 10,000 notifications, under gunicorn, driven by wrk.

Builds a throwaway SQLite catalog of 10,000 notifications, starts gunicorn on 127.0.0.1 (production settings,
DEBUG off), logs a viewer in (session cookie for pages, API token for the API) and runs wrk against each URL for
a bounded time. Prints requests per second and p50/p95/p99 latency per URL. Needs Debian's wrk.

    python bench/load_test.py [--seconds 10] [--connections 8] [--workers 2]
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _django import ROOT, django_throwaway, free_port, wait_for

WORK = django_throwaway("load-test")

from _catalog import bench_catalog, grow_to  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402

from catalog.tokens.services import api_token_create  # noqa: E402

# wrk's own summary gives 50/75/90/99; p95 needs its Lua hook.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.1f %.1f %.1f %.1f\\n", summary.requests, summary.errors.status
    + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3))
end
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")

    catalog = bench_catalog()
    grow_to(10_000, catalog.project, catalog.message_type, catalog.owner, catalog.template)
    user = get_user_model().objects.create_user("load-viewer", password="a long bench password")
    user.groups.add(Group.objects.get(name="viewer"))
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    _, token = api_token_create(actor=user, user=user, name="load test")

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "iterable_admin.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_USER": "100000000/min",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "iterable_admin.wsgi", "--workers", str(args.workers), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    script = Path(WORK) / "p95.lua"
    script.write_text(WRK_SCRIPT)
    targets = [
        ("page: notification list", "/notifications/", f"Cookie: sessionid={session.session_key}"),
        ("page: list, search + filter", "/notifications/?q=bench_0001&audience=students&ordering=-updated",
         f"Cookie: sessionid={session.session_key}"),
        ("page: notification detail", "/notifications/bench_004242/", f"Cookie: sessionid={session.session_key}"),
        ("page: home", "/", f"Cookie: sessionid={session.session_key}"),
        ("api: notifications, 50", "/api/notifications/?limit=50", f"Authorization: Bearer {token}"),
        ("api: notifications, 1000", "/api/notifications/?limit=1000", f"Authorization: Bearer {token}"),
        ("api: one notification", "/api/notifications/bench_004242/", f"Authorization: Bearer {token}"),
    ]  # fmt: skip
    try:
        wait_for(port)
        print(
            f"10,000 notifications, gunicorn x{args.workers} (sync workers), wrk {args.connections} connections, "
            f"{args.seconds}s each, SQLite, {os.cpu_count()} cores shared by server and load"
        )
        print(f"{'target':32} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for label, path, header in targets:
            out = subprocess.run(
                ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--timeout", "10s", "-H", header,
                 "-s", str(script), f"http://127.0.0.1:{port}{path}"],
                capture_output=True, text=True, timeout=args.seconds + 60, check=True,
            ).stdout  # fmt: skip
            line = next(row for row in out.splitlines() if row.startswith("RESULT"))
            requests, errors, seconds, p50, p95, p99 = (float(x) for x in line.split()[1:])
            non_2xx = next((row.split(":")[1].strip() for row in out.splitlines() if "Non-2xx" in row), "0")
            print(f"{label:32} {requests / seconds:8.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f} {int(errors):>4}/{non_2xx}")
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
