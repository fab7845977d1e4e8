"""Test sends in the API: the recipient allowlist, preview, send, and the record of attempts.

Thin, like the rest of the API: every rule is in catalog/services/sends.py. A recorded attempt answers 201
whatever its outcome (sent, refused by the guard or by Iterable, unknown): read `outcome`. Bad input is a 400
with the field (data fields as `data_fields.<name>`), a rate-limited attempt a 429, and a reused
submission_token a 409 naming the first attempt.
"""

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from catalog.api.exceptions import Conflict
from catalog.api.permissions import HasCapability
from catalog.api.serializers import KeyRelatedField
from catalog.models import (
    IterableProject,
    Notification,
    ProofMode,
    ProofOutcome,
    ProofRecipient,
    ProofSend,
    Template,
)
from catalog.roles import MANAGE_SHARED_RECIPIENTS, SEND_PROOF
from catalog.sends.selectors import proof_send_for
from catalog.sends.services.checks import proof_preview
from catalog.sends.services.dispatch import proof_send
from catalog.sends.services.recipients import (
    ProofRecipientChanged,
    proof_recipient_approve,
    proof_recipient_create,
    proof_recipient_delete,
    proof_recipient_update,
    proof_recipients_pending,
    proof_recipients_visible,
)
from catalog.sends.services.results import ProofSendDuplicate
from catalog.services.input_limits import unstorable


class RateLimited(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many test sends."
    default_code = "rate-limited"


# ------------------------------------------------------------------------------------------- serializers


class ProofRecipientSerializer(serializers.ModelSerializer):
    """A test recipient: an email or a userId in one project. `shared` is chosen at creation (admins only).

    `status` is `approved` for your own login address and staff-domain addresses; any other address is
    `pending` until a second person with manage_shared_recipients approves it, and receives nothing until then.
    """

    shared = serializers.BooleanField(
        required=False, default=False, help_text="Shared with everyone (needs manage_shared_recipients); set once."
    )
    owner: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    project = serializers.PrimaryKeyRelatedField(queryset=IterableProject.objects.all())
    email = serializers.CharField(required=False, allow_blank=True, default="", max_length=254)
    user_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    label = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class
    added_by: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    approved_by: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ProofRecipient
        fields = [
            "id",
            "project",
            "email",
            "user_id",
            "label",
            "shared",
            "owner",
            "status",
            "added_by",
            "approved_by",
            "approved_at",
            "created_at",
        ]
        read_only_fields = ["id", "owner", "status", "added_by", "approved_by", "approved_at", "created_at"]
        validators: list[object] = []  # uniqueness and "one of email or userId" are the service's, with clear sentences

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["shared"] = instance.shared
        return data

    def create(self, validated_data):
        return proof_recipient_create(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("shared", None)
        if self.partial:
            validated_data = {k: v for k, v in validated_data.items() if k in self.initial_data}
        return proof_recipient_update(actor=self.context["request"].user, recipient=instance, **validated_data)


class ProofSendRequestSerializer(serializers.Serializer):
    notification = KeyRelatedField(
        slug_field="key", queryset=Notification.objects.all(), help_text="The notification's key."
    )
    mode = serializers.ChoiceField(
        choices=ProofMode.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="campaign (API sends), event (custom-event notifications) or template_proof. "
        "Omitted: the notification's own trigger.",
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=Template.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="For a template proof: one of the notification's templates (catalog id). Omitted: the first.",
    )
    recipient = serializers.PrimaryKeyRelatedField(
        queryset=ProofRecipient.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="A test recipient's id; or give email or user_id, which must be on your allowlist.",
    )
    email = serializers.CharField(required=False, allow_blank=True, default="", max_length=254)
    user_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    data_fields = serializers.JSONField(
        required=False, default=dict, help_text="A JSON object; checked against the custom event's schema."
    )


class ProofSendCreateSerializer(ProofSendRequestSerializer):
    confirm_event = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Required (true) for mode=event: the event starts the real journey, which may send the recipient "
        "several messages (the preview's `starts` says which). Template proofs start nothing.",
    )
    submission_token = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text="Optional, 16-64 of [A-Za-z0-9_-] (e.g. a UUID): a second request with the same token sends "
        "nothing and answers 409.",
    )


