"""Live health's doors: Iterable's webhook receiver, the API's viewsets (a notification's series and backfill,
alerts and acknowledging one; on the one router, see urls.py) and the page form that acknowledges an alert.
Thin: the work is in ingest, selectors, backfill and alerts."""

import json

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from catalog import roles
from catalog.api.permissions import HasCapability
from catalog.health.alerts import alert_acknowledge
from catalog.health.backfill import notification_campaigns
from catalog.health.events import EventError
from catalog.health.ingest import WebhookAuthError, events_ingest, presented_secret, webhook_authenticate
from catalog.health.models import HealthAlert
from catalog.health.selectors import PERIODS, notification_health
from catalog.models import Notification
from catalog.observability import enqueue

VIEW = "catalog.view_notification"
# Acknowledging is for the roles that act on notifications (marketing and up: the ones that may send tests),
# not only for those who may edit the catalog; viewers only see alerts.
ACKNOWLEDGE = roles.SEND_PROOF


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": None, "code": code, "message": message}]}, status=status)


@csrf_exempt
def webhook_receive(request, project_id: int):
    """Where Iterable's system webhooks post: one event (Iterable's form) or a list of up to 1,000. A list is taken
    whole or refused whole (400, naming the first event that cannot be stored), as Iterable retries a delivery."""
    project_id = int(project_id)  # the URL's digits (the short path passes an int already)
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Iterable's system webhooks POST here.")
        response["Allow"] = "POST"
        return response
    try:
        webhook_authenticate(project_id=project_id, secret=presented_secret(request.META))
    except WebhookAuthError as error:
        return _unauthenticated(error)
    try:
        body = json.loads(request.body)
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return _error(
            413,
            "too_large",
            f"The body is larger than {limit / 1_048_576:.1f} MB: send fewer events per request (at most 1,000).",
        )
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return _error(400, "parse_error", "The body is not JSON: send the event Iterable's webhook builds.")
    try:
        result = events_ingest(project_id=project_id, body=body)
    except EventError as error:
        return _error(400, "invalid", str(error))
    except WebhookAuthError as error:  # the project went away while its secret was remembered
        return _unauthenticated(error)
    return JsonResponse({"received": result.received})


def _unauthenticated(error: WebhookAuthError) -> JsonResponse:
    response = _error(401, "not_authenticated", str(error))
    response["WWW-Authenticate"] = 'Basic realm="iterable-webhooks"'
    return response


@require_POST
@permission_required(ACKNOWLEDGE, raise_exception=True)
def alert_acknowledge_page(request, pk: int):
    """The button on home and the notification page; back to where it was pressed."""
    from django.contrib import messages

    alert = get_object_or_404(HealthAlert, pk=pk)
    try:
        alert_acknowledge(alert=alert, actor=request.user, note=request.POST.get("note", ""))
        messages.success(request, "Alert acknowledged.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = "catalog:home"
    return redirect(target)


# ------------------------------------------------------------------------------------------ API


class RateSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the API's field, not DRF's Field.label
    rate = serializers.FloatField(allow_null=True, help_text="Per send over the period; null without sends.")
    baseline = serializers.FloatField(allow_null=True, help_text="The same over the 28 days before the period.")


class NotificationHealthSerializer(serializers.Serializer):
    notification = serializers.CharField(help_text="The notification's key.")
    days = serializers.IntegerField()
    labels = serializers.ListField(child=serializers.DateField())
    series = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()))
    totals = serializers.DictField(child=serializers.IntegerField())
    rates = RateSerializer(many=True)
    last_sent = serializers.DateTimeField(allow_null=True)


class AlertSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    notification_key = serializers.CharField(source="notification.key", read_only=True, allow_null=True)
    project_name = serializers.CharField(source="project.name", read_only=True)

    class Meta:
        model = HealthAlert
        fields = [
            "id", "kind", "kind_label", "project", "project_name", "notification", "notification_key", "message",
            "details", "occurrences", "first_seen_at", "last_seen_at", "notified_at", "acknowledged_at",
            "acknowledged_label",
        ]  # fmt: skip
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class BackfillSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=90, default=30)


