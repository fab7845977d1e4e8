"""Masking contacts' addresses in the activity is linear in the text: a long run of characters with no "@"
(a pasted blob in an audited change) once took 20 s per 100 kB, on every Activity page that showed it."""

import signal

import pytest

from catalog.audit.services import contact_masked


@pytest.fixture
def at_most_20_seconds():
    # A guard against hanging CI, not a timing assertion: linear work on these sizes takes milliseconds, the
    # quadratic kind took hours.
    def stop(*_):
        raise AssertionError("masking did not finish within 20 s: it is not linear in the text")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("blob", ["a" * 1_000_000, "é" * 1_000_000, "a.b-" * 250_000, "a" * 999_990 + " x@y.org"])
def test_a_megabyte_of_text_is_masked_at_once(blob, at_most_20_seconds):
    masked = contact_masked(blob)
    assert "x@y.org" not in masked
    assert len(masked) <= len(blob) + 6


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail ada@example.com now", "mail a•••@••• now"),
        ("<ada@example.com>", "<a•••@•••>"),
        ("x,ada@ex.com;bob@ex.org", "x,a•••@•••;b•••@•••"),
        ("(jo.b+1@x.io)", "(j•••@•••)"),
        ("no address here", "no address here"),
    ],
)
def test_addresses_are_still_found_wherever_they_stand(text, masked):
    assert contact_masked(text) == masked