class ProofRequestPreviewSerializer(serializers.Serializer):
    endpoint = serializers.CharField(help_text="e.g. POST /api/email/target")
    body = serializers.JSONField(help_text="Exactly the JSON body that will be sent.")


class RenderedMessageSerializer(serializers.Serializer):
    template = serializers.CharField(help_text="Which campaign or template this message comes from, in words.")
    medium = serializers.CharField()
    subject = serializers.CharField(required=False, help_text="Email only.")
    preheader = serializers.CharField(required=False, help_text="Email only.")
    sender = serializers.CharField(required=False, help_text="Email only: the From line.")
    html = serializers.CharField(required=False, help_text="Email only: the rendered HTML body.")
    title = serializers.CharField(required=False, help_text="Push only.")
    body = serializers.CharField(required=False, help_text="Push only: the push text.")
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Merge fields that are empty for this recipient, in words."
    )
    error = serializers.CharField(allow_blank=True, help_text="Why the message cannot be shown, if it cannot.")


class ProofPreviewSerializer(serializers.Serializer):
    notification = serializers.CharField()
    mode = serializers.ChoiceField(choices=ProofMode.choices)
    recipient = serializers.CharField(help_text="The email or userId it would go to.")
    request = ProofRequestPreviewSerializer()
    allowed = serializers.BooleanField(help_text="Would the send go ahead now?")
    code = serializers.CharField(allow_blank=True, help_text="Why not, as a code (guard or eligibility).")
    message = serializers.CharField(allow_blank=True)
    checks = serializers.JSONField(help_text="What was read from Iterable and judged.")
    starts = serializers.JSONField(
        allow_null=True,
        help_text="For mode=event: the journeys it starts, their campaigns and how many messages it may send.",
    )
    rendered = RenderedMessageSerializer(
        many=True, help_text="Each message as the recipient would see it: Iterable's template, their profile merged."
    )
    render_error = serializers.CharField(allow_blank=True, help_text="Why no message can be shown, if so.")


class ProofSendSerializer(serializers.ModelSerializer):
    """One recorded test-send attempt; another person's private recipient is shown as such, not by address."""

    def to_representation(self, instance):
        request = self.context.get("request")
        if request is not None:
            instance = proof_send_for(user=request.user, attempt=instance)
        return super().to_representation(instance)

    notification = serializers.CharField(source="notification_key", read_only=True)
    actor = serializers.CharField(source="actor_label", read_only=True)
    request_body = serializers.JSONField(read_only=True)
    response = serializers.JSONField(read_only=True, allow_null=True)
    checks = serializers.JSONField(read_only=True)

    class Meta:
        model = ProofSend
        fields = [
            "id",
            "created_at",
            "finished_at",
            "actor",
            "project",
            "notification",
            "recipient",
            "recipient_email",
            "recipient_user_id",
            "mode",
            "template_iterable_id",
            "endpoint",
            "request_body",
            "outcome",
            "error_code",
            "message",
            "response",
            "checks",
        ]
        read_only_fields = fields


# ------------------------------------------------------------------------------------------- views


class ProofRecipientApproveSerializer(serializers.Serializer):
    identifier = serializers.CharField(
        max_length=254,
        help_text="The email address or userId you reviewed, exactly as listed. If the recipient changed since, "
        "nothing is approved and the answer is a 409.",
    )


def _given(data: dict) -> dict:
    return {k: data[k] for k in ("notification", "mode", "template", "recipient", "email", "user_id", "data_fields")}


