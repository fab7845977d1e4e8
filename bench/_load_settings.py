"""Production settings plus the load test's yardstick URLs (bench/_load_urls.py)."""

from iterable_admin.settings import *  # noqa: F403

ROOT_URLCONF = "_load_urls"
