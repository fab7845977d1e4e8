"""Hiding other people's recipients in Iterable's answers is linear in the answer's size: a long run with no "@"
(an HTML body, a token) was tried again from each of its characters."""

from testkit.timing import linear_in_the_text

from catalog.sends.selectors import _contacts_hidden


def test_a_megabyte_answer_is_searched_for_addresses_at_once():
    with linear_in_the_text("hiding addresses"):
        answer = {"body": "a" * 1_000_000 + " to ada@example.com", "token": "é" * 500_000}
        hidden = _contacts_hidden(answer, [])
    assert "ada@example.com" not in hidden["body"] and hidden["body"].startswith("a" * 1000)
    assert hidden["token"] == answer["token"]
