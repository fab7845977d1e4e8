"""The sync pages' words and links: a finding's title, a run's trigger and counts in words, and the Iterable page
of the object a finding is about (the deep links themselves are catalog_ui's)."""

from django import template
from django.utils.html import format_html

from catalog.models import MirrorKind
from catalog.sync.selectors import MISSING_IN_ITERABLE, TRIGGER_WORDS
from catalog.sync.words import code_words
from catalog.templatetags.catalog_ui import iterable_campaign_url, iterable_journey_url, iterable_template_url

register = template.Library()

KIND_PLURALS: dict[str, str] = {
    MirrorKind.CHANNEL.value: "channels",
    MirrorKind.MESSAGE_TYPE.value: "message types",
    MirrorKind.TEMPLATE.value: "templates",
    MirrorKind.CAMPAIGN.value: "campaigns",
    MirrorKind.JOURNEY.value: "journeys",
}


# A finding's code in words ("orphan-template" → "Template no catalog entry claims"): the same words as
# catalog_ui's code_words, under the name the sync's pages use.
register.filter("title_of_finding", code_words)


@register.filter
def trigger_words(trigger: str) -> str:
    return TRIGGER_WORDS.get(trigger, trigger)


@register.filter
def kind_plural(kind: str) -> str:
    return KIND_PLURALS.get(kind, kind)


def iterable_url(project, kind: str, iterable_id) -> str:
    """The Iterable page of a mirrored object ("" when Iterable has no page of its own for that kind)."""
    if kind == MirrorKind.TEMPLATE:
        return iterable_template_url(project, iterable_id)
    if kind == MirrorKind.CAMPAIGN:
        return iterable_campaign_url(project, iterable_id)
    if kind == MirrorKind.JOURNEY:
        return iterable_journey_url(project, iterable_id)
    return ""


@register.simple_tag
def finding_object(finding, name: str = ""):
    """What a finding is about, by kind and name, linked to its page in Iterable when Iterable has it."""
    if finding.iterable_id is None:
        return "—"
    label = f"{finding.get_iterable_kind_display()} {name or f'#{finding.iterable_id}'}"
    url = iterable_url(finding.project, finding.iterable_kind, finding.iterable_id)
    if finding.code in MISSING_IN_ITERABLE or not url:
        suffix = " (not in Iterable)" if finding.code in MISSING_IN_ITERABLE else ""
        return format_html("{}{}", label, suffix)
    return format_html(
        '<a href="{}" rel="noopener" target="_blank">{}<span class="visually-hidden"> (opens Iterable)</span></a>',
        url,
        label,
    )
