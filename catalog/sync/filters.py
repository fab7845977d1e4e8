"""The sync's filters: the pages and the API share them."""

import django_filters

from catalog import models
from catalog.guard import policy
from catalog.sync.selectors import finding_title
from catalog.sync.services.drift import DRIFT_CODES, INFO, ORPHAN_CODES

# Every code a finding can carry: drift, orphans, and the guard's (Iterable side).
FINDING_CODES = [
    *DRIFT_CODES,
    *ORPHAN_CODES,
    policy.OPTOUT_MARKETING,
    policy.MARKETING_MESSAGE_TYPE,
]
SEVERITIES = [(policy.ERROR, "Error"), (policy.WARNING, "Warning"), (INFO, "Info")]
ORPHAN_KINDS = [(models.MirrorKind.TEMPLATE, "Template"), (models.MirrorKind.CAMPAIGN, "Campaign")]


class SyncRunFilterSet(django_filters.FilterSet):
    project = django_filters.ModelChoiceFilter(queryset=models.IterableProject.objects.all())
    status = django_filters.ChoiceFilter(choices=models.SyncStatus.choices)

    class Meta:
        model = models.SyncRun
        fields = ["project", "status"]


class SyncFindingFilterSet(django_filters.FilterSet):
    project = django_filters.ModelChoiceFilter(queryset=models.IterableProject.objects.all())
    category = django_filters.ChoiceFilter(choices=models.FindingCategory.choices)
    code = django_filters.ChoiceFilter(
        choices=sorted(((code, finding_title(code)) for code in FINDING_CODES), key=lambda c: c[1]), label="Finding"
    )
    severity = django_filters.ChoiceFilter(choices=SEVERITIES)
    notification = django_filters.CharFilter(
        field_name="notification__key", label="Notification key", help_text="Findings about this notification."
    )

    class Meta:
        model = models.SyncFinding
        fields = ["project", "category", "code", "severity", "notification"]


class OrphanFilterSet(django_filters.FilterSet):
    project = django_filters.ModelChoiceFilter(queryset=models.IterableProject.objects.all())
    kind = django_filters.ChoiceFilter(field_name="iterable_kind", choices=ORPHAN_KINDS)

    class Meta:
        model = models.SyncFinding
        fields = ["project", "kind"]
