"""The core's serializers: they check shapes; every write goes through catalog_object_save (validation, the
guard, audit)."""

import operator
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import models
from catalog.api.serializers import ViolationSerializer
from catalog.guard import policy
from catalog.guard.enforcement import notification_facts
from catalog.guard.verdicts import iterable_checks, iterable_violations, verdict_summary
from catalog.services.bulk import ids_in
from catalog.services.catalog import catalog_object_save


class CatalogSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose create and update save through the catalog service, never the ORM directly."""

    def _save(self, instance, validated_data):
        m2m_names = {field.name for field in instance._meta.many_to_many}
        m2m = {name: validated_data.pop(name) for name in list(validated_data) if name in m2m_names}
        for name, value in validated_data.items():
            setattr(instance, name, value)
        try:
            return catalog_object_save(actor=self.context["request"].user, instance=instance, m2m=m2m)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc

    def create(self, validated_data):
        return self._save(self.Meta.model(), validated_data)

    def update(self, instance, validated_data):
        return self._save(instance, validated_data)


class ProjectSerializer(CatalogSerializer):
    class Meta:
        model = models.IterableProject
        fields = ["id", "name", "data_center", "api_key_env", "api_base_url", "iterable_project_id"]


class ChannelSerializer(CatalogSerializer):
    class Meta:
        model = models.Channel
        fields = ["id", "project", "iterable_id", "name", "channel_type", "medium"]


class MessageTypeSerializer(CatalogSerializer):
    class Meta:
        model = models.MessageType
        fields = ["id", "project", "iterable_id", "name", "channel", "policy", "deprecated", "notes"]


class TemplateSerializer(CatalogSerializer):
    class Meta:
        model = models.Template
        fields = ["id", "project", "iterable_id", "name", "medium", "message_type", "campaign_id", "client_template_id"]


class JourneySerializer(CatalogSerializer):
    trigger_event_names = serializers.ListField(child=serializers.CharField(max_length=200), required=False)

    class Meta:
        model = models.Journey
        fields = ["id", "project", "iterable_id", "name", "folder", "link", "trigger_event_names", "state"]


class EventFieldSerializer(CatalogSerializer):
    class Meta:
        model = models.EventField
        fields = ["id", "event", "name", "data_type", "example", "required", "position"]


class EventFieldNestedSerializer(serializers.ModelSerializer):
    class Meta:
        model = models.EventField
        fields = ["id", "name", "data_type", "example", "required", "position"]


class CustomEventSerializer(CatalogSerializer):
    fields = EventFieldNestedSerializer(many=True, read_only=True, help_text="The event's data schema.")  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class

    class Meta:
        model = models.CustomEvent
        fields = ["id", "project", "name", "source_system", "description", "fields"]


class OwnerSerializer(CatalogSerializer):
    class Meta:
        model = models.Owner
        fields = ["id", "name", "role", "email", "slack_channel"]


class VerdictSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["error", "warning", "not-checked", "ok"],
        help_text="The one verdict: catalog rules plus the latest sync's findings in Iterable; 'not-checked' when "
        "the project's Iterable side has not been synced lately and nothing is wrong in the catalog.",
    )
    label = serializers.CharField(help_text="The verdict in words.")  # type: ignore[assignment]  # a declared field: DRF's metaclass takes it off the class
    iterable_checked_at = serializers.DateTimeField(
        allow_null=True, help_text="When the latest successful sync read this project's Iterable side."
    )


class NotificationSerializer(CatalogSerializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    verdict_codes = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The guard's codes for this notification, as stored (catalog rules and Iterable's findings).",
    )
    verdict = serializers.SerializerMethodField()

    @extend_schema_field(VerdictSerializer)
    def get_verdict(self, notification) -> dict:
        checks = self.context.get("_iterable_checks")
        if checks is None:
            checks = self.context["_iterable_checks"] = iterable_checks()
        return _verdict(notification, checks)

    class Meta:
        model = models.Notification
        fields = [
            "id",
            *models.Notification.EDITABLE_FIELDS,
            "created_at",
            "updated_at",
            "verdict_codes",
            "verdict_errors",
            "verdict_warnings",
            "verdict",
        ]
        read_only_fields = ["verdict_errors", "verdict_warnings"]


def _verdict(notification, checks) -> dict:
    summary = verdict_summary(notification, checks.get(notification.project_id))
    return {"state": summary.state, "label": summary.label, "iterable_checked_at": summary.checked_at}


class _Row:
    """A notification's values as attributes, for verdict_summary."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


