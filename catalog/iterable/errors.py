"""The one error type the Iterable client raises.

Callers branch on three questions, so the error answers exactly those:

* ``code`` — Iterable's own code (``BadApiKey``, ``InvalidEmailAddressError``, ``BadParams``…) or, for
  failures Iterable never answered, one of ours (``ConnectionFailed``, ``ReadTimeout``, ``OutcomeUnknown``,
  ``BadResponse``, ``MissingApiKey``…). ``status`` is the HTTP status, ``None`` when there was none.
* ``retryable`` — would the same request, sent again later, plausibly succeed (rate limit, overload,
  transport hiccup)? Input errors (400/401/409) are never retryable.
* ``outcome_unknown`` — only for sends (``*/target``, proofs, track): the request may or may not have
  reached Iterable, and Iterable has no idempotency key, so nobody must resend it automatically.

``endpoint`` is the path *template* (``/api/users/{email}``), never a full URL: no host, no key, and no
e-mail address or user id from the path, so the error is safe to log and to show. The client redacts
the API key from every text it copies from a response before it builds the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class IterableError(Exception):
    """A failed Iterable API call, or a client that cannot be built (e.g. missing API key)."""

    def __init__(
        self,
        msg: str,
        *,
        code: str,
        status: int | None = None,
        endpoint: str | None = None,
        retryable: bool = False,
        outcome_unknown: bool = False,
        params: Any = None,
    ) -> None:
        self.msg = msg
        self.code = code
        self.status = status
        self.endpoint = endpoint
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown
        self.params = params
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" {self.endpoint}" if self.endpoint else ""
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"Iterable{where}{status} {self.code}: {self.msg}"

    def __repr__(self) -> str:
        return (
            f"IterableError(code={self.code!r}, status={self.status!r}, endpoint={self.endpoint!r}, "
            f"retryable={self.retryable!r}, outcome_unknown={self.outcome_unknown!r}, msg={self.msg!r})"
        )

    def __reduce__(self) -> tuple[Callable[..., IterableError], tuple[Any, ...]]:
        # Keyword-only constructor: teach pickle (django-q task results, multiprocessing) to rebuild it.
        return (
            _rebuild,
            (
                self.msg,
                self.code,
                self.status,
                self.endpoint,
                self.retryable,
                self.outcome_unknown,
                self.params,
            ),
        )

    @property
    def not_found(self) -> bool:
        """True for Iterable's "no such user / object" answers."""
        return self.code in {"NotFound", "UnknownEmailError", "UnknownUserIdError"}


def _rebuild(
    msg: str,
    code: str,
    status: int | None,
    endpoint: str | None,
    retryable: bool,
    outcome_unknown: bool,
    params: Any,
) -> IterableError:
    return IterableError(
        msg,
        code=code,
        status=status,
        endpoint=endpoint,
        retryable=retryable,
        outcome_unknown=outcome_unknown,
        params=params,
    )
