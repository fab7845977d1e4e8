"""API tokens for scripts: create, revoke, authenticate.

A token reads `ia_<prefix>_<secret>`. The prefix finds the row; only a SHA-256 hash of the secret is kept
(the secret has 256 bits of entropy, so a slow password hash would add nothing), and it is compared in
constant time. The full token is returned once, by `api_token_create` (or `api_token_rotate`), and never
stored, logged or shown again.

Every token expires: at most API_TOKEN_MAX_DAYS after it is made (90 by default), which is also what a
token gets when no expiry is chosen. Rotating replaces a token by a new one with a fresh expiry and revokes
the old one at once, so a script swaps its secret without a gap in which two are needed.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from catalog.audit.services import audit_record
from catalog.models import ApiToken
from catalog.services.rate_limits import rate_window_count, rate_window_peek, rate_window_wait
from catalog.types import Actor

TOKEN_PREFIX = "ia"
# Writing last_used_at on every request would turn every read into a write; a minute is precise enough.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class TokenError(Exception):
    """Why a presented token was refused, in a sentence safe to return to the caller."""


class TokenThrottled(TokenError):
    """Too many refused tokens from one address: none is even looked up until the window ends."""

    def __init__(self, wait: int):
        self.wait = wait
        super().__init__(f"Too many invalid API tokens from your address; try again in {wait} s.")


def _bad_token_limit() -> tuple[int, int]:
    return tuple(getattr(settings, "API_TOKEN_FAILURE_LIMIT", (20, 60)))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_max_days() -> int:
    return int(getattr(settings, "API_TOKEN_MAX_DAYS", 90))


def api_token_expiry_clean(expires_at: datetime | None) -> datetime:
    """The expiry a new token gets: the one asked for, or the longest allowed. Raises ValueError why not."""
    now = timezone.now()
    latest = now + timedelta(days=api_token_max_days())
    if expires_at is None:
        return latest
    if expires_at <= now:
        raise ValueError("The expiry must be in the future.")
    if expires_at > latest + timedelta(days=1):  # a day's grace: "expires on" means the end of that day
        raise ValueError(f"A token lives at most {api_token_max_days()} days; pick an earlier expiry.")
    return min(expires_at, latest + timedelta(days=1))


def api_token_expires_at(token: ApiToken) -> datetime:
    """When a token stops working (tokens from before expiry was required: their creation plus the maximum)."""
    return token.expires_at or token.created_at + timedelta(days=api_token_max_days())


@transaction.atomic
def api_token_create(
    *, actor: Actor, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the full token, which is never available again.

    Raises ValueError for an expiry in the past or beyond API_TOKEN_MAX_DAYS.
    """
    expires_at = api_token_expiry_clean(expires_at)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "API token",
        prefix=prefix,
        secret_hash=_hash(secret),
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action="create",
        instance=token,
        changes={"name": {"before": None, "after": token.name}, "user": {"before": None, "after": str(user)}},
    )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def api_token_rotate(*, actor: Actor, token: ApiToken) -> tuple[ApiToken, str]:
    """Replace a live token by a new one (same user and name, a fresh expiry) and revoke it; returns the new row
    and the full new token. Raises ValueError for a token that is revoked or expired (create a new one)."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None or api_token_expires_at(token) <= timezone.now():
        raise ValueError("Only a live token can be rotated; this one is revoked or expired. Create a new one.")
    new, raw = api_token_create(actor=actor, user=token.user, name=token.name)
    token.revoked_at = timezone.now()
    token.replaced_by = new
    token.save(update_fields=["revoked_at", "replaced_by"])
    audit_record(actor=actor, action="rotate", instance=token, changes={"replaced_by": new.prefix})
    return new, raw


@transaction.atomic
def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="revoke", instance=token)
    return token


def api_token_authenticate(raw: str, *, address: str | None = None) -> ApiToken:
    """The live token for this string, with its user; raises TokenError saying why not.

    With the caller's `address`, refused tokens are counted per address (API_TOKEN_FAILURE_LIMIT): past the limit
    every token from it is refused (TokenThrottled) until the window ends, so guessing, or replaying a list of
    leaked tokens, costs a window per few attempts.
    """
    if address:
        limit, seconds = _bad_token_limit()
        if rate_window_peek(f"bad-token:{address}", seconds) >= limit:
            raise TokenThrottled(rate_window_wait(seconds))
    try:
        return _token_live(raw)
    except TokenError:
        if address:
            rate_window_count(f"bad-token:{address}", _bad_token_limit()[1])
        raise


def _token_live(raw: str) -> ApiToken:
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != TOKEN_PREFIX:
        raise TokenError("Invalid token.")
    prefix, secret = parts[1], "_".join(parts[2:])
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        raise TokenError("Invalid token.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenError("This token has been revoked. Create a new one.")
    if api_token_expires_at(token) <= now:
        raise TokenError("This token has expired. Create a new one.")
    if not token.user.is_active:
        raise TokenError("The user of this token is inactive.")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
