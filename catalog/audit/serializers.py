"""The audit trail's events in the API, masked for the reader as on the Activity page."""

from rest_framework import serializers

from catalog.audit.services import audit_events_for
from catalog.models import AuditEvent


class AuditEventListSerializer(serializers.ListSerializer):
    """Masks a page of events at once (one query for the test sends it names, not one per event)."""

    def to_representation(self, data):
        events = list(data.all() if hasattr(data, "all") else data)
        request = self.context.get("request")
        if request is not None:
            events = audit_events_for(user=request.user, events=events)
        return [self.child.to_representation(event) for event in events]


class AuditEventSerializer(serializers.ModelSerializer):
    """Contacts' addresses and userIds are hidden from roles that may not look contacts up, and another
    person's private test recipient from everyone but admins."""

    def to_representation(self, instance):
        request = self.context.get("request")
        if request is not None and self.parent is None:
            instance = audit_events_for(user=request.user, events=[instance])[0]
        return super().to_representation(instance)

    class Meta:
        list_serializer_class = AuditEventListSerializer
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
        ]
        read_only_fields = fields
