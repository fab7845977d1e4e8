"""API tokens for scripts: create, revoke, authenticate.

A token reads `ia_<prefix>_<secret>`. The prefix finds the row; only a SHA-256 hash of the secret is kept
(the secret has 256 bits of entropy, so a slow password hash would add nothing), and it is compared in
constant time. The full token is returned once, by `api_token_create`, and never stored, logged or shown
again.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from catalog.models import ApiToken
from catalog.services.audit import audit_record

TOKEN_PREFIX = "ia"
# Writing last_used_at on every request would turn every read into a write; a minute is precise enough.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class TokenError(Exception):
    """Why a presented token was refused, in a sentence safe to return to the caller."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor, user, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the full token, which is never available again."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry must be in the future.")
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
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="revoke", instance=token)
    return token


def api_token_authenticate(raw: str) -> ApiToken:
    """The live token for this string, with its user; raises TokenError saying why not."""
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
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenError("This token has expired. Create a new one.")
    if not token.user.is_active:
        raise TokenError("The user of this token is inactive.")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
