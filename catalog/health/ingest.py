"""The webhook door: check the project's secret, store the raw events once, and nothing more.

The request only commits raw rows (one bulk INSERT, duplicates dropped by the unique key), so a worker killed
mid-request leaves either all of them or none, and Iterable's retry brings the rest; counting and judging
happen afterwards from the stored rows (catalog/health/counters.py), where they can be repeated safely.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, connection, models, transaction
from django.utils import timezone

from catalog.audit.services import audit_record
from catalog.health.conf import health_setting
from catalog.health.events import events_parse
from catalog.health.models import HealthEvent, WebhookSecret
from catalog.models import IterableProject
from catalog.observability import enqueue
from catalog.types import Actor

SECRET_HEADER = "HTTP_X_WEBHOOK_SECRET"


class WebhookAuthError(Exception):
    pass


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def webhook_secret_rotate(*, project: IterableProject, actor: Actor) -> str:
    """A new secret for the project's webhooks (the old one stops working); shown once, stored hashed."""
    secret = secrets.token_urlsafe(32)
    row, created = WebhookSecret.objects.update_or_create(project=project, defaults={"secret_hash": _digest(secret)})
    _forget(project.pk)
    # Again once it commits: until then other requests of this process read the old secret, and may remember it.
    transaction.on_commit(lambda: _forget(project.pk))
    audit_record(actor=actor, action="create" if created else "rotate", instance=row, changes={})
    return secret


def presented_secret(meta: dict) -> str | None:
    """The secret as Iterable's webhook settings can send it: a custom header, Basic auth or a bearer token."""
    if meta.get(SECRET_HEADER):
        return meta[SECRET_HEADER]
    auth = meta.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or user
    return None


# project id -> (hash, when read): a sender posts many events a second, and the secret rarely changes. A rotated
# secret's predecessor keeps working in a process for at most SECRET_CACHE_SECONDS.
_known: dict[int, tuple[str, float]] = {}
SECRET_CACHE_SECONDS = 30
# project id -> times its secret was forgotten here: a request remembers what it read only if none happened since.
_forgotten: dict[int, int] = {}


def _forget(project_id: int) -> None:
    _forgotten[project_id] = _forgotten.get(project_id, 0) + 1
    _known.pop(project_id, None)


def webhook_authenticate(*, project_id: int, secret: str | None) -> int:
    """The project id if the secret is its own; one answer for an unknown project and a wrong secret."""
    presented = _digest(secret or "")
    cached = _known.get(project_id)
    fresh = cached is not None and time.monotonic() - cached[1] < SECRET_CACHE_SECONDS
    if secret and cached is not None and fresh and hmac.compare_digest(presented, cached[0]):
        return project_id
    forgotten = _forgotten.get(project_id, 0)
    row = WebhookSecret.objects.filter(project_id=project_id).only("id", "secret_hash", "last_used_at").first()
    # Compare even when there is no row, so timing does not tell which projects exist.
    expected = row.secret_hash if row else _digest(secrets.token_hex(16))
    if not hmac.compare_digest(presented, expected) or row is None or not secret:
        raise WebhookAuthError("The webhook secret is missing or wrong for this project.")
    if _forgotten.get(project_id, 0) == forgotten:
        _known[project_id] = (row.secret_hash, time.monotonic())
    now = timezone.now()
    if row.last_used_at is None or row.last_used_at < now - timedelta(minutes=1):
        WebhookSecret.objects.filter(pk=row.pk).update(last_used_at=now)
    return project_id


@dataclass(frozen=True)
class IngestResult:
    received: int


def _insert_sql(rows: int) -> tuple[str, list]:
    """INSERT ... ON CONFLICT DO NOTHING for `rows` events, and the fields in column order (cached per size)."""
    cached = _insert_cache.get((connection.vendor, rows))
    if cached is None:
        fields = [f for f in HealthEvent._meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        # Names from the model, values as parameters.
        table, columns = quote(HealthEvent._meta.db_table), ", ".join(quote(f.column) for f in fields)
        sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * rows)} ON CONFLICT DO NOTHING"  # noqa: S608
        adapt: dict[type, Callable[[Any], Any]] = {
            models.DateTimeField: connection.ops.adapt_datetimefield_value,
            models.DateField: connection.ops.adapt_datefield_value,
        }
        cached = (sql, [(f.attname, adapt.get(type(f))) for f in fields])
        _insert_cache[(connection.vendor, rows)] = cached
    return cached


