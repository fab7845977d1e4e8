"""A guard for the tests that prove some work is linear in its input."""

import signal
from contextlib import contextmanager

SECONDS = 20


@contextmanager
def linear_in_the_text(what: str):
    """Fails the test when the block runs longer than 20 s, naming `what` did not finish.

    A guard against hanging CI, not a timing assertion: linear work on these tests' sizes takes milliseconds, the
    quadratic kind took hours, so the test fails in seconds rather than waiting for CI's own timeout.
    """

    def stop(*_):
        raise AssertionError(f"{what} did not finish within {SECONDS} s: it is not linear in the text")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
