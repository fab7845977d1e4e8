"""What test sends show on the core's pages (registered in catalog/core/extensions.py at start-up): a
notification's last successful test send, and the list's filter ?untested_days=N."""

from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from catalog.core.extensions import ListFilter, Panel, register_filter, register_panel
from catalog.models import ProofOutcome, ProofSend
from catalog.sends.selectors import proof_send_for, proof_send_last_success


def last_test_send(notification, request) -> dict:
    """The last successful test send, with its recipient hidden from anyone it is not shown to."""
    attempt = proof_send_last_success(notification=notification)
    shown = proof_send_for(user=request.user, attempt=attempt) if attempt is not None else None
    return {"last_proof_send": shown}


register_panel(Panel("sends-last", "catalog/panels/sends_last_test_send.html", last_test_send, slot="fact"))


# ------------------------------------------------------------------------------------------ the list's filter

UNTESTED_DAYS = (1, 365)


@extend_schema_field(OpenApiTypes.INT)  # a method filter: the schema cannot read its type off a model field
class DaysFilter(django_filters.Filter):
    field_class = forms.IntegerField


def _filter_untested(queryset, name, days):
    """Notifications with no successful test send in the last `days` days (never tested included)."""
    since = timezone.now() - timedelta(days=days)
    tested = ProofSend.objects.filter(notification=OuterRef("pk"), outcome=ProofOutcome.SENT, created_at__gte=since)
    return queryset.filter(~Exists(tested))


def _untested_filter():
    return DaysFilter(
        method=_filter_untested,
        label="Not test-sent for (days)",
        help_text="No successful test send in this many days (1 to 365), never tested included",
        min_value=UNTESTED_DAYS[0],
        max_value=UNTESTED_DAYS[1],
    )


register_filter(ListFilter("untested_days", _untested_filter, order=20))
