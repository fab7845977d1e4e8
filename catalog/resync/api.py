"""The preference resync over the API: the source of truth's bulk upsert and its imports, runs (start, dry run
report, apply, cancel, retry the failed), a run's progress and failures, and each project's resync settings.

Thin: serializers check shapes, the services in catalog/resync/services/ hold every rule. Every endpoint
needs the ``catalog.run_resync`` permission (roles engineering and admin), reads included: it is personal data.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog.api.permissions import HasCapability
from catalog.models import (
    ContactPreference,
    IterableProject,
    PreferenceImport,
    ResyncRun,
    ResyncSettings,
)
from catalog.resync.filters import ContactPreferenceFilterSet, PreferenceImportFilterSet, ResyncRunFilterSet
from catalog.resync.selectors import resync_dry_run_report, resync_failures, resync_progress, resync_runs
from catalog.resync.services.ingest import preference_import_start, preference_upsert
from catalog.resync.services.rules import (
    SETTINGS_FIELDS,
    resync_settings_get,
    resync_settings_update,
)
from catalog.resync.services.runs import (
    MAX_LISTED_EMAILS,
    MAX_LISTED_EMAILS_MESSAGE,
    resync_apply,
    resync_cancel,
    resync_retry_failed,
    resync_start,
)
from catalog.services.input_limits import MAX_UPLOAD_BYTES, UNSTORABLE_MESSAGE, unstorable
from catalog.views.paging import MAX_OFFSET

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass  # only in the stubs

# The JSON upsert writes in its request: a bound that keeps it near a second; more rows go as a CSV upload.
MAX_ROWS = 5_000


# ---------------------------------------------------------------------------------------------- serializers


@extend_schema_field(
    {
        "type": "object",
        "description": (
            "email (required), user_id, and any of unsubscribed_channel_ids, unsubscribed_message_type_ids, "
            "subscribed_message_type_ids, email_list_ids (or Iterable's camelCase names): a list of ids, or null "
            "(the source of truth says nothing; never written). An omitted array keeps the stored value."
        ),
        "additionalProperties": True,
    }
)
class PreferenceRowField(serializers.JSONField):
    """One contact's desired preferences; checked row by row by the service (bad rows are reported, not 400)."""


class PreferenceUpsertSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=IterableProject.objects.all())
    rows = serializers.ListField(child=PreferenceRowField(), allow_empty=False, max_length=MAX_ROWS)

    def validate_rows(self, rows):
        if unstorable(rows):
            raise serializers.ValidationError(UNSTORABLE_MESSAGE)
        return rows


class PreferenceCsvUploadSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=IterableProject.objects.all())
    csv = serializers.CharField(
        trim_whitespace=False,
        max_length=MAX_UPLOAD_BYTES,
        help_text=(
            "The CSV's text: a header line with an email column and any of unsubscribed_channel_ids, "
            "unsubscribed_message_type_ids, subscribed_message_type_ids, email_list_ids (ids separated by ; or |)."
        ),
    )
    filename = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The row's number (from 1; for a CSV, the file's line).")
    email = serializers.CharField(allow_blank=True)
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class


class PreferenceImportSerializer(serializers.ModelSerializer):
    errors = RowErrorSerializer(many=True, read_only=True, help_text="Rejected rows (at most 1000 are kept).")  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class

    class Meta:
        model = PreferenceImport
        fields = [
            "id",
            "project",
            "created_at",
            "actor_label",
            "source",
            "filename",
            "total_rows",
            "accepted",
            "changed",
            "rejected",
            "errors",
            "status",
            "phase",
            "processed",
            "started_at",
            "finished_at",
            "last_error",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "queued, running (a worker is importing it), done, failed (nothing imported)"},
            "processed": {"help_text": "Rows checked so far, out of total_rows (known once the file is read)."},
            "last_error": {"help_text": "Why it failed (the CSV line, when a line is the reason)."},
        }


class PreferenceImportSummarySerializer(PreferenceImportSerializer):
    class Meta(PreferenceImportSerializer.Meta):
        fields = [f for f in PreferenceImportSerializer.Meta.fields if f != "errors"]
        read_only_fields = fields


