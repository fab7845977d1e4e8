"""The contact lookup's API: one POST (the address stays out of URLs and logs), the same service as the page."""

from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from catalog import models
from catalog.api.permissions import HasCapability
from catalog.api.serializers import KeyRelatedField, ViolationSerializer
from catalog.contacts.services import LookupGone, contact_lookup_again, contact_lookup_run


class ContactLookupRequestSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, default="", max_length=254)
    user_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    project = serializers.PrimaryKeyRelatedField(
        queryset=models.IterableProject.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="One project's id; omit for every project.",
    )
    notification = KeyRelatedField(
        slug_field="key",
        queryset=models.Notification.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="One notification's key; omit for every notification of the project.",
    )


class SubscriptionRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["channel", "message_type"])
    iterable_id = serializers.IntegerField()
    name = serializers.CharField()
    channel_name = serializers.CharField()
    channel_type = serializers.CharField()
    medium = serializers.CharField()
    policy = serializers.CharField(allow_blank=True)
    state = serializers.CharField()
    allowed = serializers.BooleanField()
    reason = serializers.CharField()


class ReachSerializer(serializers.Serializer):
    notification = serializers.CharField(source="notification.key")
    name = serializers.CharField(source="notification.name")
    allowed = serializers.BooleanField()
    rule = serializers.CharField()
    reason = serializers.CharField()
    guard = ViolationSerializer(many=True)
    not_checked = serializers.CharField(
        help_text="Set when the guard found nothing but Iterable's side was not synced lately: since when."
    )


class HistoryItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["sent", "event"])
    created_at = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class
    campaign_id = serializers.IntegerField(allow_null=True)
    template_id = serializers.IntegerField(allow_null=True)
    notification = serializers.CharField(source="notification.key", allow_null=True, default=None)
    detail = serializers.CharField(allow_blank=True)


class ContactLookupSerializer(serializers.Serializer):
    project = serializers.CharField(source="project.name")
    project_id = serializers.IntegerField(source="project.pk")
    identifier = serializers.CharField()
    found = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    email = serializers.CharField(source="user.email", allow_null=True, default=None)
    user_id = serializers.CharField(source="user.user_id", allow_null=True, default=None)
    profile = serializers.DictField()
    signup_source = serializers.CharField(allow_blank=True)
    signup_date = serializers.CharField(allow_blank=True)
    profile_updated_at = serializers.CharField(allow_blank=True)
    lists = serializers.SerializerMethodField()
    devices = serializers.ListField(child=serializers.DictField())
    subscriptions = SubscriptionRowSerializer(many=True)
    reach = ReachSerializer(many=True)
    history = HistoryItemSerializer(many=True)
    history_error = serializers.CharField(allow_blank=True)

    @extend_schema_field(
        {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        }
    )
    def get_lists(self, lookup) -> list[dict]:
        return [{"id": list_id, "name": name} for list_id, name in lookup.lists]


class ContactLookupViewSet(viewsets.ViewSet):
    """Look a contact up in Iterable (one project or all) and explain their subscriptions and reach.

    A POST so the address stays out of URLs and access logs; audited by the service; never cached.
    """

    permission_classes = [HasCapability]
    required_permission = "catalog.lookup_contact"

    @extend_schema(
        request=ContactLookupRequestSerializer,
        responses={200: ContactLookupSerializer(many=True)},
    )
    def create(self, request):
        given = ContactLookupRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        run = contact_lookup_run(actor=request.user, **given.validated_data)  # bad input: a 400 on "email"
        response = Response(ContactLookupSerializer(run.lookups, many=True).data)
        # The lookup's shareable address (its audit event), for people who may look contacts up.
        response["Link"] = f'<{reverse("catalog:contact_lookup_shared", args=[run.event.pk])}>; rel="share"'
        add_never_cache_headers(response)
        return response

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The lookup's audit event id.")],
        responses={200: ContactLookupSerializer(many=True), 404: None},
    )
    def retrieve(self, request, pk=None):
        """Run a recorded lookup (by its audit event's id, as its shared link names it) again, now."""
        try:
            _, run = contact_lookup_again(actor=request.user, event_id=int(pk))
        except (LookupGone, TypeError, ValueError) as gone:
            raise NotFound(str(gone) if isinstance(gone, LookupGone) else "There is no such lookup.") from None
        response = Response(ContactLookupSerializer(run.lookups, many=True).data)
        add_never_cache_headers(response)
        return response
