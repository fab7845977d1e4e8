"""Webhook ingest on loopback: Iterable's system-webhook events posted to gunicorn, stored once, then counted.

Starts gunicorn on 127.0.0.1 against a throwaway database (PostgreSQL by default, as production), posts
`--events` unique events (plus `--redeliver` percent sent twice, as Iterable's retries do) from `--connections`
client threads, `--batch` events per request (1 = Iterable's own one-event form), and prints events per
second. With `--kill` it SIGKILLs a gunicorn worker mid-run; the client retries what failed, as Iterable
does. Then it counts the stored events (the worker's job), checks that every unique event is stored and
counted exactly once, and prints the disk per event and a year's disk budget at `--per-day` events a day.

    python bench/webhook_ingest.py [--sqlite] [--events 60000] [--batch 1] [--connections 16] [--workers 2]
                                   [--worker-class gthread] [--threads 8] [--kill] [--per-day 5000000]
                                   [--notifications 500]

The client keeps its connections open (as Iterable does) and is plain http.client, so that the client's own CPU,
which shares the machine's cores with the server and the database, stays small; the CPU each of the three used
per request is printed next to the rate (and what the rest of the machine used meanwhile).
"""

import argparse
import http.client
import json
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from _django import ROOT, django_throwaway, free_port, fresh_postgres, wait_for

parser = argparse.ArgumentParser()
parser.add_argument("--sqlite", action="store_true", help="SQLite instead of a fresh PostgreSQL database")
parser.add_argument("--events", type=int, default=60_000)
parser.add_argument("--batch", type=int, default=1)
parser.add_argument("--connections", type=int, default=16, help="the sender's parallel deliveries")
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--worker-class", default="gthread", help="gunicorn's: gthread (the README's command) or sync")
parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
parser.add_argument("--redeliver", type=float, default=5.0, help="percent of requests sent twice")
parser.add_argument("--kill", action="store_true", help="SIGKILL a gunicorn worker half-way")
parser.add_argument("--per-day", type=int, default=5_000_000)
parser.add_argument("--notifications", type=int, default=500, help="for the counters' share of the budget")
args = parser.parse_args()

url = None
if not args.sqlite:
    url = fresh_postgres("webhook_bench")
WORK = django_throwaway("webhook-ingest", url)

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from catalog.health import partitions  # noqa: E402
from catalog.health.counters import health_process, health_retention_purge, retention_days  # noqa: E402
from catalog.health.ingest import webhook_secret_rotate  # noqa: E402
from catalog.health.models import HealthDaily, HealthEvent  # noqa: E402
from catalog.models import IterableProject  # noqa: E402

TODAY = timezone.localdate()
KINDS = ["emailSend"] * 6 + ["emailOpen"] * 2 + ["emailClick", "emailSendSkip", "pushSend", "emailUnSubscribe"]


def event(n: int) -> dict:
    rng = random.Random(n)
    name = rng.choice(KINDS)
    return {
        "email": f"contact{rng.randint(1, 200_000)}@example.com",
        "eventName": name,
        "dataFields": {
            "campaignId": 1000 + rng.randint(0, 49),
            "templateId": 5000 + rng.randint(0, 49),
            "messageTypeId": 11,
            "messageId": f"{n:012x}",
            # The last three days, as a live stream brings them (each lands in its day's partition).
            "createdAt": f"{TODAY - timedelta(days=rng.randint(0, 2))} {rng.randint(0, 23):02d}:00:00 +00:00",
            **({"reason": "UserUnsubscribed"} if name.endswith("Skip") else {}),
        },
    }


def batches(total: int, size: int, redeliver: float) -> list[list[dict]]:
    out = [[event(n) for n in range(start, min(start + size, total))] for start in range(0, total, size)]
    rng = random.Random(7)
    out += [rng.choice(out) for _ in range(int(len(out) * redeliver / 100))]
    rng.shuffle(out)
    return out


