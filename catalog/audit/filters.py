"""Activity's filters: who, what action, what kind of object, which object, a date range and a search box.

A reader who may not look contacts up must not learn that an address was looked up by searching for it (the
rows would be masked, yet their presence would answer the question), so for them the search and the object
filter match no contact's name; and another person's private test recipient is not matched for those who may
not manage recipients (the same people `audit_events_for` hides it from).
"""

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from catalog.audit.services import _CONTACT_OBJECTS, _STAFF_OBJECTS
from catalog.audit.words import ACTIONS, OBJECT_TYPES, object_type_words
from catalog.models import AuditEvent
from catalog.roles import LOOKUP_CONTACT, MANAGE_SHARED_RECIPIENTS
from catalog.services.input_limits import unstorable

# Who acts without being a person: the labels services record for them.
NOT_PEOPLE = [
    ("system", "The system"),
    ("supervisor", "The supervisor (stalled work)"),
    ("schedule", "A schedule"),
]
WHO_KEY = "audit:who-choices"
WHO_SECONDS = 300
SEARCH_MAX = 200


def who_choices() -> list[tuple[str, str]]:
    """Names to offer in "Who": staff accounts (kept a few minutes: a small table that rarely changes) and the
    labels of the system's own actors."""
    people = cache.get(WHO_KEY)
    if people is None:
        users = get_user_model().objects.order_by("username").values_list("username", flat=True)
        people = [(name, name) for name in users]
        cache.set(WHO_KEY, people, WHO_SECONDS)
    return [*people, *NOT_PEOPLE]


def _object_type_choices() -> list[tuple[str, str]]:
    names = set(OBJECT_TYPES) | {
        "channel",
        "template",
        "journey",
        "owner",
        "iterableproject",
    }
    return sorted(((name, object_type_words(name)) for name in names), key=lambda pair: pair[1])


class AuditEventFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        help_text="A name, a key, a person or an action (e.g. “weekly_digest”, “test send”)",
    )
    # Free text offered the known names (a datalist): a deleted account's events keep its name, which no
    # choice list would still offer.
    who = django_filters.CharFilter(
        field_name="actor_label",
        lookup_expr="iexact",
        label="Who",
        widget=forms.TextInput(attrs={"list": "who-options", "autocomplete": "off"}),
    )
    action = django_filters.ChoiceFilter(
        label="What they did", choices=sorted(ACTIONS.items(), key=lambda a: a[1]), empty_label="Anything"
    )
    object_type = django_filters.ChoiceFilter(
        label="Kind of object", choices=_object_type_choices, empty_label="Any kind"
    )
    object = django_filters.CharFilter(method="filter_object", label="Object (name, key or number)")
    since = django_filters.DateFilter(
        method="filter_since", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        method="filter_until", label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = AuditEvent
        fields = ["q", "who", "action", "object_type", "object", "since", "until"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    @property
    def who_options(self) -> list[tuple[str, str]]:
        return who_choices()

    def _names_matching(self, names: Q) -> Q:
        """`names` (a match on the object's name), narrowed to the names this reader may search."""
        if self.user is None or not self.user.has_perm(LOOKUP_CONTACT):
            names &= ~Q(object_type__in=_CONTACT_OBJECTS)
        elif not self.user.has_perm(MANAGE_SHARED_RECIPIENTS):
            theirs_private = Q(object_type="proofrecipient", object_repr__contains="(own,") & ~Q(actor=self.user)
            names &= ~theirs_private
        return names

    def _contact_like(self, value: str) -> bool:
        return "@" in value and (self.user is None or not self.user.has_perm(LOOKUP_CONTACT))

    def filter_search(self, queryset, name, value):
        value = value.strip()[:SEARCH_MAX]
        if not value:
            return queryset
        if unstorable(value):
            return queryset.none()
        words = value.lower()
        actions = [key for key, said in ACTIONS.items() if words in said.lower() or words == key]
        found = Q(actor_label__icontains=value) | Q(action__in=actions)
        names = Q(object_repr__icontains=value)
        if self._contact_like(value):
            # An address typed by someone who may not look contacts up matches staff owners only.
            names &= Q(object_type__in=_STAFF_OBJECTS)
        return queryset.filter(found | self._names_matching(names))

    def filter_object(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if unstorable(value):
            return queryset.none()
        names = Q(object_repr=value)
        if self._contact_like(value):
            names &= Q(object_type__in=_STAFF_OBJECTS)
        return queryset.filter(Q(object_id=value) | self._names_matching(names))

    # Bounds on the timestamp itself (not its date), so the database walks its index on created_at.
    def filter_since(self, queryset, name, value):
        start = _start_of(value)
        return queryset if start is None else queryset.filter(created_at__gte=start)

    def filter_until(self, queryset, name, value):
        end = _start_of(value, days=1)
        return queryset if end is None else queryset.filter(created_at__lt=end)


# Dates are held a year inside the calendar's ends: turned to UTC for the query, the start of 0001-01-01
# east of UTC (or the end of 9999-12-31 west of it) would fall outside it and fail as the query runs.
_FIRST_DAY, _LAST_DAY = date(2, 1, 1), date(9998, 12, 31)


def _start_of(day, *, days: int = 0) -> datetime | None:
    """The start of `day` (plus `days`) in the site's time zone; None past the calendar's ends (no bound)."""
    day = min(max(day, _FIRST_DAY), _LAST_DAY)
    try:
        return timezone.make_aware(datetime.combine(day, time.min)) + timedelta(days=days)
    except (OverflowError, ValueError):
        return None
