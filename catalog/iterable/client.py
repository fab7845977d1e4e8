"""A thin, typed client for the parts of Iterable's REST API the catalog uses.

Plain Python on purpose (no Django imports): one ``IterableClient`` per Iterable project, built by
``catalog.iterable.client_for_project`` from a model instance. It holds a pooled ``requests.Session`` with
the ``Api-Key`` header, sends an explicit ``(connect, read)`` timeout on every call, paces itself to the
documented rate limits (``pacing.py``) and turns every failure into one ``IterableError``. No business
rules live here: the guard, audits and "is this allowed" belong to ``catalog/services``.

Why a small retry loop rather than urllib3's ``Retry``
------------------------------------------------------
urllib3's ``Retry`` sees the status line, not the body, and Iterable's "500 GenericError … try again later"
is only recognisable by its text. It also cannot tell a send (never repeat once it may have reached
Iterable: there is no idempotency key) from an idempotent overwrite, it honours ``Retry-After`` only for
413/429/503 and sleeps through ``time.sleep`` (tests could not inject a fake), and it would bypass the
pacing buckets on each retry. So the adapter is mounted with ``Retry(total=0, read=False)``: urllib3 makes
exactly one attempt and reports *where* it failed, and ``_call`` decides:

* **retried** (bounded: ``max_attempts`` in all, exponential backoff with jitter, ``Retry-After`` honoured
  but capped at ``retry_after_max``): HTTP 429, 503, 500 whose msg says "try again later", and transport
  failures — but transport failures only if the request is safe to repeat (GETs and idempotent overwrites:
  ``users/update``, ``bulkUpdate``, ``updateSubscriptions``, ``bulkUpdateSubscriptions``, per-group
  subscribe/unsubscribe, list subscribe/unsubscribe, deletes) or if it provably never left the client
  (connection refused, DNS failure, connect timeout).
* **sends** (``email/target``, ``push/target``, template proofs, ``events/track``, ``trackBulk`` — a repeated
  event is a second event and can trigger a journey twice) are never repeated once they may have reached
  Iterable. A read timeout or dropped connection after sending becomes
  ``IterableError(code="OutcomeUnknown", outcome_unknown=True, retryable=False)``; a 5xx on a send is
  reported with ``outcome_unknown=True`` too (a server that failed mid-way may have queued the message).
  A **429 on a send is retried**: Iterable rejected it at the gate, so it was known not to be sent, and
  waiting for the limit is exactly what the caller wants.
* never retried: 400, 401, 403, 404, 409 and any other status — the same request would fail the same way.

Deadlines: inside a web request every call shares the request's time budget (``call_deadline``, set by
``catalog.middleware.IterableBudgetMiddleware``; workers have none). Each attempt's timeouts, the pacing wait
and each retry pause are capped to what is left; when the budget cannot cover the next step the call raises
``DeadlineExceeded`` (retryable: nothing more was sent) rather than outlive the web server's timeout. A send
whose read was cut short is still ``OutcomeUnknown``: it may have reached Iterable.

Success is judged by HTTP status first (some old 401s carried ``"code": "Success"``); non-JSON bodies
(an HTML 404 for a wrong path or host, the plain-text "No user with that id exists!") become a clear error.

Secrets: the key lives only in the session headers. It is never in a URL, a log line, an error (every text
copied from a response, and every answer, leaves ``_call`` through ``_redact``) or ``repr(client)``.
Redirects are not followed, because ``requests`` would carry the custom ``Api-Key`` header to whatever host
a redirect names.

Thread safety: one client may be shared by threads (a ``requests.Session`` with a pooled adapter and no
cookies in use is fine for that); the pacing buckets are locked.
"""

from __future__ import annotations

import contextvars
import csv
import email.utils
import io
import json
import logging
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, overload
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
from urllib3.util.retry import Retry

from .errors import IterableError
from .pacing import Pacer

logger = logging.getLogger(__name__)

US_BASE_URL = "https://api.iterable.com"
EU_BASE_URL = "https://api.eu.iterable.com"
BASE_URLS = {"US": US_BASE_URL, "EU": EU_BASE_URL}
ALLOWED_HOSTS_ENV = "ITERABLE_ALLOWED_HOSTS"

DEFAULT_TIMEOUT = (3.05, 15.0)
# Under a deadline, an attempt that would have less than this left is not started: it could not be answered.
MIN_ATTEMPT_SECONDS = 0.1
# Iterable's documented maximum page sizes: the walkers use them so a catalog sync makes the fewest calls.
TEMPLATES_MAX_PAGE_SIZE = 1000
CAMPAIGNS_MAX_PAGE_SIZE = 1000
JOURNEYS_MAX_PAGE_SIZE = 50
EVENTS_MAX_LIMIT = 200
SENT_MESSAGES_MAX_LIMIT = 1000
MAX_BODY_BYTES = 4 * 1024 * 1024  # users/bulkUpdate's documented cap; applied to every request body.

SUBSCRIPTION_GROUPS = ("emailList", "messageType", "messageChannel")
# Iterable's four subscription arrays, each with the attribute a User reads it into (the resync's contact
# preferences name their fields the same way). Defined here once; everything else derives from it.
SUBSCRIPTION_ARRAYS = {
    "unsubscribedChannelIds": "unsubscribed_channel_ids",
    "unsubscribedMessageTypeIds": "unsubscribed_message_type_ids",
    "subscribedMessageTypeIds": "subscribed_message_type_ids",
    "emailListIds": "email_list_ids",
}
_TRY_AGAIN = re.compile(r"try\s+again\s+later", re.IGNORECASE)
_URL_IN_MESSAGE = re.compile(r"(url: )\S+")
_UNKNOWN_USER_ID = re.compile(r"no user with that id", re.IGNORECASE)
# Not "NotFound": an HTML 404 from a wrong base URL must not read as "this contact does not exist".
_UNKNOWN_USER_CODES = frozenset({"UnknownEmailError", "UnknownUserIdError"})
# When a non-2xx response carries no usable code (HTML, plain text, or an old 401 saying "Success").
_FALLBACK_CODES = {
    400: "BadParams",
    401: "BadApiKey",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    429: "RateLimitExceeded",
}


