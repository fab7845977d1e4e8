from django.db import migrations


def create_roles(apps, schema_editor):
    from catalog.roles import sync_groups

    sync_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_notification_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
