"""Trigram indexes for the notification search on PostgreSQL, so a substring search stops reading every row.

The search filters with Django's icontains, which PostgreSQL receives as UPPER(column::text) LIKE UPPER(...): the
indexes are on that expression. SQLite has no such index and is left alone. Where the pg_trgm extension cannot be
created (no superuser, a managed server without it), the migration says so and carries on: the search still
works, only without the indexes.
"""

import sys

from django.db import DatabaseError, migrations, transaction

# (model, column, index name) of every column the search matches text in.
SEARCHED = [
    ("notification", "key", "catalog_notification_key_trgm"),
    ("notification", "name", "catalog_notification_name_trgm"),
    ("customevent", "name", "catalog_customevent_name_trgm"),
    ("owner", "name", "catalog_owner_name_trgm"),
    ("owner", "email", "catalog_owner_email_trgm"),
]


def _trigrams_available(schema_editor) -> bool:
    try:
        # A savepoint, so a refusal leaves the migration's transaction usable.
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        sys.stderr.write(f"\n  pg_trgm could not be created ({error}); the search runs without trigram indexes.\n")
        return False
    return True


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql" or not _trigrams_available(schema_editor):
        return
    quote = schema_editor.quote_name
    for model, column, index in SEARCHED:
        table = apps.get_model("catalog", model)._meta.db_table
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(index)} ON {quote(table)} "
            f"USING gin ((UPPER({quote(column)}::text)) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, _, index in SEARCHED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0017_resync_settings_bounds"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
