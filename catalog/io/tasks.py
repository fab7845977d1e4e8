"""The import's django-q2 entry point: thin, an id only, safe to run twice."""

from catalog.io.services.runs import catalog_import_run


def catalog_import_task(import_id: int) -> str:
    """Import a queued catalog file; idempotent (claimed once, all-or-nothing)."""
    return catalog_import_run(import_id=import_id)
