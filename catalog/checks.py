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
