from django.apps import AppConfig


class WorkersConfig(AppConfig):
    """Listed before django_q in INSTALLED_APPS so that its ``qcluster`` command is the one that runs."""

    name = "catalog.workers"
    label = "catalog_workers"
    verbose_name = "Background workers"
