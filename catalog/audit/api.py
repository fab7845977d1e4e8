"""The audit trail in the API, read-only (/api/audit-events/): one event per write or send."""

from rest_framework import mixins, viewsets

from catalog.api.pagination import CappedCountPagination
from catalog.api.streaming import StreamedListMixin
from catalog.audit.serializers import AuditEventSerializer
from catalog.models import AuditEvent


class AuditEventViewSet(StreamedListMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail, read-only: one event per write or send."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_fields = ["object_type", "object_id", "action", "actor"]
    # A million events: counting them all would cost more than reading the page, and a page of 1,000 events'
    # changes is streamed rather than held whole.
    pagination_class = CappedCountPagination
