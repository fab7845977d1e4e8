"""Django admin for every catalog model. Writes are audited like every other door; the guard runs in
model validation, so its errors show beside the offending field."""

from django.contrib import admin
from django.db import models as db_models

from catalog import models
from catalog.core.forms import NotificationForm
from catalog.services.catalog import catalog_object_delete, catalog_object_save
from catalog.services.input_limits import BoundedJSONDecoder


class AuditedAdmin(admin.ModelAdmin):
    """Saves and deletes through the catalog's one write path (validated, guarded, audited like every door)."""

    # JSON typed into the admin is parsed with the nesting limit, as in the dashboard's forms.
    formfield_overrides = {db_models.JSONField: {"decoder": BoundedJSONDecoder}}

    def save_model(self, request, obj, form, change):
        """Saved in save_related, with its many-to-many fields, in one audited write."""

    def save_related(self, request, form, formsets, change):
        instance = form.instance
        m2m = {f.name: form.cleaned_data[f.name] for f in instance._meta.many_to_many if f.name in form.cleaned_data}
        catalog_object_save(actor=request.user, instance=instance, m2m=m2m)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        catalog_object_delete(actor=request.user, instance=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(models.IterableProject)
class IterableProjectAdmin(AuditedAdmin):
    list_display = ["name", "data_center", "api_key_env", "api_base_url"]
    list_filter = ["data_center"]
    search_fields = ["name", "api_key_env"]


@admin.register(models.Channel)
class ChannelAdmin(AuditedAdmin):
    list_display = ["name", "project", "channel_type", "medium", "iterable_id"]
    list_filter = ["project", "channel_type", "medium"]
    search_fields = ["name", "iterable_id"]


@admin.register(models.MessageType)
class MessageTypeAdmin(AuditedAdmin):
    list_display = ["name", "project", "channel", "policy", "deprecated", "iterable_id"]
    list_filter = ["project", "policy", "deprecated", "channel__channel_type"]
    search_fields = ["name", "iterable_id", "notes"]
    list_select_related = ["project", "channel"]


@admin.register(models.Template)
class TemplateAdmin(AuditedAdmin):
    list_display = ["name", "iterable_id", "project", "medium", "message_type", "campaign_id"]
    list_filter = ["project", "medium", "message_type"]
    search_fields = ["name", "iterable_id", "campaign_id", "client_template_id"]
    list_select_related = ["project", "message_type"]


@admin.register(models.Journey)
class JourneyAdmin(AuditedAdmin):
    list_display = ["name", "iterable_id", "project", "folder", "state"]
    list_filter = ["project", "state"]
    search_fields = ["name", "iterable_id", "folder"]


class EventFieldInline(admin.TabularInline):
    model = models.EventField
    extra = 0


@admin.register(models.CustomEvent)
class CustomEventAdmin(AuditedAdmin):
    list_display = ["name", "project", "source_system"]
    list_filter = ["project", "source_system"]
    search_fields = ["name", "description", "fields__name"]
    inlines = [EventFieldInline]


@admin.register(models.Owner)
class OwnerAdmin(AuditedAdmin):
    list_display = ["name", "role", "email", "slack_channel"]
    list_filter = ["role"]
    search_fields = ["name", "email"]


@admin.register(models.Notification)
class NotificationAdmin(AuditedAdmin):
    form = NotificationForm
    list_display = ["key", "name", "project", "trigger_type", "medium", "audience", "message_type", "status"]
    list_filter = [
        "project",
        "trigger_type",
        "medium",
        "audience",
        "status",
        "message_type__policy",
        "message_type__channel__channel_type",
        "owners",
    ]
    search_fields = ["key", "name", "campaign_id", "templates__iterable_id", "event__name", "owners__name"]
    list_select_related = ["project", "message_type"]
    filter_horizontal = ["templates", "owners"]
    autocomplete_fields = ["event", "journey"]


class RecordAdmin(admin.ModelAdmin):
    """A record of what happened (an audit event, a send attempt): readable here, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.AuditEvent)
class AuditEventAdmin(RecordAdmin):
    list_display = ["created_at", "actor_label", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_repr", "object_id"]
    date_hierarchy = "created_at"


class SyncReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the catalog sync (catalog/sync/): readable here, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.SyncRun)
class SyncRunAdmin(SyncReadOnlyAdmin):
    list_display = ["started_at", "project", "status", "trigger", "actor_label", "finished_at", "call_total"]
    list_filter = ["status", "trigger", "project"]
    date_hierarchy = "started_at"


@admin.register(models.IterableMirror)
class IterableMirrorAdmin(SyncReadOnlyAdmin):
    list_display = ["iterable_id", "kind", "name", "project", "state", "iterable_campaign_id", "changed_at"]
    list_filter = ["project", "kind", "state"]
    search_fields = ["name", "iterable_id", "client_template_id"]
    show_full_result_count = False


@admin.register(models.SyncFinding)
class SyncFindingAdmin(SyncReadOnlyAdmin):
    list_display = ["code", "severity", "category", "project", "notification", "iterable_kind", "iterable_id"]
    list_filter = ["project", "category", "severity", "code"]
    search_fields = ["message", "notification__key", "iterable_id"]
    list_select_related = ["project", "notification"]


# -- test sends (issue #7): recipients are audited like the rest; attempts are a record, never edited ----------


@admin.register(models.ProofRecipient)
class ProofRecipientAdmin(AuditedAdmin):
    """Read and remove only: adding, and approving an address, go through the dashboard's test-recipient
    page, where a second person approves anything that is not the adder's own or a staff address."""

    list_display = ["email", "user_id", "label", "project", "owner", "status", "approved_by", "created_at"]
    list_filter = ["project", "status"]
    readonly_fields = ["project", "owner", "email", "user_id", "status", "added_by", "approved_by", "approved_at"]

    def has_add_permission(self, request):
        return False

    search_fields = ["email", "user_id", "label", "owner__username"]
    list_select_related = ["project", "owner"]


@admin.register(models.ProofSend)
class ProofSendAdmin(RecordAdmin):
    """Written only by the test-send services (catalog/sends/): every attempt stays as it happened."""

    list_display = ["created_at", "notification_key", "recipient_email", "recipient_user_id", "mode", "outcome",
                    "actor_label"]  # fmt: skip
    list_filter = ["outcome", "mode", "project"]
    search_fields = ["notification_key", "recipient_email", "recipient_user_id", "actor_label"]
    date_hierarchy = "created_at"


@admin.register(models.OwnerAlertHook)
class OwnerAlertHookAdmin(AuditedAdmin):
    """Where an owner's live-health alerts go besides its email (a chat tool's incoming webhook)."""

    list_display = ["owner", "url"]
