"""Serializers every slice's API shares: the guard's violation, and a key that refuses control characters. The
core's serializers are in catalog/core/serializers.py, the audit trail's in catalog/audit/serializers.py."""

from rest_framework import serializers

from catalog.guard import policy
from catalog.services.input_limits import control_characters


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
