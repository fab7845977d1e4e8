from importlib import import_module

from django.apps import AppConfig

# The capabilities' parts of the core's pages (catalog/core/extensions.py), each registered by its own module.
PANEL_MODULES = ("catalog.audit.panels", "catalog.health.panels", "catalog.sync.panels", "catalog.sends.panels")


class CatalogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalog"
    verbose_name = "Notifications catalog"

    def ready(self) -> None:
        from django.core.signals import request_finished
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from catalog import checks  # noqa: F401  (registers the deploy checks)
        from catalog.core.filters import NotificationFilterSet  # catalog writes clear its cached filter choices
        from catalog.guard import checks as guard_checks  # noqa: F401
        from catalog.guard import enforcement
        from catalog.guard import signals as guard_signals  # noqa: F401  (templates attached, verdicts kept fresh)
        from catalog.observability import clear_request_id
        from catalog.services import summary  # noqa: F401  (catalog writes clear the cached home summary)

        enforcement.install()
        for module in PANEL_MODULES:
            import_module(module)
        NotificationFilterSet.plug_extensions()
        post_migrate.connect(_sync_roles, sender=self)
        post_migrate.connect(_reinstall_guard, sender=self)
        connection_created.connect(_sqlite_guard_functions)
        request_finished.connect(clear_request_id)


def _sync_roles(sender, apps=None, **kwargs) -> None:
    """Keep the role groups in line with catalog/roles.py after every migrate (and flush, which sends no apps)."""
    from django.apps import apps as global_apps

    from catalog.roles import sync_groups

    sync_groups(apps or global_apps)


def _sqlite_guard_functions(sender, connection, **kwargs) -> None:
    """SQLite's guard triggers call the look-alike key; every connection needs it registered."""
    if connection.vendor == "sqlite":
        from catalog.guard.triggers import register_sqlite_functions

        register_sqlite_functions(connection.connection)


def _reinstall_guard(sender, using="default", plan=None, **kwargs) -> None:
    """Re-create the guard's triggers after every migrate, so the database's look-alike table always
    matches the installed code (a new confusables release changes it) once the guard's migration ran."""
    from django.db import connections

    from catalog.guard import triggers

    connection = connections[using]
    if not triggers.guard_migrated(connection):
        return
    with connection.schema_editor() as schema_editor:
        triggers.install(schema_editor)