# ---------------------------------------------------------------------------------------------------------
# Plain data returned by the client


@dataclass(slots=True)
class User:
    """An Iterable user profile; the four subscription arrays read as ``[]`` when Iterable omits them."""

    email: str | None
    user_id: str | None
    data_fields: dict[str, Any]
    email_list_ids: list[int] = field(default_factory=list)
    subscribed_message_type_ids: list[int] = field(default_factory=list)
    unsubscribed_channel_ids: list[int] = field(default_factory=list)
    unsubscribed_message_type_ids: list[int] = field(default_factory=list)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> User:
        fields = dict(raw.get("dataFields") or {})
        # Iterable keeps its managed fields inside dataFields; tolerate them at the top level as well.
        arrays = {name: list(fields.get(name) or raw.get(name) or []) for name in SUBSCRIPTION_ARRAYS}
        return cls(
            email=raw.get("email") or fields.get("email"),
            user_id=raw.get("userId") or fields.get("userId"),
            data_fields=fields,
            **{attribute: arrays[name] for name, attribute in SUBSCRIPTION_ARRAYS.items()},
        )


@dataclass(slots=True)
class Page:
    """One page of a paginated catalog listing (templates, campaigns, journeys)."""

    items: list[dict[str, Any]]
    page: int
    page_size: int
    total: int | None
    has_next: bool


@dataclass(slots=True)
class SubscriptionUpdate:
    """One ``updateSubscriptions`` row: ``None`` leaves an array alone, ``[]`` clears it (it overwrites)."""

    email: str | None = None
    user_id: str | None = None
    email_list_ids: Sequence[int] | None = None
    subscribed_message_type_ids: Sequence[int] | None = None
    unsubscribed_channel_ids: Sequence[int] | None = None
    unsubscribed_message_type_ids: Sequence[int] | None = None
    campaign_id: int | None = None
    template_id: int | None = None
    validate_channel_alignment: bool | None = None

    def to_api(self) -> dict[str, Any]:
        if not (self.email or self.user_id):
            raise ValueError("a subscription update needs an email or a user_id")
        return _compact(
            {
                "email": self.email,
                "userId": self.user_id,
                "emailListIds": _ids(self.email_list_ids),
                "subscribedMessageTypeIds": _ids(self.subscribed_message_type_ids),
                "unsubscribedChannelIds": _ids(self.unsubscribed_channel_ids),
                "unsubscribedMessageTypeIds": _ids(self.unsubscribed_message_type_ids),
                "campaignId": self.campaign_id,
                "templateId": self.template_id,
                "validateChannelAlignment": self.validate_channel_alignment,
            }
        )


def _ids(values: Sequence[int] | None) -> list[int] | None:
    return None if values is None else [int(v) for v in values]


def _compact(body: Mapping[str, Any]) -> dict[str, Any]:
    """Drop ``None`` values: for Iterable an omitted field means "leave it alone"."""
    return {k: v for k, v in body.items() if v is not None}


def _one_identity(email: str | None, user_id: str | None, *, what: str = "user") -> None:
    if bool(email) == bool(user_id):
        raise ValueError(f"identify the {what} by exactly one of email or user_id")


def _seg(value: Any) -> str:
    """Quote one path segment (an e-mail may contain '+' or '/')."""
    return quote(str(value), safe="@")


def allowed_hosts_from_env() -> list[str]:
    """Origins besides Iterable's own that may receive a key: ``ITERABLE_ALLOWED_HOSTS``, comma-separated."""
    return [item.strip() for item in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if item.strip()]


def base_url_refusal(base_url: str, allowed_hosts: Sequence[str] = ()) -> str | None:
    """Why an API key must not be sent to ``base_url``, or None when it may.

    Allowed: Iterable's US and EU hosts over HTTPS, and the origins in ``allowed_hosts``
    (``scheme://host[:port]``; without a port, any port of that host).
    """
    parts = urlsplit((base_url or "").strip())
    try:
        port = parts.port
    except ValueError:
        return f"{base_url!r} is not a valid URL."
    host = (parts.hostname or "").lower()
    if not parts.scheme or not host or parts.username or parts.password or parts.query or parts.fragment:
        return f"{base_url!r} is not a plain scheme://host[:port] address."
    for official in BASE_URLS.values():
        known = urlsplit(official)
        if parts.scheme == known.scheme and host == known.hostname and port in (None, 443):
            return None
    for entry in allowed_hosts:
        allowed = urlsplit(entry.strip())
        try:
            allowed_port = allowed.port
        except ValueError:
            continue
        if (
            parts.scheme == allowed.scheme
            and host == (allowed.hostname or "").lower()
            and (allowed_port is None or allowed_port == port)
        ):
            return None
    return (
        f"An Iterable API key may go only to {' or '.join(BASE_URLS.values())}; {parts.scheme}://{parts.netloc} "
        f"is not one of them and not listed in {ALLOWED_HOSTS_ENV}."
    )


# ---------------------------------------------------------------------------------------------------------
# A deadline for every call made inside a web request

# (monotonic time it ends, the budget in seconds) or None: no deadline (workers, tasks, the shell).
_deadline: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "iterable_deadline", default=None
)


@contextmanager
def call_deadline(seconds: float | None) -> Iterator[None]:
    """Every Iterable call made inside ends within ``seconds`` from now, retries and pacing included.

    A contextvar, so it follows the work into threads started with ``contextvars.copy_context().run``
    (``services.iterable_support.fan_out``) and stays out of other requests. ``None`` lifts any deadline.
    """
    token = _deadline.set(None if seconds is None else (time.monotonic() + float(seconds), float(seconds)))
    try:
        yield
    finally:
        _deadline.reset(token)


