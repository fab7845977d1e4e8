"""Load test on loopback: every page beside the stock Django admin changelist and a bare JSON view of the same
rows, measured in the same run, at several catalog sizes, on PostgreSQL under gunicorn, driven by wrk.

For each size (100, 10,000 and 100,000 notifications by default, with ten audit events per notification: a
million at 100,000) it grows a throwaway catalog, restarts gunicorn on 127.0.0.1 (production settings, DEBUG
off; bench/_load_settings.py adds the two yardsticks: a stock ModelAdmin on a throwaway admin site and the bare
view, bench/_load_urls.py), and runs wrk against every target in turn, three rounds. It prints per size:
requests per second and p50 latency (median of the rounds), and each target's throughput over the stock admin's
and over the bare view's in the same round (min/median/max of the rounds); then each target's p50 at every size
over its p50 at the smallest (the scaling, median of the rounds).

    python bench/load_test.py [--sizes 100,10000,100000] [--seconds 5] [--rounds 3] [--connections 4]
                              [--workers 2] [--sqlite] [--only home,sync]

--only keeps the targets whose label contains one of the words (the two yardsticks are always measured).

Needs Debian's wrk (apt-get install wrk): a C client, so the load generator is not what limits the numbers.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from _django import ROOT, django_throwaway, free_port, fresh_postgres, wait_for

parser = argparse.ArgumentParser()
parser.add_argument("--sizes", default="100,10000,100000")
parser.add_argument("--seconds", type=int, default=5)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--connections", type=int, default=4)
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
parser.add_argument("--only", default="", help="comma-separated words: only the targets whose label has one")
args = parser.parse_args()
if not shutil.which("wrk"):
    raise SystemExit("wrk is not installed: apt-get install wrk")
DATABASE_URL = None if args.sqlite else fresh_postgres("load_test")
WORK = django_throwaway("load-test", DATABASE_URL)

from _catalog import bench_catalog, grow_activity, grow_to  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402

from catalog.tokens.services import api_token_create  # noqa: E402

# wrk's own summary gives 50/75/90/99; this hook prints what the bench needs on one line.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f\\n", summary.requests, summary.errors.status
    + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
"""
STOCK, BARE = "stock admin changelist", "bare JSON view, same rows"
PAGE, API = "page", "api"


def targets(audit_page: str) -> list[tuple[str, str, str]]:
    words = [word for word in args.only.split(",") if word]
    return [
        target
        for target in _targets(audit_page)
        if not words or target[0] in (STOCK, BARE) or any(word in target[0] for word in words)
    ]


def _targets(audit_page: str) -> list[tuple[str, str, str]]:
    return [
        (STOCK, "/bench/stock-admin/catalog/notification/", PAGE),
        (BARE, "/bench/bare/notifications/", PAGE),
        ("notification list", "/notifications/", PAGE),
        ("list, search + filter", "/notifications/?q=bench_0001&audience=students&ordering=-updated", PAGE),
        ("list, page 3", "/notifications/?page=3", PAGE),
        ("notification detail", "/notifications/bench_000042/", PAGE),
        ("home", "/", PAGE),
        ("audit, newest", "/audit/", PAGE),
        ("audit, older page", audit_page, PAGE),
        ("sync runs", "/sync/", PAGE),
        ("resync runs", "/resync/", PAGE),
        ("api: notifications, 50", "/api/notifications/?limit=50", API),
        ("api: notifications, 1000", "/api/notifications/?limit=1000", API),
        ("api: one notification", "/api/notifications/bench_000042/", API),
        ("api: audit events", "/api/audit-events/?limit=50", API),
    ]


