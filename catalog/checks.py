"""System checks for deployment: things `manage.py check --deploy` must refuse."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_from_environment(app_configs, **kwargs):
    if not getattr(settings, "SECRET_KEY_FROM_ENV", True):
        return [
            Error(
                "SECRET_KEY is not set in the environment; a generated key under DATA_DIR is for the "
                "embedded demo only.",
                hint="Set SECRET_KEY to a long random value shared by every web and worker process.",
                id="catalog.E001",
            )
        ]
    return []


@register(Tags.database)
def guard_triggers_installed(app_configs, databases=None, **kwargs):
    """The guard lives in the database too: `manage.py check --database default` says when its triggers are
    missing (dropped by hand, or a database restored without them)."""
    from django.db import connections

    from catalog import guard_sql

    problems = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor not in {"postgresql", "sqlite"} or not guard_sql.guard_migrated(connection):
            continue  # before the guard's migration ran (migrate itself runs this check first)
        missing = guard_sql.expected_triggers(connection) - guard_sql.installed_triggers(connection)
        if missing:
            problems.append(
                Error(
                    f"The guard's database triggers are missing on '{alias}': {', '.join(sorted(missing))}.",
                    hint="Run `manage.py migrate`: it installs them again.",
                    id="catalog.E010",
                )
            )
    return problems