_call_counts: contextvars.ContextVar[Counter[str] | None] = contextvars.ContextVar("iterable_call_counts", default=None)


@contextmanager
def counting_calls() -> Iterator[Counter[str]]:
    """Count the logical calls (``"GET /api/templates": 3``; retries inside a call are not counted) that every
    client makes inside, in this context only (another thread's calls are not counted)."""
    counts: Counter[str] = Counter()
    token = _call_counts.set(counts)
    try:
        yield counts
    finally:
        _call_counts.reset(token)


def deadline_left() -> float | None:
    """Seconds left before the current deadline (may be negative), or None when there is none."""
    current = _deadline.get()
    return None if current is None else current[0] - time.monotonic()


def _deadline_error(endpoint: str, waited_for: str, last: IterableError | None = None) -> IterableError:
    budget = (_deadline.get() or (0.0, 0.0))[1]
    before = f" (last answer: {last.code})" if last is not None else ""
    return IterableError(
        f"Stopped waiting for Iterable{before}: a request may wait at most {budget:g} s for Iterable, and "
        f"{waited_for} would have gone past that. Nothing more was asked of it.",
        code="DeadlineExceeded",
        endpoint=endpoint,
        retryable=True,
        params={"budget_seconds": budget},
    )


# ---------------------------------------------------------------------------------------------------------
# The client


