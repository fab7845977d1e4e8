"""django-q2 entry points for live health: thin, safe to run twice (counting is idempotent)."""

from catalog.health.counters import health_process, health_retention_purge


def health_process_task() -> dict:
    return health_process()


def health_retention_task() -> int:
    return health_retention_purge()
