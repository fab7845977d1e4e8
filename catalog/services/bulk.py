"""Many rows' columns rewritten in one set-based UPDATE per batch.

Django's ``bulk_update`` builds a ``CASE WHEN pk = … THEN …`` expression per row and per field in Python: for a
resync batch of 1,000 rows and ten fields that was five seconds of CPU, the whole of the batch's time. Here the
rows travel as data (PostgreSQL: one array per column through ``unnest``; SQLite: a ``VALUES`` list) and the
database joins them to the table by primary key.

Only for columns no guard or model hook watches (run rows, stored verdicts, counters): like ``bulk_update`` it
calls no ``save()`` and sends no signal.

``ids_in`` is the read's side of the same idea: many ids sent as one array parameter.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from django.db import connection as default_connection
from django.db import connections, router
from django.db.models import Field, Model
from django.db.models.expressions import RawSQL

# SQLite allows 32,766 variables in a statement; stay well inside.
SQLITE_MAX_VARIABLES = 30_000
POSTGRES_BATCH = 5_000


def ids_in(ids: list[int]):
    """The right side of an ``__in`` for many ids: on PostgreSQL one array parameter, where psycopg would
    otherwise write, and the server parse, a placeholder per id on every read."""
    if default_connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return ids


def rows_update(model: type[Model], rows: Iterable[Sequence[Any]], fields: Sequence[str]) -> int:
    """Set ``fields`` (names of concrete fields) from ``rows``: each row is the primary key, then one value per
    field in that order. Returns the number of rows given."""
    using = router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    concrete = [cast(Field, meta.get_field(name)) for name in fields]
    if any(field.get_internal_type() == "ArrayField" for field in concrete):
        # unnest() would flatten an array column's values into the rows.
        raise ValueError("rows_update does not write array columns")
    columns = [pk.column, *(field.column for field in concrete)]
    batch = POSTGRES_BATCH if connection.vendor == "postgresql" else max(1, SQLITE_MAX_VARIABLES // len(columns))
    table = connection.ops.quote_name(meta.db_table)
    quoted = [connection.ops.quote_name(column) for column in columns]
    assignments = ", ".join(f"{name} = v.{name}" for name in quoted[1:])
    done = 0
    pending: list[list[Any]] = []
    preparers = [_preparer(field, connection) for field in concrete]
    for row in rows:
        values = [pk.get_db_prep_save(row[0], connection)]
        values += [prepare(value) for prepare, value in zip(preparers, row[1:], strict=True)]
        pending.append(values)
        if len(pending) == batch:
            _write(connection, table, quoted, assignments, [pk, *concrete], pending)
            done += len(pending)
            pending = []
    if pending:
        _write(connection, table, quoted, assignments, [pk, *concrete], pending)
        done += len(pending)
    return done


# Values whose equal ones always prepare alike. Not floats (-0.0 == 0.0), Decimals (1.0 == 1.00) or datetimes
# (equal instants in other zones, and a repeated local hour's fold, are written differently).
_MEMOIZED = (str, int, bool, type(None))


def _preparer(field: Field, connection) -> Any:
    """``field.get_db_prep_save``, remembered per value: a batch's rows share most of their values (one status,
    one batch number, one time), and preparing them again for every row was a third of a resync checkpoint."""
    seen: dict[tuple[type, Any], Any] = {}

    def prepare(value: Any) -> Any:
        kind = type(value)
        if kind in _MEMOIZED:
            key: tuple = (kind, value)
        elif isinstance(value, datetime):
            key = (kind, value, value.tzinfo, value.fold)
        else:
            return field.get_db_prep_save(value, connection)
        try:
            return seen[key]
        except KeyError:
            prepared = seen[key] = field.get_db_prep_save(value, connection)
            return prepared

    return prepare


def objects_update(model: type[Model], objects: Iterable[Model], fields: Sequence[str]) -> int:
    """``rows_update`` from model instances: their primary key and the current value of each field."""
    attnames = [cast(Field, model._meta.get_field(name)).attname for name in fields]
    return rows_update(model, ([obj.pk, *(getattr(obj, name) for name in attnames)] for obj in objects), fields)


def _write(connection, table: str, quoted: list[str], assignments: str, fields: list, rows: list[list[Any]]) -> None:
    names = ", ".join(quoted)
    # Only quoted names and placeholders are interpolated; every value travels as a parameter.
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)
        sql = (
            f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
            f"WHERE {table}.{quoted[0]} = v.{quoted[0]}"
        )
        params: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    else:
        placeholders = "(" + ", ".join(["%s"] * len(quoted)) + ")"
        sql = (
            f"WITH v({names}) AS (VALUES {', '.join([placeholders] * len(rows))}) "  # noqa: S608
            f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{quoted[0]} = v.{quoted[0]}"
        )
        params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
