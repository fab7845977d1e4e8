"""django-q2 entry points for live health: thin, safe to run twice (counting is idempotent)."""

from catalog.health.counters import health_process, health_retention_purge


def health_process_task() -> dict:
    return health_process()


def health_retention_task() -> dict:
    return health_retention_purge()


def health_backfill_task(notification_id: int, days: int = 30) -> dict:
    from catalog.health.backfill import health_backfill
    from catalog.models import Notification

    notification = Notification.objects.filter(pk=notification_id).select_related("project").first()
    if notification is None:  # deleted since it was queued
        return {"notification_id": notification_id, "status": "skipped"}
    return health_backfill(notification=notification, days=days)
