"""The Iterable API client (``client.py``), its one error type (``errors.py``) and pacing (``pacing.py``).

``client_for_project(project)`` is the only bridge from the catalog's models: it reads the project's
``data_center``, ``api_key_env`` (the *name* of the environment variable holding the key — the database
never stores the key) and ``api_base_url`` (blank: the data centre's default; set for the emulator) with
``getattr``, so this package imports no Django models and stays plain Python.

Clients are cached per (project id, key, base URL): one pooled session and one set of pacing buckets per
project and process, which is what Iterable's per-project rate limits need. Rotating the key or changing the
URL yields a new client on the next call; the variable is read on every call.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

from .client import (
    BASE_URLS,
    EU_BASE_URL,
    US_BASE_URL,
    IterableClient,
    Page,
    SubscriptionUpdate,
    User,
)
from .errors import IterableError

__all__ = [
    "API_KEY_ENV_PATTERN",
    "BASE_URLS",
    "EU_BASE_URL",
    "US_BASE_URL",
    "IterableClient",
    "IterableError",
    "Page",
    "SubscriptionUpdate",
    "User",
    "client_for_project",
]

# The only environment variables a project may name for its key. The forms, the API and the database check this
# too; the client checks again because a row can arrive past all of them (raw SQL, an old backup), and reading
# SECRET_KEY or DATABASE_URL as an "API key" would send it to Iterable's host in a header.
API_KEY_ENV_PATTERN = r"^ITERABLE_API_KEY_[A-Z0-9][A-Z0-9_]*\Z"


def client_for_project(project: Any) -> IterableClient:
    """The (cached) client for an Iterable project model instance."""
    project_id = getattr(project, "pk", None) or getattr(project, "id", None)
    env_name = (getattr(project, "api_key_env", "") or "").strip()
    label = getattr(project, "name", None) or project_id
    if not env_name:
        raise IterableError(
            f"Iterable project {label!s} has no API key variable configured (api_key_env is blank).",
            code="MissingApiKey",
        )
    if not re.match(API_KEY_ENV_PATTERN, env_name):
        raise IterableError(
            f"Iterable project {label!s} names the variable {env_name[:100]!r} for its API key; only "
            "ITERABLE_API_KEY_<NAME> variables hold Iterable keys, so it was not read and nothing was sent.",
            code="ApiKeyVariableRefused",
        )
    api_key = os.environ.get(env_name, "").strip()
    if not api_key:
        raise IterableError(
            f"Environment variable {env_name} (the API key of Iterable project {label!s}) is not set.",
            code="MissingApiKey",
        )
    data_center = (getattr(project, "data_center", "") or "US").strip().upper()
    base_url = (getattr(project, "api_base_url", "") or "").strip().rstrip("/")
    if not base_url:
        if data_center not in BASE_URLS:
            raise IterableError(
                f"Iterable project {label!s} has an unknown data centre {data_center!r} (expected US or EU).",
                code="BadConfiguration",
            )
        base_url = BASE_URLS[data_center]
    return _cached_client(project_id, api_key, base_url)


@lru_cache(maxsize=64)
def _cached_client(project_id: Any, api_key: str, base_url: str) -> IterableClient:
    return IterableClient(api_key, base_url=base_url)


def clear_client_cache() -> None:
    """Forget cached clients (tests; after a key rotation, to drop the old session)."""
    _cached_client.cache_clear()