class RunStartSerializer(serializers.Serializer):
    """Exactly one of emails, import_id, changed_since or everyone."""

    project = serializers.PrimaryKeyRelatedField(queryset=IterableProject.objects.all())
    emails = serializers.ListField(
        child=serializers.EmailField(max_length=254),
        required=False,
        allow_empty=False,
        max_length=MAX_LISTED_EMAILS,
        error_messages={"max_length": MAX_LISTED_EMAILS_MESSAGE},
        help_text=f"One contact or a list, by email (at most {MAX_LISTED_EMAILS:,}).",
    )
    import_id = serializers.PrimaryKeyRelatedField(
        queryset=PreferenceImport.objects.all(), required=False, help_text="The contacts of one import."
    )
    changed_since = serializers.DateTimeField(required=False, help_text="Contacts whose desired state changed since.")
    everyone = serializers.BooleanField(required=False, default=False, help_text="Every contact of the project.")
    dry_run = serializers.BooleanField(
        required=False, default=True, help_text="Read and compare without writing (the default); apply it afterwards."
    )
    compare = serializers.ChoiceField(choices=ResyncRun.Compare.choices, required=False, default="read")

    def validate(self, data):
        chosen = [name for name in ("emails", "import_id", "changed_since") if name in data]
        chosen += ["everyone"] if data.get("everyone") else []
        if len(chosen) != 1:
            raise serializers.ValidationError(
                "Choose exactly one of: emails, import_id, changed_since, or everyone=true.", code="selection"
            )
        return data


STATUS_HELP = "queued, running, done, failed (stopped on an error), cancelled"


class RunSummarySerializer(serializers.ModelSerializer):
    # Text rather than an enum: the catalog's other "status" enums would collide in the schema's names.
    status = serializers.CharField(read_only=True, help_text=STATUS_HELP)

    class Meta:
        model = ResyncRun
        fields = [
            "id",
            "project",
            "status",
            "dry_run",
            "selection",
            "selection_detail",
            "compare",
            "source_run",
            "total",
            "batches_done",
            "batch_size",
            "actor_label",
            "created_at",
            "started_at",
            "finished_at",
            "last_error",
        ]
        read_only_fields = fields


class RunSerializer(serializers.Serializer):
    """A run with its progress: counts by status and outcome, rate, ETA and what can be done next."""

    id = serializers.IntegerField()
    project = serializers.IntegerField()
    status = serializers.CharField(help_text=STATUS_HELP)
    dry_run = serializers.BooleanField()
    selection = serializers.ChoiceField(choices=ResyncRun.Selection.choices)
    selection_detail = serializers.JSONField()
    compare = serializers.ChoiceField(choices=ResyncRun.Compare.choices)
    source_run = serializers.IntegerField(allow_null=True)
    total = serializers.IntegerField()
    batches_done = serializers.IntegerField()
    batch_size = serializers.IntegerField()
    actor_label = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    pending = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    outcomes = serializers.DictField(child=serializers.IntegerField())
    elapsed_seconds = serializers.FloatField(allow_null=True)
    contacts_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    can_cancel = serializers.BooleanField()
    can_retry_failed = serializers.BooleanField()
    can_apply = serializers.BooleanField()
    listing = serializers.BooleanField(
        help_text="The run's task is still listing the contacts it selected: total is not known yet."
    )
    unknown_emails = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Only when starting: addresses not in the project's source of truth (not included).",
    )


def run_data(run: ResyncRun, progress: dict | None = None, **extra) -> dict:
    """A run's facts and progress, as RunSerializer shows them (``progress``: the run's, if already computed)."""
    if progress is None:
        progress = resync_progress(run=run)  # refreshes the run
    relations = {"project": run.project_id, "source_run": run.source_run_id}
    facts = {name: getattr(run, name) for name in RunSummarySerializer.Meta.fields if name not in relations}
    return RunSerializer({**facts, **relations, **progress, **extra}).data


class FailureSerializer(serializers.Serializer):
    email = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    batch = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField(allow_null=True)


class FailurePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = FailureSerializer(many=True)


class FailureQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)


class ReportQuerySerializer(serializers.Serializer):
    samples = serializers.IntegerField(required=False, default=20, min_value=0, max_value=500)


