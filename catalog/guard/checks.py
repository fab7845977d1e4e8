"""The guard's system check: `manage.py check --database default` says when its triggers are missing."""

from django.core.checks import Error, Tags, register


@register(Tags.database)
def guard_triggers_installed(app_configs, databases=None, **kwargs):
    """The guard lives in the database too: `manage.py check --database default` says when its triggers are
    missing (dropped by hand, or a database restored without them)."""
    from django.db import connections

    from catalog.guard import triggers

    problems = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor not in {"postgresql", "sqlite"} or not triggers.guard_migrated(connection):
            continue  # before the guard's migration ran (migrate itself runs this check first)
        missing = triggers.expected_triggers(connection) - triggers.installed_triggers(connection)
        if missing:
            problems.append(
                Error(
                    f"The guard's database triggers are missing on '{alias}': {', '.join(sorted(missing))}.",
                    hint="Run `manage.py migrate`: it installs them again.",
                    id="catalog.E010",
                )
            )
    return problems
