"""What the audit trail shows on the core's pages (registered in catalog/core/extensions.py at start-up): the
history panel on every catalog object's page."""

from catalog.audit.services import audit_events_for
from catalog.core.extensions import Panel, register_panel
from catalog.models import AuditEvent


def history(obj, request) -> dict:
    """The object's last 50 events, as the reader may see them (contacts' addresses hidden from roles without
    lookup)."""
    events = AuditEvent.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
    return {"history": audit_events_for(user=request.user, events=events[:50])}


register_panel(Panel("audit-history", "catalog/panels/history.html", history, slot="history", kinds=None))