class SampleSerializer(serializers.Serializer):
    email = serializers.CharField()
    arrays = serializers.DictField(
        child=serializers.DictField(child=serializers.ListField(child=serializers.IntegerField())),
        help_text='Per array: {"add": [...], "remove": [...]}.',
    )
    dropped = serializers.ListField(child=serializers.IntegerField(), required=False)
    kept_misaligned = serializers.ListField(child=serializers.IntegerField(), required=False)


class DryRunReportSerializer(serializers.Serializer):
    run = RunSerializer()
    contacts_by_change = serializers.DictField(
        child=serializers.IntegerField(), help_text='Contacts per "array:add" / "array:remove".'
    )
    contacts_with_alignment_drops = serializers.IntegerField()
    samples = SampleSerializer(many=True)
    failures = FailureSerializer(many=True)


class ContactPreferenceSerializer(serializers.ModelSerializer):
    """One contact in the source of truth: desired arrays (null: says nothing), origin, and the last resync."""

    class Meta:
        model = ContactPreference
        fields = [
            "id",
            "project",
            "email",
            "user_id",
            "unsubscribed_channel_ids",
            "unsubscribed_message_type_ids",
            "subscribed_message_type_ids",
            "email_list_ids",
            "changed_at",
            "changed_by_label",
            "source",
            "source_import",
            "resynced_at",
            "resynced_run",
        ]
        read_only_fields = fields


class ResyncSettingsSerializer(serializers.ModelSerializer):
    scope = serializers.JSONField(
        required=False,
        help_text='{"unsubscribedChannelIds": "all" | [ids], ...}; an array not named is never written.',
    )

    class Meta:
        model = ResyncSettings
        fields = ["project", *SETTINGS_FIELDS, "updated_at"]
        read_only_fields = ["project", "updated_at"]

    def validate_scope(self, value):
        if unstorable(value):
            raise serializers.ValidationError(UNSTORABLE_MESSAGE)
        return value


# ---------------------------------------------------------------------------------------------- views


class ResyncPermission:
    permission_classes: "Sequence[_PermissionClass]" = [HasCapability]
    required_permission = "catalog.run_resync"


def _run_response(run: ResyncRun, status_code: int = 200, **extra) -> Response:
    response = Response(run_data(run, **extra), status=status_code)
    add_never_cache_headers(response)
    return response


class PreferenceUpsertViewSet(ResyncPermission, viewsets.GenericViewSet):
    """Upsert desired preferences (the source of truth) for one project. Each row is checked: good rows are kept,
    bad rows come back in ``errors`` with their number and every reason (the response is still 201)."""

    serializer_class = PreferenceUpsertSerializer

    @extend_schema(request=PreferenceUpsertSerializer, responses={201: PreferenceImportSerializer})
    def create(self, request):
        given = PreferenceUpsertSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        record = preference_upsert(
            project=given.validated_data["project"], actor=request.user, rows=given.validated_data["rows"]
        )
        return Response(PreferenceImportSerializer(record).data, status=status.HTTP_201_CREATED)


