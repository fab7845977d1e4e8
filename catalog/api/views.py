"""What the one API shares beyond the slices' viewsets: the audit trail (until the audit slice has its own api.py)
and the JSON 404 for any other path. The core's viewsets are in catalog/core/api.py."""

from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from catalog import models
from catalog.api import serializers
from catalog.api.pagination import CappedCountPagination


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail, read-only: one event per write or send."""

    queryset = models.AuditEvent.objects.all()
    serializer_class = serializers.AuditEventSerializer
    filterset_fields = ["object_type", "object_id", "action", "actor"]
    # A million events: counting them all would cost more than reading the page.
    pagination_class = CappedCountPagination


class UnknownPathView(APIView):
    """Any other path under /api/: a 404 in the API's error format, not Django's HTML page (after auth)."""

    schema = None
    _ignore_model_permissions = True  # RolePermissions still requires a role for these

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("No API endpoint at this path.")

    get = post = put = patch = delete = head = options = _not_found
