"""What the sync shows on the core's pages (registered in catalog/core/extensions.py at start-up): the drift the
latest sync found for a notification, and the same read's guard findings, left on the notification for its
verdict so the page reads the findings once; and the list's filter ?drift=1 (or 0)."""

import django_filters
from django.db.models import Exists, OuterRef

from catalog.core.extensions import ListFilter, Panel, register_filter, register_panel
from catalog.guard.verdicts import GUARD_FINDINGS_ATTR
from catalog.models import FindingCategory, SyncFinding
from catalog.sync.selectors import findings_for_notification


def drift_panel(notification, request) -> dict:
    drift = findings_for_notification(notification=notification)
    guard = [f for f in drift if f.category == FindingCategory.GUARD]
    guard.sort(key=lambda f: (f.code, f.iterable_id is not None, f.iterable_id or 0, f.id))
    setattr(notification, GUARD_FINDINGS_ATTR, guard)
    return {"n": notification, "drift": drift}


register_panel(Panel("sync-drift", "catalog/panels/sync_drift.html", drift_panel, order=20))


def _filter_drift(queryset, name, value):
    drift = Exists(SyncFinding.objects.filter(notification=OuterRef("pk"), category=FindingCategory.DRIFT))
    return queryset.filter(drift if value == "1" else ~drift)


def _drift_filter():
    return django_filters.ChoiceFilter(
        choices=[("1", "Drifted from Iterable"), ("0", "No drift")],
        method=_filter_drift,
        label="Drift",
        help_text="What the latest sync found different in Iterable",
    )


register_filter(ListFilter("drift", _drift_filter, order=30))
