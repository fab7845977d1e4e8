"""PostgreSQL: the raw event table partitioned by day, so retention drops whole days.

At 5 million events a day, deleting a day's rows one by one leaves dead tuples for vacuum to chase and the table's
files never shrink; dropping the day's partition is instant and gives the disk back. The table is partitioned by
range on `day` (the event's own day, so a redelivery lands in the same partition and its unique key, which
includes the day, drops it). A partition per day of the window and AHEAD_DAYS ahead is kept by the hourly
`health-retention` task, and a default partition takes whatever has no day of its own (an event older than the
window, or from a clock far ahead), so no event is ever refused. SQLite keeps the plain table and the batched deletion.

Schema changes here wait at most LOCK_TIMEOUT for their lock, so ingest never queues behind one for long; one
that gives up is tried again at the next run (partitions are made days ahead).
"""

import logging
import re
from datetime import date, timedelta

from django.db import connection as default_connection
from django.db import transaction
from django.db.utils import DatabaseError

log = logging.getLogger("catalog.health")

TABLE = "catalog_healthevent"
DEFAULT = f"{TABLE}_default"
AHEAD_DAYS = 7
LOCK_TIMEOUT = "2s"
_DAY_NAME = re.compile(rf"^{TABLE}_d(\d{{8}})$")


def partition_name(day: date) -> str:
    return f"{TABLE}_d{day:%Y%m%d}"


def is_partitioned(connection=default_connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def partition_days(connection=default_connection) -> list[date]:
    """The days that have a partition of their own, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        names = [name for (name,) in cursor.fetchall()]
    return sorted(date(int(m[1][:4]), int(m[1][4:6]), int(m[1][6:])) for n in names if (m := _DAY_NAME.match(n)))


def _create(cursor, day: date) -> None:
    """The day's partition; rows the default partition took for that day meanwhile move into it."""
    name, bounds = partition_name(day), f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1))}')"
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE day = %s)", [day])  # noqa: S608
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} {bounds}")
        return
    # PostgreSQL refuses a new partition while the default holds rows that belong to it: move them first.
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE day = %s RETURNING *) INSERT INTO {name} SELECT * FROM moved",  # noqa: S608
        [day],
    )
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} {bounds}")


def partitions_ensure(*, today: date, first: date, connection=default_connection) -> list[date]:
    """Partitions for every day from `first` (the window's first day: late events land in their own day too) to
    AHEAD_DAYS after today; returns those made."""
    have = set(partition_days(connection))
    made = []
    day = first
    while day <= today + timedelta(days=AHEAD_DAYS):
        if day not in have:
            try:
                with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                    _create(cursor, day)
                made.append(day)
            except DatabaseError as error:  # a lock not granted in time, another run's table: tried again next run
                log.warning("Partition for %s not created this time: %s", day, error)
        day += timedelta(days=1)
    return made


def partitions_drop_before(cutoff: date, *, connection=default_connection) -> list[date]:
    """Drop the partitions of days before `cutoff`, each only once every event in it has been counted."""
    dropped = []
    for day in partition_days(connection):
        if day >= cutoff:
            break
        name = partition_name(day)
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                # The lock DETACH takes, taken before looking: a late event for this day stored while the check
                # ran would otherwise be committed between the check and the drop, and dropped uncounted.
                cursor.execute(f"LOCK TABLE ONLY {TABLE} IN ACCESS EXCLUSIVE MODE")
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name} WHERE NOT counted)")  # noqa: S608
                if cursor.fetchone()[0]:
                    log.info("Partition %s keeps uncounted events: dropped once they are counted", name)
                    continue
                cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
                cursor.execute(f"DROP TABLE {name}")
            dropped.append(day)
        except DatabaseError as error:
            log.warning("Partition %s not dropped this time: %s", name, error)
    return dropped


def default_purge(cutoff: date, *, batch: int, max_batches: int, connection=default_connection) -> int:
    """Delete the default partition's counted rows of days before `cutoff`, in bounded batches (short locks).
    Only there: a day partition held back by an uncounted event is dropped whole later, not emptied row by row."""
    deleted = 0
    with connection.cursor() as cursor:
        for _ in range(max_batches):
            cursor.execute(
                f"DELETE FROM {DEFAULT} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {DEFAULT} "  # noqa: S608
                "WHERE day < %s AND counted LIMIT %s))",
                [cutoff, batch],
            )
            deleted += cursor.rowcount
            if cursor.rowcount < batch:
                break
    return deleted


# ------------------------------------------------------------------------------------- the migration's work


def _constraint_index_names(cursor, table: str) -> set[str]:
    cursor.execute(
        "SELECT i.relname FROM pg_constraint c JOIN pg_class i ON i.oid = c.conindid "
        "WHERE c.conrelid = to_regclass(%s) AND c.contype IN ('p', 'u')",
        [table],
    )
    return {name for (name,) in cursor.fetchall()}


def partition_table(schema_editor, *, today: date, retention_days: int) -> None:
    """Turn the plain table into the partitioned one, rows, names of indexes and constraints kept.

    The primary key becomes (id, day) and the once-only key (project, event_key, day): PostgreSQL wants the
    partition column in every unique key. `id` keeps its own sequence (an identity column cannot be partitioned
    before PostgreSQL 17), so ids stay unique across partitions.
    """
    cursor = schema_editor.connection.cursor()
    old = f"{TABLE}_unpartitioned"
    skip = _constraint_index_names(cursor, TABLE)
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
    indexes = [definition for name, definition in cursor.fetchall() if name not in skip]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) "
        "AND contype = 'f'",
        [TABLE],
    )
    foreign_keys = cursor.fetchall()

    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
    cursor.execute(
        f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (day)"
    )
    cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
    # The window's days and the days ahead; older rows go to the default partition.
    day = today - timedelta(days=retention_days)
    while day <= today + timedelta(days=AHEAD_DAYS):
        cursor.execute(
            f"CREATE TABLE {partition_name(day)} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{day}') TO ('{day + timedelta(days=1)}')"
        )
        day += timedelta(days=1)
    cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608
    cursor.execute(f"DROP TABLE {old}")
    cursor.execute(f"CREATE SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id")
    cursor.execute(f"SELECT setval('{TABLE}_id_seq', (SELECT coalesce(max(id), 0) + 1 FROM {TABLE}), false)")  # noqa: S608
    cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, day)")
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT health_event_once UNIQUE (project_id, event_key, day)")
    for name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
    for definition in indexes:
        cursor.execute(definition)


def unpartition_table(schema_editor) -> None:
    """Back to one plain table (the migration's reverse), with the identity column and keys 0012 made."""
    cursor = schema_editor.connection.cursor()
    old = f"{TABLE}_partitioned"
    skip = _constraint_index_names(cursor, TABLE)
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
    indexes = [definition for name, definition in cursor.fetchall() if name not in skip]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) "
        "AND contype = 'f'",
        [TABLE],
    )
    foreign_keys = cursor.fetchall()
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
    cursor.execute(f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING CONSTRAINTS)")
    cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608
    cursor.execute(f"DROP TABLE {old} CASCADE")
    cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {TABLE}), false)"  # noqa: S608
    )
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT health_event_once UNIQUE (project_id, event_key, day)")
    for name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
    for definition in indexes:
        cursor.execute(definition)
