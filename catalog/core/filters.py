"""The core's FilterSets, shared by the pages, the CSV export and the REST API: one definition of search, filters
and sorting. Capabilities add their own filters and sortable columns through catalog/core/extensions.py
(`NotificationFilterSet.plug_extensions()` runs once they have registered)."""

import hashlib
import uuid
from collections import OrderedDict
from datetime import timedelta
from typing import cast

import django_filters
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.signals import post_delete, post_save
from django.http import QueryDict
from django.utils import timezone

from catalog import models
from catalog.core import extensions
from catalog.guard import policy
from catalog.services.input_limits import id_from_text

# The project, channel, message type and owner filters offer every row of small tables that change rarely, yet
# reading them cost four of the list page's queries. They are cached and cleared by any write to those tables
# (the receivers below); a process that does not share this cache (the default per-process memory cache with
# several server processes) sees another's write within FILTER_CHOICES_SECONDS.
FILTER_CHOICES_KEY = "catalog:notification-filter-choices"
FILTER_CHOICES_SECONDS = 60
FILTER_CHOICE_MODELS = {
    "project": models.IterableProject,
    "channel": models.Channel,
    "message_type": models.MessageType,
    "owner": models.Owner,
}


def notification_filter_choices() -> tuple[str, dict[str, list[tuple[int, str]]]]:
    """(pk, label) of every object each notification filter offers, in the models' order, and a generation
    that changes whenever they are read again (it keys the list page's cached filter form)."""
    cached = cache.get(FILTER_CHOICES_KEY)
    if cached is None:
        choices = {
            name: [(obj.pk, str(obj)) for obj in model._default_manager.all()]
            for name, model in FILTER_CHOICE_MODELS.items()
        }
        cached = (uuid.uuid4().hex, choices)
        cache.set(FILTER_CHOICES_KEY, cached, FILTER_CHOICES_SECONDS)
    return cached


def _filter_choices_changed(sender, **kwargs) -> None:
    cache.delete(FILTER_CHOICES_KEY)


for _model in FILTER_CHOICE_MODELS.values():
    post_save.connect(_filter_choices_changed, sender=_model, dispatch_uid=f"filter-choices-save-{_model.__name__}")
    post_delete.connect(_filter_choices_changed, sender=_model, dispatch_uid=f"filter-choices-delete-{_model.__name__}")


NO_OWNER = "none"


class OwnerOrNoneField(django_filters.fields.ModelChoiceField):
    """An owner, or "none" for notifications nobody owns (home links to ?owner=none)."""

    def to_python(self, value):
        if value == NO_OWNER:
            return NO_OWNER
        return super().to_python(value)

    def validate(self, value):
        if value != NO_OWNER:
            super().validate(value)


class OwnerFilter(django_filters.ModelChoiceFilter):
    field_class = OwnerOrNoneField

    def filter(self, qs, value):
        if value == NO_OWNER:
            return qs.filter(owners__isnull=True)
        return super().filter(qs, value)


# The one verdict's states (catalog/guard/verdicts.py verdict_summary), in words.
VERDICT_CHOICES = [
    ("error", "Errors"),
    ("warning", "Warnings, no error"),
    ("not-checked", "Not checked in Iterable lately"),
    ("ok", "OK"),
]


def _checked_lately():
    """Whether the row's project had a successful sync within ITERABLE_CHECK_STALE_MINUTES (a subquery)."""
    since = timezone.now() - timedelta(minutes=settings.ITERABLE_CHECK_STALE_MINUTES)
    return Exists(
        models.SyncRun.objects.filter(
            project=OuterRef("project"), status=models.SyncStatus.SUCCEEDED, finished_at__gte=since
        )
    )


def _rows(model, *related):
    """A filter's choices, read when its form is built: every FilterSet deep-copies its filters, and copying four
    querysets was a fifth of a filtered list page's time, where copying a function costs nothing."""

    def rows(request):
        return model._default_manager.select_related(*related) if related else model._default_manager.all()

    return rows


# The ordering choices of the core's own columns; plug_extensions adds the capabilities' sortable columns.
ORDERING_FIELDS = (
    ("key", "key"),
    ("name", "name"),
    ("status", "status"),
    ("audience", "audience"),
    ("medium", "medium"),
    ("trigger_type", "trigger_type"),
    ("updated_at", "updated"),
    ("message_type__name", "message_type"),
    ("project__name", "project"),
)


class NotificationFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        help_text="Key, name, template id, campaign id, event name or owner",
    )
    project = django_filters.ModelChoiceFilter(queryset=_rows(models.IterableProject))
    trigger_type = django_filters.ChoiceFilter(choices=models.TriggerType.choices)
    medium = django_filters.ChoiceFilter(choices=models.Medium.choices)
    channel = django_filters.ModelChoiceFilter(
        field_name="message_type__channel", queryset=_rows(models.Channel, "project")
    )
    message_type = django_filters.ModelChoiceFilter(queryset=_rows(models.MessageType, "project"))
    # Labelled here: the label django-filter derives through the relation was sometimes left out ("Policy").
    policy = django_filters.ChoiceFilter(
        field_name="message_type__policy",
        choices=models.SubscriptionPolicy.choices,
        label="Message type subscription policy",
    )
    audience = django_filters.ChoiceFilter(choices=models.Audience.choices)
    owner = OwnerFilter(
        field_name="owners", queryset=_rows(models.Owner), help_text="Or “No owner” for the ones nobody owns"
    )
    status = django_filters.ChoiceFilter(choices=models.NotificationStatus.choices)
    has_violations = django_filters.BooleanFilter(
        widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]),
        method="filter_has_violations",
        label="Has violations",
        help_text="Any error or warning from the guard",
    )
    verdict = django_filters.ChoiceFilter(
        choices=VERDICT_CHOICES,
        method="filter_verdict",
        label="Guard's verdict",
        help_text="The one verdict, as the list's Guard column shows it",
    )
    ordering = django_filters.OrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = models.Notification
        fields = [
            "q",
            "project",
            "trigger_type",
            "medium",
            "channel",
            "message_type",
            "policy",
            "audience",
            "owner",
            "status",
            "has_violations",
            "verdict",
        ]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        number = id_from_text(value)
        # The events, owners and templates that match come first, by id, from their small tables: matched through
        # a join, the database cannot tell how few notifications they reach and plans for a hundred thousand
        # (a hash of every notification, 100 ms at 100,000); named by id, a branch nobody matched is left out.
        related = [
            models.CustomEvent.objects.filter(name__icontains=value).values_list(Value("event"), "pk"),
            models.Owner.objects.filter(Q(name__icontains=value) | Q(email__icontains=value)).values_list(
                Value("owner"), "pk"
            ),
        ]
        if number is not None:
            related.append(models.Template.objects.filter(iterable_id=number).values_list(Value("template"), "pk"))
        first_related, *other_related = (rows.order_by() for rows in related)
        found: dict[str, list[int]] = {"event": [], "owner": [], "template": []}
        for kind, pk in first_related.union(*other_related, all=True):
            found[kind].append(pk)
        notifications = models.Notification.objects.order_by()
        matches = [notifications.filter(Q(key__icontains=value) | Q(name__icontains=value)).values("pk")]
        if found["event"]:
            matches.append(notifications.filter(event_id__in=found["event"]).values("pk"))
        if found["owner"]:
            owned = models.Notification.owners.through.objects.filter(owner_id__in=found["owner"])
            matches.append(owned.order_by().values("notification_id"))
        if number is not None:
            matches.append(notifications.filter(campaign_id=number).values("pk"))
        if found["template"]:
            used = models.Notification.templates.through.objects.filter(template_id__in=found["template"])
            matches.append(used.order_by().values("notification_id"))
        # One subquery per branch, in a UNION: each reads its own index (the trigram indexes of migration 0018 on
        # PostgreSQL), where one OR across them reads every notification. Filtering by the ids also keeps the
        # owners' and templates' rows from repeating a notification.
        first, *rest = matches
        return queryset.filter(pk__in=first.union(*rest) if rest else first)

    def filter_has_violations(self, queryset, name, value):
        has = Q(verdict_errors__gt=0) | Q(verdict_warnings__gt=0)
        return queryset.filter(has) if value else queryset.exclude(has)

    def filter_verdict(self, queryset, name, value):
        # The same order of precedence as verdict_summary: errors always show; without errors, a project not
        # checked lately is "not checked" whatever its warnings; then warnings; then ok.
        if value == "error":
            return queryset.filter(verdict_errors__gt=0)
        queryset = queryset.filter(verdict_errors=0)
        if value == "not-checked":
            return queryset.exclude(_checked_lately())
        queryset = queryset.filter(_checked_lately())
        return queryset.filter(verdict_warnings__gt=0) if value == "warning" else queryset.filter(verdict_warnings=0)

    @classmethod
    def plug_extensions(cls) -> None:
        """Add the filters and sortable columns capabilities registered (catalog/core/extensions.py) to the
        class, so the pages, the CSV and the API's schema all see them; safe to run again."""
        plugged = OrderedDict((name, f) for name, f in cls.base_filters.items() if name != "ordering")
        for extra in extensions.filters():
            plugged[extra.name] = extra.make()
        sorts = [(c.sort_field, c.sort) for c in extensions.columns() if c.sort and c.sort_field]
        plugged["ordering"] = django_filters.OrderingFilter(fields=(*ORDERING_FIELDS, *sorts))
        cls.base_filters = plugged

    def __init__(self, data=None, queryset=None, *, list_columns: bool = False, **kwargs):
        # A capability's column may cost a subquery per row (live health's sends over 30 days): the rows get it
        # only for a page that shows the columns, a filter that reads it, or sorting by it; not the API or the
        # CSV, which show no such column.
        queryset = models.Notification.objects.all() if queryset is None else queryset
        if list_columns:
            for column in extensions.columns():
                queryset = column.annotate(queryset)
        elif data is not None:
            ordering = data.get("ordering") or ""
            for sort, annotate in extensions.sort_annotations().items():
                if sort in ordering.replace("-", "").split(","):
                    queryset = annotate(queryset)
            for extra in extensions.filters():
                if extra.annotate is not None and data.get(extra.name):
                    queryset = extra.annotate(queryset)
        super().__init__(data, queryset, **kwargs)

    @property
    def form_cache_key(self) -> str:
        """What the list page's rendered form depends on: the offered options (their cached generation) and the
        submitted filters, not the page. Builds no form: a page served from the cache never needs one."""
        generation, _ = notification_filter_choices()
        data = self.data if isinstance(self.data, QueryDict) else QueryDict(mutable=True)
        given = sorted((k, v) for k, values in data.lists() if k != "page" for v in values)
        return f"{generation}:{hashlib.sha256(repr(given).encode()).hexdigest()}"

    @property
    def active_filter_count(self) -> int:
        """How many filters the list is narrowed by (said on the phone's folded filters): the search and the sort
        are not filters, and a filter given twice counts once."""
        data = self.data if isinstance(self.data, QueryDict) else QueryDict()
        return sum(
            1 for name in self.filters if name not in ("q", "ordering") and any(v.strip() for v in data.getlist(name))
        )

    @property
    def form_with_choices(self):
        """The form, its choice fields offering the cached options (a chosen value is still looked up in its
        field's queryset; the API, which renders no form, never reads the options)."""
        _, choices = notification_filter_choices()
        for name, options in choices.items():
            field = cast(forms.ModelChoiceField, self.form.fields[name])
            extra = [(NO_OWNER, "No owner")] if name == "owner" else []
            field.widget.choices = [("", field.empty_label), *extra, *options]
        return self.form

    def filter_queryset(self, queryset):
        # The owner filter joins through a many-to-many: keep one row per notification.
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("owner") not in (None, NO_OWNER):
            queryset = queryset.distinct()
        # Sorted by a column many rows share (audience, status): the key breaks ties, so pages never repeat or
        # skip a row and every database lists them in the same order.
        if self.form.cleaned_data.get("ordering") and "key" not in queryset.query.order_by:
            queryset = queryset.order_by(*queryset.query.order_by, "key")
        return queryset


class GuardViolationFilterSet(django_filters.FilterSet):
    """Notifications the guard finds fault with, by violation code and severity (from the stored verdict)."""

    code = django_filters.ChoiceFilter(
        choices=[(code, code) for code in sorted(policy.CODES)], method="filter_code", label="Violation code"
    )
    severity = django_filters.ChoiceFilter(
        choices=[(policy.ERROR, "Error"), (policy.WARNING, "Warning")], method="filter_severity", label="Severity"
    )

    class Meta:
        model = models.Notification
        fields = ["code", "severity", "status", "project"]

    def filter_code(self, queryset, name, value):
        # verdict_codes is a JSON list of known codes; matching its text with the quotes works on SQLite and
        # PostgreSQL alike (JSON containment does not exist on SQLite).
        return queryset.filter(verdict_codes__icontains=f'"{value}"')

    def filter_severity(self, queryset, name, value):
        if value == policy.ERROR:
            return queryset.filter(verdict_errors__gt=0)
        return queryset.filter(verdict_warnings__gt=0)
