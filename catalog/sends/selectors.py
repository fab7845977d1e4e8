"""Reads: which test sends a user may see, and what of their recipients."""

import html
import re
from urllib.parse import unquote

from catalog.models import (
    Notification,
    ProofOutcome,
    ProofSend,
)
from catalog.roles import LOOKUP_CONTACT, MANAGE_SHARED_RECIPIENTS
from catalog.sends.services.results import PRIVATE_RECIPIENT
from catalog.types import RequestUser


def proof_send_recipient_shown(*, user: RequestUser, attempt: ProofSend) -> bool:
    """Whether `user` may see to whom a test send went: their own sends, sends to a shared recipient (for roles
    that may look contacts up), and everything for those who manage recipients. Another person's private test
    recipient is theirs."""
    if user.has_perm(MANAGE_SHARED_RECIPIENTS) or (attempt.actor_id is not None and attempt.actor_id == user.pk):
        return True
    shared = attempt.recipient is not None and attempt.recipient.owner_id is None
    return shared and user.has_perm(LOOKUP_CONTACT)


# Any address, whatever Iterable made of it (lowercased, quoted local part, inside a sentence or a path). It
# starts only where a run of address characters starts: otherwise a long run with no "@" is tried again from
# each of its characters (quadratic in its length).
_ANY_ADDRESS = re.compile(r"(?<![^\s@<>\"',;:()\[\]{}/?#=&])[^\s@<>\"',;:()\[\]{}/?#=&]+@[^\s@<>\"',;:()\[\]{}/?#=&]+")


def _decoded(text: str) -> str:
    """The text as a reader would see it once URL- and HTML-escapes are undone (nested ones too)."""
    for _ in range(3):
        plain = html.unescape(unquote(text))
        if plain == text:
            break
        text = plain
    return text


def _contacts_hidden(value, user_ids: list[str]):
    """Every contact identifier out of `value`: any email address and the given userIds, in any case or escaping.

    Iterable answers with the contact as it stores it, not as it was asked: a userId recipient comes back as the
    contact's email, an address comes back lowercased or URL-encoded. Replacing only the stored text misses those.
    """
    if isinstance(value, dict):
        return {_contacts_hidden(k, user_ids): _contacts_hidden(v, user_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_contacts_hidden(v, user_ids) for v in value]
    if not isinstance(value, str) or not value:
        return value
    masked = _ANY_ADDRESS.sub(PRIVATE_RECIPIENT, value)
    for user_id in user_ids:
        masked = re.sub(re.escape(user_id), PRIVATE_RECIPIENT, masked, flags=re.IGNORECASE)
    plain = _decoded(value)
    if plain == value:
        return masked
    hidden = _contacts_hidden(plain, user_ids)
    # The escaped form hid something the plain one shows: show the plain form, masked.
    return hidden if hidden != plain else masked


def proof_send_for(*, user: RequestUser, attempt: ProofSend) -> ProofSend:
    """The attempt as `user` may see it (in memory). When its recipient is someone else's private one, every contact
    identifier in the record is hidden, not only the stored address: Iterable's answer names the contact its own
    way. The sender and those who manage recipients see the record as it is."""
    if proof_send_recipient_shown(user=user, attempt=attempt):
        return attempt
    user_ids = [attempt.recipient_user_id] if attempt.recipient_user_id else []
    attempt.recipient_email = PRIVATE_RECIPIENT if attempt.recipient_email else ""
    attempt.recipient_user_id = PRIVATE_RECIPIENT if attempt.recipient_user_id else ""
    attempt.request_body = _contacts_hidden(attempt.request_body, user_ids)
    attempt.response = _contacts_hidden(attempt.response, user_ids)
    attempt.message = _contacts_hidden(attempt.message, user_ids)
    attempt.checks = _contacts_hidden(attempt.checks, user_ids)
    return attempt


def proof_send_last_success(*, notification: Notification) -> ProofSend | None:
    return (
        ProofSend.objects.filter(notification=notification, outcome=ProofOutcome.SENT)
        .order_by("-created_at", "-id")
        .first()
    )
