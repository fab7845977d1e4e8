"""The catalog sync in the API: runs (list, one, start), findings, the guard on Iterable's side, orphans and
the prefill that turns an orphan into a catalog entry. Thin: reads and the queueing are catalog/services/sync.py;
filters are the FilterSets the pages use too (catalog/filters.py).

Reading needs ``catalog.view_notification``; starting a sync needs ``catalog.run_sync``.
"""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from catalog import models
from catalog.api.permissions import HasCapability
from catalog.guard import policy
from catalog.sync.filters import (
    FINDING_CODES,
    ORPHAN_KINDS,
    SEVERITIES,
    OrphanFilterSet,
    SyncFindingFilterSet,
    SyncRunFilterSet,
)
from catalog.sync.selectors import iterable_guard_rows, mirror_names, orphan_queryset
from catalog.sync.services.prefill import notification_prefill, template_prefill
from catalog.sync.services.runs import catalog_sync_enqueue

VIEW = "catalog.view_notification"
RUN = "catalog.run_sync"


# ------------------------------------------------------------------------------------------ serializers


class KindCountsSerializer(serializers.Serializer):
    seen = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    deleted = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class SyncErrorSerializer(serializers.Serializer):
    code = serializers.CharField(allow_null=True, help_text="Iterable's code (BadApiKey, ...) or InternalError.")
    msg = serializers.CharField(allow_null=True, allow_blank=True)
    status = serializers.IntegerField(required=False, allow_null=True, help_text="HTTP status, when there was one.")
    endpoint = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class SyncRunSerializer(serializers.ModelSerializer):
    # A plain string in the schema: a second "status" enum would rename the notification's enum component.
    status = serializers.CharField(read_only=True, help_text="running, succeeded or failed.")
    project_name = serializers.CharField(source="project.name", read_only=True)
    counts = serializers.DictField(
        child=KindCountsSerializer(), help_text="Per kind (template, campaign, ...): what the run read and wrote."
    )
    calls = serializers.DictField(child=serializers.IntegerField(), help_text="Calls to Iterable per endpoint.")
    call_total = serializers.IntegerField(read_only=True)
    findings = serializers.DictField(child=serializers.IntegerField(), help_text="Findings per code.")
    errors = SyncErrorSerializer(many=True)  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class

    class Meta:
        model = models.SyncRun
        fields = [
            "id",
            "project",
            "project_name",
            "trigger",
            "actor_label",
            "status",
            "started_at",
            "finished_at",
            "counts",
            "calls",
            "call_total",
            "findings",
            "errors",
        ]
        read_only_fields = fields


class SyncStartSerializer(serializers.Serializer):
    projects = serializers.PrimaryKeyRelatedField(
        queryset=models.IterableProject.objects.all(),
        many=True,
        required=False,
        allow_null=True,
        allow_empty=False,
        help_text="Project ids to sync; leave out (or null) to sync every project.",
    )


class ProjectRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SyncQueuedSerializer(serializers.Serializer):
    projects = ProjectRefSerializer(many=True, help_text="The projects whose sync was queued.")
    message = serializers.CharField()


class SyncFindingSerializer(serializers.ModelSerializer):
    project_name = serializers.CharField(source="project.name", read_only=True)
    notification: "serializers.SlugRelatedField[models.Notification]" = serializers.SlugRelatedField(
        slug_field="key", read_only=True, allow_null=True
    )
    code = serializers.ChoiceField(choices=FINDING_CODES)
    severity = serializers.ChoiceField(choices=[value for value, _ in SEVERITIES])
    details = serializers.DictField(help_text="The facts behind the finding (ids, states, names).")

    class Meta:
        model = models.SyncFinding
        fields = [
            "id",
            "project",
            "project_name",
            "run",
            "category",
            "code",
            "severity",
            "notification",
            "iterable_kind",
            "iterable_id",
            "message",
            "details",
        ]
        read_only_fields = fields


class IterableViolationSerializer(serializers.Serializer):
    project = serializers.IntegerField(source="project.pk")
    project_name = serializers.CharField(source="project.name")
    template_id = serializers.IntegerField(help_text="The Iterable template id.")
    template_name = serializers.CharField(allow_blank=True)
    code = serializers.ChoiceField(choices=[policy.OPTOUT_MARKETING, policy.MARKETING_MESSAGE_TYPE])
    severity = serializers.SerializerMethodField()
    message = serializers.CharField()
    notifications = serializers.SerializerMethodField(help_text="Keys of the catalog notifications it affects.")

    def get_severity(self, row) -> str:
        return policy.ERROR

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_notifications(self, row):
        return [n.key for n in row["notifications"]]


class OrphanSerializer(serializers.ModelSerializer):
    project_name = serializers.CharField(source="project.name", read_only=True)
    kind = serializers.ChoiceField(source="iterable_kind", choices=[value for value, _ in ORPHAN_KINDS])
    name = serializers.SerializerMethodField(help_text="The name Iterable gives it.")

    class Meta:
        model = models.SyncFinding
        fields = ["id", "project", "project_name", "kind", "iterable_id", "name", "message"]
        read_only_fields = fields

    def get_name(self, finding) -> str:
        return self.context.get("names", {}).get((finding.project_id, finding.iterable_kind, finding.iterable_id), "")


class PrefillQuerySerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=models.IterableProject.objects.all())
    kind = serializers.ChoiceField(choices=[value for value, _ in ORPHAN_KINDS])
    iterable_id = serializers.IntegerField(min_value=0, max_value=2**63 - 1)


class PrefillViolationSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.CharField()
    message = serializers.CharField()


class PrefillSerializer(serializers.Serializer):
    create_with = serializers.CharField(help_text="Where to POST the (completed) initial data.")
    initial = serializers.DictField(help_text="Fields for a new catalog template or notification (a draft).")
    notes = serializers.ListField(child=serializers.CharField(), help_text="What to complete or check first.")
    violations = PrefillViolationSerializer(many=True, help_text="The guard on Iterable's message type.")


# ------------------------------------------------------------------------------------------ views


class ReadSyncResults(HasCapability):
    """Reading sync results is reading the catalog; starting a sync (POST) needs catalog.run_sync."""

    def has_permission(self, request, view):
        view.required_permission = RUN if request.method == "POST" else VIEW
        return super().has_permission(request, view)


@extend_schema_view(
    list=extend_schema(description="Catalog sync runs, newest first: status, counts per kind, calls and errors."),
    retrieve=extend_schema(description="One sync run."),
    create=extend_schema(
        description=(
            "Queue a sync of some projects (or all) from Iterable. Each project's run is recorded when a worker "
            "starts it; a failing project (bad key, Iterable down) is a run with status `failed`, never an error "
            "here. Needs the run_sync permission."
        ),
        request=SyncStartSerializer,
        responses={202: SyncQueuedSerializer},
    ),
)
class SyncRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [ReadSyncResults]
    queryset = models.SyncRun.objects.select_related("project")
    serializer_class = SyncRunSerializer
    filterset_class = SyncRunFilterSet

    def create(self, request, *args, **kwargs):
        given = SyncStartSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        chosen = given.validated_data.get("projects")
        projects = list(chosen) if chosen else list(models.IterableProject.objects.all())
        catalog_sync_enqueue(project_ids=[p.pk for p in projects], actor=request.user)
        body = {
            "projects": [{"id": p.pk, "name": p.name} for p in projects],
            "message": "Queued: each project's run appears in /api/sync/runs/ when a worker starts it.",
        }
        return Response(SyncQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(
        description=(
            "What the latest successful sync of each project found: drift per notification, orphans in Iterable "
            "and the guard's violations on Iterable's side. Filter by project, category, code, severity and "
            "notification key."
        )
    ),
    retrieve=extend_schema(description="One finding."),
)
class SyncFindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [ReadSyncResults]
    http_method_names = ["get", "head", "options"]
    queryset = models.SyncFinding.objects.select_related("project", "notification")
    serializer_class = SyncFindingSerializer
    filterset_class = SyncFindingFilterSet


class ProjectQuerySerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=models.IterableProject.objects.all(), required=False)


PROJECT_PARAMETER = OpenApiParameter("project", OpenApiTypes.INT, description="Only this project (its id).")


class IterableViolationViewSet(viewsets.GenericViewSet):
    """Iterable templates on an OptOut marketing type or "Marketing Message", each with the notifications it
    affects (one entry per template and guard code), as the latest sync of each project found them."""

    permission_classes = [ReadSyncResults]
    serializer_class = IterableViolationSerializer
    filter_backends: list = []

    def get_queryset(self):
        query = ProjectQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        projects = models.IterableProject.objects.all()
        if query.validated_data.get("project"):
            projects = projects.filter(pk=query.validated_data["project"].pk)
        return iterable_guard_rows(projects)

    @extend_schema(parameters=[PROJECT_PARAMETER], responses=IterableViolationSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(
        description=(
            "Iterable templates and triggered campaigns no catalog entry claims (latest sync). "
            "GET /api/sync/orphans/prefill/ gives the data to add one to the catalog."
        )
    )
)
class OrphanViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [ReadSyncResults]
    http_method_names = ["get", "head", "options"]
    queryset = orphan_queryset()
    serializer_class = OrphanSerializer
    filterset_class = OrphanFilterSet

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        names = mirror_names((f.project_id, f.iterable_kind, f.iterable_id) for f in page)
        serializer = self.get_serializer(page, many=True, context={**self.get_serializer_context(), "names": names})
        return self.get_paginated_response(serializer.data)

    @extend_schema(parameters=[PrefillQuerySerializer], responses=PrefillSerializer)
    @action(
        detail=False, methods=["get"], serializer_class=PrefillSerializer, pagination_class=None, filter_backends=[]
    )
    def prefill(self, request):
        """The initial data for a new catalog template (from an Iterable template) or notification (a draft, from a
        triggered campaign), with notes on what to complete and the guard's verdict on Iterable's message type.
        Complete it and POST it to `create_with`; the catalog's rules and the guard apply there as always."""
        query = PrefillQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        project, kind, iterable_id = (query.validated_data[k] for k in ("project", "kind", "iterable_id"))
        try:
            if kind == models.MirrorKind.TEMPLATE:
                prefill, create_with = template_prefill(project=project, iterable_id=iterable_id), "template"
            else:
                prefill = notification_prefill(project=project, campaign_id=iterable_id)
                create_with = "notification"
        except models.IterableMirror.DoesNotExist as error:
            raise NotFound(
                f"Iterable {kind} {iterable_id} is not in the last sync of {project.name}.", code="not_in_mirror"
            ) from error
        body = {
            "create_with": reverse(f"api:{create_with}-list"),
            "initial": prefill.initial,
            "notes": prefill.notes,
            "violations": [{"code": v.code, "severity": v.severity, "message": v.message} for v in prefill.violations],
        }
        return Response(PrefillSerializer(body).data)
