"""The seed jobs over the API: jobs (set up, change), their runs (rows pushed, a file, a query pull; dry run,
apply, approve a deletion, cancel, retry the failed), progress and failures, deletion records, and the
opt-out endpoint another marketing system calls.

Thin: serializers check shapes, catalog/jobs/services/ holds every rule. Every endpoint needs
``catalog.run_jobs`` (personal data), except approving a deletion (``catalog.approve_deletions``) and sending
opt-out events (``catalog.receive_opt_outs``, for the sending system's own token).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from catalog.api.permissions import HasCapability
from catalog.forms import upload_body_within_limit, upload_within_limit
from catalog.jobs import selectors
from catalog.jobs.services import runs as run_services
from catalog.jobs.services.conf import APPROVE_DELETIONS, RECEIVE_OPT_OUTS, RUN_JOBS, max_upload_bytes
from catalog.jobs.services.optouts import opt_out_receive
from catalog.jobs.services.schedules import cron_next_runs, cron_words
from catalog.jobs.services.setup import EDITABLE, job_save
from catalog.jobs.services.sources import rows_from_json
from catalog.models import DeletionRecord, Job, JobRun
from catalog.services.input_limits import UNSTORABLE_MESSAGE, unstorable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rest_framework.permissions import _PermissionClass  # only in the stubs

# Rows pushed in one request are written in that request: a bound that keeps it near a second.
MAX_API_ROWS = 10_000


class MappingRowSerializer(serializers.Serializer):
    column = serializers.CharField(max_length=100)
    field = serializers.CharField(max_length=100)


class RetentionRuleSerializer(serializers.Serializer):
    column = serializers.CharField(max_length=100)
    rule = serializers.ChoiceField(choices=["within_days", "equals", "not_empty"])
    value = serializers.JSONField(required=False)


class JobSerializer(serializers.ModelSerializer):
    mapping = MappingRowSerializer(many=True, required=False, help_text="Only the Iterable fields named are written.")
    retention = RetentionRuleSerializer(many=True, required=False, help_text="Rows failing a rule are left out.")
    schedule_words = serializers.SerializerMethodField()
    next_runs = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", *EDITABLE, "list_name", "channel_name", "schedule_words", "next_runs", "schedule_skipped_at",
                  "schedule_skip_reason", "created_at"]  # fmt: skip
        read_only_fields = ["id", "list_name", "channel_name", "schedule_skipped_at", "schedule_skip_reason",
                            "created_at"]  # fmt: skip

    def get_schedule_words(self, job: Job) -> str:
        return cron_words(job.schedule_cron) if job.schedule_enabled else ""

    def get_next_runs(self, job: Job) -> list[str]:
        return [m.isoformat() for m in cron_next_runs(job.schedule_cron, 3)] if job.schedule_enabled else []

    def validate(self, data):
        if unstorable(data):
            raise serializers.ValidationError(UNSTORABLE_MESSAGE)
        return data

    # The service saves (every rule in one place); the serializer only shapes.
    def create(self, validated_data):
        return job_save(actor=self.context["request"].user, data=validated_data)

    def update(self, instance, validated_data):
        return job_save(actor=self.context["request"].user, data=validated_data, job=instance)


class RowsSerializer(serializers.Serializer):
    rows = serializers.ListField(child=serializers.JSONField(), allow_empty=False, max_length=MAX_API_ROWS)
    dry_run = serializers.BooleanField(default=True, help_text="Read and compare without writing (the default).")

    def validate_rows(self, rows):
        if unstorable(rows):
            raise serializers.ValidationError(UNSTORABLE_MESSAGE)
        return rows


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV with a header line, or JSON lines (one object a line).")
    dry_run = serializers.BooleanField(default=True)

    def validate_file(self, file):
        return upload_within_limit(file, max_upload_bytes())


class UploadParser(parsers.MultiPartParser):
    """A job's file as multipart/form-data. Django spools a file part to disk before anything can look at its size,
    so a body that says it is larger than the upload limit is refused before it is read (as the page's is)."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        try:
            upload_body_within_limit(request.META if request is not None else {}, max_upload_bytes())
        except ValidationError as error:
            raise ParseError(error.messages[0], code="too_large") from error
        return super().parse(stream, media_type, parser_context)


class PullSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=True)


class OptOutSerializer(serializers.Serializer):
    event_id = serializers.CharField(max_length=200, help_text="The sender's id: a repeated id is applied once.")
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    user_id = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate(self, data):
        if not data.get("email") and not data.get("user_id"):
            raise serializers.ValidationError("Give the person's email or user_id.")
        return data


class JobRunSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = JobRun
        fields = [
            "id", "job", "status", "status_label", "dry_run", "origin", "filename", "source_run", "total", "invalid",
            "batches_done", "batch_size", "actor_label", "approved_by_label", "approved_at", "created_at",
            "started_at", "finished_at", "last_error", "progress",
        ]  # fmt: skip
        read_only_fields = fields

    def get_progress(self, run: JobRun) -> dict:
        if self.context.get("summary"):
            return {}
        return selectors.job_run_progress(run=run)


class DeletionRecordSerializer(serializers.ModelSerializer):
    preferences = serializers.SerializerMethodField()

    class Meta:
        model = DeletionRecord
        fields = ["id", "project", "run", "identity_hash", "by_user_id", "deleted_at", "requested_by_label",
                  "approved_by_label", "preferences"]  # fmt: skip
        read_only_fields = fields

    def get_preferences(self, record: DeletionRecord) -> str:
        return selectors.deletion_resync_status(record)


class ListQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**31 - 1)


class JobsPermission:
    permission_classes: Sequence[_PermissionClass] = [HasCapability]
    required_permission = RUN_JOBS