class ProofRecipientViewSet(viewsets.ModelViewSet):
    """Your test recipients and the shared ones. Anyone who may send tests manages their own; shared ones need
    catalog.manage_shared_recipients."""

    permission_classes = [HasCapability]
    required_permission = SEND_PROOF
    serializer_class = ProofRecipientSerializer
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProofRecipient.objects.none()
        user = self.request.user
        # Those who approve also see (and may refuse) everyone's waiting recipients.
        mine = proof_recipients_visible(user=user).values("pk")
        waiting = proof_recipients_pending(user=user).values("pk")
        # Every user the serializer names by username, read with the row.
        recipients = ProofRecipient.objects.filter(Q(pk__in=mine) | Q(pk__in=waiting))
        return recipients.select_related("project", "owner", "added_by", "approved_by")

    def perform_destroy(self, instance):
        proof_recipient_delete(actor=self.request.user, recipient=instance)

    @extend_schema(
        request=ProofRecipientApproveSerializer,
        responses={200: ProofRecipientSerializer},
        description="Send the `identifier` (email or userId) you reviewed. The owner may change a waiting "
        "recipient after you listed it: then nothing is approved and the answer is a 409 (code "
        "`recipient-changed`) naming what it is now. Your own address, or one added by an account with your login "
        "address, is for another admin to approve (403).",
    )
    @action(detail=True, methods=["post"], required_permission=MANAGE_SHARED_RECIPIENTS)
    def approve(self, request, pk=None):
        """Approve a waiting test recipient (a second person with manage_shared_recipients; not who added it).
        Any recipient may be approved, not only the ones this viewset lists for the approver."""
        recipient = get_object_or_404(ProofRecipient.objects.all(), pk=pk)
        given = ProofRecipientApproveSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            recipient = proof_recipient_approve(
                actor=request.user, recipient=recipient, seen=given.validated_data["identifier"]
            )
        except ProofRecipientChanged as changed:
            raise Conflict(str(changed), code="recipient-changed") from changed
        return Response(ProofRecipientSerializer(recipient, context={"request": request}).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("mine", OpenApiTypes.BOOL, description="Only my attempts."),
            OpenApiParameter("notification", OpenApiTypes.STR, description="A notification's key."),
            OpenApiParameter("outcome", OpenApiTypes.STR, enum=ProofOutcome.values),
        ]
    )
)
class ProofSendViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Test sends: preview one, send one, and read every recorded attempt (refused ones too)."""

    permission_classes = [HasCapability]
    required_permission = SEND_PROOF
    serializer_class = ProofSendSerializer
    filter_backends = []

    def get_queryset(self):
        attempts = ProofSend.objects.all()
        if getattr(self, "swagger_fake_view", False):
            return attempts
        params = self.request.query_params
        if params.get("mine", "").lower() in {"1", "true", "yes"}:
            attempts = attempts.filter(actor=self.request.user)
        if params.get("notification"):
            if unstorable(params["notification"]):
                raise exceptions.ValidationError({"notification": ["A notification key has no NUL character."]})
            attempts = attempts.filter(notification_key=params["notification"])
        if params.get("outcome"):
            if params["outcome"] not in ProofOutcome.values:
                raise exceptions.ValidationError({"outcome": [f"Use one of {', '.join(ProofOutcome.values)}."]})
            attempts = attempts.filter(Q(outcome=params["outcome"]))
        return attempts

    @extend_schema(request=ProofSendRequestSerializer, responses={200: ProofPreviewSerializer})
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """The exact request a test send would make, and whether it would go ahead now. Sends nothing."""
        given = ProofSendRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        result = proof_preview(actor=request.user, **_given(given.validated_data))
        plan, verdict = result.plan, result.verdict
        data = {
            "notification": plan.notification.key,
            "mode": plan.mode,
            "recipient": plan.email or plan.user_id,
            "request": {"endpoint": plan.request.endpoint, "body": plan.request.body},
            "allowed": verdict.allowed,
            "code": verdict.code,
            "message": verdict.message,
            "checks": verdict.checks,
            "starts": plan.impact.as_dict() if plan.impact else None,
            "rendered": [message.as_dict() for message in result.rendered],
            "render_error": result.render_error,
        }
        response = Response(ProofPreviewSerializer(data).data)
        add_never_cache_headers(response)
        return response

    @extend_schema(request=ProofSendCreateSerializer, responses={201: ProofSendSerializer})
    def create(self, request):
        """Send one test send. Every attempt is recorded and answered 201: read `outcome`."""
        given = ProofSendCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            attempt = proof_send(
                actor=request.user,
                submission_token=given.validated_data["submission_token"],
                confirm_event=given.validated_data["confirm_event"],
                **_given(given.validated_data),
            )
        except ProofSendDuplicate as duplicate:
            raise Conflict(str(duplicate), code="duplicate-submission") from duplicate
        if attempt.outcome == ProofOutcome.RATE_LIMITED:
            raise RateLimited(attempt.message)
        return Response(ProofSendSerializer(attempt, context={"request": request}).data, status=status.HTTP_201_CREATED)
