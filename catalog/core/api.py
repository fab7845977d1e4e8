"""The core's API: thin viewsets, querysets shaped for a constant number of queries, writes through the catalog
service (the serializers save through catalog_object_save; deletes go through catalog_object_delete here)."""

from django.db.models import Count, Prefetch, Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from catalog import models
from catalog.api.pagination import CappedCountPagination
from catalog.api.streaming import chunked
from catalog.core import serializers
from catalog.core.filters import GuardViolationFilterSet, NotificationFilterSet
from catalog.guard.verdicts import prefetch_iterable_violations
from catalog.services.catalog import catalog_object_delete


class CatalogViewSet(viewsets.ModelViewSet):
    """CRUD on one catalog model; the serializer saves through catalog_object_save, deletes go through here."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_destroy(self, instance):
        catalog_object_delete(actor=self.request.user, instance=instance)


class ProjectViewSet(CatalogViewSet):
    """Iterable projects (the API key is never stored, only the name of its environment variable)."""

    queryset = models.IterableProject.objects.all()
    serializer_class = serializers.ProjectSerializer
    filterset_fields = ["data_center"]


class ChannelViewSet(CatalogViewSet):
    """Iterable channels: Marketing or Transactional, one medium each."""

    queryset = models.Channel.objects.all()
    serializer_class = serializers.ChannelSerializer
    filterset_fields = ["project", "channel_type", "medium"]


class MessageTypeViewSet(CatalogViewSet):
    """Message types and their subscription policy; changes that would break a notification are refused."""

    queryset = models.MessageType.objects.all()
    serializer_class = serializers.MessageTypeSerializer
    filterset_fields = ["project", "channel", "policy", "deprecated"]


class TemplateViewSet(CatalogViewSet):
    """Iterable templates by id, with their message type and campaign id."""

    queryset = models.Template.objects.all()
    serializer_class = serializers.TemplateSerializer
    filterset_fields = ["project", "message_type", "medium", "campaign_id", "iterable_id"]


class JourneyViewSet(CatalogViewSet):
    """Iterable journeys and the custom events that trigger them."""

    queryset = models.Journey.objects.all()
    serializer_class = serializers.JourneySerializer
    filterset_fields = ["project", "state"]


class CustomEventViewSet(CatalogViewSet):
    """Custom events, each with its data schema (`fields`, written through /api/event-fields/)."""

    queryset = models.CustomEvent.objects.prefetch_related("fields")
    serializer_class = serializers.CustomEventSerializer
    filterset_fields = ["project", "name"]


class EventFieldViewSet(CatalogViewSet):
    """The data fields of custom events: name, type, example and whether each is required."""

    queryset = models.EventField.objects.all()
    serializer_class = serializers.EventFieldSerializer
    filterset_fields = ["event", "data_type", "required"]


class OwnerViewSet(CatalogViewSet):
    """Owners (DRIs): teams with a role and a contact."""

    queryset = models.Owner.objects.all()
    serializer_class = serializers.OwnerSerializer
    filterset_fields = ["role"]


class NotificationViewSet(CatalogViewSet):
    """The notifications catalog, looked up by key and filtered with the same FilterSet as the list page.

    Writes are judged by the guard: a refusal is a 400 carrying the guard's code and sentence.
    """

    queryset = models.Notification.objects.prefetch_related("templates", "owners")
    serializer_class = serializers.NotificationSerializer
    filterset_class = NotificationFilterSet
    # The catalog grows to a hundred thousand: an exact count read every row on every page.
    pagination_class = CappedCountPagination
    lookup_field = "key"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def list(self, request, *args, **kwargs):
        # Read-only rows written from their values (serializers.notification_list_writer, the serializer's
        # output: the serializer cost a quarter of a second on a 1,000-row page), sent a chunk at a time. The
        # page's rows are read here, in one query: a cursor left open for the stream would outlive a response
        # nobody reads, and close at the garbage collector's whim in the middle of the connection's next query.
        rows = self.filter_queryset(self.get_queryset()).prefetch_related(None)
        page = self.paginate_queryset(rows.values(*serializers.NOTIFICATION_LIST_VALUES))
        write = serializers.notification_list_writer([row["id"] for row in page])
        return self.paginator.stream_page(map(write, chunked(page)))


@extend_schema_view(
    list=extend_schema(description="Notifications that break a catalog rule, with what the guard says now."),
    retrieve=extend_schema(description="What the guard says about one notification (an empty list when nothing)."),
)
class GuardViolationViewSet(viewsets.ReadOnlyModelViewSet):
    """Guard violations, grouped by notification; filter by `code` and `severity`."""

    serializer_class = serializers.NotificationViolationsSerializer
    filterset_class = GuardViolationFilterSet
    queryset = (
        models.Notification.objects.select_related("message_type__channel")
        .prefetch_related(
            Prefetch("templates", queryset=models.Template.objects.select_related("message_type__channel")),
            prefetch_iterable_violations(),
        )
        .annotate(owner_total=Count("owners", distinct=True))
    )

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            queryset = queryset.filter(Q(verdict_errors__gt=0) | Q(verdict_warnings__gt=0))
        return queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        params = self.request.query_params if self.request else {}
        context["code"] = params.get("code") or None
        context["severity"] = params.get("severity") or None
        return context
