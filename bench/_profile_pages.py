"""Where a page's time goes, in-process: CPU per request and SQL queries of pages beside the load test's bare
JSON view, and a cProfile of one page (cumulative, top functions). For the engineer reading a slow page; the
load test (bench/load_test.py) is what measures throughput.

Runs against a PostgreSQL database it keeps (so a catalog of 100,000 is grown once): the name given, created
and grown to --size notifications (ten audit events each) if it has fewer.

    python bench/_profile_pages.py --database ia_profile --size 10000 [--repeat 30] [--profile /notifications/]
"""

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
parser = argparse.ArgumentParser()
parser.add_argument("--database", default="ia_profile")
parser.add_argument("--size", type=int, default=10_000)
parser.add_argument("--repeat", type=int, default=30)
parser.add_argument("--profile", action="append", default=[], help="a path to profile (repeatable)")
parser.add_argument("--paths", default="", help="comma-separated paths to time (default: the list and the yardsticks)")
parser.add_argument("--top", type=int, default=40)
parser.add_argument("--sql-chars", type=int, default=300)
args = parser.parse_args()

subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {args.database}"], check=False,
               capture_output=True)  # fmt: skip
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
os.environ.update(
    DJANGO_SETTINGS_MODULE="_load_settings",
    DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
    DEBUG="0",
    SECRET_KEY="profile-pages-" + "x" * 50,
    ALLOWED_HOSTS="testserver",
    SECURE_SSL_REDIRECT="0",
    SESSION_COOKIE_SECURE="0",
    CSRF_COOKIE_SECURE="0",
    STATIC_MANIFEST="0",
    LOG_LEVEL="WARNING",
    API_THROTTLE_USER="100000000/min",
)
import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)

from _catalog import bench_catalog, grow_activity, grow_to  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog import models  # noqa: E402
from catalog.tokens.services import api_token_create  # noqa: E402

DEFAULT_PATHS = [
    "/bench/bare/notifications/",
    "/bench/stock-admin/catalog/notification/",
    "/notifications/",
    "/notifications/?page=3",
    "/notifications/?q=bench_0001&audience=students&ordering=-updated",
    "/api/notifications/?limit=50",
    "/api/notifications/?limit=1000",
]


def catalog():
    project = models.IterableProject.objects.filter(name="Bench").first()
    if project is None:
        c = bench_catalog()
        return c.project, c.message_type, c.owner, c.template
    return (
        project,
        models.MessageType.objects.get(project=project, iterable_id=11),
        models.Owner.objects.get(name="Lifecycle"),
        models.Template.objects.get(project=project, iterable_id=501),
    )


def main() -> None:
    project, message_type, owner, template = catalog()
    if models.Notification.objects.count() < args.size:
        started = time.monotonic()
        grow_to(args.size, project, message_type, owner, template)
        grow_activity(args.size, project)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"grown to {args.size:,} in {time.monotonic() - started:.0f}s")
    user = User.objects.filter(username="profile-engineer").first()
    if user is None:
        user = User.objects.create_user("profile-engineer", password="a long bench password", is_staff=True)
        user.groups.add(Group.objects.get(name="engineering"))
    _, token = api_token_create(actor=user, user=user, name=f"profile {time.time()}")
    client = Client()
    client.force_login(user)

    def get(path: str):
        headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
        response = client.get(path, headers=headers)
        if response.streaming:
            b"".join(response.streaming_content)
        assert response.status_code == 200, (path, response.status_code)
        return response

    paths = args.paths.split(",") if args.paths else DEFAULT_PATHS
    print(f"{models.Notification.objects.count():,} notifications; CPU ms per request (median of {args.repeat})")
    for path in paths:
        get(path)
        get(path)
        reset_queries()  # the capture counts from the log's length, which a request's start resets
        with CaptureQueriesContext(connection) as captured:
            get(path)
        queries = len(captured)  # read now: the next request's start empties the log it slices
        cpu, wall = [], []
        for _ in range(args.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            get(path)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        cpu.sort()
        wall.sort()
        print(
            f"{path:70} cpu {cpu[len(cpu) // 2] * 1000:6.1f}  wall {wall[len(wall) // 2] * 1000:6.1f}  "
            f"queries {queries}"
        )
    for path in args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU: waiting on the database is not this process's cost
        profiler.enable()
        for _ in range(args.repeat):
            get(path)
        profiler.disable()
        print(f"\n=== {path} x{args.repeat}")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            get(path)
        for q in captured.captured_queries:
            print(f"  {q['time']}  {q['sql'][: args.sql_chars]}")


if __name__ == "__main__":
    main()
