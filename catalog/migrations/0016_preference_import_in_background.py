"""A preferences CSV upload is imported by a worker: the record keeps the file until then, its status, what
the worker is doing and how many rows it has checked, and what the supervisor needs (when it was queued and
started, attempts, the reason it failed). Existing imports were done in their request: status "done"."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0015_health_partitions"),
    ]

    operations = [
        migrations.AddField(
            model_name="preferenceimport",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Importing"),
                    ("done", "Imported"),
                    ("failed", "Failed (nothing imported)"),
                ],
                default="done",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="preferenceimport",
            name="phase",
            field=models.CharField(blank=True, help_text="What the worker is doing, in words.", max_length=100),
        ),
        migrations.AddField(
            model_name="preferenceimport",
            name="content",
            field=models.TextField(blank=True, help_text="The uploaded CSV, until it is imported."),
        ),
        migrations.AddField(
            model_name="preferenceimport",
            name="processed",
            field=models.PositiveIntegerField(default=0, help_text="Rows checked so far."),
        ),
        migrations.AddField(
            model_name="preferenceimport",
            name="enqueued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="preferenceimport",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="preferenceimport",
            name="finished_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="preferenceimport",
            name="attempts",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="preferenceimport",
            name="last_error",
            field=models.TextField(blank=True),
        ),
        migrations.AddConstraint(
            model_name="preferenceimport",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["queued", "running", "done", "failed"])),
                name="preference_import_status_valid",
            ),
        ),
    ]