def _run_response(run: JobRun, code: int = 200) -> Response:
    response = Response(JobRunSerializer(run).data, status=code)
    add_never_cache_headers(response)
    return response


class JobViewSet(
    JobsPermission,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The seed jobs: what each does, from where, with which mapping, rules and schedule. POST ``rows``,
    ``upload`` or ``pull`` starts a run (a dry run unless ``dry_run`` is false); ``opt-outs`` receives one
    unsubscribe event from another marketing system."""

    serializer_class = JobSerializer
    queryset = selectors.jobs_for_list()
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self):
        if self.action == "opt_outs":
            self.required_permission = RECEIVE_OPT_OUTS
        return super().get_permissions()

    @extend_schema(request=RowsSerializer, responses={201: JobRunSerializer})
    @action(detail=True, methods=["post"])
    def rows(self, request, pk=None):
        """Rows pushed as JSON objects (column: value), at most 10,000 a request."""
        given = RowsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        run = run_services.job_run_start(actor=request.user, job=self.get_object(), rows=rows_from_json(data["rows"]),
                            origin=JobRun.Origin.API, dry_run=data["dry_run"])  # fmt: skip
        return _run_response(run, status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: JobRunSerializer})
    @action(detail=True, methods=["post"], parser_classes=[UploadParser])
    def upload(self, request, pk=None):
        """A CSV or JSON-lines file (multipart/form-data, field ``file``), read by a worker as a stream."""
        job = self.get_object()  # an unknown job is a 404 before the body is read
        given = UploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        file = given.validated_data["file"]
        stream = file.open("rb") if hasattr(file, "open") else io.BytesIO(file.read())
        run = run_services.job_run_start_file(
            actor=request.user,
            job=job,
            stream=stream,
            filename=file.name,
            dry_run=given.validated_data["dry_run"],
        )
        return _run_response(run, status.HTTP_201_CREATED)

    @extend_schema(request=PullSerializer, responses={201: JobRunSerializer})
    @action(detail=True, methods=["post"])
    def pull(self, request, pk=None):
        """Run the job's query now (read-only) and send its rows."""
        given = PullSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        run = run_services.job_run_start_query(
            actor=request.user, job=self.get_object(), dry_run=given.validated_data["dry_run"]
        )
        return _run_response(run, status.HTTP_201_CREATED)

    @extend_schema(request=OptOutSerializer, responses={202: JobRunSerializer, 200: JobRunSerializer})
    @action(detail=True, methods=["post"], url_path="opt-outs", url_name="opt-outs")
    def opt_outs(self, request, pk=None):
        """One unsubscribe event: applied at once (202); the same ``event_id`` again changes nothing (200)."""
        given = OptOutSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        job = get_object_or_404(Job, pk=pk)
        data = given.validated_data
        run, created = opt_out_receive(actor=request.user, job=job, event_id=data["event_id"],
                                       email=data.get("email") or "", user_id=data.get("user_id") or "")  # fmt: skip
        if run is None:
            return Response({"detail": "Already received."}, status=status.HTTP_200_OK)
        return _run_response(run, status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class JobRunViewSet(JobsPermission, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of the jobs, newest first (``?job=`` for one job's). A run shows its progress (poll it)."""

    serializer_class = JobRunSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        runs = selectors.job_runs()
        job = self.request.query_params.get("job", "")
        return runs.filter(job_id=int(job)) if job.isdigit() and len(job) < 19 else runs

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "summary": self.action == "list"}

    def get_permissions(self):
        if self.action == "approve":
            self.required_permission = APPROVE_DELETIONS
        return super().get_permissions()

    def _run(self) -> JobRun:
        return get_object_or_404(JobRun.objects.select_related("job"), pk=self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        return _run_response(self._run())

    @extend_schema(parameters=[ListQuerySerializer])
    @action(detail=True, methods=["get"])
    def failures(self, request, pk=None):
        """Rows that failed (or were invalid), with the reason."""
        query = ListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response({"results": selectors.job_run_failures(run=self._run(), **query.validated_data)})

    @action(detail=True, methods=["get"])
    def changes(self, request, pk=None):
        """What a dry run found would change: sample rows, each field's before and after."""
        return Response({"results": selectors.job_run_changes(run=self._run())})

    @extend_schema(request=None, responses={201: JobRunSerializer})
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Apply a finished dry run (a deletion then waits for a second person's approval)."""
        return _run_response(run_services.job_run_apply(actor=request.user, run=self._run()), status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: JobRunSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a deletion someone else requested."""
        return _run_response(run_services.job_run_approve(actor=request.user, run=self._run()))

    @extend_schema(request=None, responses={200: JobRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return _run_response(run_services.job_run_cancel(actor=request.user, run=self._run()))

    @extend_schema(request=None, responses={200: JobRunSerializer})
    @action(detail=True, methods=["post"], url_path="retry-failed", url_name="retry-failed")
    def retry_failed(self, request, pk=None):
        return _run_response(run_services.job_run_retry_failed(actor=request.user, run=self._run()))

    @extend_schema(request=None, responses={200: JobRunSerializer})
    @action(detail=True, methods=["post"], url_path="dismiss-failed", url_name="dismiss-failed")
    def dismiss_failed(self, request, pk=None):
        """Give up on an ended run's failed rows: recorded as given up, never sent again (the job's action,
        list and channel may then change)."""
        return _run_response(run_services.job_run_dismiss_failed(actor=request.user, run=self._run()))


class DeletionRecordViewSet(JobsPermission, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who was deleted (a keyed hash, never the address), when, by whose request and approval, and whether
    their preferences were resynced since."""

    serializer_class = DeletionRecordSerializer

    def get_queryset(self):
        return selectors.deletion_records()
