"""Serializers every slice's API shares: the audit trail's events (until the audit slice has its own api.py),
the guard's violation, and a key that refuses control characters. The core's serializers are in
catalog/core/serializers.py."""

from rest_framework import serializers

from catalog import models
from catalog.audit.services import audit_events_for
from catalog.guard import policy
from catalog.services.input_limits import control_characters


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
        model = models.AuditEvent
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


class ViolationSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(policy.CODES))
    severity = serializers.ChoiceField(choices=[policy.ERROR, policy.WARNING])
    message = serializers.CharField()
    field = serializers.CharField(help_text="The notification field the violation is about.")
    objects = serializers.ListField(child=serializers.CharField())
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class
        choices=["catalog", "iterable"],
        help_text="catalog: what staff declare breaks the rule; iterable: the latest sync found it in Iterable.",
    )


# ------------------------------------------------------------------------------------------ contact lookup


class KeyRelatedField(serializers.SlugRelatedField):
    """A SlugRelatedField that refuses NUL and control characters before querying: PostgreSQL cannot even
    compare text containing NUL, so such input would otherwise be a 500 instead of a 400."""

    def to_internal_value(self, data):
        if control_characters(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.encode("unicode_escape").decode())
        return super().to_internal_value(data)
