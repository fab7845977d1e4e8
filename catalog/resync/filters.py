"""The resync's filters: each list page and its API list share one FilterSet."""

import django_filters
from django.db.models import F

from catalog.models import ContactPreference, IterableProject, PreferenceImport, ResyncRun


class ResyncRunFilterSet(django_filters.FilterSet):
    project = django_filters.ModelChoiceFilter(queryset=IterableProject.objects.all())
    status = django_filters.ChoiceFilter(choices=ResyncRun.Status.choices)

    class Meta:
        model = ResyncRun
        fields = ["project", "status", "dry_run", "selection"]


class PreferenceImportFilterSet(django_filters.FilterSet):
    project = django_filters.ModelChoiceFilter(queryset=IterableProject.objects.all())

    class Meta:
        model = PreferenceImport
        fields = ["project", "source", "status"]


class ContactPreferenceFilterSet(django_filters.FilterSet):
    STATES = [
        ("never", "Never resynced"),
        ("changed", "Changed since last resync"),
        ("synced", "Resynced, unchanged since"),
    ]

    project = django_filters.ModelChoiceFilter(queryset=IterableProject.objects.all())
    state = django_filters.ChoiceFilter(choices=STATES, method="filter_state", label="Resync state")

    class Meta:
        model = ContactPreference
        fields = ["project", "source_import", "resynced_run", "state"]

    def filter_state(self, queryset, name, value):
        if value == "never":
            return queryset.filter(resynced_at__isnull=True)
        if value == "changed":
            return queryset.filter(changed_at__gt=F("resynced_at"))
        return queryset.filter(resynced_at__isnull=False, changed_at__lte=F("resynced_at"))
