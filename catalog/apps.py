from django.apps import AppConfig


class CatalogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalog"
    verbose_name = "Notifications catalog"

    def ready(self) -> None:
        from django.core.signals import request_finished
        from django.db.models.signals import post_migrate

        from catalog import checks, signals  # noqa: F401  (registers checks and signal handlers)
        from catalog.observability import clear_request_id

        post_migrate.connect(_sync_roles, sender=self)
        request_finished.connect(clear_request_id)


def _sync_roles(sender, apps=None, **kwargs) -> None:
    """Keep the role groups in line with catalog/roles.py after every migrate (and flush, which sends no apps)."""
    from django.apps import apps as global_apps

    from catalog.roles import sync_groups

    sync_groups(apps or global_apps)
