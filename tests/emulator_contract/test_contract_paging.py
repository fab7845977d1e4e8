"""Listing templates and campaigns without page parameters returns every row (the spec's unpaginated form)."""

from __future__ import annotations

from _contract_seed import CAMPAIGN_COUNT, TEMPLATE_COUNT


def test_unpaginated_templates_and_campaigns_through_their_client(emulator, theirs):
    templates = theirs.templates.list().data["templates"]
    assert len(templates) == TEMPLATE_COUNT > 20
    campaigns = theirs.campaigns.list().data["campaigns"]
    assert sorted(c["id"] for c in campaigns) == list(range(4000, 4000 + CAMPAIGN_COUNT))


def test_our_client_pages_and_sees_the_same_rows(emulator, ours, theirs):
    ours_ids = [t["templateId"] for t in ours.iter_templates(page_size=7)]
    assert ours_ids == [t["templateId"] for t in theirs.templates.list().data["templates"]]
    assert len(list(ours.iter_campaigns(page_size=10))) == CAMPAIGN_COUNT


def test_paginate_switch_brings_back_the_first_page_only(emulator, theirs):
    emulator.configure(unpaginated_lists="paginate")
    body = theirs.templates.list().data
    assert len(body["templates"]) == 20 and body["totalTemplatesCount"] == TEMPLATE_COUNT
    assert "page=2" in body["nextPageUrl"]
    assert len(theirs.campaigns.list().data["campaigns"]) == 20
