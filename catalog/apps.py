from django.apps import AppConfig


class CatalogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalog"
    verbose_name = "Notifications catalog"

    def ready(self) -> None:
        from catalog import checks, signals  # noqa: F401  (registers checks and signal handlers)
