"""A guard for the tests that prove some work is linear in its input."""

import signal
from contextlib import contextmanager

SECONDS = 20


@contextmanager
def linear_in_the_text(what: str, why: str = "it is not linear in the text"):
    """Fails the test when the block runs longer than 20 s, naming `what` did not finish and `why` (a hang, too).

    A guard against hanging CI, not a timing assertion: linear work on these tests' sizes takes milliseconds, the
    quadratic kind took hours, so the test fails in seconds rather than waiting for CI's own timeout.
    """

    def stop(*_):
        raise AssertionError(f"{what} did not finish within {SECONDS} s: {why}")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
