"""The core's pages: notifications and the other catalog objects. Views are thin: they read with bounded queries,
filter through NotificationFilterSet, write through catalog/services/catalog.py and judge through the guard.
What a capability shows on these pages (test sends, drift, live health, history) it registers itself
(catalog/core/extensions.py): the core imports no capability.

Every view needs login and a Django permission (catalog/roles.py gives them to roles): anonymous users are
sent to the login page, logged-in users without the permission get 403.
"""

import json
from collections import defaultdict
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Model, Prefetch, ProtectedError, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from catalog import models
from catalog.core.extensions import panels_annotate, panels_read
from catalog.core.filters import NotificationFilterSet
from catalog.core.forms import NotificationForm, model_form_for
from catalog.core.selectors import project_checks
from catalog.guard import policy
from catalog.guard.enforcement import message_type_facts
from catalog.guard.verdicts import iterable_check, notification_verdict
from catalog.services.catalog import catalog_object_delete, catalog_object_save
from catalog.views.mixins import Perm, add_validation_errors
from catalog.views.paging import COUNT_CAP, PAGE_SIZE, CappedPaginator

USERS_SHOWN = 100


# ---------------------------------------------------------------------------------------------- helpers


def save_form(form, actor):
    """Save a valid ModelForm through catalog_object_save (validation, guard, audit); None if refused."""
    instance = form.save(commit=False)
    m2m = {f.name: list(form.cleaned_data[f.name]) for f in instance._meta.many_to_many if f.name in form.cleaned_data}
    try:
        return catalog_object_save(actor=actor, instance=instance, m2m=m2m)
    except ValidationError as error:
        add_validation_errors(form, error)
        return None


def form_values(query, names) -> dict:
    """A form's values from a query string: lists for the fields that hold several, text for the others."""
    many = {"templates", "owners", "tags", "trigger_event_names"}
    return {name: (query.getlist(name) if name in many else query.get(name)) for name in names if name in query}


def notification_rows(queryset):
    """The joins every notification table needs, so a page costs the same whatever the catalog size (no table
    shows templates: a page that judges verdicts prefetches them itself)."""
    return queryset.select_related("project", "message_type__channel", "event", "journey").prefetch_related("owners")