# What notification_list_data reads of each row, and the serializer's fields it writes from them: the foreign
# keys as their ids, the many-to-many as lists of ids (read by notification_list_data), the rest as stored.
_FOREIGN_KEYS = ("project", "event", "journey", "message_type")
_MANY = ("templates", "owners")
_COMPUTED = ("verdict",)
NOTIFICATION_LIST_VALUES = tuple(
    f"{name}_id" if name in _FOREIGN_KEYS else name
    for name in NotificationSerializer.Meta.fields
    if name not in _MANY and name not in _COMPUTED
)


def _datetime(value, zone) -> str | None:
    """A datetime as the API writes it (DRF's DateTimeField: ISO 8601 in the current time zone, UTC as Z)."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _texts(values) -> list:
    # DRF's ListField of CharFields: each item as text, None kept.
    return [None if value is None else str(value) for value in values]


def notification_list_writer(ids: list[int]) -> Callable[[Iterable[dict]], list[dict]]:
    """What writes the API's list of these notifications from their values (NOTIFICATION_LIST_VALUES), exactly as
    NotificationSerializer writes them, read-only: two queries here for the many-to-many ids of all of them, then
    none per row, no model instances and no field objects, so a 1,000-row page costs a fraction of the
    serializer's time (tests/core compares them) and can be written a chunk at a time as it is sent."""
    many: dict[str, dict[int, list[int]]] = {name: {} for name in _MANY}
    through = {
        # The related models' own orderings, as the serializer's prefetch reads them.
        "templates": models.Notification.templates.through.objects.order_by(
            "template__project__name", "template__name", "template_id"
        ).values_list("notification_id", "template_id"),
        "owners": models.Notification.owners.through.objects.order_by("owner__name", "owner__role").values_list(
            "notification_id", "owner_id"
        ),
    }
    for name, pairs in through.items():
        found = many[name]
        for notification_id, related_id in pairs.filter(notification_id__in=ids_in(ids)):
            found.setdefault(notification_id, []).append(related_id)
    templates, owners = many["templates"], many["owners"]
    checks = iterable_checks()
    zone = timezone.get_current_timezone()
    fields = NotificationSerializer.Meta.fields
    # Each row's values in the serializer's field order (the many-to-many and the verdict hold a place, filled
    # below), then what is not written as stored.
    read = operator.itemgetter(
        *(
            f"{name}_id" if name in _FOREIGN_KEYS else "id" if name in _MANY or name in _COMPUTED else name
            for name in fields
        )
    )
    verdicts: dict[tuple, dict] = {}  # rows share a few: by project and counts

    def write(rows: Iterable[dict]) -> list[dict]:
        data = []
        for row in rows:
            item = dict(zip(fields, read(row), strict=True))
            pk = row["id"]
            item["templates"] = templates.get(pk, [])
            item["owners"] = owners.get(pk, [])
            item["created_at"] = _datetime(row["created_at"], zone)
            item["updated_at"] = _datetime(row["updated_at"], zone)
            item["tags"] = _texts(row["tags"])
            item["verdict_codes"] = _texts(row["verdict_codes"])
            counted = (row["project_id"], row["verdict_errors"], row["verdict_warnings"])
            verdict = verdicts.get(counted)
            if verdict is None:
                verdict = verdicts[counted] = _verdict(_Row(row), checks)
            item["verdict"] = verdict
            data.append(item)
        return data

    return write


def notification_list_data(rows: list[dict]) -> list[dict]:
    """The API's list of these notifications' values, written whole (notification_list_writer)."""
    return notification_list_writer([row["id"] for row in rows])(rows)


class NotificationViolationsSerializer(serializers.ModelSerializer):
    """A notification and what the guard says about it now (only the violations the filters asked for)."""

    notification = serializers.CharField(source="key", read_only=True)
    violations = serializers.SerializerMethodField()

    class Meta:
        model = models.Notification
        fields = ["id", "notification", "name", "status", "violations"]

    @extend_schema_field(ViolationSerializer(many=True))
    def get_violations(self, notification):
        found = policy.notification_violations(notification_facts(notification, owner_count=notification.owner_total))
        found += iterable_violations(notification)
        wanted_code = self.context.get("code")
        wanted_severity = self.context.get("severity")
        found = [
            v
            for v in found
            if (not wanted_code or v.code == wanted_code) and (not wanted_severity or v.severity == wanted_severity)
        ]
        return ViolationSerializer([{**vars(v), "objects": list(v.objects)} for v in found], many=True).data