def worker_pids(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


TICKS = os.sysconf("SC_CLK_TCK")


def _proc_seconds(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (and of its waited-for children) from /proc; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / TICKS


def _database_backends(database: str) -> list[int]:
    """PostgreSQL's backends serving the bench database (their process title names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f" {database} " in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Cpu:
    """CPU used during the run by the client (this process), gunicorn (master, workers, reaped workers), the
    database's backends for the bench database, and everything else on the machine (/proc/stat)."""

    def __init__(self, server: int, database: str):
        self.server, self.database = server, database
        # A backend gone before the end (its worker killed) keeps the CPU it was last seen with.
        self.backends: dict[int, float] = {}
        self.start = self._sample()
        self.watching = True
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while self.watching:
            self._backends()
            time.sleep(0.5)

    def _backends(self) -> float:
        for pid in _database_backends(self.database):
            self.backends[pid] = max(self.backends.get(pid, 0.0), _proc_seconds(pid))
        return sum(self.backends.values())

    def _sample(self) -> dict:
        me = resource.getrusage(resource.RUSAGE_SELF)
        busy = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return {
            "client": me.ru_utime + me.ru_stime,
            "server": _proc_seconds(self.server, children=True) + sum(map(_proc_seconds, worker_pids(self.server))),
            "database": self._backends(),
            "machine": (sum(busy) - busy[3] - busy[4]) / TICKS,  # all but idle and iowait
        }

    def used(self) -> dict:
        self.watching = False
        end = self._sample()
        used = {key: end[key] - self.start[key] for key in end}
        used["other"] = max(0.0, used["machine"] - used["client"] - used["server"] - used["database"])
        return used


def commits() -> int:
    """Transactions committed in the bench database so far (PostgreSQL's statistics; 0 on SQLite)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def main() -> None:
    project = IterableProject.objects.create(name="Bench", api_key_env="ITERABLE_API_KEY_BENCH")
    secret = webhook_secret_rotate(project=project, actor="bench")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "iterable_admin.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "LOG_LEVEL": "ERROR",
        "STATIC_ROOT": str(WORK),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "iterable_admin.wsgi", "--workers", str(args.workers),
         "--worker-class", args.worker_class, "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}",
         "--log-level", "error"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    work = batches(args.events, args.batch, args.redeliver)
    path = f"/api/health/webhooks/{project.pk}/"
    lock = threading.Lock()
    tally = {"requests": 0, "retries": 0, "errors": 0}
    queue = list(enumerate(work))
    headers = {"Content-Type": "application/json", "X-Webhook-Secret": secret}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not queue:
                    conn.close()
                    return
                _, batch = queue.pop()
            body = json.dumps(batch if args.batch > 1 else batch[0])
            for attempt in range(20):
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                    if response.status == 200:
                        break
                    with lock:
                        tally["errors"] += 1
                except (OSError, http.client.HTTPException):
                    # A killed worker takes its open connections with it: reconnect and send again, as Iterable
                    # retries a delivery that got no answer.
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    answer = b"no answer"
                with lock:
                    tally["retries"] += 1
                time.sleep(0.05 * (attempt + 1))
            else:
                raise SystemExit(f"gave up on a batch after 20 attempts: {answer[:200]!r}")
            with lock:
                tally["requests"] += 1

    killed = []

    def killer() -> None:
        while len(queue) > len(work) // 2:
            time.sleep(0.05)
        pids = worker_pids(server.pid)
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    database = connection.settings_dict["NAME"]
    try:
        wait_for(port)
        for _ in range(args.workers * 4):  # warm every worker's imports and connection (405: nothing stored)
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            warm.request("GET", path)
            warm.getresponse().read()
            warm.close()
        threads = [threading.Thread(target=client) for _ in range(args.connections)]
        if args.kill:
            threads.append(threading.Thread(target=killer))
        commits_before = commits()
        cpu = Cpu(server.pid, database)
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        used = cpu.used()
        committed = commits() - commits_before
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    posted = sum(len(b) for b in work)
    workers = f"{args.workers} {args.worker_class} workers" + (
        f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    )
    print(
        f"database: {connection.vendor}; gunicorn {workers}; {args.connections} client connections (kept open); "
        f"{os.cpu_count()} cores shared by server, database, client and whatever else runs"
    )
    print(
        f"posted {posted:,} events ({args.events:,} unique, {posted - args.events:,} redelivered) in "
        f"{tally['requests']:,} requests of {args.batch}; retries {tally['retries']}"
        + (f"; worker {killed[0]} SIGKILLed half-way" if killed else "")
    )
    print(f"INGEST: {posted / elapsed:,.0f} events/s posted ({args.events / elapsed:,.0f} unique/s), "
          f"{tally['requests'] / elapsed:,.0f} requests/s, {elapsed:.1f} s")  # fmt: skip
    if connection.vendor == "postgresql":
        print(
            f"database commits during the run: {committed:,} for {tally['requests']:,} requests "
            f"({posted / max(committed, 1):,.1f} events per commit: deliveries arriving together share one)"
        )
    per = 1000 / tally["requests"]
    print(
        f"CPU per request: server {used['server'] * per:.2f} ms, database {used['database'] * per:.2f} ms "
        f"(its backends), client {used['client'] * per:.2f} ms; of the machine's {os.cpu_count() * elapsed:.1f} "
        f"CPU-seconds: server {used['server']:.1f}, database {used['database']:.1f}, client {used['client']:.1f}, "
        f"everything else {used['other']:.1f}"
    )
    ours = (used["server"] + used["database"] + used["client"]) * per
    cores = os.cpu_count()
    print(
        f"CAPACITY: {ours:.2f} ms of CPU per request for server, database and client together: "
        f"{cores * 1000 / ours * args.batch:,.0f} events/s on these {cores} cores with nothing else running "
        f"({cores * 1000 / (ours - used['client'] * per) * args.batch:,.0f}/s with the sender on another machine, "
        "as Iterable is)"
    )

    stored = HealthEvent.objects.count()
    started = time.perf_counter()
    health_process(max_batches=10_000)
    counting = time.perf_counter() - started
    counted = HealthDaily.objects.aggregate(n=Sum("count"))["n"] or 0
    verdict = "OK" if stored == counted == args.events else "MISMATCH"
    print(f"stored {stored:,} events, counted {counted:,} (expected {args.events:,} each): {verdict}; "
          f"counting {stored / counting:,.0f} events/s")  # fmt: skip
    health_process()
    again = HealthDaily.objects.aggregate(n=Sum("count"))["n"] or 0
    print(f"counting again changes nothing: {'OK' if again == counted else 'MISMATCH'}")

    window = retention_days()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE catalog_healthevent")
            cursor.execute("VACUUM ANALYZE catalog_healthdaily")
            # Every partition's table and indexes, less what an empty day's partition takes (fixed, per day).
            cursor.execute(
                "SELECT count(*), sum(pg_total_relation_size(inhrelid)), "
                "min(pg_total_relation_size(inhrelid)) FILTER (WHERE inhrelid = to_regclass(%s)) "
                "FROM pg_inherits WHERE inhparent = 'catalog_healthevent'::regclass",
                [partitions.partition_name(timezone.localdate() + timedelta(days=partitions.AHEAD_DAYS))],
            )
            count, raw_bytes, empty = (int(n) for n in cursor.fetchone())
            raw_bytes -= count * empty
            # Counters at the scale of a month of `--notifications` (10 kinds a day each), as the counting writes
            # them, so the size per row is not a few rows' page overhead.
            cursor.execute(
                "INSERT INTO catalog_healthdaily (project_id, bucket, campaign_id, day, kind, count, webhook_count, "
                "backfill_count, last_at) SELECT %s, 'c:' || n, n, current_date - d, k, 1000, 1000, 0, now() "
                "FROM generate_series(1, %s) n, generate_series(1000, 1029) d, "
                "unnest(ARRAY['send','open','click','bounce','complaint','unsubscribe','subscribe','uninstall',"
                "'skip','other']) k",
                [project.pk, args.notifications],
            )
            cursor.execute("VACUUM ANALYZE catalog_healthdaily")
            cursor.execute(
                "SELECT pg_total_relation_size('catalog_healthdaily'), (SELECT count(*) FROM catalog_healthdaily)"
            )
            daily_bytes, daily_rows = cursor.fetchone()
        print(f"partitions: {count} (a day each: the window's, today's and {partitions.AHEAD_DAYS} ahead; and the "
              f"default); an empty one takes {empty / 1024:,.0f} KiB")  # fmt: skip
        # Retention, as the hourly task runs it once these days are past the window: whole partitions dropped.
        later = timezone.now() + timedelta(days=window + 3)
        started = time.perf_counter()
        purged = health_retention_purge(now=later)
        took = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
                "WHERE inhparent = 'catalog_healthevent'::regclass"
            )
            after = int(cursor.fetchone()[0])
        print(
            f"RETENTION {window + 3} days later: {len(purged['partitions_dropped'])} day partitions dropped whole and "
            f"{purged['deleted']:,} rows deleted from the default partition in {took * 1000:,.0f} ms; raw events now "
            f"take {after / 1e6:,.1f} MB (were {(raw_bytes + count * empty) / 1e6:,.1f} MB); no dead rows to vacuum"
        )
    else:
        db = Path(settings.DATABASES["default"]["NAME"])
        raw_bytes, daily_bytes, daily_rows = db.stat().st_size, 0, HealthDaily.objects.count()
    per_event = raw_bytes / stored
    per_daily = daily_bytes / daily_rows if daily_rows else 0
    # A day's partition goes once the whole day is past the window: the window's days plus today are on disk.
    kept_days = window + 1
    raw_window = per_event * args.per_day * kept_days
    # Counters: at most one row per notification, kind and day (10 kinds), plus orphans; a year of them.
    daily_year = per_daily * args.notifications * 10 * 365
    raw_year = per_event * args.per_day * 365
    print(f"DISK: {per_event:,.0f} bytes per raw event (table + indexes), {per_daily:,.0f} bytes per counter row")
    print(
        f"DISK BUDGET at {args.per_day:,} events/day for a year: raw events kept {window} days "
        f"(HEALTH_RAW_RETENTION_DAYS; {kept_days} days on disk) = {raw_window / 1e9:,.1f} GB, flat all year; "
        f"counters for {args.notifications} notifications x 10 kinds x 365 days = {daily_year / 1e9:,.2f} GB; "
        f"total after a year {(raw_window + daily_year) / 1e9:,.1f} GB "
        f"(keeping every raw event a year instead would be {raw_year / 1e9:,.0f} GB)"
    )
    print(f"work folder: {WORK}")


if __name__ == "__main__":
    main()