class ListRow:
    """One row of the notification list: the values its cells show, as attributes (n.key, n.project_name,
    n.owner_names, and each capability column's annotation, such as n.sends_30d)."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


# What the list's cells show, read as plain values in the page's one query: building fifty Notifications with
# their project, message type, channel, event and journey objects cost more than the rest of the page.
LIST_VALUES = (
    "id", "key", "name", "status", "project_id", "audience", "medium", "trigger_type", "campaign_id", "event_id",
    "journey_id", "message_type_id", "verdict_errors", "verdict_warnings", "updated_at",
)  # fmt: skip
LIST_RELATED_VALUES = {
    "project_name": F("project__name"),
    "event_name": F("event__name"),
    "journey_name": F("journey__name"),
    "message_type_name": F("message_type__name"),
    "message_type_policy": F("message_type__policy"),
    "channel_name": F("message_type__channel__name"),
}


def notification_list_page(queryset, number):
    """One page of the notification list as ListRows, with each row's owners' names (two queries, besides the
    capped count of the filtered rows)."""
    rows = queryset.values(*LIST_VALUES, *queryset.query.annotations, **LIST_RELATED_VALUES)
    page = CappedPaginator(rows, PAGE_SIZE, counted=queryset).get_page(number)
    listed = [ListRow(values) for values in page.object_list]
    owners = defaultdict(list)
    through = models.Notification.owners.through.objects.filter(notification_id__in=[n.id for n in listed])
    for notification_id, name in through.order_by("owner__name", "owner__role").values_list(
        "notification_id", "owner__name"
    ):
        owners[notification_id].append(name)
    for n in listed:
        n.owner_names = owners.get(n.id, [])
    page.object_list = listed
    return page


# ---------------------------------------------------------------------------------------------- notifications


class NotificationListView(Perm, View):
    permission_required = "catalog.view_notification"

    def get(self, request):
        filterset = NotificationFilterSet(
            request.GET or None, queryset=models.Notification.objects.all(), list_columns=True
        )
        page = notification_list_page(filterset.qs, request.GET.get("page"))
        return render(request, "catalog/notification_list.html", {"filter": filterset, "page": page})


class NotificationDetailView(Perm, View):
    permission_required = "catalog.view_notification"

    def get(self, request, key):
        templates = models.Template.objects.select_related("message_type__channel", "project")
        notification = get_object_or_404(
            panels_annotate(
                models.Notification.objects.select_related(
                    "project", "message_type__channel", "event", "journey"
                ).prefetch_related(Prefetch("templates", queryset=templates), "owners", "event__fields"),
                request,
            ),
            key=key,
        )
        # The panels first: the sync's leaves its guard findings on the notification for the verdict.
        shown = panels_read(notification, request)
        payload = notification.event.example_payload() if notification.event else None
        context = {
            "n": notification,
            "verdict": notification_verdict(notification),
            # The project's last successful sync, kept a little while (sorting its runs grew with them).
            "iterable_check": project_checks().get(notification.project_id) or iterable_check(None),
            "example_payload": json.dumps(payload, indent=2) if payload is not None else "",
            "panels": shown,
        }
        return render(request, "catalog/notification_detail.html", context)


class NotificationFormView(Perm, View):
    """Create (no key) or edit a notification; the guard's errors come back beside their fields."""

    def get_permission_required(self):
        return ["catalog.change_notification" if "key" in self.kwargs else "catalog.add_notification"]

    def get_object(self):
        if "key" not in self.kwargs:
            return None
        return get_object_or_404(models.Notification, key=self.kwargs["key"])

    def get(self, request, key=None):
        # ?project= (and the form's other values) when the person changed the project or the medium: the page
        # comes back with that project's pickers (htmx swaps them in), their choices kept where they still fit.
        given = form_values(request.GET, NotificationForm.Meta.fields)
        scope = {k: given[k] for k in ("project", "medium") if k in given}
        form = NotificationForm(instance=self.get_object(), initial=given or None, scope=scope, reload_url=request.path)
        return self.render(request, form)

    def post(self, request, key=None):
        form = NotificationForm(request.POST, instance=self.get_object(), reload_url=request.path)
        if form.is_valid() and (saved := save_form(form, request.user)) is not None:
            messages.success(request, f"Saved notification {saved.key}.")
            return redirect("catalog:notification_detail", key=saved.key)
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        context = {"form": form, "object": form.instance, "kind": "notification", "verbose": "notification"}
        if form.instance.pk:
            context["cancel_url"] = reverse("catalog:notification_detail", kwargs={"key": form.instance.key})
        else:
            context["cancel_url"] = reverse("catalog:notification_list")
        return render(request, "catalog/form.html", context, status=status)


class NotificationDeleteView(Perm, View):
    permission_required = "catalog.delete_notification"

    def get(self, request, key):
        notification = get_object_or_404(models.Notification, key=key)
        cancel = reverse("catalog:notification_detail", kwargs={"key": key})
        return render(request, "catalog/confirm_delete.html", {"object": notification, "cancel_url": cancel})

    def post(self, request, key):
        notification = get_object_or_404(models.Notification, key=key)
        catalog_object_delete(actor=request.user, instance=notification)
        messages.success(request, f"Deleted notification {key}.")
        return redirect("catalog:notification_list")


# ---------------------------------------------------------------------------------------------- other entities


@dataclass(frozen=True)
class Entity:
    """How the pages show and edit one kind of catalog object."""

    slug: str
    model: type[Model]
    fields: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    select: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.model._meta.model_name or ""  # None only on a model class being built

    @property
    def verbose(self) -> str:
        return str(self.model._meta.verbose_name)

    @property
    def verbose_plural(self) -> str:
        return str(self.model._meta.verbose_name_plural)


