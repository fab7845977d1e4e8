"""The database itself refuses a project whose key variable is not ITERABLE_API_KEY_<NAME>."""

import re

from django.db import migrations, models

PATTERN = r"^ITERABLE_API_KEY_[A-Z0-9][A-Z0-9_]*\Z"


def refuse_broken_rows(apps, schema_editor):
    """Stop before adding the check when rows break it, naming them: which variable a project should name is a
    person's decision (and the key must be set under the new name), not something to guess here."""
    IterableProject = apps.get_model("catalog", "IterableProject")
    broken = [p for p in IterableProject.objects.order_by("pk") if not re.match(PATTERN, p.api_key_env or "")]
    if broken:
        named = "; ".join(f"#{p.pk} {p.name!r} names {p.api_key_env!r}" for p in broken)
        raise RuntimeError(
            f"Cannot add the check on projects' API key variables: {len(broken)} project(s) name a variable that "
            f"is not ITERABLE_API_KEY_<NAME>: {named}. Rename the variable (and set the key under the new name), "
            "change these projects to name it, then migrate again."
        )


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0012_live_health"),
    ]

    operations = [
        migrations.RunPython(refuse_broken_rows, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="iterableproject",
            constraint=models.CheckConstraint(
                condition=models.Q(("api_key_env__regex", PATTERN)),
                name="project_api_key_env_iterable",
                violation_error_message="Use the name of an environment variable ITERABLE_API_KEY_<NAME> (capital "
                "letters, digits, underscores), e.g. ITERABLE_API_KEY_STUDENT_US; never the key itself.",
            ),
        ),
    ]