def start_server(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "_load_settings",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "DATA_DIR": str(WORK),
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
    wait_for(port)
    return server


def wrk(port: int, path: str, header: str, script: Path) -> tuple[float, float, int]:
    """Requests per second, p50 ms and errors (non-2xx included) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--timeout", "10s", "-H", header,
         "-s", str(script), f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=args.seconds + 60, check=True,
    ).stdout  # fmt: skip
    line = next(row for row in out.splitlines() if row.startswith("RESULT"))
    requests, errors, seconds, p50, _ = (float(x) for x in line.split()[1:])
    non_2xx = next((int(row.split(":")[1]) for row in out.splitlines() if "Non-2xx" in row), 0)
    return requests / seconds, p50, int(errors) + non_2xx


def spread(values: list[float]) -> str:
    return f"{min(values):5.2f} {statistics.median(values):5.2f} {max(values):5.2f}"


def ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    return [n / d if d else float("nan") for n, d in zip(numerators, denominators, strict=True)]


def main() -> None:
    catalog = bench_catalog()
    user = get_user_model().objects.create_user("load-engineer", password="a long bench password", is_staff=True)
    user.groups.add(Group.objects.get(name="engineering"))  # every page, and the stock admin's view permission
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[-1]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    _, token = api_token_create(actor=user, user=user, name="load test")
    headers = {PAGE: f"Cookie: sessionid={session.session_key}", API: f"Authorization: Bearer {token}"}
    script = Path(WORK) / "result.lua"
    script.write_text(WRK_SCRIPT)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{connection.vendor}, gunicorn x{args.workers} sync workers, wrk {args.connections} connections, "
        f"{args.seconds}s per target per round, {args.rounds} rounds, {os.cpu_count()} cores shared by server, "
        "database and load"
    )
    p50s: dict[int, dict[str, list[float]]] = {}
    for size in sizes:
        grow_to(size, catalog.project, catalog.message_type, catalog.owner, catalog.template)
        grow_activity(size, catalog.project)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("VACUUM ANALYZE")
        older = "/audit/?before=" + _audit_cursor(size)
        port = free_port()
        server = start_server(port)
        rates: dict[str, list[float]] = {}
        p50s[size] = {}
        errors = 0
        try:
            for _label, path, kind in targets(older):  # warm every worker's caches first
                wrk(port, path, headers[kind], script)
            for _ in range(args.rounds):
                for label, path, kind in targets(older):
                    rate, p50, failed = wrk(port, path, headers[kind], script)
                    rates.setdefault(label, []).append(rate)
                    p50s[size].setdefault(label, []).append(p50)
                    errors += failed
        finally:
            server.terminate()
            server.wait(timeout=15)
        print(f"\n{size:,} notifications, {size * 10:,} audit events (errors: {errors})")
        print(f"{'target':28} {'req/s':>7} {'p50 ms':>7}   {'÷ stock admin':^17}   {'÷ bare view':^17}")
        print(f"{'':28} {'':>7} {'':>7}   {'min   med   max':^17}   {'min   med   max':^17}")
        for label, _, _ in targets(older):
            over_stock, over_bare = ratios(rates[label], rates[STOCK]), ratios(rates[label], rates[BARE])
            print(
                f"{label:28} {statistics.median(rates[label]):7.1f} {statistics.median(p50s[size][label]):7.1f}   "
                f"{spread(over_stock):17}   {spread(over_bare):17}"
            )
    if len(sizes) > 1:
        # The machine's load drifts between sizes (the cores are shared); the bare view's own change over the same
        # sizes is that drift, so the second set of columns divides it out.
        print(f"\np50 at each size over p50 at {sizes[0]:,} (median of the rounds); then over the bare view's change")
        print(f"{'target':28} " + " ".join(f"{size:>9,}" for size in sizes[1:] * 2))

        def change(label: str, size: int) -> float:
            return statistics.median(p50s[size][label]) / statistics.median(p50s[sizes[0]][label])

        for label, _, _ in targets(""):
            raw = [change(label, s) for s in sizes[1:]]
            drift = [change(BARE, s) for s in sizes[1:]]
            steady = [r / d for r, d in zip(raw, drift, strict=True)]
            print(f"{label:28} " + " ".join(f"{r:9.2f}" for r in raw + steady))
    connection.close()


def _audit_cursor(size: int) -> str:
    """The cursor of the audit list's page halfway down the trail."""
    from catalog.models import AuditEvent

    middle = AuditEvent.objects.order_by("-created_at", "-pk")[size * 5 : size * 5 + 1].get()
    return f"{middle.created_at.isoformat()}~{middle.pk}".replace("+", "%2B")


if __name__ == "__main__":
    main()
