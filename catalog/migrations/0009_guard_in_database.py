"""The guard in the database (catalog/triggers.py): triggers on SQLite and PostgreSQL.

Before installing them, every stored row is checked against the rules they enforce; rows that break
them stop the migration with a list, so nobody is surprised by a trigger refusing an old row later.
"""

from django.db import migrations, models


def refuse_broken_rows(apps, schema_editor):
    from catalog.guard import policy

    Notification = apps.get_model("catalog", "Notification")
    MessageType = apps.get_model("catalog", "MessageType")
    Template = apps.get_model("catalog", "Template")

    def forbidden(message_type) -> str | None:
        if message_type is None:
            return None
        if policy.is_marketing_message(message_type.name):
            return f'uses "{message_type.name}" (the Marketing Message type)'
        if message_type.channel.channel_type == policy.MARKETING and message_type.policy != policy.OPT_IN:
            return f"uses the opt-out type '{message_type.name}' on the Marketing channel '{message_type.channel.name}'"
        return None

    problems = []
    for message_type in MessageType.objects.select_related("channel"):
        if message_type.channel.project_id != message_type.project_id:
            problems.append(f"message type '{message_type.name}' is on a channel of another project")
    for template in Template.objects.select_related("message_type"):
        if template.message_type and template.message_type.project_id != template.project_id:
            problems.append(f"template '{template.name}' has a message type of another project")
    rows = Notification.objects.select_related("message_type__channel", "journey", "event").prefetch_related(
        "templates__message_type__channel"
    )
    for notification in rows:
        label = f"notification '{notification.key}'"
        for name, related in (
            ("message type", notification.message_type),
            ("journey", notification.journey),
            ("custom event", notification.event),
        ):
            if related is not None and related.project_id != notification.project_id:
                problems.append(f"{label} has a {name} of another project")
        if reason := forbidden(notification.message_type):
            problems.append(f"{label} {reason}")
        for template in notification.templates.all():
            if template.project_id != notification.project_id:
                problems.append(f"{label} has template '{template.name}' of another project")
            if reason := forbidden(template.message_type):
                problems.append(f"{label} through template '{template.name}' {reason}")
    if problems:
        listed = "\n  - ".join(problems[:200])
        more = f"\n  ... and {len(problems) - 200} more" if len(problems) > 200 else ""
        raise RuntimeError(
            "The catalog holds rows the guard refuses; fix them (or delete them) and migrate again:\n  - "
            + listed
            + more
        )


def install(apps, schema_editor):
    from catalog.guard import triggers

    triggers.install(schema_editor)
    # Computes name_forbidden for every existing row (the triggers set it on write).
    schema_editor.execute("UPDATE catalog_messagetype SET name = name")


def uninstall(apps, schema_editor):
    from catalog.guard import triggers

    triggers.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_proof_sends")]

    operations = [
        migrations.AddField(
            model_name="messagetype",
            name="name_forbidden",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(refuse_broken_rows, migrations.RunPython.noop),
        migrations.RunPython(install, uninstall),
    ]
