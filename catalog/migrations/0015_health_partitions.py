"""Live health: raw events carry their own day (part of the once-only key), partitioned by it on PostgreSQL
so retention drops whole days; counters keep the webhooks' and the backfill's accounts apart."""

import datetime

import django.db.models.deletion
from django.db import migrations, models


def fill_event_days(apps, schema_editor):
    """Each stored event's day in the site's time zone, as ingest now writes it."""
    from django.utils import timezone

    zone = timezone.get_current_timezone()
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("UPDATE catalog_healthevent SET day = (occurred_at AT TIME ZONE %s)::date", [str(zone)])
        return
    # SQLite: the embedded database, small; read first, then written (no writes into a running read there).
    HealthEvent = apps.get_model("catalog", "HealthEvent")
    events = HealthEvent.objects.using(schema_editor.connection.alias)
    rows = list(events.only("id", "occurred_at"))
    for row in rows:
        row.day = row.occurred_at.astimezone(zone).date()
    events.bulk_update(rows, ["day"], batch_size=1000)


def split_counter_sources(apps, schema_editor):
    """Rows the backfill wrote have no last event time; every other row was counted from webhooks."""
    HealthDaily = apps.get_model("catalog", "HealthDaily")
    rows = HealthDaily.objects.using(schema_editor.connection.alias)
    rows.filter(last_at__isnull=True).update(backfill_count=models.F("count"))
    rows.filter(last_at__isnull=False).update(webhook_count=models.F("count"))


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite keeps the plain table and the batched deletion
    from django.utils import timezone

    from catalog.health.counters import retention_days
    from catalog.health.partitions import partition_table

    partition_table(schema_editor, today=timezone.localdate(), retention_days=retention_days())


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from catalog.health.partitions import unpartition_table

    unpartition_table(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0014_task_paths_by_capability")]

    operations = [
        migrations.RemoveConstraint(model_name="healthevent", name="health_event_once"),
        migrations.RemoveIndex(model_name="healthevent", name="health_event_received"),
        migrations.AddField(
            model_name="healthevent",
            name="day",
            field=models.DateField(default=datetime.date(1970, 1, 1)),
            preserve_default=False,
        ),
        migrations.RunPython(fill_event_days, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="healthevent",
            constraint=models.UniqueConstraint(fields=("project", "event_key", "day"), name="health_event_once"),
        ),
        migrations.AddIndex(model_name="healthevent", index=models.Index(fields=["day"], name="health_event_day")),
        migrations.AddField(
            model_name="healthdaily", name="backfill_count", field=models.PositiveBigIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="healthdaily", name="webhook_count", field=models.PositiveBigIntegerField(default=0)
        ),
        migrations.RunPython(split_counter_sources, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="healthevent",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="health_events",
                to="catalog.iterableproject",
            ),
        ),
        migrations.RunPython(partition, unpartition),
    ]