class BackfillQueuedSerializer(serializers.Serializer):
    notification = serializers.CharField()
    days = serializers.IntegerField()
    campaigns = serializers.ListField(child=serializers.IntegerField())


class NotificationHealthViewSet(viewsets.GenericViewSet):
    """A notification's live health (GET), and the backfill of its history from Iterable (POST .../backfill/)."""

    permission_classes = [HasCapability]
    required_permission = VIEW
    queryset = Notification.objects.all()
    lookup_field = "key"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    pagination_class = None
    filter_backends: list = []

    def get_serializer_class(self):
        # What OPTIONS describes (DRF's metadata asks): the body the backfill takes, else the series.
        return BackfillSerializer if self.action == "backfill" else NotificationHealthSerializer

    @extend_schema(
        parameters=[OpenApiParameter("days", int, enum=list(PERIODS), description="30 (default) or 90.")],
        responses=NotificationHealthSerializer,
        summary="A notification's sends, opens, clicks, bounces, unsubscribes and skips per day",
    )
    def retrieve(self, request, key: str):
        notification = self.get_object()
        raw = request.query_params.get("days", "30")
        if raw not in {str(p) for p in PERIODS}:
            raise ApiValidationError({"days": [f"Use one of {', '.join(map(str, PERIODS))}."]})
        data = notification_health(notification, days=int(raw))
        data["notification"] = notification.key
        return Response(NotificationHealthSerializer(data).data)

    @extend_schema(
        request=BackfillSerializer,
        responses={202: BackfillQueuedSerializer},
        summary="Fill a notification's history from Iterable's campaign metrics",
    )
    @action(detail=True, methods=["post"], required_permission=roles.RUN_SYNC)
    def backfill(self, request, key: str):
        """Queue the campaign-metrics backfill of the notification's days without counters (paced: 10 calls a
        minute)."""
        notification = self.get_object()
        payload = BackfillSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        campaigns = notification_campaigns(notification)
        if not campaigns:
            raise ApiValidationError(
                {"notification": ["This notification has no Iterable campaign to read metrics for."]}
            )
        days = payload.validated_data["days"]
        # On commit, like every other task: never run inside the request (django-q's sync mode would, and a
        # missing API key would then be this request's 500).
        transaction.on_commit(
            lambda: enqueue(
                "catalog.health.tasks.health_backfill_task",
                notification.pk,
                days,
                q_options={"task_name": f"health-backfill-{notification.pk}", "timeout": 900},
            )
        )
        return Response({"notification": notification.key, "days": days, "campaigns": campaigns}, status=202)


class AlertViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Alerts from real sends, newest first (GET), and acknowledging one (POST .../acknowledge/)."""

    permission_classes = [HasCapability]
    required_permission = VIEW
    serializer_class = AlertSerializer
    lookup_value_regex = r"[0-9]{1,18}"
    filter_backends: list = []

    @extend_schema(
        parameters=[OpenApiParameter("open", bool, description="Only alerts nobody has acknowledged yet.")],
        summary="Alerts from real sends",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        alerts = HealthAlert.objects.select_related("notification", "project").order_by("-last_seen_at", "-id")
        if self.action != "list":
            return alerts
        raw = self.request.query_params.get("open")
        if raw is not None:
            if raw not in {"true", "false"}:
                raise ApiValidationError({"open": ["Use true or false."]})
            alerts = alerts.filter(acknowledged_at__isnull=raw == "true")
        return alerts

    @extend_schema(request=AcknowledgeSerializer, responses=AlertSerializer, summary="Acknowledge an alert")
    @action(detail=True, methods=["post"], required_permission=ACKNOWLEDGE)
    def acknowledge(self, request, pk: str):
        alert = self.get_object()
        payload = AcknowledgeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        alert = alert_acknowledge(alert=alert, actor=request.user, note=payload.validated_data.get("note", ""))
        return Response(AlertSerializer(alert).data)
