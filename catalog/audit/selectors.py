"""Activity's reads: the filtered trail for a page or a download, each event as its reader may see it."""

import csv
from collections.abc import Iterator

from django.utils import timezone

from catalog.audit.filters import AuditEventFilterSet
from catalog.audit.services import audit_events_for
from catalog.io.services.export import csv_cell
from catalog.models import AuditEvent
from catalog.types import RequestUser

CSV_COLUMNS = ["When", "Who", "What they did", "Kind of object", "Object", "Details"]
CSV_BATCH = 500


def audit_filter(*, user: RequestUser, params) -> AuditEventFilterSet:
    """The trail narrowed by the page's filters, newest first (an invalid filter is ignored, and said)."""
    return AuditEventFilterSet(params, queryset=AuditEvent.objects.order_by("-created_at", "-id"), user=user)


class _Line:
    def write(self, text: str) -> str:
        return text


def audit_csv_lines(*, user: RequestUser, events) -> Iterator[str]:
    """The events as CSV lines, in words, masked as `user` may see them, read CSV_BATCH at a time; cells a
    spreadsheet would run as a formula are escaped (catalog/io's csv_cell)."""
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    batch: list[AuditEvent] = []
    for event in events.iterator(chunk_size=CSV_BATCH):
        batch.append(event)
        if len(batch) == CSV_BATCH:
            yield from _rows(writer, user, batch)
            batch = []
    if batch:
        yield from _rows(writer, user, batch)


def _rows(writer, user: RequestUser, batch: list[AuditEvent]) -> Iterator[str]:
    for event in audit_events_for(user=user, events=batch):
        words = event.words
        row = [
            timezone.localtime(event.created_at).isoformat(timespec="seconds"),
            event.actor_label,
            words.action,
            words.object_type,
            event.object_repr,
            words.details,
        ]
        yield writer.writerow([csv_cell(value) for value in row])
