"""Reads the core's pages share and keep a little while, so a page's cost does not grow with the data.

`project_checks`: when each project was last read from Iterable (its last successful sync), for the verdict's
"not checked" on the list and the notification page. Reading it groups every sync run (10,000 beside 100,000
notifications), on every page; it is kept PROJECT_CHECKS_SECONDS, dropped by any write to a sync run or a
project in this process (the receivers below). A sync that finishes in a worker shows within that time.
"""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from catalog import models
from catalog.guard.verdicts import IterableCheck, iterable_check, iterable_checks

PROJECT_CHECKS_KEY = "catalog:project-checks"
PROJECT_CHECKS_SECONDS = 30


def project_checks() -> dict[int, IterableCheck]:
    """Per project, its last successful sync and whether that is stale (judged now, from the kept times)."""
    last = cache.get(PROJECT_CHECKS_KEY)
    if last is None:
        last = {pk: check.checked_at for pk, check in iterable_checks().items()}
        cache.set(PROJECT_CHECKS_KEY, last, PROJECT_CHECKS_SECONDS)
    return {pk: iterable_check(at) for pk, at in last.items()}


def _project_checks_changed(sender, **kwargs) -> None:
    cache.delete(PROJECT_CHECKS_KEY)


for _model in (models.SyncRun, models.IterableProject):
    post_save.connect(_project_checks_changed, sender=_model, dispatch_uid=f"project-checks-save-{_model.__name__}")
    post_delete.connect(_project_checks_changed, sender=_model, dispatch_uid=f"project-checks-delete-{_model.__name__}")
