"""The notification search's trigram indexes (migration 0018): on PostgreSQL they exist and the search's plan can
read them; SQLite is left alone; a server that refuses the pg_trgm extension gets a message, not a failed
migration."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import DatabaseError, connection

from catalog import models
from catalog.core.filters import NotificationFilterSet

migration = importlib.import_module("catalog.migrations.0018_search_trigram_indexes")
NAMES = [index for _, _, index in migration.SEARCHED]


def trigram_indexes() -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm' ORDER BY 1")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%_trgm' ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_search_reads_the_trigram_indexes_on_postgresql_only(small_catalog):
    if connection.vendor != "postgresql":
        assert trigram_indexes() == []
        return
    assert trigram_indexes() == sorted(NAMES)
    with connection.cursor() as cursor:
        # A test table is too small for the planner to prefer an index on its own. With plain index scans off too, the
        # planner cannot walk a column's unique b-tree whole and filter it, so a bitmap scan of the trigram index is
        # the only way left that is not priced out.
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{scan} = off")
    # Each searched column's lookup (Django's icontains, as the search sends it) can read its index. The plan of
    # the whole search joins them as the planner sees fit for the data, so each is checked on its own.
    for model_name, column, index in migration.SEARCHED:
        lookup = apps.get_model("catalog", model_name).objects.filter(**{f"{column}__icontains": "weekly dig"})
        assert index in lookup.explain(), (model_name, column)
    search = NotificationFilterSet(data={"q": "weekly dig"}, queryset=models.Notification.objects.all()).qs
    assert [n.key for n in search] == ["weekly_digest"]


@pytest.mark.django_db
def test_a_refused_extension_is_reported_and_the_migration_goes_on(capsys):
    executed = []

    def execute(sql, params=()):
        if "CREATE EXTENSION" in sql:
            raise DatabaseError("permission denied to create extension")
        executed.append(sql)

    editor = SimpleNamespace(connection=SimpleNamespace(vendor="postgresql", alias="default"), execute=execute)
    migration.create_indexes(apps, editor)
    assert executed == []
    assert "pg_trgm could not be created" in capsys.readouterr().err
