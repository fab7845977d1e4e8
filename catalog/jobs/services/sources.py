"""Where a run's rows come from, streamed: an uploaded CSV or JSON-lines file, or a configured database
query run read-only with a row cap and a timeout."""

from __future__ import annotations

import codecs
import csv
import io
import re
import sqlite3
from collections.abc import Iterator
from typing import IO, Any

import sqlparse
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, transaction
from sqlparse.tokens import Name, String

from catalog.jobs.services.rows import RowProblem
from catalog.models import Job
from catalog.services.input_limits import MAX_CSV_CELL_CHARS, CsvProblem, InputTooDeep, csv_rows, json_loads_bounded

csv.field_size_limit(MAX_CSV_CELL_CHARS)


def file_kind(filename: str, head: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    return "jsonl" if head.lstrip().startswith(b"{") else "csv"


def file_rows(stream: IO[bytes], filename: str = "") -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    """(line number, row or the reason it cannot be read), one at a time: the file is never held whole."""
    head = stream.read(512)
    kind = file_kind(filename, head)
    reader = io.BufferedReader(_Prefixed(head, stream))
    text = codecs.getreader("utf-8-sig")(reader, "strict")
    try:
        if kind == "csv":
            # The shared reader names the line of a quote never closed, which would otherwise swallow every
            # later line into one cell and lose those rows without a word.
            rows = csv_rows(text)
            try:
                _, header = next(rows)
            except StopIteration:
                return
            header = [h.strip() for h in header]
            if len(set(header)) != len(header):
                twice = sorted({h for h in header if header.count(h) > 1})
                raise ValidationError(f"Column(s) given twice in the header: {', '.join(twice)}.")
            for number, cells in rows:
                if not any(cells):
                    continue
                if len(cells) != len(header):
                    yield number, RowProblem(f"{len(cells)} cells where the header has {len(header)}")
                    continue
                yield number, dict(zip(header, cells, strict=True))
        else:
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    value = json_loads_bounded(line)
                except (ValueError, InputTooDeep) as exc:
                    yield number, RowProblem(f"not a JSON object ({str(exc)[:80]})")
                    continue
                yield number, value if isinstance(value, dict) else RowProblem("not a JSON object")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text.") from None
    except CsvProblem as exc:
        raise ValidationError(f"Line {exc.line} of the CSV: {exc.message}; nothing past it was read.") from None


class _Prefixed(io.RawIOBase):
    """A stream with its first bytes (already read to guess its kind) put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# ---------------------------------------------------------------------------------------------- queries


def database_choices() -> list[str]:
    return list(settings.DATABASES)


def query_problem(alias: str, query: str) -> str:
    """Why a job's query may not run ("" when it may): a known database, exactly one SELECT."""
    if alias not in settings.DATABASES:
        return f"'{alias}' is not one of the configured databases ({', '.join(database_choices())})."
    text = (query or "").strip()
    # Any ';' but one at the very end is refused outright, whatever the quoting: sqlparse reads \' as an
    # escaped quote and PostgreSQL does not, so a parser's idea of "one statement" cannot be trusted alone.
    if ";" in text.removesuffix(";"):
        return "Give exactly one SELECT statement, with no ';' inside it."
    statements = [s for s in sqlparse.parse(text) if str(s).strip().strip(";").strip()]
    if len(statements) != 1:
        return "Give exactly one SELECT statement."
    if statements[0].get_type() != "SELECT":
        return "Only a SELECT may run: the query is read-only."
    if _UNICODE_NAME.search(text):
        return 'Write names plainly: U&"…" escapes are not accepted in a job\'s query.'
    for token in statements[0].flatten():
        if token.ttype in Name or token.ttype in String.Symbol:
            # A quoted identifier ("pg_read_file") names the same function as the bare word.
            word = token.value.strip('"').lower()
            if word in _SIDE_EFFECT_FUNCTIONS or word.startswith(_SIDE_EFFECT_PREFIXES):
                return f"'{word}' may not be called: the query is read-only."
    return ""


_UNICODE_NAME = re.compile(r"u&\s*[\"']", re.IGNORECASE)
# Functions a read-only transaction still lets run and that act outside the query (other sessions, the
# session's settings, locks that outlive it, large objects, other servers, the server's files) or run SQL
# given as text. The read-only role the query runs under (JOBS_QUERY_ROLE) is the wall; this list is the
# sentence a person gets before the query is sent.
_SIDE_EFFECT_FUNCTIONS = frozenset({
    "pg_terminate_backend", "pg_cancel_backend", "set_config", "pg_reload_conf", "pg_rotate_logfile",
    "nextval", "setval", "copy", "pg_notify", "pg_promote", "pg_switch_wal", "pg_create_restore_point",
    "pg_log_backend_memory_contexts", "query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema",
    "cursor_to_xml", "cursor_to_xmlschema", "pg_import_system_collations", "txid_current", "pg_current_xact_id",
})  # fmt: skip
_SIDE_EFFECT_PREFIXES = (
    "lo_", "dblink", "pg_advisory", "pg_try_advisory", "pg_read_", "pg_ls_", "pg_stat_reset", "pg_file_",
    "pg_replication_", "pg_logical_", "pg_create_", "pg_drop_", "pg_wal_replay_",
)  # fmt: skip


def query_role() -> str:
    """The PostgreSQL role a job's query runs as (SET LOCAL ROLE): one that may only read, so neither a
    superuser's rights nor the app's own writes reach the query. PostgreSQL's own pg_read_all_data unless set;
    the app's database user must be a member of it (GRANT pg_read_all_data TO <user>)."""
    return str(getattr(settings, "JOBS_QUERY_ROLE", "pg_read_all_data"))


def query_rows(job: Job) -> list[dict[str, Any]]:
    """The query's rows (at most ``job.row_cap``), read in a read-only transaction with a timeout. Raises
    ValidationError with the reason (a refused query, too many rows, a database error)."""
    problem = query_problem(job.db_alias, job.query)
    if problem:
        raise ValidationError(problem)
    sql = job.query.strip().rstrip(";")
    connection = connections[job.db_alias]
    timeout_ms = int(job.query_timeout_seconds * 1000)
    try:
        if connection.vendor == "postgresql":
            with transaction.atomic(using=job.db_alias), connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                _take_read_only_role(cursor)
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
                try:
                    return _fetch(cursor, sql, job.row_cap)
                finally:
                    # Rolled back, never committed: that also undoes READ ONLY and the timeout when this runs
                    # inside an outer transaction (a released savepoint would hand them on to it).
                    transaction.set_rollback(True, using=job.db_alias)
        if connection.vendor == "sqlite":
            # Not in a transaction: Django opens SQLite's as IMMEDIATE, which would take the write lock.
            with connection.cursor() as cursor:
                return _sqlite_read_only(connection, cursor, sql, job)
        raise ValidationError(f"Queries on {connection.vendor} databases are not supported.")
    except ValidationError:
        raise
    except Exception as exc:  # the database's own error, in its words
        raise ValidationError(f"The query failed: {str(exc)[:300]}") from None


def _take_read_only_role(cursor) -> None:
    role = query_role()
    try:
        with transaction.atomic(using=cursor.db.alias):
            cursor.execute("SELECT set_config('role', %s, true)", [role])
    except DatabaseError:
        user = cursor.db.settings_dict.get("USER") or "the app's database user"
        raise ValidationError(
            f"The query cannot run as the read-only role '{role}': grant it to {user} "
            f"(GRANT {role} TO {user}) or name another read-only role in JOBS_QUERY_ROLE."
        ) from None


def _sqlite_read_only(connection, cursor, sql: str, job: Job) -> list[dict[str, Any]]:
    """SQLite: the connection refuses writes while the query runs (``query_only``), and a progress handler
    interrupts it past the timeout."""
    import time

    raw: sqlite3.Connection = connection.connection
    deadline = time.monotonic() + job.query_timeout_seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    cursor.execute("PRAGMA query_only = ON")
    try:
        return _fetch(cursor, sql, job.row_cap)
    finally:
        cursor.execute("PRAGMA query_only = OFF")
        raw.set_progress_handler(None, 0)


def _fetch(cursor, sql: str, cap: int) -> list[dict[str, Any]]:
    if cursor.db.vendor == "postgresql":
        # Pipeline mode sends the text by the extended protocol, where the server refuses more than one
        # statement; otherwise psycopg uses the simple protocol, which runs them all. (Django turns prepared
        # statements off, so ``prepare=True`` would not do.)
        with cursor.db.connection.pipeline():
            cursor.execute(sql)
            return _capped(cursor, cap)
    cursor.execute(sql)
    return _capped(cursor, cap)


def _capped(cursor, cap: int) -> list[dict[str, Any]]:
    rows = cursor.fetchmany(cap + 1)  # first: in pipeline mode the description comes with the rows
    columns = [c[0] for c in cursor.description or []]
    if len(rows) > cap:
        raise ValidationError(f"The query returned more than its cap of {cap:,} rows: nothing was sent.")
    return [dict(zip(columns, row, strict=True)) for row in rows]


def rows_from_json(rows: list[Any]) -> Iterator[tuple[int, dict[str, Any] | RowProblem]]:
    for number, row in enumerate(rows, start=1):
        yield number, row if isinstance(row, dict) else RowProblem("a row must be an object of column: value")