class IterableClient:
    """One Iterable project's API: see the module docstring for timeouts, pacing and retries."""

    def __init__(
        self,
        api_key: str,
        *,
        data_center: str = "US",
        base_url: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_max: float = 30.0,
        rate_limits: Mapping[str, float] | None = None,
        pacing: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        pool_maxsize: int = 10,
        user_agent: str = "iterable-admin",
        allowed_hosts: Sequence[str] | None = None,
    ) -> None:
        if not api_key:
            raise IterableError("No Iterable API key was given.", code="MissingApiKey")
        if base_url:
            self.base_url = base_url.rstrip("/")
        else:
            dc = (data_center or "US").upper()
            if dc not in BASE_URLS:
                raise IterableError(
                    f"Unknown Iterable data centre {data_center!r} (expected US or EU).",
                    code="BadConfiguration",
                )
            self.base_url = BASE_URLS[dc]
        # Checked here as well as on the project's form: a row written by any other door still cannot send
        # the key anywhere but Iterable (or a host the deployment lists, such as the local emulator).
        refusal = base_url_refusal(self.base_url, allowed_hosts_from_env() if allowed_hosts is None else allowed_hosts)
        if refusal:
            raise IterableError(refusal, code="HostNotAllowed")
        connect, read = timeout  # force an explicit (connect, read) pair
        self.timeout = (float(connect), float(read))
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._api_key = api_key
        variants = {api_key, quote(api_key, safe="")}
        self._key_pattern = re.compile("|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True)), re.I)
        self._sleep = sleep
        self._rng = rng or random.Random()  # jitter, not crypto
        self._pacer = Pacer(rate_limits, clock=clock, sleep=sleep) if pacing else None

        session = requests.Session()
        # One attempt per urllib3 call; _call owns retries (see module docstring).
        adapter = HTTPAdapter(
            pool_connections=2,
            pool_maxsize=pool_maxsize,
            max_retries=Retry(total=0, read=False, redirect=False, raise_on_status=False),
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update({"Api-Key": api_key, "Accept": "application/json", "User-Agent": user_agent})
        self._session = session

    # -- plumbing -----------------------------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        return self._api_key

    def __repr__(self) -> str:
        return f"IterableClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> IterableClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _redact(self, value: Any) -> Any:
        """Remove the API key from any text copied out of a response or an exception: as sent, in any letter
        case, and percent-encoded (a server may echo it in a URL)."""
        if isinstance(value, str):
            return self._key_pattern.sub("[redacted]", value)
        if isinstance(value, dict):
            return {self._redact(k): self._redact(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact(v) for v in value]
        return value

    # Iterable answers every JSON endpoint with an object; `text` asks for the body as text (CSV endpoints).
    @overload
    def _call(self, method: str, endpoint: str, *, text: Literal[True], **options: Any) -> str: ...
    @overload
    def _call(self, method: str, endpoint: str, *, text: Literal[False] = False, **options: Any) -> dict[str, Any]: ...
    def _call(self, method: str, endpoint: str, **options: Any) -> Any:
        """Every answer and every error leaves the client through here, with the API key taken out of its
        text, whatever Iterable (or whatever answers in its place) echoed: callers store and log what they get.
        """
        try:
            return self._redact(self._exchange(method, endpoint, **options))
        except IterableError as error:
            error.msg = self._redact(error.msg)
            error.params = self._redact(error.params)
            error.args = (str(error),)
            raise

    def _exchange(
        self,
        method: str,
        endpoint: str,
        *,
        path: str | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        send: bool = False,
        text: bool = False,
    ) -> Any:
        """Make one logical call (paced, retried per the rules above); return the decoded JSON body (``text``:
        the body as text, for the few endpoints that answer CSV).

        ``endpoint`` is the path template used for pacing, logs and errors; ``path`` the concrete path.
        ``send`` marks a request that must not be repeated once it may have reached Iterable.
        """
        url = self.base_url + (path or endpoint)
        key = f"{method} {endpoint}"
        if (counts := _call_counts.get()) is not None:
            counts[key] += 1
        data = None
        headers = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), default=str).encode()
            headers = {"Content-Type": "application/json"}
            if len(data) > MAX_BODY_BYTES:
                raise IterableError(
                    f"Request body is {len(data)} bytes; Iterable accepts at most {MAX_BODY_BYTES}.",
                    code="BatchTooLarge",
                    endpoint=endpoint,
                )
        query = _compact(query or {})
        attempt = 0
        while True:
            attempt += 1
            self._pace(key, endpoint)
            timeout = self._attempt_timeout(endpoint)
            started = time.monotonic()
            try:
                response = self._session.request(
                    method,
                    url,
                    params=query,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
                response.content  # noqa: B018 - read the body now so a drop mid-body is a transport error
            except requests.RequestException as exc:
                error, repeatable = self._transport_error(exc, endpoint, send)
                cut = (error.code == "ConnectTimeout" and timeout[0] < self.timeout[0]) or (
                    error.code == "ReadTimeout" and timeout[1] < self.timeout[1]
                )
                if cut:
                    # The deadline, not Iterable's usual patience, cut this attempt short: say so.
                    raise _deadline_error(endpoint, "waiting longer for this answer", error) from None
                if repeatable and attempt < self.max_attempts:
                    self._pause(attempt, method, endpoint, error, None)
                    continue
                raise error from None
            logger.debug(
                "Iterable %s %s -> %s in %.0f ms",
                method,
                endpoint,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            if 200 <= response.status_code < 300:
                return response.text if text else self._decode_success(response, endpoint, send)
            error = self._http_error(response, endpoint, send)
            # Only a 429 proves a send was not processed; other statuses are retried only when safe.
            repeatable = error.retryable and (not send or response.status_code == 429)
            if repeatable and attempt < self.max_attempts:
                self._pause(attempt, method, endpoint, error, response)
                continue
            raise error

    def _pace(self, key: str, endpoint: str) -> None:
        """Wait for the endpoint's rate limit, unless that wait alone would pass the deadline."""
        window = self._pacer.window(key) if self._pacer is not None else None
        delay = window.acquire() if window is not None else 0.0
        left = deadline_left()
        if left is not None and delay + MIN_ATTEMPT_SECONDS >= left:
            raise _deadline_error(endpoint, "waiting for Iterable's rate limit")
        if delay > 0:
            self._sleep(delay)

    def _attempt_timeout(self, endpoint: str) -> tuple[float, float]:
        """This attempt's (connect, read) timeout, each capped to what the deadline leaves."""
        left = deadline_left()
        if left is None:
            return self.timeout
        if left < MIN_ATTEMPT_SECONDS:
            raise _deadline_error(endpoint, "another attempt")
        connect, read = self.timeout
        return (min(connect, left), min(read, left))

    def _pause(
        self,
        attempt: int,
        method: str,
        endpoint: str,
        error: IterableError,
        response: requests.Response | None,
    ) -> None:
        delay = self._retry_after(response)
        if delay is None:
            ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
            delay = self._rng.uniform(ceiling / 2, ceiling)  # "equal jitter": spread, but never zero
        left = deadline_left()
        if left is not None and delay + MIN_ATTEMPT_SECONDS >= left:
            # Sleeping to the deadline only to give up then would waste the time the page has left.
            raise _deadline_error(endpoint, "pausing before a retry", error)
        logger.warning(
            "Iterable %s %s failed (%s), retry %d of %d in %.2f s",
            method,
            endpoint,
            error.code if error.status is None else f"{error.status} {error.code}",
            attempt,
            self.max_attempts - 1,
            delay,
        )
        self._sleep(delay)

    def _retry_after(self, response: requests.Response | None) -> float | None:
        if response is None:
            return None
        value = response.headers.get("Retry-After")
        if not value:
            return None
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        return min(max(seconds, 0.0), self.retry_after_max)

    def _transport_error(self, exc: requests.RequestException, endpoint: str, send: bool) -> tuple[IterableError, bool]:
        """Classify a failure without an HTTP answer; return the error and whether to try again."""
        # urllib3 names the URL (path and query, so possibly an e-mail address): keep it out of the message.
        text = _URL_IN_MESSAGE.sub(r"\1<omitted>", str(exc))
        detail = self._redact(f"{type(exc).__name__}: {text}")[:300]  # before cutting: no half key survives
        if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.InvalidURL | ValueError):
            # A certificate or configuration problem does not heal by retrying.
            return IterableError(detail, code="TransportError", endpoint=endpoint), False
        if _never_sent(exc):
            code = "ConnectTimeout" if isinstance(exc, requests.exceptions.ConnectTimeout) else "ConnectionFailed"
            return IterableError(detail, code=code, endpoint=endpoint, retryable=True), True
        if send:
            msg = (
                "The request may have reached Iterable but no answer arrived "
                f"({detail}); it was not resent. Check the contact's history before sending again."
            )
            error = IterableError(msg, code="OutcomeUnknown", endpoint=endpoint, outcome_unknown=True)
            return error, False
        code = "ReadTimeout" if isinstance(exc, requests.exceptions.Timeout) else "ConnectionDropped"
        return IterableError(detail, code=code, endpoint=endpoint, retryable=True), True

    def _decode_success(self, response: requests.Response, endpoint: str, send: bool) -> Any:
        if not response.content.strip():
            return {}
        try:
            return response.json()
        except ValueError:
            # A 2xx that is not JSON is not Iterable talking (a proxy, a captive portal…).
            raise IterableError(
                f"HTTP {response.status_code} with a non-JSON body ({_describe_body(response, self._redact)}).",
                code="BadResponse",
                status=response.status_code,
                endpoint=endpoint,
                outcome_unknown=send,
            ) from None

    def _http_error(self, response: requests.Response, endpoint: str, send: bool) -> IterableError:
        status = response.status_code
        code = msg = params = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = body.get("code") if isinstance(body.get("code"), str) else None
            msg = body.get("msg") if isinstance(body.get("msg"), str) else None
            params = body.get("params")
        if not code or code == "Success":  # status decides: an old 401 could say "Success"
            code = _FALLBACK_CODES.get(status, "ServerError" if status >= 500 else "HTTPError")
        if not msg:
            msg = f"HTTP {status} ({_describe_body(response, self._redact)})"
        retryable = (
            status in (429, 503) or code == "RateLimitExceeded" or (status == 500 and bool(_TRY_AGAIN.search(msg)))
        )
        outcome_unknown = send and status >= 500
        if outcome_unknown:
            retryable = False
            msg = f"{msg} — the send may or may not have happened; it was not resent."
        return IterableError(
            self._redact(msg),
            code=code,
            status=status,
            endpoint=endpoint,
            retryable=retryable,
            outcome_unknown=outcome_unknown,
            params=self._redact(params),
        )

    # -- users --------------------------------------------------------------------------------------------

    def get_user_by_email(self, email: str) -> User | None:
        """The profile for ``email``, or ``None`` if Iterable has no such user (it answers 200 ``{}``)."""
        try:
            data = self._call("GET", "/api/users/getByEmail", query={"email": email})
        except IterableError as exc:
            if exc.code in _UNKNOWN_USER_CODES:
                return None
            raise
        return _user_or_none(data)

    def get_user_by_id(self, user_id: str) -> User | None:
        """The profile for ``user_id``, or ``None`` (200 ``{}``, or the old 400 "No user with that id…")."""
        try:
            data = self._call("GET", "/api/users/byUserId", query={"userId": user_id})
        except IterableError as exc:
            if exc.code in _UNKNOWN_USER_CODES or (exc.status == 400 and _UNKNOWN_USER_ID.search(exc.msg)):
                return None
            raise
        return _user_or_none(data)

    def update_user(
        self,
        *,
        email: str | None = None,
        user_id: str | None = None,
        data_fields: Mapping[str, Any] | None = None,
        prefer_user_id: bool | None = None,
        merge_nested_objects: bool | None = None,
        create_new_fields: bool | None = None,
    ) -> dict[str, Any]:
        """Merge ``data_fields`` into a profile (a field set to ``None`` is removed). Returns the envelope."""
        if not (email or user_id):
            raise ValueError("update_user needs an email or a user_id")
        body = _compact(
            {
                "email": email,
                "userId": user_id,
                "dataFields": dict(data_fields or {}),
                "preferUserId": prefer_user_id,
                "mergeNestedObjects": merge_nested_objects,
                "createNewFields": create_new_fields,
            }
        )
        return self._call("POST", "/api/users/update", body=body)

    def bulk_update_users(
        self, users: Iterable[Mapping[str, Any]], *, create_new_fields: bool | None = None
    ) -> dict[str, Any]:
        """``users/bulkUpdate`` with rows in Iterable's shape (``email``/``userId``, ``dataFields``…).

        Returns Iterable's counts (``successCount``, ``failCount``, ``failedUpdates``…). Body ≤ 4 MB.
        """
        body = _compact({"users": [dict(u) for u in users], "createNewFields": create_new_fields})
        return self._call("POST", "/api/users/bulkUpdate", body=body)

    def update_subscriptions(
        self,
        *,
        email: str | None = None,
        user_id: str | None = None,
        email_list_ids: Sequence[int] | None = None,
        subscribed_message_type_ids: Sequence[int] | None = None,
        unsubscribed_channel_ids: Sequence[int] | None = None,
        unsubscribed_message_type_ids: Sequence[int] | None = None,
        campaign_id: int | None = None,
        template_id: int | None = None,
        validate_channel_alignment: bool | None = None,
    ) -> dict[str, Any]:
        """Overwrite the given subscription arrays of a user: ``None`` leaves one alone, ``[]`` clears it."""
        update = SubscriptionUpdate(
            email=email,
            user_id=user_id,
            email_list_ids=email_list_ids,
            subscribed_message_type_ids=subscribed_message_type_ids,
            unsubscribed_channel_ids=unsubscribed_channel_ids,
            unsubscribed_message_type_ids=unsubscribed_message_type_ids,
            campaign_id=campaign_id,
            template_id=template_id,
            validate_channel_alignment=validate_channel_alignment,
        )
        return self._call("POST", "/api/users/updateSubscriptions", body=update.to_api())

    def bulk_update_subscriptions(self, updates: Iterable[SubscriptionUpdate | Mapping[str, Any]]) -> dict[str, Any]:
        """``bulkUpdateSubscriptions``; per-row failures come back inside the HTTP 200.

        Returns ``successCount``, ``failCount``, ``invalidEmails``, ``invalidUserIds``,
        ``validEmailFailures``, ``validUserIdFailures`` (missing ones filled with 0 / ``[]``). The caller
        chunks; the batch limit is undocumented.
        """
        rows = [u.to_api() if isinstance(u, SubscriptionUpdate) else dict(u) for u in updates]
        data = self._call("POST", "/api/users/bulkUpdateSubscriptions", body={"updateSubscriptionsRequests": rows})
        return _bulk_result(data)

    def delete_user(self, email: str) -> dict[str, Any]:
        """Delete the profile with this e-mail. Returns the envelope."""
        return self._call("DELETE", "/api/users/{email}", path=f"/api/users/{_seg(email)}")

    def delete_user_by_id(self, user_id: str) -> dict[str, Any]:
        return self._call("DELETE", "/api/users/byUserId/{userId}", path=f"/api/users/byUserId/{_seg(user_id)}")

    def get_sent_messages(
        self,
        *,
        email: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
        campaign_ids: Sequence[int] | None = None,
        message_medium: str | None = None,
        start_date_time: str | None = None,
        end_date_time: str | None = None,
        exclude_blast_campaigns: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Messages recently sent to a user (``messageId``, ``campaignId``, ``templateId``, ``createdAt``)."""
        _one_identity(email, user_id)
        query = {
            "email": email,
            "userId": user_id,
            "limit": None if limit is None else min(int(limit), SENT_MESSAGES_MAX_LIMIT),
            "campaignIds": list(campaign_ids) if campaign_ids else None,
            "messageMedium": message_medium,
            "startDateTime": start_date_time,
            "endDateTime": end_date_time,
            "excludeBlastCampaigns": None if exclude_blast_campaigns is None else str(exclude_blast_campaigns).lower(),
        }
        data = self._call("GET", "/api/users/getSentMessages", query=query)
        return list(data.get("messages") or [])

    # -- per-group subscriptions (the newer API; off unless enabled for the project) -----------------------

    def subscribe_user(
        self, group: str, group_id: int, *, email: str | None = None, user_id: str | None = None
    ) -> dict[str, Any]:
        """Add one user to one list / message type / channel without touching the rest (PATCH)."""
        return self._group_user("PATCH", group, group_id, email, user_id)

    def unsubscribe_user(
        self, group: str, group_id: int, *, email: str | None = None, user_id: str | None = None
    ) -> dict[str, Any]:
        """Remove one user from one list / message type / channel without touching the rest (DELETE)."""
        return self._group_user("DELETE", group, group_id, email, user_id)

    def _group_user(
        self, method: str, group: str, group_id: int, email: str | None, user_id: str | None
    ) -> dict[str, Any]:
        _check_group(group)
        _one_identity(email, user_id)
        prefix = f"/api/subscriptions/{group}/{int(group_id)}"
        if email:
            endpoint = "/api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}/user/{userEmail}"
            path = f"{prefix}/user/{_seg(email)}"
        else:
            endpoint = "/api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}/byUserId/{userId}"
            path = f"{prefix}/byUserId/{_seg(user_id)}"
        return self._call(method, endpoint, path=path)

    def bulk_subscription_action(
        self,
        group: str,
        group_id: int,
        action: str,
        *,
        emails: Sequence[str] = (),
        user_ids: Sequence[str] = (),
    ) -> dict[str, Any]:
        """``PUT /api/subscriptions/{group}/{id}?action=subscribe|unsubscribe`` for many users."""
        _check_group(group)
        if action not in ("subscribe", "unsubscribe"):
            raise ValueError("action must be 'subscribe' or 'unsubscribe'")
        body = _compact({"users": list(emails) or None, "usersByUserId": list(user_ids) or None})
        return self._call(
            "PUT",
            "/api/subscriptions/{subscriptionGroup}/{subscriptionGroupId}",
            path=f"/api/subscriptions/{group}/{int(group_id)}",
            query={"action": action},
            body=body,
        )

    # -- lists --------------------------------------------------------------------------------------------

    def get_lists(self) -> list[dict[str, Any]]:
        """All lists: ``id``, ``name``, ``listType``, ``createdAt`` (epoch ms)…"""
        return list(self._call("GET", "/api/lists").get("lists") or [])

    def subscribe_to_list(
        self,
        list_id: int,
        subscribers: Iterable[str | Mapping[str, Any]],
        *,
        update_existing_users_only: bool | None = None,
    ) -> dict[str, Any]:
        """Add users (e-mails, or dicts with ``email``/``userId`` and ``dataFields``) to a static list."""
        body = _compact(
            {
                "listId": int(list_id),
                "subscribers": _subscribers(subscribers),
                "updateExistingUsersOnly": update_existing_users_only,
            }
        )
        return self._call("POST", "/api/lists/subscribe", body=body)

    def unsubscribe_from_list(
        self,
        list_id: int,
        subscribers: Iterable[str | Mapping[str, Any]],
        *,
        campaign_id: int | None = None,
        channel_unsubscribe: bool | None = None,
    ) -> dict[str, Any]:
        """Remove users from a static list. Returns Iterable's counts (``successCount``, ``failCount``…)."""
        body = _compact(
            {
                "listId": int(list_id),
                "subscribers": _subscribers(subscribers),
                "campaignId": campaign_id,
                "channelUnsubscribe": channel_unsubscribe,
            }
        )
        return self._call("POST", "/api/lists/unsubscribe", body=body)

    # -- channels and message types -----------------------------------------------------------------------

    def get_channels(self) -> list[dict[str, Any]]:
        """``id``, ``name``, ``channelType`` (Marketing | Transactional), ``messageMedium``."""
        return list(self._call("GET", "/api/channels").get("channels") or [])

    def get_message_types(self) -> list[dict[str, Any]]:
        """``id``, ``name``, ``channelId``, ``subscriptionPolicy`` (missing reads as ``"OptOut"``)…"""
        types = self._call("GET", "/api/messageTypes").get("messageTypes") or []
        return [{**t, "subscriptionPolicy": t.get("subscriptionPolicy") or "OptOut"} for t in types]

    # -- templates, campaigns, journeys -------------------------------------------------------------------

    def get_templates_page(
        self,
        *,
        page: int = 1,
        page_size: int = TEMPLATES_MAX_PAGE_SIZE,
        template_type: str | None = None,
        message_medium: str | None = None,
    ) -> Page:
        """One page (from 1) of templates: ``templateId``, ``name``, ``messageTypeId``, ``campaignId``…"""
        query = {
            "page": page,
            "pageSize": page_size,
            "templateType": template_type,
            "messageMedium": message_medium,
        }
        data = self._call("GET", "/api/templates", query=query)
        return _page(data, "templates", "totalTemplatesCount", page, page_size)

    def iter_templates(
        self,
        *,
        template_type: str | None = None,
        message_medium: str | None = None,
        page_size: int = TEMPLATES_MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every template, fetched at the maximum page size, stopping at the last page."""
        return _walk(
            lambda page: self.get_templates_page(
                page=page, page_size=page_size, template_type=template_type, message_medium=message_medium
            )
        )

    def get_email_template(self, template_id: int, *, locale: str | None = None) -> dict[str, Any]:
        """An e-mail template; an unknown id raises ``IterableError(code="BadParams")``."""
        return self._call("GET", "/api/templates/email/get", query={"templateId": int(template_id), "locale": locale})

    def get_push_template(self, template_id: int, *, locale: str | None = None) -> dict[str, Any]:
        """A push template; an unknown id raises ``IterableError(code="BadParams")``."""
        return self._call("GET", "/api/templates/push/get", query={"templateId": int(template_id), "locale": locale})

    def get_campaigns_page(
        self, *, page: int = 1, page_size: int = CAMPAIGNS_MAX_PAGE_SIZE, campaign_state: str | None = None
    ) -> Page:
        """One page of campaigns (``id``, ``name``, ``type``, ``campaignState``, ``templateId``…)."""
        query = {"page": page, "pageSize": page_size, "campaignState": campaign_state}
        data = self._call("GET", "/api/campaigns", query=query)
        return _page(data, "campaigns", "totalCampaignsCount", page, page_size)

    def get_campaign(self, campaign_id: int) -> dict[str, Any]:
        """One campaign by id (``templateId``, ``workflowId``, ``campaignState``…); unknown raises ``NotFound``."""
        return self._call("GET", f"/api/campaigns/{int(campaign_id)}")

    def get_campaign_metrics(
        self, campaign_ids: Sequence[int], *, start: str | None = None, end: str | None = None
    ) -> list[dict[str, str]]:
        """Campaign metrics (Iterable answers CSV, each metric's column twice): one dict per campaign row, the
        first column of each name kept. ``start``/``end``: ``YYYY-MM-DD HH:MM:SS +00:00``, end exclusive."""
        if not campaign_ids:
            return []
        query = {"campaignId": [int(c) for c in campaign_ids], "startDateTime": start, "endDateTime": end}
        body = self._call("GET", "/api/campaigns/metrics", query=query, text=True)
        rows = list(csv.reader(io.StringIO(body)))
        if not rows or len(rows) < 2:
            return []
        names = rows[0]
        first = {name: names.index(name) for name in names if name}
        return [{name: row[i] for name, i in first.items() if i < len(row)} for row in rows[1:] if row]

    def iter_campaigns(
        self, *, campaign_state: str | None = None, page_size: int = CAMPAIGNS_MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        return _walk(
            lambda page: self.get_campaigns_page(page=page, page_size=page_size, campaign_state=campaign_state)
        )

    def get_journeys_page(
        self, *, page: int = 1, page_size: int = JOURNEYS_MAX_PAGE_SIZE, state: str | None = None
    ) -> Page:
        """One page of journeys (``id``, ``name``, ``enabled``, ``isArchived``, ``triggerEventNames``…)."""
        query = {"page": page, "pageSize": page_size, "state": state}
        data = self._call("GET", "/api/journeys", query=query)
        return _page(data, "journeys", "totalJourneysCount", page, page_size)

    def iter_journeys(
        self, *, state: str | None = None, page_size: int = JOURNEYS_MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        return _walk(lambda page: self.get_journeys_page(page=page, page_size=page_size, state=state))

    # -- sends (never repeated once they may have reached Iterable) ---------------------------------------

    def email_target(
        self,
        campaign_id: int,
        *,
        recipient_email: str | None = None,
        recipient_user_id: str | None = None,
        data_fields: Mapping[str, Any] | None = None,
        send_at: str | None = None,
        allow_repeat_marketing_sends: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send a triggered e-mail campaign to one recipient. 200 means accepted, not delivered."""
        return self._target(
            "/api/email/target",
            campaign_id,
            recipient_email,
            recipient_user_id,
            data_fields,
            send_at,
            allow_repeat_marketing_sends,
            metadata,
        )

    def push_target(
        self,
        campaign_id: int,
        *,
        recipient_email: str | None = None,
        recipient_user_id: str | None = None,
        data_fields: Mapping[str, Any] | None = None,
        send_at: str | None = None,
        allow_repeat_marketing_sends: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send a triggered push campaign to one recipient. 200 means accepted, not delivered."""
        return self._target(
            "/api/push/target",
            campaign_id,
            recipient_email,
            recipient_user_id,
            data_fields,
            send_at,
            allow_repeat_marketing_sends,
            metadata,
        )

    def _target(
        self,
        endpoint: str,
        campaign_id: int,
        recipient_email: str | None,
        recipient_user_id: str | None,
        data_fields: Mapping[str, Any] | None,
        send_at: str | None,
        allow_repeat_marketing_sends: bool | None,
        metadata: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        _one_identity(recipient_email, recipient_user_id, what="recipient")
        body = _compact(
            {
                "campaignId": int(campaign_id),
                "recipientEmail": recipient_email,
                "recipientUserId": recipient_user_id,
                "dataFields": dict(data_fields) if data_fields is not None else None,
                "sendAt": send_at,
                "allowRepeatMarketingSends": allow_repeat_marketing_sends,
                "metadata": dict(metadata) if metadata is not None else None,
            }
        )
        return self._call("POST", endpoint, body=body, send=True)

    def cancel_scheduled(
        self,
        medium: str = "email",
        *,
        scheduled_message_id: int | None = None,
        campaign_id: int | None = None,
        email: str | None = None,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """Cancel scheduled sends (``POST /api/{medium}/cancel``): one by ``scheduled_message_id``, or every
        scheduled send of ``campaign_id`` to one user. Unknown ones raise ``BadParams``. Never repeated."""
        if medium not in ("email", "push", "sms", "inApp"):
            raise ValueError("medium must be one of email, push, sms, inApp")
        if scheduled_message_id is None:
            if campaign_id is None:
                raise ValueError("cancel needs a scheduled_message_id, or a campaign_id and a user")
            _one_identity(email, user_id)
        body = _compact(
            {
                "scheduledMessageId": None if scheduled_message_id is None else int(scheduled_message_id),
                "campaignId": None if campaign_id is None else int(campaign_id),
                "email": email,
                "userId": user_id,
            }
        )
        return self._call("POST", f"/api/{medium}/cancel", body=body, send=True)

    def email_template_proof(
        self,
        template_id: int,
        *,
        recipient_email: str | None = None,
        recipient_user_id: str | None = None,
        data_fields: Mapping[str, Any] | None = None,
        locale: str | None = None,
    ) -> dict[str, Any]:
        """Send a proof of an e-mail template (no campaign needed). 20/s per key."""
        return self._proof(
            "/api/templates/email/proof", template_id, recipient_email, recipient_user_id, data_fields, locale
        )

    def push_template_proof(
        self,
        template_id: int,
        *,
        recipient_email: str | None = None,
        recipient_user_id: str | None = None,
        data_fields: Mapping[str, Any] | None = None,
        locale: str | None = None,
    ) -> dict[str, Any]:
        """Send a proof of a push template (no campaign needed). 20/s per key."""
        return self._proof(
            "/api/templates/push/proof", template_id, recipient_email, recipient_user_id, data_fields, locale
        )

    def _proof(
        self,
        endpoint: str,
        template_id: int,
        recipient_email: str | None,
        recipient_user_id: str | None,
        data_fields: Mapping[str, Any] | None,
        locale: str | None,
    ) -> dict[str, Any]:
        _one_identity(recipient_email, recipient_user_id, what="recipient")
        body = _compact(
            {
                "templateId": int(template_id),
                "recipientEmail": recipient_email,
                "recipientUserId": recipient_user_id,
                "dataFields": dict(data_fields) if data_fields is not None else None,
                "locale": locale,
            }
        )
        return self._call("POST", endpoint, body=body, send=True)

    # -- events -------------------------------------------------------------------------------------------

    def track(
        self,
        event_name: str,
        *,
        email: str | None = None,
        user_id: str | None = None,
        data_fields: Mapping[str, Any] | None = None,
        created_at: int | None = None,
        campaign_id: int | None = None,
        template_id: int | None = None,
        event_id: str | None = None,
        create_new_fields: bool | None = None,
    ) -> dict[str, Any]:
        """Track a custom event (this is how an event-triggered journey is started). Treated as a send."""
        if not event_name:
            raise ValueError("track needs an event_name")
        _one_identity(email, user_id)
        body = _compact(
            {
                "eventName": event_name,
                "email": email,
                "userId": user_id,
                "dataFields": dict(data_fields) if data_fields is not None else None,
                "createdAt": created_at,
                "campaignId": campaign_id,
                "templateId": template_id,
                "id": event_id,
                "createNewFields": create_new_fields,
            }
        )
        return self._call("POST", "/api/events/track", body=body, send=True)

    def track_bulk(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """Track many events (rows in ``track``'s shape). Returns ``successCount``, ``failCount``…"""
        return self._call("POST", "/api/events/trackBulk", body={"events": [dict(e) for e in events]}, send=True)

    def get_events(
        self, email: str | None = None, *, user_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """A user's recent events, newest first (limit ≤ 200)."""
        _one_identity(email, user_id)
        query = {"limit": None if limit is None else min(int(limit), EVENTS_MAX_LIMIT)}
        if email:
            data = self._call("GET", "/api/events/{email}", path=f"/api/events/{_seg(email)}", query=query)
        else:
            data = self._call(
                "GET",
                "/api/events/byUserId/{userId}",
                path=f"/api/events/byUserId/{_seg(user_id)}",
                query=query,
            )
        return list(data.get("events") or [])


# ---------------------------------------------------------------------------------------------------------
# helpers


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the failure happened before a single byte of the request left (safe to repeat any call)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        # NewConnectionError and NameResolutionError subclass ConnectTimeoutError in urllib3 2.
        return isinstance(reason, ConnectTimeoutError)
    return False


def _describe_body(response: requests.Response, clean: Callable[[str], str] = str) -> str:
    """A short description of an unexpected body; ``clean`` runs before it is cut, so no half key survives."""
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    text = clean((response.text or "").strip())
    if not text:
        return f"empty {ctype} body"
    if "html" in ctype or text.startswith("<"):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        hint = f' "{title.group(1).strip()[:80]}"' if title else ""
        return f"an HTML page{hint}, not an Iterable API response: wrong path or host?"
    return f"{ctype}: {text[:200]}"


def _user_or_none(data: Any) -> User | None:
    raw = data.get("user") if isinstance(data, dict) else None
    if not isinstance(raw, dict) or not (raw.get("email") or raw.get("userId") or raw.get("dataFields")):
        return None
    return User.from_api(raw)


def _bulk_result(data: Any) -> dict[str, Any]:
    result = dict(data) if isinstance(data, dict) else {}
    result.setdefault("successCount", 0)
    result.setdefault("failCount", 0)
    for name in ("invalidEmails", "invalidUserIds", "validEmailFailures", "validUserIdFailures"):
        result[name] = list(result.get(name) or [])
    return result


def _check_group(group: str) -> None:
    if group not in SUBSCRIPTION_GROUPS:
        raise ValueError(f"subscription group must be one of {', '.join(SUBSCRIPTION_GROUPS)}")


def _subscribers(subscribers: Iterable[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"email": s} if isinstance(s, str) else dict(s) for s in subscribers]


def _page(data: Any, items_key: str, total_key: str, page: int, page_size: int) -> Page:
    items = list((data or {}).get(items_key) or [])
    total = data.get(total_key) if isinstance(data, dict) else None
    total = int(total) if isinstance(total, int | float) else None
    if not items:
        has_next = False
    elif total is not None:
        # The server's count is the cheapest stop signal: no extra call to discover an empty last page.
        has_next = (page - 1) * page_size + len(items) < total
    elif isinstance(data, dict) and "nextPageUrl" in data:
        has_next = bool(data.get("nextPageUrl"))
    else:
        has_next = len(items) >= page_size
    return Page(items=items, page=page, page_size=page_size, total=total, has_next=has_next)


def _walk(fetch: Callable[[int], Page]) -> Iterator[dict[str, Any]]:
    page_number = 1
    while True:
        page = fetch(page_number)
        yield from page.items
        if not page.has_next:
            return
        page_number += 1