ENTITIES = {
    e.name: e
    for e in [
        Entity(
            "projects",
            models.IterableProject,
            ("name", "data_center", "api_key_env", "api_base_url", "iterable_project_id"),
            (("Name", "name"), ("Data centre", "get_data_center_display"), ("API key variable", "api_key_env")),
        ),
        Entity(
            "channels",
            models.Channel,
            ("project", "iterable_id", "name", "channel_type", "medium"),
            (("Name", "name"), ("Project", "project"), ("Type", "channel_type"), ("Medium", "medium")),
            ("project",),
        ),
        Entity(
            "message-types",
            models.MessageType,
            ("project", "iterable_id", "name", "channel", "policy", "deprecated", "notes"),
            (
                ("Name", "name"),
                ("Project", "project"),
                ("Channel", "channel"),
                ("Policy", "get_policy_display"),
                ("Deprecated", "deprecated"),
            ),
            ("project", "channel"),
        ),
        Entity(
            "templates",
            models.Template,
            ("project", "iterable_id", "name", "medium", "message_type", "campaign_id", "client_template_id"),
            (
                ("Name", "name"),
                ("Iterable id", "iterable_id"),
                ("Project", "project"),
                ("Medium", "medium"),
                ("Message type", "message_type"),
            ),
            ("project", "message_type"),
        ),
        Entity(
            "journeys",
            models.Journey,
            ("project", "iterable_id", "name", "folder", "link", "trigger_event_names", "state"),
            (("Name", "name"), ("Project", "project"), ("Folder", "folder"), ("State", "get_state_display")),
            ("project",),
        ),
        Entity(
            "events",
            models.CustomEvent,
            ("project", "name", "source_system", "description"),
            (("Event name", "name"), ("Project", "project"), ("Source", "source_system")),
            ("project",),
        ),
        Entity(
            "event-fields",
            models.EventField,
            ("event", "name", "data_type", "example", "required", "position"),
            (("Field", "name"), ("Event", "event"), ("Type", "data_type"), ("Required", "required")),
            ("event",),
        ),
        Entity(
            "owners",
            models.Owner,
            ("name", "role", "email", "slack_channel"),
            (("Name", "name"), ("Role", "get_role_display"), ("Email", "email"), ("Slack", "slack_channel")),
        ),
    ]
}


class EntityMixin(Perm):
    action = "view"

    def dispatch(self, request, *args, **kwargs):
        self.entity = ENTITIES[kwargs.pop("entity")]
        return super().dispatch(request, *args, **kwargs)

    def get_permission_required(self):
        return [f"catalog.{self.action}_{self.entity.name}"]

    def get_object(self, pk):
        return get_object_or_404(self.entity.model.objects.select_related(*self.entity.select), pk=pk)

    def context(self, **extra):
        return {"entity": self.entity, **extra}


class EntityListView(EntityMixin, View):
    def get(self, request):
        queryset = self.entity.model.objects.select_related(*self.entity.select)
        page = CappedPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "catalog/entity_list.html", self.context(page=page))


