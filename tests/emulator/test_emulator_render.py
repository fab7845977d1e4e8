"""The emulator's Handlebars-style merge tags (pure functions, no server)."""

from __future__ import annotations

import pytest

from catalog.iterable.merge_tags import RenderError, render


def test_variables_are_escaped_and_missing_ones_are_empty():
    assert render("Hi {{firstName}}{{lastName}}!", {"firstName": "<Ada & Co>"}) == "Hi &lt;Ada &amp; Co&gt;!"
    assert render("{{{html}}}", {"html": "<b>x</b>"}) == "<b>x</b>"
    assert render("{{ address.city }} {{address.zip}}", {"address": {"city": "Oslo"}}) == "Oslo "
    assert render("{{n}} {{ok}}", {"n": 0, "ok": True}) == "0 true"


def test_blocks():
    template = "{{#if vip}}VIP{{else}}regular{{/if}}/{{#unless vip}}not vip{{/unless}}"
    assert render(template, {"vip": True}) == "VIP/"
    assert render(template, {"vip": False}) == "regular/not vip"
    items = "{{#each items}}[{{this.name}} {{currency}}]{{else}}none{{/each}}"
    assert render(items, {"items": [{"name": "a"}, {"name": "b"}], "currency": "EUR"}) == "[a EUR][b EUR]"
    assert render(items, {"items": []}) == "none"
    assert render("{{#each tags}}{{this}},{{/each}}", {"tags": ["x", "y"]}) == "x,y,"


def test_helpers_comments_and_feed_tags():
    assert render('{{defaultIfEmpty firstName "friend"}}', {}) == "friend"
    assert render('{{defaultIfEmpty firstName "friend"}}', {"firstName": "Ada"}) == "Ada"
    assert render("a{{! not shown }}b", {}) == "ab"
    assert render("[[price]] {{x}}", {"x": 1}, {"price": "9 €"}) == "9 € 1"


@pytest.mark.parametrize("bad", ["{{#if x}}open", "{{/if}}", "{{#with x}}{{/with}}", "{{shout name}}", "{{else}}"])
def test_unreadable_templates_raise(bad):
    with pytest.raises(RenderError):
        render(bad, {"x": 1, "name": "n"})


def test_render_report_names_each_empty_merge_field_once():
    from catalog.iterable.merge_tags import render_report

    source = 'Hi {{firstName}} {{firstName}} {{{lastName}}} {{defaultIfEmpty nick "friend"}}{{#if vip}}{{tier}}{{/if}}'
    text, missing = render_report(source, {"firstName": "", "vip": True})
    assert text == "Hi    friend"
    assert missing == ["firstName", "lastName", "tier"]
    assert render_report("{{#each items}}{{name}}{{/each}}", {"items": [{"name": "a"}, {}]}) == ("a", ["name"])
    assert render_report(None, {}) == ("", [])


def test_many_tags_never_closed_are_read_in_linear_time():
    """A lazy {{(.*?)}} looked for its closing from every {{ to the end of the text: 40 kB of them took 15 s,
    in the test-send preview's request. The count of pieces shows every byte was read as text."""
    from testkit.timing import linear_in_the_text

    from catalog.iterable.merge_tags import _tokens

    with linear_in_the_text("reading the tags"):
        assert _tokens("{{" * 500_000) == [("text", "{{" * 500_000)]
        assert _tokens("{{{a}}" * 200_000)[:2] == [("var", "{a"), ("var", "{a")]
        assert _tokens("x {{{ a }}} {{ b }}") == [("text", "x "), ("raw", "a"), ("text", " "), ("var", "b")]
