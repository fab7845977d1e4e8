"""Live health's settings: a Django setting of the name wins (tests use override_settings), else the
environment variable, else the default."""

import os

from django.conf import settings


def health_setting(name: str, default, cast=str):
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if cast is list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    return cast(raw)