_insert_cache: dict[tuple[str, int], tuple[str, list]] = {}
# Rows per INSERT at most; statements come in powers of two of rows, so a connection prepares a handful of them.
INSERT_ROWS = 256


def _execute(sql: str, params: list) -> None:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    # A prepared statement on PostgreSQL: the same INSERT hundreds of times a second is parsed and planned once
    # per connection, and its parameters travel bound rather than quoted into the text (Django's cursors do the
    # latter, without preparing). Errors are Django's, as from any cursor.
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's preparing off, which ignores even an explicit prepare=True. A threshold no query
        # reaches prepares only what asks for it; Django's own cursors bind on the client and never prepare.
        raw.prepare_threshold = 2**31 - 1
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)


def _insert(rows: list[dict]) -> None:
    limit = min(INSERT_ROWS, (connection.features.max_query_params or 10**6) // len(_insert_sql(1)[1]))
    start = 0
    while start < len(rows):
        chunk = rows[start : start + (1 << (min(len(rows) - start, limit).bit_length() - 1))]
        start += len(chunk)
        sql, columns = _insert_sql(len(chunk))
        params = [adapt(row[name]) if adapt else row[name] for row in chunk for name, adapt in columns]
        for attempt in (1, 2):
            # CONN_HEALTH_CHECKS would send a SELECT 1 before the first query of every request: a second round
            # trip per event. The INSERT is its own check: on a connection the server dropped, it fails before
            # storing anything and, being idempotent, is sent once more on a new connection.
            connection.health_check_done = True  # type: ignore[attr-defined]  # Django's flag, on every backend
            try:
                _execute(sql, params)
                break
            except (OperationalError, InterfaceError):
                if attempt == 2 or connection.in_atomic_block:
                    raise
                connection.close()


def events_ingest(*, project_id: int, body) -> IngestResult:
    """Store the events of one delivery; a redelivered event is dropped by the database's unique key.

    Plain INSERTs in autocommit, not bulk_create: bulk_create wraps even one row in a transaction, three round
    trips (BEGIN, INSERT, COMMIT) where one statement is already atomic. A worker killed between two statements
    of a large delivery leaves the first ones stored; Iterable retries the whole delivery and the unique key drops
    what is already there, so no transaction is needed around them either. (Concurrent requests' commits share
    PostgreSQL's disk flushes already; grouping deliveries in the process as well saved a little database CPU
    but queued each worker's writes behind one commit at a time, and lowered the rate.)
    """
    now = timezone.now()
    parsed = events_parse(body, received_at=now)
    try:
        _insert(
            [{**event.__dict__, "project_id": project_id, "received_at": now, "counted": False} for event in parsed]
        )
    except IntegrityError:
        # The only key a row can break is the project's (the once-only key is ON CONFLICT DO NOTHING): the project
        # was deleted while its secret was remembered here, so the secret is no longer anyone's.
        _forget(project_id)
        raise WebhookAuthError("The webhook secret is missing or wrong for this project.") from None
    transaction.on_commit(health_process_soon)
    return IngestResult(received=len(parsed))


_soon: dict[str, Any] = {"last": -1e9, "timer": None}
_soon_lock = threading.Lock()


def _enqueue_process() -> None:
    enqueue("catalog.health.tasks.health_process_task", q_options={"task_name": "health-process", "timeout": 120})


def _fire() -> None:
    from django.db import close_old_connections

    with _soon_lock:
        _soon["timer"] = None
        _soon["last"] = time.monotonic()
    try:
        _enqueue_process()
    finally:
        close_old_connections()


def health_process_soon() -> None:
    """Ask a worker to count and judge new events: at once, or, if this process asked less than
    HEALTH_PROCESS_SOON_SECONDS ago, once more when that interval ends (one pending timer), so the last events
    of a burst are judged within seconds too. The minute schedule covers a process killed meanwhile."""
    interval = health_setting("HEALTH_PROCESS_SOON_SECONDS", 2.0, float)
    if interval <= 0:
        _enqueue_process()
        return
    with _soon_lock:
        waited = time.monotonic() - _soon["last"]
        if waited >= interval:
            _soon["last"] = time.monotonic()
            now = True
        else:
            now = False
            if _soon["timer"] is None:
                timer = _soon["timer"] = threading.Timer(interval - waited, _fire)
                timer.daemon = True
                timer.start()
    if now:
        _enqueue_process()