class EntityDetailView(EntityMixin, View):
    def get(self, request, pk):
        obj = self.get_object(pk)
        extra = getattr(self, f"extra_{self.entity.name}", lambda obj: {})(obj)
        context = self.context(object=obj, panels=panels_read(obj, request), **extra)
        return render(request, [f"catalog/{self.entity.name}_detail.html", "catalog/entity_detail.html"], context)

    @staticmethod
    def users(queryset):
        """Notifications that use an object: the first USERS_SHOWN and how many there are in all."""
        queryset = queryset.distinct().order_by("key")
        return {
            "show_users": True,
            "users": notification_rows(queryset)[:USERS_SHOWN],
            # Counted up to COUNT_CAP: a type used by 100,000 notifications says "more than 1000".
            "user_total": queryset.values("pk")[: COUNT_CAP + 1].count(),
            "user_cap": COUNT_CAP,
        }

    def extra_messagetype(self, obj):
        users = models.Notification.objects.filter(Q(message_type=obj) | Q(templates__message_type=obj))
        # What the guard says about any notification sent on this type, before anyone tries.
        refusals = policy.message_type_violations(message_type_facts(obj), subject="A notification on this type")
        return {**self.users(users), "refusals": refusals, "templates": obj.templates.select_related("project")}

    def extra_channel(self, obj):
        users = models.Notification.objects.filter(message_type__channel=obj)
        return {**self.users(users), "message_types": obj.message_types.all()}

    def extra_journey(self, obj):
        events = obj.project.custom_events.filter(name__in=[str(n) for n in obj.trigger_event_names or []])
        return {**self.users(obj.notifications.all()), "events": events}

    def extra_customevent(self, obj):
        fields = list(obj.fields.all())
        payload = {f.name: f.example_value() for f in fields}
        journeys = [j for j in obj.project.journeys.all() if obj.name in (j.trigger_event_names or [])]
        return {
            **self.users(obj.notifications.all()),
            "fields": fields,
            "example_payload": json.dumps(payload, indent=2),
            "journeys": journeys,
        }

    def extra_owner(self, obj):
        return self.users(obj.notifications.all())

    def extra_template(self, obj):
        return self.users(obj.notifications.all())

    def extra_iterableproject(self, obj):
        return self.users(obj.notifications.all())

    def extra_eventfield(self, obj):
        return {}


class EntityFormView(EntityMixin, View):
    def get_permission_required(self):
        return [f"catalog.{'change' if 'pk' in self.kwargs else 'add'}_{self.entity.name}"]

    def form_class(self):
        return model_form_for(self.entity.model, list(self.entity.fields))

    def get(self, request, pk=None):
        instance = self.get_object(pk) if pk else None
        # Values in the query string prefill a new object (an orphan's "add to catalog"), and reload the pickers
        # of the project the person chose.
        given = form_values(request.GET, self.entity.fields)
        scope = {"project": given["project"]} if "project" in given else None
        form = self.form_class()(instance=instance, initial=given or None, scope=scope, reload_url=request.path)
        return self.render(request, form)

    def post(self, request, pk=None):
        instance = self.get_object(pk) if pk else None
        form = self.form_class()(request.POST, instance=instance, reload_url=request.path)
        if form.is_valid() and (saved := save_form(form, request.user)) is not None:
            messages.success(request, f"Saved {self.entity.verbose} {saved}.")
            return redirect("catalog:entity_detail", entity=self.entity.name, pk=saved.pk)
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        if form.instance.pk:
            cancel = reverse("catalog:entity_detail", kwargs={"entity": self.entity.name, "pk": form.instance.pk})
        else:
            cancel = reverse("catalog:entity_list", kwargs={"entity": self.entity.name})
        context = self.context(form=form, object=form.instance, verbose=self.entity.verbose, cancel_url=cancel)
        return render(request, "catalog/form.html", context, status=status)


class EntityDeleteView(EntityMixin, View):
    action = "delete"

    def get(self, request, pk):
        obj = self.get_object(pk)
        cancel = reverse("catalog:entity_detail", kwargs={"entity": self.entity.name, "pk": pk})
        return render(request, "catalog/confirm_delete.html", self.context(object=obj, cancel_url=cancel))

    def post(self, request, pk):
        obj = self.get_object(pk)
        try:
            catalog_object_delete(actor=request.user, instance=obj)
        except ProtectedError as error:
            users = ", ".join(sorted(str(o) for o in list(error.protected_objects)[:10]))
            messages.error(request, f"{obj} is still used and was not deleted. Used by: {users}.")
            return redirect("catalog:entity_detail", entity=self.entity.name, pk=pk)
        messages.success(request, f"Deleted {self.entity.verbose} {obj}.")
        return redirect("catalog:entity_list", entity=self.entity.name)
