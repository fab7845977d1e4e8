"""One way to name a code: the sync's pages, the notification page's drift panel and the findings filter say a
finding (and a guard rule) in the same words, from catalog/sync/words.py."""

from django.template import Context, Template

from catalog.guard import policy
from catalog.sync import words
from catalog.sync.filters import FINDING_CODES, SyncFindingFilterSet
from catalog.sync.services import drift
from catalog.sync.words import code_words


def _say(tag_library: str, filter_name: str, code: str) -> str:
    return Template(f"{{% load {tag_library} %}}{{{{ code|{filter_name} }}}}").render(Context({"code": code}))


def test_both_tags_say_a_finding_alike():
    for code in (drift.CAMPAIGN_MISSING, drift.ORPHAN_TEMPLATE, policy.OPTOUT_MARKETING, policy.NO_OWNER):
        core_page = _say("catalog_ui", "code_words", code)
        sync_page = _say("sync_ui", "title_of_finding", code)
        assert core_page == sync_page == code_words(code)
    assert _say("catalog_ui", "code_words", drift.CAMPAIGN_MISSING) == "Campaign missing in Iterable"
    assert _say("sync_ui", "title_of_finding", policy.OPTOUT_MARKETING) == "Opt-out type on a Marketing channel"


def test_every_finding_has_words_and_never_its_code():
    for code in FINDING_CODES:
        # Each has words of its own, not the code read out ("campaign missing" would lose "in Iterable").
        assert code in words.RULE_WORDS or code in words.FINDING_TITLES
        assert code_words(code) != code


def test_the_findings_filter_offers_the_same_words():
    choices = dict(SyncFindingFilterSet.base_filters["code"].extra["choices"])
    assert choices[drift.CAMPAIGN_MISSING] == code_words(drift.CAMPAIGN_MISSING)
