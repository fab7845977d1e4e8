"""Schedules name their task by dotted path; the tasks moved into their capability's package."""

from django.db import migrations

MOVED = {
    "catalog.tasks.catalog_sync_all_task": "catalog.sync.tasks.catalog_sync_all_task",
    "catalog.tasks.resync_scheduled_task": "catalog.resync.tasks.resync_scheduled_task",
}


def _rename(apps, mapping: dict[str, str]) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in mapping.items():
        Schedule.objects.filter(func=old).update(func=new)


def forwards(apps, schema_editor):
    _rename(apps, MOVED)


def backwards(apps, schema_editor):
    _rename(apps, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0013_project_key_variable_check"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