class PreferenceImportViewSet(
    ResyncPermission, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Imports of desired preferences (CSV uploads and API upserts): who, when, from where, kept and rejected.
    POST uploads a CSV: its header is checked at once (400 if wrong), its rows by a worker; poll the import."""

    filterset_class = PreferenceImportFilterSet
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        records = PreferenceImport.objects.defer("content")
        return records.defer("errors") if self.action == "list" else records

    def get_serializer_class(self):
        return PreferenceImportSummarySerializer if self.action == "list" else PreferenceImportSerializer

    @extend_schema(request=PreferenceCsvUploadSerializer, responses={202: PreferenceImportSerializer})
    def create(self, request):
        given = PreferenceCsvUploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        record = preference_import_start(
            project=data["project"], actor=request.user, file=data["csv"], filename=data["filename"]
        )
        response = Response(PreferenceImportSerializer(record).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/resync/imports/{record.pk}/"
        return response

    def retrieve(self, request, *args, **kwargs):
        """One import, with its rejected rows by line (poll it while its status is queued or running)."""
        response = super().retrieve(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response


class ContactPreferenceViewSet(ResyncPermission, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The source of truth, contact by contact, with when each was last resynced and by which run."""

    serializer_class = ContactPreferenceSerializer
    queryset = ContactPreference.objects.order_by("id")
    filterset_class = ContactPreferenceFilterSet


class RunViewSet(ResyncPermission, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Resync runs, newest first. POST starts one (a dry run unless ``dry_run`` is false); a run's page shows its
    progress (poll it), its failures and a dry run's report; actions cancel, retry the failed, or apply."""

    serializer_class = RunSummarySerializer
    filterset_class = ResyncRunFilterSet
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return resync_runs()

    def _run(self) -> ResyncRun:
        return get_object_or_404(ResyncRun.objects.select_related("project"), pk=self.kwargs["pk"])

    @extend_schema(request=RunStartSerializer, responses={201: RunSerializer})
    def create(self, request):
        given = RunStartSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        selection = {}
        if "emails" in data:
            selection["emails"] = data["emails"]
        elif "import_id" in data:
            selection["import_record"] = data["import_id"]
        elif "changed_since" in data:
            selection["changed_since"] = data["changed_since"]
        else:
            selection["everyone"] = True
        started = resync_start(
            project=data["project"], actor=request.user, dry_run=data["dry_run"], compare=data["compare"], **selection
        )
        return _run_response(started.run, status.HTTP_201_CREATED, unknown_emails=started.unknown_emails)

    @extend_schema(responses={200: RunSerializer})
    def retrieve(self, request, pk=None):
        """A run and its progress (poll it): pending/done/failed/skipped, outcomes, batches, rate, ETA."""
        return _run_response(self._run())

    @extend_schema(parameters=[FailureQuerySerializer], responses={200: FailurePageSerializer})
    @action(detail=True, methods=["get"])
    def failures(self, request, pk=None):
        """A run's failed contacts with the reason Iterable (or the read) gave."""
        run = self._run()
        query = FailureQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        failures = resync_failures(run=run, **query.validated_data)
        count = resync_progress(run=run, refresh=False)["failed"]
        return Response(FailurePageSerializer({"count": count, "results": failures}).data)

    @extend_schema(parameters=[ReportQuerySerializer], responses={200: DryRunReportSerializer})
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """What a dry run found: contacts per array and direction of change, and sample differences."""
        run = self._run()
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = resync_dry_run_report(run=run, samples=query.validated_data["samples"])
        report["run"] = run_data(run, progress=report.pop("progress"))
        return Response(DryRunReportSerializer(report).data)

    @extend_schema(request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued or running run: its pending contacts are skipped."""
        return _run_response(resync_cancel(run=self._run(), actor=request.user))

    @extend_schema(request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["post"], url_path="retry-failed", url_name="retry-failed")
    def retry_failed(self, request, pk=None):
        """Put a finished run's failed contacts back to pending and run them again."""
        run = self._run()
        resync_retry_failed(run=run, actor=request.user)
        return _run_response(run)

    @extend_schema(request=None, responses={201: RunSerializer})
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Apply a finished dry run: a new run over the contacts it found different (read again before writing)."""
        return _run_response(resync_apply(run=self._run(), actor=request.user), status.HTTP_201_CREATED)


class ResyncSettingsViewSet(ResyncPermission, viewsets.GenericViewSet):
    """A project's resync settings: scope per array, opt-in, batch size, pacing, error policy and schedule."""

    serializer_class = ResyncSettingsSerializer
    lookup_field = "project_id"
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "patch", "head", "options"]

    def _settings(self) -> ResyncSettings:
        return resync_settings_get(project=get_object_or_404(IterableProject, pk=self.kwargs["project_id"]))

    @extend_schema(
        parameters=[OpenApiParameter("project_id", int, OpenApiParameter.PATH, description="The project's id.")],
        responses={200: ResyncSettingsSerializer},
    )
    def retrieve(self, request, project_id=None):
        return Response(ResyncSettingsSerializer(self._settings()).data)

    @extend_schema(
        parameters=[OpenApiParameter("project_id", int, OpenApiParameter.PATH, description="The project's id.")],
        request=ResyncSettingsSerializer,
        responses={200: ResyncSettingsSerializer},
    )
    def partial_update(self, request, project_id=None):
        current = self._settings()
        given = ResyncSettingsSerializer(current, data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        settings = resync_settings_update(project=current.project, actor=request.user, **given.validated_data)
        return Response(ResyncSettingsSerializer(settings).data)
